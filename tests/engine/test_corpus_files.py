"""Constructs that refused or misread public BPMN files measured by bench/corpus.py (issue 12, "Done when"), each on a
small fixture written for these tests (tests/fixtures/corpus), modelled on the construct, not copied."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from phoihop.engine.agencies import default_registry
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.definitions.lint.deployment import lint_files
from phoihop.engine.errors import FormInvalid, NotCandidate
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import Finding, SourceFile
from tests.conftest import INTEGRATOR, OWNER
from tests.engine.helpers import SKHCN, STP, instance, open_tasks

CORPUS = Path(__file__).parent.parent / "fixtures" / "corpus"


def compile_files(files: Sequence[SourceFile]) -> Deployment:
    return compile_deployment(files, agencies=default_registry(), check=check_source)


def corpus(name: str, replace: dict[str, str] | None = None) -> list[SourceFile]:
    text = (CORPUS / name).read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return [SourceFile(name, text.encode("utf-8"))]


def findings(files: Sequence[SourceFile]) -> list[Finding]:
    return lint_files(files, compile_files=compile_files)


# --- Camunda's legacy extension namespace http://activiti.org/bpmn --------------------------------------------------
def test_the_legacy_camunda_namespace_is_read_as_camunda() -> None:
    files = corpus("legacy_namespace.bpmn")
    assert not [f for f in findings(files) if f["severity"] == "error"]
    (process,) = compile_files(files).processes
    task = process.user_tasks["kiem_tra"]
    assert (task.candidate_groups, task.due_date) == (("skhcn",), "P2D")
    assert process.start_form is not None
    assert process.start_form.schema["properties"]["so_trang"] == {"title": "Số trang", "type": "integer", "minimum": 1}
    # the stored file is the one uploaded
    assert b'xmlns:camunda="http://activiti.org/bpmn"' in compile_files(files).files[0].content


@pytest.mark.parametrize(
    ("attribute", "named"),
    [
        ('camunda:type="external" camunda:topic="luu-tru"', "camunda:delegateExpression"),
        ('camunda:type="external" camunda:topic="luu-tru"', "camunda:class"),
    ],
)
def test_java_in_the_legacy_namespace_is_refused_naming_the_task(attribute: str, named: str) -> None:
    value = "${luuTruDelegate}" if named.endswith("Expression") else "vn.hanoi.LuuTru"
    files = corpus("legacy_namespace.bpmn", {attribute: f'{named}="{value}"'})
    errors = [f for f in findings(files) if f["severity"] == "error"]
    assert [f["element_id"] for f in errors] == ["luu_tru"]
    assert named in errors[0]["message_en"] and "Java" in errors[0]["message_en"]
    assert "Service Task must have an operator" not in errors[0]["message_en"]  # SpiffWorkflow's words, before


def test_a_legacy_namespace_process_runs_with_its_candidates_and_start_form(container: EngineContainer) -> None:
    files = corpus("legacy_namespace.bpmn")
    container.deployments.deploy(OWNER, files)
    with pytest.raises(FormInvalid):
        container.instances.start(INTEGRATOR, "tiep_nhan_cu", variables={"so_trang": 0})
    instance_id, _ = container.instances.start(INTEGRATOR, "tiep_nhan_cu", variables={"so_trang": 3})
    task = open_tasks(container, instance_id)["kiem_tra"]
    with pytest.raises(NotCandidate):
        container.tasks.claim(STP, str(task["id"]))
    container.tasks.claim(SKHCN, str(task["id"]))


# --- Camunda Forms (*.form, form-js) named by camunda:formKey="camunda-forms:…" ----------------------------------
def camunda_forms(replace_task_form: dict[str, str] | None = None) -> list[SourceFile]:
    task_form = corpus("duyet_bao_cao.form", replace_task_form)[0]
    return [*corpus("camunda_form.bpmn"), *corpus("nhan_bao_cao.form"), task_form]


def test_camunda_forms_become_the_start_and_task_forms() -> None:
    (process,) = compile_files(camunda_forms()).processes
    assert process.start_form is not None
    assert process.start_form.name == "camunda-forms:deployment:nhan_bao_cao.form"
    assert process.start_form.schema == {
        "title": "Nhận báo cáo",
        "type": "object",
        "properties": {
            "don_vi": {"title": "Đơn vị", "type": "string", "maxLength": 50},
            "so_trang": {"title": "Số trang", "type": "integer", "minimum": 1},
            "ma_so": {"title": "Mã số", "type": "string", "pattern": "^BC-[0-9]+$"},
        },
        "required": ["don_vi"],
    }
    key = process.user_tasks["duyet"].form_key
    assert key == "camunda-forms:app:forms/duyet_bao_cao.form"
    assert process.forms[key].schema["properties"]["muc_do"] == {"title": "Mức độ", "enum": ["thuong", "khan"]}
    assert process.forms[key].schema["properties"]["han"] == {"type": "string", "format": "date"}


@pytest.mark.parametrize(
    ("replace", "text"),
    [
        ({'"label": "Đồng ý" }': '"label": "Đồng ý", "conditional": { "hide": "=muc_do = \\"khan\\"" } }'}, "FEEL"),
        (
            {
                '"values": [{ "label": "Thường", "value": "thuong" }, { "label": "Khẩn", "value": "khan" }]': '"valuesKey": "ds"'
            },
            "valuesKey",
        ),
        ({'"key": "dong_y"': '"key": "dong.y"'}, "not a variable name"),
        ({'"type": "checkbox"': '"type": "filepicker"'}, "'filepicker' is not supported"),
    ],
)
def test_what_a_camunda_form_cannot_mean_here_is_refused_naming_the_task(replace: dict[str, str], text: str) -> None:
    errors = [f for f in findings(camunda_forms(replace)) if f["severity"] == "error"]
    assert [f["element_id"] for f in errors] == ["duyet"]
    assert text in errors[0]["message_en"] and "duyet_bao_cao.form" in errors[0]["message_en"]


def test_a_process_with_camunda_forms_enforces_them(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, camunda_forms())
    with pytest.raises(FormInvalid):
        container.instances.start(INTEGRATOR, "nop_bao_cao", variables={"ma_so": "sai"})
    instance_id, _ = container.instances.start(INTEGRATOR, "nop_bao_cao", variables={"don_vi": "Sở KH&CN"})
    task = open_tasks(container, instance_id)["duyet"]
    container.tasks.claim(SKHCN, str(task["id"]))
    with pytest.raises(FormInvalid):
        container.tasks.complete(SKHCN, str(task["id"]), {"muc_do": "rat_khan"})
    container.tasks.complete(SKHCN, str(task["id"]), {"muc_do": "khan", "dong_y": True})


# --- Camunda's multi-tenancy attributes: no effect here, said so -------------------------------------------------
def test_a_tenant_id_on_a_call_activity_is_a_camunda_ignored_warning() -> None:
    files = corpus(
        "legacy_namespace.bpmn",
        {
            '<bpmn2:endEvent id="xong">': '<bpmn2:callActivity id="goi" calledElement="tiep_nhan_cu" '
            'camunda:calledElementTenantId="${tenantProvider.resolve(execution)}"/>\n    <bpmn2:endEvent id="xong">'
        },
    )
    ignored = [f for f in findings(files) if f["code"] == "camunda-ignored"]
    assert [(f["element_id"], f["severity"]) for f in ignored] == [("goi", "warning")]
    assert "camunda:calledElementTenantId" in ignored[0]["message_en"] and "tenant" in ignored[0]["message_vi"]


# --- SpiffWorkflow's messages on diagrams never configured, in our words -----------------------------------------
EVENT_SUBPROCESS = '<bpmn:subProcess id="khi_huy" triggeredByEvent="true"/>\n  </bpmn:process>'


@pytest.mark.parametrize(
    ("replace", "element", "en", "vi"),
    [
        ({}, "gui_thong_bao", "names no implementation", "chưa nêu cách thực hiện"),
        (
            {
                '<bpmn:serviceTask id="gui_thong_bao" name="Gửi thông báo">': '<bpmn:task id="gui_thong_bao">',
                "</bpmn:serviceTask>": "</bpmn:task>",
                "</bpmn:process>": EVENT_SUBPROCESS,
            },
            "khi_huy",
            "has 0 start events inside it",
            "cần đúng một",
        ),
    ],
)
def test_spiffworkflow_messages_on_unconfigured_diagrams_become_ours(
    replace: dict[str, str], element: str, en: str, vi: str
) -> None:
    errors = [f for f in findings(corpus("bare_elements.bpmn", replace)) if f["element_id"] == element]
    assert [f["severity"] for f in errors] == ["error"]
    assert en in errors[0]["message_en"] and vi in errors[0]["message_vi"]
    assert "SubWorkflow" not in errors[0]["message_en"] and "operator" not in errors[0]["message_en"]


# --- an empty ioSpecification, as Camunda Modeler saves it --------------------------------------------------------
def test_an_empty_io_specification_is_no_schema_error_and_the_process_runs(container: EngineContainer) -> None:
    files = corpus("empty_io_specification.bpmn")
    assert not [f for f in findings(files) if f["severity"] == "error"]
    assert b"<bpmn:ioSpecification />" in compile_files(files).files[0].content  # stored as uploaded
    container.deployments.deploy(OWNER, files)
    instance_id, _ = container.instances.start(INTEGRATOR, "ghi_ho_so")
    assert instance(container, instance_id)["status"] == "completed"


def test_an_io_specification_with_content_is_still_checked_against_the_schema() -> None:
    files = corpus(
        "empty_io_specification.bpmn",
        {"<bpmn:ioSpecification />": '<bpmn:ioSpecification><bpmn:dataInput id="vao"/></bpmn:ioSpecification>'},
    )
    errors = [f for f in findings(files) if f["severity"] == "error"]
    assert errors and "schema" in errors[0]["message_en"] and "ioSpecification" in errors[0]["message_en"]


# --- Java attributes where Camunda ignores them: a warning, not a refusal --------------------------------------------
USER_TASK = '<bpmn2:userTask id="kiem_tra" name="Kiểm tra hồ sơ" camunda:candidateGroups="skhcn" camunda:dueDate="P2D">'


def test_camunda_expression_on_a_user_task_is_ignored_as_camunda_ignores_it() -> None:
    files = corpus("legacy_namespace.bpmn", {USER_TASK: USER_TASK.replace(">", ' camunda:expression="${true}">')})
    found = findings(files)
    assert not [f for f in found if f["severity"] == "error"]
    ignored = [f for f in found if f["code"] == "camunda-ignored"]
    assert [(f["element_id"], f["severity"]) for f in ignored] == [("kiem_tra", "warning")]
    assert "camunda:expression" in ignored[0]["message_en"] and "userTask" in ignored[0]["message_en"]


def test_camunda_class_on_a_send_task_is_still_refused_as_java() -> None:
    service = '<bpmn2:serviceTask id="luu_tru" name="Lưu trữ" camunda:type="external" camunda:topic="luu-tru">'
    files = corpus(
        "legacy_namespace.bpmn",
        {
            service: '<bpmn2:sendTask id="luu_tru" name="Lưu trữ" camunda:class="vn.hanoi.GuiThu">',
            "</bpmn2:serviceTask>": "</bpmn2:sendTask>",
        },
    )
    errors = [f for f in findings(files) if f["severity"] == "error"]
    assert [f["element_id"] for f in errors] == ["luu_tru"] and "Java" in errors[0]["message_en"]


# --- an element whose id is SpiffWorkflow's own name for a process's start step --------------------------------------
def test_an_element_with_the_id_start_is_refused_naming_it() -> None:
    errors = [f for f in findings(corpus("start_id.bpmn")) if f["severity"] == "error"]
    assert [f["element_id"] for f in errors] == ["Start"]
    assert "rename the element" in errors[0]["message_en"] and "'Start_1'" in errors[0]["message_en"]
    assert "hãy đổi mã phần tử" in errors[0]["message_vi"]


def test_the_same_process_with_its_start_event_renamed_runs_and_an_end_event_named_end_is_harmless(
    container: EngineContainer,
) -> None:
    files = corpus("start_id.bpmn", {'id="Start"': 'id="Bat_dau"', 'sourceRef="Start"': 'sourceRef="Bat_dau"'})
    assert not [f for f in findings(files) if f["severity"] == "error"]
    container.deployments.deploy(OWNER, files)
    instance_id, _ = container.instances.start(INTEGRATOR, "ma_khoi_dau")
    assert instance(container, instance_id)["status"] == "completed"


# --- SpiffWorkflow's NotImplementedError('Unsupported Catch Event: %r', <XML>) ---------------------------------------
def test_an_event_spiffworkflow_cannot_run_is_refused_in_our_words_naming_it() -> None:
    errors = [f for f in findings(corpus("compensation_boundary.bpmn")) if f["severity"] == "error"]
    assert [f["element_id"] for f in errors] == ["hoan_tac_ghi_so"]
    en, vi = errors[0]["message_en"], errors[0]["message_vi"]
    assert en.startswith("boundaryEvent hoan_tac_ghi_so: SpiffWorkflow 3.2 cannot run this catch event")
    assert "compensateEventDefinition" in en and "không chạy được sự kiện bắt" in vi
    assert "NotImplementedError" not in en + vi and "<bpmn:" not in en + vi


# --- Camunda data mappings and form fields seen in public files (issue 12, corpus) ----------------------------------
def test_a_camunda_map_with_a_nested_list_is_assigned_as_a_dict_and_a_dotted_name_is_left_out(
    container: EngineContainer,
) -> None:
    files = corpus("camunda_mappings.bpmn")
    found = findings(files)
    assert not [f for f in found if f["severity"] == "error"]
    (dotted,) = [f for f in found if "HoSo.loai" in f["message_en"]]
    assert (dotted["code"], dotted["severity"], dotted["element_id"]) == ("camunda-ignored", "warning", "lap_danh_muc")
    assert "cannot be read by any expression" in dotted["message_en"] and "dấu chấm" in dotted["message_vi"]
    container.deployments.deploy(OWNER, files)
    instance_id, _ = container.instances.start(INTEGRATOR, "chuan_bi_ho_so", variables={"so_ban": 2})
    variables = instance(container, instance_id)["variables"]
    assert variables["ho_so"] == {"loai": "cap_moi", "giay_to": ["don_de_nghi", 2]}
    assert not [name for name in variables if "." in name or name == "HoSo"]
    assert set(open_tasks(container, instance_id)) == {"hoi_bo_sung"}


def test_a_boolean_field_defaulting_to_no_is_false_with_a_warning_and_a_shared_form_key_keeps_each_tasks_fields() -> (
    None
):
    files = corpus("camunda_mappings.bpmn")
    (coerced,) = [f for f in findings(files) if f["code"] == "camunda-coerced"]
    assert (coerced["severity"], coerced["element_id"]) == ("warning", "hoi_bo_sung")
    assert "'No' is read as false" in coerced["message_en"] and "được hiểu là sai" in coerced["message_vi"]
    (process,) = compile_files(files).processes
    ask, write = process.user_tasks["hoi_bo_sung"], process.user_tasks["ghi_bo_sung"]
    assert ask.form_key == "BoSung" and write.form_key == "generated:ghi_bo_sung"
    assert process.forms["BoSung"].schema["properties"] == {
        "can_bo_sung": {"title": "Cần bổ sung?", "type": "boolean", "default": False}
    }
    assert process.forms["generated:ghi_bo_sung"].schema["properties"] == {
        "noi_dung": {"title": "Nội dung", "type": "string"}
    }
    yes = corpus("camunda_mappings.bpmn", {'defaultValue="No"': 'defaultValue="Yes"'})
    (process,) = compile_files(yes).processes
    assert process.forms["BoSung"].schema["properties"]["can_bo_sung"]["default"] is True
    maybe = corpus("camunda_mappings.bpmn", {'defaultValue="No"': 'defaultValue="Maybe"'})
    errors = [f for f in findings(maybe) if f["severity"] == "error"]
    assert [f["element_id"] for f in errors] == ["hoi_bo_sung"] and "'Maybe' is not a boolean" in errors[0][
        "message_en"
    ]


def test_a_camunda_script_value_in_a_map_is_still_refused_naming_the_parameter() -> None:
    files = corpus(
        "camunda_mappings.bpmn",
        {"<camunda:value>${so_ban}</camunda:value>": '<camunda:script scriptFormat="groovy">so_ban</camunda:script>'},
    )
    errors = [f for f in findings(files) if f["severity"] == "error"]
    assert [f["element_id"] for f in errors] == ["lap_danh_muc"]
    assert "inputParameter 'ho_so': a camunda:script value is not supported" in errors[0]["message_en"]


def test_a_loop_over_a_collection_the_instance_lacks_fails_as_that_step_not_the_server(
    container: EngineContainer,
) -> None:
    files = corpus("collection_loop.bpmn")
    container.deployments.deploy(OWNER, files)
    instance_id, _ = container.instances.start(INTEGRATOR, "xem_xet_tung_ho_so")  # no TypeError out of SpiffWorkflow
    row = instance(container, instance_id)
    assert row["status"] != "completed"
    error = str(row.get("error") or row)
    assert "danh_sach" in error and "missing" in error
    done, _ = container.instances.start(INTEGRATOR, "xem_xet_tung_ho_so", variables={"danh_sach": ["a", "b"]})
    assert instance(container, done)["status"] == "completed"
