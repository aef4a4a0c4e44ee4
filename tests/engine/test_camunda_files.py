"""Files saved by Camunda Modeler (Camunda 7) and bpmn.io: what runs, what is translated, what is refused clearly.

Which parser (measured on tests/fixtures/camunda with SpiffWorkflow 3.2.0; processes built of processes declared):

| files                                   | SpiffBpmnParser | CamundaParser | engine.definitions.catalog                     |
|-----------------------------------------|-----------------|---------------|------------------------------------|
| de_xuat_nhiem_vu + gop_y_phap_ly + DMN  | 1 of 2          | 2 of 2        | 2 of 2, walked to the end below    |
| bieu_thuc_ngoai (Groovy, listeners...)  | 1 of 1          | 1 of 1        | refused: 11 problems, each named   |
| dich_vu_java (camunda:class)            | 0 of 1          | 1 of 1        | refused: the Java service task     |
| tu_goi (calls itself)                   | 1 of 1          | 1 of 1        | deployed with a warning            |

The Camunda parser builds more specs, but "built" is not "runs": both parsers keep ``${day_du}`` as the condition
text and fail at run time (JUEL is not Python), and both build the Groovy script, the listeners and the JUEL method
calls. The catalog keeps one dialect, the Spiff parser its serializer and sandbox are built on, and rewrites the Camunda
constructs first (engine.definitions.camunda.dialect): everything the table's last column accepts runs, the rest is refused at
deploy naming the element and the text.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from phoihop.engine.agencies import default_registry
from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.definitions.lint.deployment import lint_deployment
from phoihop.engine.errors import FormInvalid, InvalidDefinition, ScriptError
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile
from tests.conftest import INTEGRATOR, OWNER, officer

from .helpers import ADMIN, history, instance, open_tasks

CAMUNDA = Path(__file__).parent.parent / "fixtures" / "camunda"
PROPOSAL = ("de_xuat_nhiem_vu.bpmn", "gop_y_phap_ly.bpmn", "phan_loai.dmn")
ONE_STOP = officer("mot_cua", "ttpvhcc")
JUSTICE = officer("tu_phap", "stp")
DIRECTOR = officer("giam_doc_so", "skhcn", roles=("lead",))


def source(name: str, replace: dict[str, str] | None = None) -> SourceFile:
    text = (CAMUNDA / name).read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return SourceFile(name, text.encode("utf-8"))


def proposal(replace: dict[str, str] | None = None) -> list[SourceFile]:
    """The three files; ``replace`` edits the main process file."""
    return [source(name, replace if name == PROPOSAL[0] else None) for name in PROPOSAL]


def conditions(spec: Any, *gateways: str) -> dict[str, str]:
    """Target → condition text of the gateways' conditional flows."""
    return {
        target: condition.args[0]
        for gateway in gateways
        for condition, target in spec.task_specs[gateway].cond_task_specs
        if condition is not None
    }


def compile_files(*files: SourceFile) -> Deployment:
    return compile_deployment(files, agencies=default_registry(), check=check_source)


def problems_of(*files: SourceFile) -> list[dict[str, Any]]:
    with pytest.raises(InvalidDefinition) as refused:
        compile_files(*files)
    return refused.value.problems


# --- the parsers ----------------------------------------------------------------------------------------------------
def built(parser_class: type, names: tuple[str, ...]) -> tuple[int, int, Any]:
    parser = parser_class()
    for name in names:
        path = str(CAMUNDA / name)
        parser.add_dmn_file(path) if name.endswith(".dmn") else parser.add_bpmn_file(path)
    specs = {}
    for process_id in parser.get_process_ids():
        try:
            specs[process_id] = parser.get_spec(process_id)
        except Exception:  # what SpiffWorkflow raises for a construct of the other dialect
            continue
    return len(specs), len(parser.get_process_ids()), specs


def test_raw_parsers_build_camunda_files_that_would_fail_at_run_time_the_catalog_runs_them() -> None:
    assert built(SpiffBpmnParser, PROPOSAL)[:2] == (1, 2)  # the decisionRef business rule task fails
    camunda_built, declared, specs = built(CamundaParser, PROPOSAL)
    assert (camunda_built, declared) == (2, 2)
    raw = conditions(specs["Process_DeXuatNhiemVu"], "Gateway_0dd1x2k")
    assert raw == {"Activity_PhanLoai": "${day_du}"}  # JUEL kept as is: SyntaxError when the gateway runs
    foreign = ("bieu_thuc_ngoai.bpmn",)
    assert built(SpiffBpmnParser, foreign)[:2] == built(CamundaParser, foreign)[:2] == (1, 1)  # all "build"

    deployment = compile_files(*proposal())
    model = deployment.process("Process_DeXuatNhiemVu")
    assert model is not None and list(model.subprocess_specs) == ["Process_GopYPhapLy"]
    assert conditions(model.spec, "Gateway_0dd1x2k", "Gateway_1muc0do", "Gateway_0ketqua") == {
        "Activity_PhanLoai": "day_du",
        "Activity_XinYKienStp": "((kinh_phi > 1000) and (not khan_cap))",
        "Event_1daduyet": "(ket_qua_phe_duyet == True)",
        "Event_0khongduyet": "(not ket_qua_phe_duyet)",
    }


# --- what Camunda Modeler writes, read ------------------------------------------------------------------------------
def test_camunda_attributes_become_the_task_model() -> None:
    model = compile_files(*proposal()).process("Process_DeXuatNhiemVu")
    assert model is not None
    check, approve = model.user_tasks["Activity_KiemTra"], model.user_tasks["Activity_PheDuyet"]
    assert (check.agency, check.candidate_groups, check.due_date) == ("ttpvhcc", ("ttpvhcc",), "han_kiem_tra")
    assert check.form_key == "generated:Activity_KiemTra"  # formData without a formKey
    assert (approve.candidate_groups, approve.candidate_users, approve.due_date) == (("skhcn",), ("giam.doc",), "P5D")
    assert (approve.required_role, approve.form_key) == ("lead", "embedded:app:forms/phe-duyet.html")
    assert model.user_tasks["Activity_GopY"].agency == "stp"  # the called process's task
    scripts = {
        name: (model.spec.task_specs[name].prescript, model.spec.task_specs[name].postscript)
        for name in ("Activity_PhanLoai", "Activity_XinYKienStp", "Activity_PheDuyet")
    }
    assert scripts == {
        "Activity_PhanLoai": (None, "muc_do = muc_do_de_xuat"),  # resultVariable + singleEntry
        "Activity_XinYKienStp": ("kinh_phi = kinh_phi\nquan_trong = (muc_do == 'lon')", "y_kien_phap_ly = y_kien_stp"),
        "Activity_PheDuyet": (
            "tieu_de = 'Phê duyệt đề xuất nhiệm vụ'\nso_tien = kinh_phi",
            "ket_qua_phe_duyet = dong_y",
        ),
    }
    assert model.spec.task_specs["Event_1quahan"].event_definition.expression == "'P3D'"
    assert model.start_message_names == ("ho_so_de_xuat",)


@pytest.mark.parametrize(
    ("timer", "expression"),
    [
        ('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P10D</bpmn:timeDuration>', "'P10D'"),
        ('<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R6/P1D</bpmn:timeCycle>', "'R6/P1D'"),
        (
            '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">2026-03-01T17:00:00+07:00</bpmn:timeDate>',
            "'2026-03-01T17:00:00+07:00'",
        ),
        ('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${thoi_han_nhac}</bpmn:timeDuration>', "thoi_han_nhac"),
        (
            "<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">${khan ? 'P1D' : 'P3D'}</bpmn:timeDuration>",
            "('P1D' if khan else 'P3D')",
        ),
    ],
)
def test_iso_and_juel_timers_are_made_runnable(timer: str, expression: str) -> None:
    files = proposal({'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P3D</bpmn:timeDuration>': timer})
    model = compile_files(*files).process("Process_DeXuatNhiemVu")
    assert model is not None and model.spec.task_specs["Event_1quahan"].event_definition.expression == expression


def test_form_fields_become_a_json_schema_form() -> None:
    forms = compile_files(*proposal()).processes[0].forms
    assert forms["generated:Activity_KiemTra"].schema == {
        "title": "Kiểm tra hồ sơ",
        "type": "object",
        "required": ["day_du"],
        "properties": {
            "day_du": {"title": "Hồ sơ đầy đủ?", "type": "boolean"},
            "so_trang": {"title": "Số trang", "type": "integer", "minimum": 1, "maximum": 500, "default": 1},
            "ghi_chu": {"title": "Ghi chú", "type": "string", "maxLength": 500},
            "ngay_nhan": {"title": "Ngày nhận", "type": "string", "format": "date"},
            "loai_ho_so": {
                "title": "Loại hồ sơ",
                "type": "string",
                "enum": ["thuong", "khan"],
                "default": "thuong",
                "oneOf": [{"const": "thuong", "title": "Thông thường"}, {"const": "khan", "title": "Khẩn"}],
            },
        },
    }
    assert forms["embedded:app:forms/phe-duyet.html"].schema["required"] == ["dong_y"]  # an external form key
    assert forms["generated:Activity_GopY"].schema["properties"]["y_kien_stp"]["minLength"] == 5


def test_the_camunda_deployment_passes_the_strict_lint() -> None:
    """Every task has an agency lane, documentation, a due date (JUEL or ISO) and a form (generated or a key)."""
    assert lint_deployment(compile_files(*proposal()), strict=True) == []
    form_data = (
        '<camunda:formData>\n          <camunda:formField id="dong_y" label="Đồng ý" type="boolean">\n'
        '            <camunda:validation>\n              <camunda:constraint name="required" />\n'
        "            </camunda:validation>\n          </camunda:formField>\n        </camunda:formData>"
    )
    without_form = proposal({'camunda:formKey="embedded:app:forms/phe-duyet.html" ': "", form_data: ""})
    findings = lint_deployment(compile_files(*without_form), strict=True)
    assert [(f["element_id"], f["code"]) for f in findings] == [("Activity_PheDuyet", "no-form")]


# --- walked end to end ----------------------------------------------------------------------------------------------
def start(container: EngineContainer, **variables: Any) -> str:
    for name in PROPOSAL:  # nothing else of the deployment changes, the version stays 1
        assert name in {f.name for f in proposal()}
    container.deployments.deploy(OWNER, proposal())
    (started,) = container.messages.correlate(INTEGRATOR, "ho_so_de_xuat", business_key="HS-01", variables=variables)
    assert started.started
    return started.instance_id


def test_the_camunda_process_runs_from_message_start_to_end(container: EngineContainer) -> None:
    instance_id = start(container, kinh_phi=1500, khan_cap=False, han_kiem_tra="P2D")

    check = open_tasks(container, instance_id)["Activity_KiemTra"]
    assert check["candidate_groups"] == ["ttpvhcc"] and check["due_at"] - check["created_at"] == timedelta(days=2)
    form = container.task_reads.get_task_detail(ONE_STOP, check["id"]).form
    assert form is not None and form["properties"]["loai_ho_so"]["enum"] == ["thuong", "khan"]
    with pytest.raises(FormInvalid) as wrong:
        container.tasks.complete(ONE_STOP, check["id"], {"so_trang": 0, "loai_ho_so": "khac"})
    assert {e["field"] for e in wrong.value.fields["errors"]} == {"day_du", "so_trang", "loai_ho_so"}
    container.tasks.complete(ONE_STOP, check["id"], {"day_du": True, "ngay_nhan": "2026-01-05"})

    legal = open_tasks(container, instance_id)["Activity_GopY"]  # kinh_phi > 1000 && !khan_cap: the call activity
    assert legal["candidate_groups"] == ["stp"]
    container.tasks.complete(JUSTICE, legal["id"], {"y_kien_stp": "Phù hợp quy định hiện hành"})

    approve = open_tasks(container, instance_id)["Activity_PheDuyet"]
    assert (approve["candidate_groups"], approve["candidate_users"]) == (["skhcn"], ["giam.doc"])
    assert approve["required_role"] == "lead" and approve["form_key"] == "embedded:app:forms/phe-duyet.html"
    container.tasks.complete(DIRECTOR, approve["id"], {"dong_y": True})

    view = container.instance_reads.get_instance(ADMIN, instance_id)
    assert view.status == "completed"
    variables = view.variables
    assert (variables["muc_do"], variables["quan_trong"], variables["y_kien_phap_ly"]) == (
        "lon",
        True,
        "Phù hợp quy định hiện hành",
    )  # decision result, camunda:in expression, camunda:out
    assert (variables["so_tien"], variables["ket_qua_phe_duyet"]) == (1500, True)  # input and output parameters
    assert "Event_1daduyet" in {e["element_id"] for e in history(container, instance_id)}


@pytest.mark.parametrize("variables", [{"kinh_phi": 500, "khan_cap": False}, {"kinh_phi": 5000, "khan_cap": True}])
def test_the_default_flow_skips_the_legal_opinion(container: EngineContainer, variables: dict[str, Any]) -> None:
    instance_id = start(container, han_kiem_tra="P1D", **variables)
    container.tasks.complete(ONE_STOP, open_tasks(container, instance_id)["Activity_KiemTra"]["id"], {"day_du": True})

    approve = open_tasks(container, instance_id)["Activity_PheDuyet"]
    container.tasks.complete(DIRECTOR, approve["id"], {"dong_y": False})

    assert instance(container, instance_id)["status"] == "completed"
    elements = {e["element_id"] for e in history(container, instance_id)}
    assert "Event_0khongduyet" in elements and "Activity_XinYKienStp" not in elements


def test_the_p3d_boundary_timer_fires_without_closing_the_task(container: EngineContainer, clock: FakeClock) -> None:
    instance_id = start(container, kinh_phi=10, khan_cap=False, han_kiem_tra="P1D")
    container.tasks.complete(ONE_STOP, open_tasks(container, instance_id)["Activity_KiemTra"]["id"], {"day_du": True})
    clock.advance(timedelta(days=3, minutes=1))

    assert container.timers.fire_due_timers() == 1

    assert "Event_0canhbao" in {e["element_id"] for e in history(container, instance_id)}
    assert set(open_tasks(container, instance_id)) == {"Activity_PheDuyet"}  # non-interrupting


def test_a_missing_due_date_variable_refuses_the_start_naming_the_task(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, proposal())
    with pytest.raises(ScriptError) as refused:  # han_kiem_tra missing: ${han_kiem_tra} gives no due date
        container.messages.correlate(INTEGRATOR, "ho_so_de_xuat", variables={"kinh_phi": 10})

    assert refused.value.fields["element_id"] == "Activity_KiemTra" and "han_kiem_tra" in refused.value.detail
    assert container.instance_reads.list_instances(ADMIN).total == 0


# --- decisions ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mapping", "hit_policy", "script"),
    [
        ("singleEntry", "FIRST", "muc_do = muc_do_de_xuat"),
        ("singleResult", "FIRST", "muc_do = {'muc_do_de_xuat': muc_do_de_xuat}"),
        ("collectEntries", "FIRST", "muc_do = [muc_do_de_xuat]"),
        ("collectEntries", "COLLECT", "muc_do = muc_do_de_xuat"),
        ("resultList", "FIRST", "muc_do = [{'muc_do_de_xuat': muc_do_de_xuat}]"),
        ("resultList", "COLLECT", "muc_do = [{'muc_do_de_xuat': v0} for v0, in zip(muc_do_de_xuat)]"),
    ],
)
def test_decision_results_are_mapped_as_camunda_maps_them(mapping: str, hit_policy: str, script: str) -> None:
    bpmn = source(
        "de_xuat_nhiem_vu.bpmn", {'camunda:mapDecisionResult="singleEntry"': f'camunda:mapDecisionResult="{mapping}"'}
    )
    dmn = source("phan_loai.dmn", {'hitPolicy="FIRST"': f'hitPolicy="{hit_policy}"'})
    model = compile_files(bpmn, source("gop_y_phap_ly.bpmn"), dmn).process("Process_DeXuatNhiemVu")
    assert model is not None and model.spec.task_specs["Activity_PhanLoai"].postscript == script


def test_a_collect_decision_result_list_is_built_at_run_time(container: EngineContainer) -> None:
    bpmn = source(
        "de_xuat_nhiem_vu.bpmn",
        {'camunda:mapDecisionResult="singleEntry"': "", "${muc_do == 'lon'}": "${muc_do[0].muc_do_de_xuat == 'lon'}"},
    )
    dmn = source("phan_loai.dmn", {'hitPolicy="FIRST"': 'hitPolicy="COLLECT"'})
    container.deployments.deploy(OWNER, [bpmn, source("gop_y_phap_ly.bpmn"), dmn])
    (started,) = container.messages.correlate(
        INTEGRATOR, "ho_so_de_xuat", variables={"kinh_phi": 2000, "khan_cap": False, "han_kiem_tra": "P1D"}
    )
    instance_id = started.instance_id
    container.tasks.complete(ONE_STOP, open_tasks(container, instance_id)["Activity_KiemTra"]["id"], {"day_du": True})

    view = container.instance_reads.get_instance(ADMIN, instance_id)
    assert view.variables["muc_do"] == [{"muc_do_de_xuat": "lon"}, {"muc_do_de_xuat": "nho"}]  # both rules match
    assert view.status == "running" and set(open_tasks(container, instance_id)) == {"Activity_GopY"}


def test_decision_result_mappings_that_cannot_hold_are_refused() -> None:
    dmn = source(
        "phan_loai.dmn",
        {
            '<output id="Output_1" label="Mức độ" name="muc_do_de_xuat" typeRef="string" />': '<output id="Output_1" label="Mức độ" name="muc_do_de_xuat" typeRef="string" />'
            '<output id="Output_2" label="Ghi chú" name="ghi chú" typeRef="string" />'
        },
    )
    found = problems_of(source("de_xuat_nhiem_vu.bpmn"), source("gop_y_phap_ly.bpmn"), dmn)
    assert [p["element_id"] for p in found if p.get("code") == "camunda-unsupported"] == ["Activity_PhanLoai"]
    assert "ghi chú" in found[0]["reason"]


# --- refused clearly -----------------------------------------------------------------------------------------------
def test_foreign_expressions_and_java_are_refused_naming_each_element_and_text() -> None:
    # a camunda:list value runs since issue 12 (a Python list); a camunda:script value is still refused
    found = problems_of(
        source(
            "bieu_thuc_ngoai.bpmn",
            {
                "<camunda:list>\n              <camunda:value>a</camunda:value>\n            </camunda:list>": (
                    '<camunda:script scriptFormat="groovy">["a"]</camunda:script>'
                )
            },
        )
    )

    by_element: dict[str, list[dict[str, Any]]] = {}
    for item in found:
        by_element.setdefault(item["element_id"], []).append(item)
    assert {key: sorted(p["code"] for p in items) for key, items in by_element.items()} == {
        # camunda:assignee="${initiator}" is accepted since issue 12 (property assigneeVariable), and
        # camunda:dueDate="${dateTime().plusDays(3).toDate()}" since issue 12 section 1 (engine.definitions.camunda.juel_dates)
        "Activity_NhapLieu": ["camunda-unsupported", "camunda-unsupported"],
        "Activity_Groovy": ["camunda-unsupported"],
        "Activity_Juel": ["camunda-unsupported"],
        "Activity_Java": ["camunda-unsupported"],
        "Activity_Feel": ["camunda-unsupported"],
        "Flow_Method": ["juel-unsupported"],
        "Flow_Execution": ["juel-unsupported"],
        "Flow_Feel": ["feel-unsupported"],
        "Flow_Composite": ["juel-unsupported"],
    }
    reasons = {p["element_id"] + " " + p["reason"] for p in found}
    for expected in (
        "Flow_Method condition '${danh_sach.size() > 0}': method call size",
        "Flow_Execution condition '${execution.getVariable(\"duyet\") == true}': 'execution'",
        "Flow_Feel condition '=so_tien > 1000' is FEEL (Camunda 8)",
        "Flow_Composite condition 'Loại ${loai}': text around ${…}",
        "Activity_Groovy script task Activity_Groovy: scriptFormat 'groovy'",
        "Activity_Juel script task Activity_Juel: scriptFormat 'juel'",
        "Activity_Java camunda:class on a sendTask",
        "Activity_Feel camunda:executionListener",
        "Activity_NhapLieu camunda:taskListener",
        "Activity_NhapLieu inputParameter 'danh_sach': a camunda:script value",
    ):
        assert any(reason.startswith(expected) for reason in reasons), expected
    assert all(p["reason_vi"] and p["line"] for p in found)


def test_a_java_service_task_is_refused_and_an_external_one_is_kept() -> None:
    (found,) = problems_of(source("dich_vu_java.bpmn"))
    assert found["element_id"] == "Activity_GuiKetQua" and "camunda:class" in found["reason"]

    external_only = source(
        "dich_vu_java.bpmn",
        {'camunda:class="vn.gov.hanoi.GuiKetQuaDelegate"': 'camunda:type="external" camunda:topic="gui_ket_qua"'},
    )
    assert compile_files(external_only).processes[0].key == "Process_DichVuJava"


def test_a_bpmn_io_diagram_is_refused_saying_why_and_runs_once_executable() -> None:
    (found,) = problems_of(source("bpmn_io.bpmn"))
    assert 'isExecutable="false"' in found["reason"] and found["element_id"] == "Process_1"

    executable = source("bpmn_io.bpmn", {'isExecutable="false"': 'isExecutable="true"'})
    (process,) = compile_files(executable).processes  # a plain bpmn:task passes straight through, as in Camunda
    assert not process.user_tasks


@pytest.mark.parametrize(
    ("replace", "code", "text"),
    [
        ({"${day_du}": "${day_du.booleanValue()}"}, "juel-unsupported", "method call booleanValue"),
        ({'camunda:dueDate="P5D"': 'camunda:dueDate="=now() + duration(&quot;P5D&quot;)"'}, "feel-unsupported", "FEEL"),
        (
            {'camunda:candidateGroups="Sở KH&amp;CN"': 'camunda:candidateGroups="${co_quan.ma}"'},
            "juel-unsupported",
            "must be one variable",
        ),
        (
            {'camunda:candidateUsers="giam.doc"': 'camunda:candidateUsers="${nguoi_duyet}"'},
            "juel-unsupported",
            "camunda:candidateUsers '${nguoi_duyet}' is an expression",
        ),
        (
            {
                '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P3D</bpmn:timeDuration>': '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">0 0 9 * * ?</bpmn:timeCycle>'
            },
            "camunda-unsupported",
            "cron",
        ),
        (
            {'type="long" defaultValue="1"': 'type="long" defaultValue="một"'},
            "camunda-unsupported",
            "defaultValue 'một' is not a long",
        ),
        (
            {
                'type="string">\n            <camunda:validation>\n              <camunda:constraint name="maxlength"': 'type="string">\n            <camunda:validation>\n              <camunda:constraint name="validator"'
            },
            "camunda-unsupported",
            "constraint 'validator'",
        ),
        (
            {'id="ngay_nhan" label="Ngày nhận" type="date"': 'id="ngay_nhan" label="Ngày nhận" type="file"'},
            "camunda-unsupported",
            "type 'file' is not supported",
        ),
        (
            {
                '<camunda:inputParameter name="so_tien">${kinh_phi}</camunda:inputParameter>': '<camunda:inputParameter name="so tien">${kinh_phi}</camunda:inputParameter>'
            },
            "camunda-unsupported",
            "'so tien' is not a variable name",
        ),
        (
            {
                '<camunda:out source="y_kien_stp" target="y_kien_phap_ly" />': '<camunda:out sourceExpression="${y_kien_stp.trim()}" target="y_kien_phap_ly" />'
            },
            "juel-unsupported",
            "method call trim",
        ),
        (
            {
                "<bpmn:outgoing>Flow_0a2</bpmn:outgoing>": "<bpmn:outgoing>Flow_0a2</bpmn:outgoing>\n      "
                '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${ho_so.danh_sach}" camunda:elementVariable="muc" />'
            },
            "camunda-unsupported",
            "camunda:collection",
        ),
        (
            {
                '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${day_du}': '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">day_du'
            },
            "camunda-unsupported",
            "language 'javascript'",
        ),
    ],
)
def test_each_unsupported_construct_is_one_named_problem(replace: dict[str, str], code: str, text: str) -> None:
    found = problems_of(*proposal(replace))
    assert [(p["code"], text in p["reason"]) for p in found] == [(code, True)], found
    assert found[0]["element_id"] and found[0]["line"] and found[0]["reason_vi"]


ZEEBE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_c8" targetNamespace="http://bpmn.io/schema/bpmn"
    exporter="Camunda Modeler" exporterVersion="5.31.0" modeler:executionPlatform="Camunda Cloud"
    modeler:executionPlatformVersion="8.6.0">
  <bpmn:process id="Process_C8" name="Quy trình Camunda 8" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Activity_Gui" name="Gửi">
      <bpmn:extensionElements><zeebe:taskDefinition type="gui-thu" retries="3" /></bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:exclusiveGateway id="Gateway_1" default="Flow_4"><bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="Event_1"><bpmn:incoming>Flow_3</bpmn:incoming><bpmn:incoming>Flow_4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_Gui" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_Gui" targetRef="Gateway_1" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Gateway_1" targetRef="Event_1">
      <bpmn:conditionExpression>=so_tien &gt; 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Gateway_1" targetRef="Event_1" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_camunda_8_file_is_refused_naming_its_zeebe_extensions_and_feel() -> None:
    found = problems_of(SourceFile("c8.bpmn", ZEEBE.encode()))
    assert [(p["element_id"], p["code"]) for p in found] == [
        ("Activity_Gui", "camunda-unsupported"),
        ("Flow_3", "feel-unsupported"),
    ]
    assert "zeebe:taskDefinition" in found[0]["reason"] and "Camunda 7" in found[0]["reason"]


def test_form_fields_on_the_start_event_are_the_start_form(container: EngineContainer) -> None:
    files = proposal(
        {
            '<bpmn:startEvent id="StartEvent_NopHoSo" name="Nhận hồ sơ đề xuất">\n'
            "      <bpmn:outgoing>Flow_0a1</bpmn:outgoing>\n"
            '      <bpmn:messageEventDefinition id="MessageEventDefinition_0y1n2m3" '
            'messageRef="Message_0h5n6ad" />': '<bpmn:startEvent id="StartEvent_NopHoSo" name="Nhận hồ sơ đề xuất">\n'
            "      <bpmn:extensionElements><camunda:formData>\n"
            '        <camunda:formField id="kinh_phi" label="Kinh phí (triệu đồng)" type="long">'
            '<camunda:validation><camunda:constraint name="required" /><camunda:constraint name="min" '
            'config="0" /></camunda:validation></camunda:formField>\n'
            "      </camunda:formData></bpmn:extensionElements>\n"
            "      <bpmn:outgoing>Flow_0a1</bpmn:outgoing>"
        }
    )
    model = compile_files(*files).process("Process_DeXuatNhiemVu")
    assert model is not None and model.start_form is not None
    assert model.start_form.name == "generated:StartEvent_NopHoSo"
    assert model.start_form.schema["properties"]["kinh_phi"] == {
        "title": "Kinh phí (triệu đồng)",
        "type": "integer",
        "minimum": 0,
    }

    container.deployments.deploy(OWNER, files)
    with pytest.raises(FormInvalid):
        container.instances.start(INTEGRATOR, "Process_DeXuatNhiemVu", variables={"kinh_phi": -1})
    instance_id, _ = container.instances.start(
        INTEGRATOR, "Process_DeXuatNhiemVu", variables={"kinh_phi": 10, "han_kiem_tra": "P1D"}
    )
    assert set(open_tasks(container, instance_id)) == {"Activity_KiemTra"}


def test_candidate_groups_from_a_variable_become_candidate_groups_variable(container: EngineContainer) -> None:
    files = proposal({'camunda:candidateGroups="Sở KH&amp;CN"': 'camunda:candidateGroups="${co_quan_duyet}"'})
    model = compile_files(*files).process("Process_DeXuatNhiemVu")
    assert model is not None
    approve = model.user_tasks["Activity_PheDuyet"]
    assert (approve.candidate_groups_variable, approve.candidate_groups) == ("co_quan_duyet", ())

    container.deployments.deploy(OWNER, files)
    (started,) = container.messages.correlate(
        INTEGRATOR,
        "ho_so_de_xuat",
        variables={"kinh_phi": 10, "khan_cap": False, "han_kiem_tra": "P1D", "co_quan_duyet": "stc"},
    )
    container.tasks.complete(
        ONE_STOP, open_tasks(container, started.instance_id)["Activity_KiemTra"]["id"], {"day_du": True}
    )
    assert open_tasks(container, started.instance_id)["Activity_PheDuyet"]["candidate_groups"] == ["stc"]


def test_camunda_attributes_without_effect_are_lint_warnings() -> None:
    files = proposal(
        {
            '<bpmn:userTask id="Activity_KiemTra" name="Kiểm tra hồ sơ"': '<bpmn:userTask id="Activity_KiemTra" name="Kiểm tra hồ sơ" camunda:priority="80"',
            '<bpmn:startEvent id="StartEvent_NopHoSo" name="Nhận hồ sơ đề xuất">': '<bpmn:startEvent id="StartEvent_NopHoSo" name="Nhận hồ sơ đề xuất" '
            'camunda:initiator="nguoi_nop" camunda:formRef="mau_nop">',
        }
    )
    findings = [f for f in lint_deployment(compile_files(*files)) if f["code"] == "camunda-ignored"]
    assert [(f["element_id"], f["severity"]) for f in findings] == [
        ("StartEvent_NopHoSo", "warning"),
        ("Activity_KiemTra", "warning"),
    ]
    assert "camunda:formRef" in findings[0]["message_en"] and "không có tác dụng" in findings[0]["message_vi"]
    assert not any("initiator" in f["message_en"] for f in findings)  # on a start event it stores the starter


# --- a process that calls itself -------------------------------------------------------------------------------------
def test_a_self_calling_process_is_a_lint_warning() -> None:
    (finding,) = [f for f in lint_deployment(compile_files(source("tu_goi.bpmn"))) if f["code"] == "call-recursive"]
    assert (finding["element_id"], finding["severity"]) == ("Activity_GoiLai", "warning")


def test_a_self_calling_process_ends_in_an_instance_error_not_a_stuck_worker(db_url: str, clock: FakeClock) -> None:
    """Each level nests a subworkflow; the runtime stops at 32 levels (in well under a second, so a SQLite writer is
    not held for the 30 s time limit) with a clear instance error."""
    engine = build_engine(db_url, clock=clock)
    try:
        engine.deployments.deploy(OWNER, [source("tu_goi.bpmn")])
        instance_id, _ = engine.instances.start(INTEGRATOR, "Process_TuGoi")
        view = engine.instance_reads.get_instance(ADMIN, instance_id)
        assert view.status == "error" and view.error is not None
        assert view.error["code"] == "step-limit-exceeded" and "nested more than 32" in view.error["message"]
    finally:
        engine.close()
