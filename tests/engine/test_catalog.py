"""engine.definitions.catalog: deployments are parsed, validated and compiled at once, and every problem is reported together."""

from __future__ import annotations

import itertools
import threading
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import Deployment, DeploymentCache, compile_deployment, content_hash
from phoihop.engine.definitions.lint.deployment import lint_deployment
from phoihop.engine.definitions.xmlsafe import DEFAULT_MAX_SIBLINGS
from phoihop.engine.errors import InvalidDefinition, UnsafeXml
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bpmn"
AGENCIES = default_registry()


def source(name: str, replace: dict[str, str] | None = None, *, as_name: str | None = None) -> SourceFile:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return SourceFile(as_name or name, text.encode("utf-8"))


def deploy(*files: SourceFile, check: Any = check_source) -> Deployment:
    return compile_deployment(files, agencies=AGENCIES, check=check)


def problems_of(*files: SourceFile, check: Any = check_source) -> list[dict[str, Any]]:
    with pytest.raises(InvalidDefinition) as caught:
        deploy(*files, check=check)
    assert caught.value.problems == caught.value.fields["problems"]
    return caught.value.problems


def compile_only(text: str, mode: str) -> None:
    """A checker that only compiles, as the catalog accepts any ``check(source, mode)``."""
    compile(text, "<x>", mode)


# --- lanes, agencies and human tasks --------------------------------------------------------------------------------
def test_lanes_named_by_code_name_nfd_alias_and_old_tone_placement() -> None:
    raw = (FIXTURES / "lanes.bpmn").read_text(encoding="utf-8")
    assert not unicodedata.is_normalized("NFC", raw)  # the HTKC lane is stored decomposed
    (process,) = deploy(source("lanes.bpmn")).processes
    agencies = {task_id: task.agency for task_id, task in process.user_tasks.items()}
    assert agencies == {
        "Task_TiepNhan": "skhcn",  # lane "skhcn"
        "Task_ThamDinhPhapLy": "stp",  # "Sở Tư pháp"
        "Task_YKienHtkc": "htkc",  # full name, NFD
        "Task_BaoCao": "vp-ubnd",  # alias "Văn phòng UBND"
        "Task_QuyetDinh": "ubnd",  # manual task, "Uỷ ban nhân dân Thành phố"
        "Task_HuongDan": "skhcn",  # inside the embedded subprocess
    }
    assert all(task.candidate_groups == (task.agency,) for task in process.user_tasks.values())
    assert process.user_tasks["Task_ThamDinhPhapLy"].lane == "Sở Tư pháp"
    assert process.key == "Process_VuongMac" and process.name == "Xử lý vướng mắc"
    assert process.documentation == "Quy trình 1: phản ánh vướng mắc (Điều 7, 10, 12)."
    assert process.start_message_names == ("vuong_mac_moi",)
    assert list(process.subprocess_specs) == ["Sub_HuongDan"]
    assert process.spec.name == "Process_VuongMac"


def test_camunda_modeler_file_passes_the_schema_and_keeps_its_attributes() -> None:
    (process,) = deploy(source("camunda_modeler.bpmn")).processes
    check_task = process.user_tasks["Task_KiemTra"]
    assert (check_task.lane, check_task.agency, check_task.candidate_groups) == (
        "Bộ phận một cửa",
        "ttpvhcc",
        ("ttpvhcc",),
    )
    assert check_task.form_key == "form:kiem-tra" and check_task.documentation == "Kiểm tra thành phần hồ sơ."
    review = process.user_tasks["Task_ThamDinh"]
    assert review.agency == "skhcn"
    assert review.candidate_groups == ("skhcn", "stp", "to-tham-dinh")  # "Sở Tư pháp" resolved, unknown kept
    assert review.candidate_users == ("le.thi.b", "tran.van.c")
    # JUEL ${han_tham_dinh} is translated to the Python it means (engine.definitions.camunda.juel)
    assert (review.due_date, review.form_key, review.assignee) == ("han_tham_dinh", "form:tham-dinh", None)
    sign = process.user_tasks["Task_Ky"]
    assert (sign.assignee, sign.candidate_groups, sign.due_date) == ("nguyen.van.a", (), "2026-03-01T17:00:00+07:00")
    assert process.spec.task_specs["Event_HetHan"].event_definition.expression == "'P10D'"


def test_task_in_unknown_lane_without_candidates_compiles_and_is_a_lint_warning() -> None:
    # issue 12: "no one can act" was a compile error; it is the lint's no-one-can-act warning (admins and leads act)
    deployment = deploy(source("unknown_lane.bpmn"))
    found = [f for f in lint_deployment(deployment) if f["code"] == "no-one-can-act"]
    assert [(f["file"], f["element_id"], f["line"], f["severity"]) for f in found] == [
        ("unknown_lane.bpmn", "Task_KhongAi", 15, "warning")
    ]
    assert "in lane 'Phòng Kế hoạch Nội bộ'" in found[0]["message_en"]
    assert found[0]["message_vi"].startswith("công việc Task_KhongAi trong làn 'Phòng Kế hoạch Nội bộ'")


def test_call_activity_brings_the_called_process_and_its_tasks() -> None:
    deployment = deploy(source("call_parent.bpmn"), source("call_child.bpmn"))
    parent = deployment.process("Process_XinYKien")
    assert parent is not None and list(parent.subprocess_specs) == ["Process_GopY"]
    assert parent.user_tasks["Task_GopY"].agency == "stc"
    assert [p.key for p in deployment.processes] == ["Process_GopY", "Process_XinYKien"]
    (found,) = problems_of(source("call_parent.bpmn"))
    assert (found["element_id"], found["line"]) == ("Call_GopY", 7)
    assert "Process_GopY" in found["reason"]


# --- timers ---------------------------------------------------------------------------------------------------------
def test_iso_timer_literals_are_rewritten_and_expressions_kept() -> None:
    (process,) = deploy(source("timers.bpmn")).processes
    expressions = {
        name: process.spec.task_specs[name].event_definition.expression
        for name in ("Timer_Cho", "Timer_NhacViec", "Timer_HenNgay", "Timer_BieuThuc", "Timer_Quoted")
    }
    assert expressions == {
        "Timer_Cho": "'PT2S'",
        "Timer_NhacViec": "'R3/PT1H'",
        "Timer_HenNgay": "'2026-03-01T10:00:00+07:00'",
        "Timer_BieuThuc": "han_xu_ly",
        "Timer_Quoted": '"P10D"',
    }


def test_rewritten_timer_runs_in_spiffworkflow() -> None:
    (process,) = deploy(source("timers.bpmn")).processes
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs)
    before = datetime.now(UTC)
    workflow.do_engine_steps()
    after = datetime.now(UTC)
    (waiting,) = workflow.waiting_events()
    due = datetime.fromisoformat(waiting.value)
    # PT2S from the moment the timer was entered, somewhere between the two readings (however long the steps took)
    assert before + timedelta(seconds=2) <= due <= after + timedelta(seconds=2)


@pytest.mark.parametrize(
    ("element", "text", "what"),
    [
        ("timeDuration", "PT5X", "duration"),
        ("timeDuration", "2026-03-01T10:00:00+07:00", "duration"),
        ("timeCycle", "PT1H", "ISO 8601"),
        ("timeCycle", "R3/PTX", "ISO 8601"),
        ("timeDuration", "'P1Q'", "ISO 8601"),
    ],
)
def test_invalid_timer_literals_name_the_timer(element: str, text: str, what: str) -> None:
    replaced = source(
        "timers.bpmn",
        {
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT2S</bpmn:timeDuration>': f'<bpmn:{element} xsi:type="bpmn:tFormalExpression">{text}</bpmn:{element}>'
        },
    )
    (found,) = problems_of(replaced)
    assert (found["element_id"], found["element_name"], found["line"]) == ("Timer_Cho", "Chờ 2 giây", 16)
    assert text in found["reason"] and what in found["reason"]


# --- expressions ----------------------------------------------------------------------------------------------------
def test_every_bad_expression_is_reported_with_element_and_line() -> None:
    found = problems_of(source("bad_expressions.bpmn"))
    assert [(p["element_id"], p["line"]) for p in found] == [
        ("Script_TinhHan", 17),  # `import os` on line 2 of the script
        ("Task_DuyetLai", 27),  # preScript `x = = 1`
        ("Task_NhieuNguoi", 36),  # loopCardinality `len(ds_co_quan`
        ("Timer_Sai", 43),  # `PTX`
        ("Flow_Sai", 53),  # condition `a ==`
    ]
    assert found[0]["script_line"] == 2 and "import" in found[0]["reason"]
    assert found[0]["reason"].startswith("invalid script") and found[0]["reason_vi"].startswith("kịch bản")
    assert "timeDuration 'PTX'" in found[3]["reason"]
    assert all(p["file"] == "bad_expressions.bpmn" for p in found)


def test_any_checker_can_be_injected() -> None:
    found = problems_of(source("bad_expressions.bpmn"), check=compile_only)
    assert [p["element_id"] for p in found] == ["Task_DuyetLai", "Task_NhieuNguoi", "Timer_Sai", "Flow_Sai"]
    assert found[-1]["reason"] == "invalid condition: syntax error: invalid syntax"

    def broken(text: str, mode: str) -> None:
        raise RuntimeError("checker down")

    found = problems_of(source("lanes.bpmn"), check=broken)
    assert {p["element_id"] for p in found} == {"Flow_PhapLy", "Flow_Htkc"}
    assert "RuntimeError: checker down" in found[0]["reason"]


def test_script_task_without_script_is_refused() -> None:
    empty = source("bad_expressions.bpmn", {"han = 5\nimport os\nket_qua = os.getcwd()": ""})
    found = problems_of(empty)
    assert ("Script_TinhHan", 13, "script task has no script") in [
        (p["element_id"], p["line"], p["reason"]) for p in found
    ]


# --- DMN ------------------------------------------------------------------------------------------------------------
def test_business_rule_task_with_dmn_decides() -> None:
    (process,) = deploy(source("business_rule.bpmn"), source("routing.dmn")).processes
    results = []
    for data in (
        {"trong_khu_cnc": True, "kinh_phi": 1},
        {"trong_khu_cnc": False, "kinh_phi": 600},
        {"trong_khu_cnc": False, "kinh_phi": 100},
    ):
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs)
        workflow.task_tree.data.update(data)
        workflow.do_engine_steps()
        (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
        results.append(task.data["co_quan"])
    assert results == ["htkc", "stc", "skhcn"]
    assert list(process.user_tasks) == ["Task_XemKetQua"]


def test_bad_dmn_cells_are_reported_once_each() -> None:
    dmn = source(
        "routing.dmn",
        {
            "<text>&gt; 500</text>": "<text>in [1, 2]</text>",  # glued to the input: "kinh_phiin [1, 2]"
            '<text>"stc"</text>': '<text>"stc</text>',
            "<text>trong_khu_cnc</text>": "<text>trong_khu_cnc ==</text>",  # its column's cells are not repeated
            "<text>0 &lt;= ? &lt;= 500</text>": "<text>0 &lt;= ? &lt;=</text>",
        },
    )
    found = problems_of(source("business_rule.bpmn"), dmn)
    assert [(p["element_id"], p["line"]) for p in found] == [
        ("Input_KhuCnc", 7),
        ("UnaryTests_4", 32),
        ("LiteralExpression_2", 35),
        ("UnaryTests_6", 43),
    ]
    assert "'? in [1, 2]'" in found[1]["reason"] and "kinh_phiin [1, 2]" in found[1]["reason"]
    assert all(p["file"] == "routing.dmn" for p in found)


def test_dmn_with_several_decisions_compiles_each_decision() -> None:
    """SpiffWorkflow 3.2's DMN parser crashes on a file with several decisions; the catalog gives each decision its own
    copy of the file (engine/definitions/dmn/tables.py), so a businessRuleTask can call any of them by id."""
    text = (FIXTURES / "routing.dmn").read_text(encoding="utf-8")
    decision = text[text.index("  <decision") : text.index("  <dmndi:DMNDI>")].replace('id="', 'id="B_')
    dmn = SourceFile("routing.dmn", text.replace("  <dmndi:DMNDI>", decision + "  <dmndi:DMNDI>").encode())
    assert deploy(source("business_rule.bpmn"), dmn).processes[0].key
    other = source("business_rule.bpmn", {"Decision_DieuPhoi": "B_Decision_DieuPhoi"})
    assert deploy(other, dmn).processes[0].key


def test_business_rule_task_must_name_a_known_decision() -> None:
    (found,) = problems_of(source("business_rule.bpmn", {"Decision_DieuPhoi": "Decision_Khac"}), source("routing.dmn"))
    assert (found["element_id"], found["line"]) == ("Rule_DieuPhoi", 15)
    camunda = source(
        "business_rule.bpmn",
        {
            '<bpmn:businessRuleTask id="Rule_DieuPhoi"': '<bpmn:businessRuleTask camunda:decisionRef="Decision_DieuPhoi" '
            'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
            'id="Rule_DieuPhoi"',
            "<spiffworkflow:calledDecisionId>Decision_DieuPhoi</spiffworkflow:calledDecisionId>": "",
        },
    )
    # camunda:decisionRef is read (engine.definitions.camunda.dialect rewrites it to spiffworkflow:calledDecisionId)
    (process,) = deploy(camunda, source("routing.dmn")).processes
    assert process.spec.task_specs["Rule_DieuPhoi"].dmnEngine.decision_table.id == "DecisionTable_1"
    unknown = camunda.content.replace(b'"Decision_DieuPhoi"', b'"Decision_Khac"')
    (found,) = problems_of(SourceFile(camunda.name, unknown), source("routing.dmn"))
    assert found["element_id"] == "Rule_DieuPhoi" and "'Decision_Khac'" in found["reason"]


# --- structure and files --------------------------------------------------------------------------------------------
def test_malformed_xml_is_invalid_with_its_line() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        deploy(source("malformed.bpmn"))
    assert not isinstance(caught.value, UnsafeXml)
    (found,) = caught.value.problems
    assert (found["file"], found["element_id"], found["line"]) == ("malformed.bpmn", None, 8)


def test_structure_problems_are_clear_and_complete() -> None:
    broken = source(
        "camunda_modeler.bpmn",
        {
            '<bpmn:endEvent id="Event_TuChoi"': '<bpmn:endEvent id="Task_KiemTra"',  # duplicate id
            'sourceRef="Task_ThamDinh" targetRef="Task_Ky"': 'sourceRef="Task_ThamDinh" targetRef="Task_Missing"',
            '<bpmn:userTask id="Task_Ky" name': '<bpmn:userTask id="Task_Ky" bogus="1" name',
        },
    )
    found = problems_of(broken)
    assert [(p["element_id"], p["line"]) for p in found] == [
        ("Task_Ky", 53),
        ("Task_KiemTra", 60),
        ("Flow_KhongDayDu", 68),
        ("Flow_3", 69),
    ]
    by_id = {p["element_id"]: p for p in found}
    assert by_id["Task_KiemTra"]["reason"] == "duplicate id 'Task_KiemTra' (first used on line 25)"
    assert "'bogus' is not allowed" in by_id["Task_Ky"]["reason"]
    assert by_id["Flow_3"]["reason"] == "sequence flow targetRef='Task_Missing' names no element in this file"
    assert "Event_TuChoi" in by_id["Flow_KhongDayDu"]["reason"]  # its target was renamed away


def test_spiffworkflow_errors_are_wrapped_with_the_line_found_by_id() -> None:
    no_start = source(
        "camunda_modeler.bpmn",
        {
            '<bpmn:startEvent id="StartEvent_1" name="Hồ sơ nộp trực tuyến">': "<bpmn:intermediateThrowEvent "
            'id="StartEvent_1">',
            "</bpmn:startEvent>": "</bpmn:intermediateThrowEvent>",
        },
    )
    (found,) = problems_of(no_start)
    assert (found["element_id"], found["line"], found["reason"]) == ("Process_TiepNhan", 6, "No start event found")
    assert found["reason_vi"].endswith("No start event found")


def test_file_names_types_and_unsafe_files_are_all_reported() -> None:
    xxe = SourceFile("xxe.bpmn", b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>')
    with pytest.raises(UnsafeXml) as caught:
        deploy(source("lanes.bpmn"), xxe, SourceFile("notes.txt", b"hi"), source("timers.bpmn", as_name="xxe.bpmn"))
    assert [(p["file"], p.get("line")) for p in caught.value.problems] == [
        ("notes.txt", None),
        ("xxe.bpmn", None),
        ("xxe.bpmn", 1),
    ]
    assert "same name" in caught.value.problems[1]["reason"]
    assert "DOCTYPE" in caught.value.problems[2]["reason"]
    with pytest.raises(InvalidDefinition):
        deploy()
    with pytest.raises(InvalidDefinition, match="no executable process"):
        deploy(source("camunda_modeler.bpmn", {'isExecutable="true"': 'isExecutable="false"'}))
    with pytest.raises(InvalidDefinition, match=r"not a BPMN 2\.0 file"):
        deploy(SourceFile("a.bpmn20.xml", b"<definitions/>"))


# --- hashing and caching --------------------------------------------------------------------------------------------
def test_content_hash_is_stable_and_order_independent() -> None:
    a, b = source("business_rule.bpmn"), source("routing.dmn")
    assert content_hash([a, b]) == content_hash([b, a]) == deploy(b, a).content_hash
    assert len(content_hash([a, b])) == 64
    assert content_hash([a]) != content_hash([a, b])
    assert content_hash([a]) != content_hash([SourceFile("other.bpmn", a.content)])
    assert content_hash([SourceFile("ab", b"c")]) != content_hash([SourceFile("a", b"bc")])
    assert [f.name for f in deploy(b, a).files] == ["business_rule.bpmn", "routing.dmn"]


def test_cache_reuses_compiled_deployments() -> None:
    cache = DeploymentCache(max_entries=1)
    a, b = source("business_rule.bpmn"), source("routing.dmn")
    first = cache.get_or_compile([a, b], agencies=AGENCIES, check=check_source)
    assert cache.get_or_compile([b, a], agencies=AGENCIES, check=check_source) is first
    assert cache.get(first.content_hash) is first and len(cache) == 1
    other = cache.get_or_compile([source("timers.bpmn")], agencies=AGENCIES, check=check_source)
    assert cache.get(first.content_hash) is None and cache.get(other.content_hash) is other  # evicted
    with pytest.raises(InvalidDefinition):
        cache.get_or_compile([source("malformed.bpmn")], agencies=AGENCIES, check=check_source)
    assert len(cache) == 1


def test_cache_is_thread_safe() -> None:
    cache = DeploymentCache()
    files = [source("camunda_modeler.bpmn"), source("lanes.bpmn")]
    results: list[Deployment] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(cache.get_or_compile(files, agencies=AGENCIES, check=check_source))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(result is results[0] for result in results)
    assert len(cache) == 1


# --- hostile volume -------------------------------------------------------------------------------------------------
HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/'
    'schema/1.0/bpmn" id="D" targetNamespace="x"><bpmn:process id="P" isExecutable="true">\n'
)
TAIL = "</bpmn:process></bpmn:definitions>"


def test_thousands_of_errors_are_reported_bounded_and_past_the_sibling_cap_never_validated() -> None:
    # libxml2's schema validator spends time proportional to the same-tag siblings of each element it reports an
    # error on: what keeps a hostile file's errors quick is the cap on siblings (xmlsafe.DEFAULT_MAX_SIBLINGS), which
    # refuses the file before validation. Asserted as the engine reports it, not with a clock (a loaded machine).
    assert DEFAULT_MAX_SIBLINGS == 5_000
    bogus = "".join(f'<bpmn:task id="T{i}" bogus="1"/>\n' for i in range(DEFAULT_MAX_SIBLINGS))
    found = problems_of(SourceFile("x.bpmn", (HEAD + bogus + TAIL).encode()))
    assert len(found) == 51 and found[0]["reason"] == "4950 more schema errors not listed"
    assert (found[1]["element_id"], found[1]["line"]) == ("T0", 2)

    one_more = bogus + f'<bpmn:task id="T{DEFAULT_MAX_SIBLINGS}" bogus="1"/>\n'
    with pytest.raises(UnsafeXml) as caught:
        deploy(SourceFile("x.bpmn", (HEAD + one_more + TAIL).encode()))
    assert [(p["reason"], p["line"]) for p in caught.value.problems] == [
        ("an element has 5001 <task> children, the limit is 5000", 1)  # the line of their parent, the process
    ]  # one problem, not a schema error: the file never reached the validator

    conditions = '<bpmn:startEvent id="S"/><bpmn:endEvent id="E"/>' + "".join(
        f'<bpmn:sequenceFlow id="F{i}" sourceRef="S" targetRef="E"><bpmn:conditionExpression>a ==</bpmn:'
        f"conditionExpression></bpmn:sequenceFlow>"
        for i in range(1_000)
    )
    found = problems_of(SourceFile("x.bpmn", (HEAD + conditions + TAIL).encode()))
    assert len(found) == 201 and found[-1]["reason"] == "800 more problems not listed"


def test_a_chain_too_long_for_spiffworkflow_is_refused_with_a_reason() -> None:
    ids = ["S", *(f"T{i}" for i in range(1_000)), "E"]
    body = (
        '<bpmn:startEvent id="S"/><bpmn:endEvent id="E"/>'
        + "".join(f'<bpmn:userTask id="{i}" camunda:assignee="a"/>' for i in ids[1:-1])
        + "".join(
            f'<bpmn:sequenceFlow id="F{n}" sourceRef="{a}" targetRef="{b}"/>'
            for n, (a, b) in enumerate(itertools.pairwise(ids))
        )
    )
    (found,) = problems_of(SourceFile("x.bpmn", (HEAD + body + TAIL).encode()))
    assert "too long" in found["reason"] and found["file"] == "x.bpmn"


def test_a_task_inside_a_subprocess_takes_the_lane_that_lists_it() -> None:
    """SpiffWorkflow passes a subprocess's lane down to its tasks; a subprocess drawn across two lanes (as Camunda
    Modeler draws it) lists each inner task in its own lane, and that lane decides the task's agency."""
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="across" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="L1" name="Sở Khoa học và Công nghệ">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>sub</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>appraise</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="L2" name="Sở Tư pháp"><bpmn:flowNodeRef>legal</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="s_start"/>
      <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="appraise"/>
      <bpmn:userTask id="appraise" name="Thẩm định"/>
      <bpmn:sequenceFlow id="s2" sourceRef="appraise" targetRef="legal"/>
      <bpmn:userTask id="legal" name="Ý kiến pháp lý"/>
      <bpmn:sequenceFlow id="s3" sourceRef="legal" targetRef="s_end"/>
      <bpmn:endEvent id="s_end"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    tasks = deploy(SourceFile("across.bpmn", xml.encode())).processes[0].user_tasks
    assert (tasks["appraise"].agency, tasks["appraise"].candidate_groups) == ("skhcn", ("skhcn",))
    assert (tasks["legal"].agency, tasks["legal"].candidate_groups) == ("stp", ("stp",))


@pytest.mark.parametrize(
    "closing",
    [
        '<bpmn:sequenceFlow id="back" sourceRef="b" targetRef="a"/>',
        '<bpmn:sequenceFlow id="back" sourceRef="b" targetRef="join"/><bpmn:parallelGateway id="join"/>'
        '<bpmn:sequenceFlow id="again" sourceRef="join" targetRef="a"/>',
    ],
)
def test_a_loop_without_a_decision_is_refused_at_deploy(closing: str) -> None:
    """SpiffWorkflow 3.2 predicts such a loop without end (RecursionError at every start): refuse it, naming it."""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>
    <bpmn:userTask id="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
    <bpmn:userTask id="b"/>{closing}
  </bpmn:process>
</bpmn:definitions>"""
    (found,) = problems_of(SourceFile("loop.bpmn", xml.encode()))
    assert found["element_id"] == "a" and "a, b" in found["reason"] and "vòng lặp" in found["reason_vi"]


def test_a_loop_through_a_gateway_or_a_boundary_event_deploys() -> None:
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="loop_ok" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="L" name="Sở Tư pháp"><bpmn:flowNodeRef>a</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>b</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>
    <bpmn:userTask id="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
    <bpmn:userTask id="b"/><bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="end"/><bpmn:endEvent id="end"/>
    <bpmn:boundaryEvent id="late" attachedToRef="b">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="a"/>
  </bpmn:process>
</bpmn:definitions>"""
    assert deploy(SourceFile("loop_ok.bpmn", xml.encode())).processes[0].key == "loop_ok"
