"""engine.definitions.dmn.tables, engine.definitions.dmn.feel, engine.definitions.lint.dmn_tables, engine.commands.decisions: DMN tables evaluated as SpiffWorkflow runs them (Python, not FEEL),
several decisions per file, FEEL linted, and decisions deployed alone, versioned and found in the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.agencies import default_registry
from phoihop.engine.commands.decisions import Decisions, ProcessVersionRef
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.definitions.dmn.feel import cell_issue
from phoihop.engine.definitions.dmn.tables import (
    CompiledDecision,
    DecisionEvaluationFailed,
    DecisionInput,
    DecisionInputsMissing,
    DecisionNotFound,
    compile_file,
    evaluate,
)
from phoihop.engine.definitions.lint.deployment import lint_deployment
from phoihop.engine.definitions.process_files import deployable_sets
from phoihop.engine.errors import Forbidden, InvalidDefinition, InvalidVariables
from phoihop.engine.execution.sandbox import SandboxedScriptEngine
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import Actor, SourceFile
from tests.conftest import INTEGRATOR, OWNER, officer

DMN = Path(__file__).parent.parent / "fixtures" / "dmn"
PROCESSES = Path(__file__).parent.parent.parent / "processes"
ENGINE = SandboxedScriptEngine(cpu_seconds=0.5)
PYTHON_NOT_FEEL = "biểu thức DMN ở đây là Python, không phải FEEL"
ADMIN = Actor.of("quan_tri", name="Quản trị", roles=("admin",))


def text(name: str, replace: dict[str, str] | None = None) -> str:
    content = (DMN / name).read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in content, old
        content = content.replace(old, new)
    return content


def source(name: str, replace: dict[str, str] | None = None) -> SourceFile:
    return SourceFile(name, text(name, replace).encode("utf-8"))


def decision(name: str, decision_id: str | None = None, replace: dict[str, str] | None = None) -> CompiledDecision:
    compiled = compile_file(name, text(name, replace).encode("utf-8"))
    return next(d for d in compiled if decision_id is None or d.id == decision_id)


def compiled(*files: SourceFile) -> Deployment:
    return compile_deployment(files, agencies=default_registry(), check=check_source)


def refused(*files: SourceFile) -> list[dict[str, Any]]:
    with pytest.raises(InvalidDefinition) as caught:
        compiled(*files)
    return caught.value.problems


# --- the project's tables, every rule reached -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "rule_id", "outputs"),
    [
        ("KHCN-01", "rule_khcn_01", {"green_lane": True, "standard_days": 7, "cut_rate": None}),
        ("KHCN-02", "rule_khcn_02", {"green_lane": True, "standard_days": 15, "cut_rate": None}),
        ("KHCN-03", "rule_khcn_03", {"green_lane": True, "standard_days": 20, "cut_rate": 0.5}),
        ("KHCN-04", "rule_khcn_04", {"green_lane": True, "standard_days": 5, "cut_rate": 0.4}),
        ("KHCN-05", "rule_khcn_05", {"green_lane": False, "standard_days": 15, "cut_rate": 0}),
        ("KHCN-99", "rule_default", {"green_lane": False, "standard_days": 15, "cut_rate": 0}),
    ],
)
def test_green_lane_eligibility_reaches_every_rule(code: str, rule_id: str, outputs: dict[str, Any]) -> None:
    table = decision("eligibility.dmn")
    assert (table.id, table.hit_policy, table.variables) == ("green_lane_eligibility", "FIRST", ("procedure_code",))
    result = evaluate(table, {"procedure_code": code}, ENGINE)
    assert result.outputs == outputs
    # FIRST: SpiffWorkflow evaluates every rule, so the catch-all matches too; only the first gives the result
    expected = [rule_id] if rule_id == "rule_default" else [rule_id, "rule_default"]
    assert [m.rule.id for m in result.matched] == expected
    first = result.matched[0]
    assert (
        first.outputs == outputs
        and first.rule.annotation is not None
        and first.rule.annotation.startswith(code if rule_id != "rule_default" else "Mặc định")
    )
    assert result.notes == ()


@pytest.mark.parametrize(
    ("sector", "rule_id", "agency", "basis"),
    [
        ("y_te", "rule_health", "syt", "Điều 17.2"),
        ("giao_duc", "rule_education", "sgddt", "Điều 18.2"),
        ("nong_nghiep_moi_truong", "rule_agriculture", "snnmt", "Điều 16.2"),
        ("khac", "rule_other", "none", ""),
        ("cong_nghe_thong_tin", "rule_other", "none", ""),
    ],
)
def test_sector_routing_reaches_every_rule(sector: str, rule_id: str, agency: str, basis: str) -> None:
    table = decision("sector_routing.dmn")
    result = evaluate(table, {"sector": sector}, ENGINE)
    assert [(m.rule.id, m.rule.index) for m in result.matched] == [
        (rule_id, [r.id for r in table.rules].index(rule_id) + 1)
    ]
    assert result.outputs == {"sector_agency": agency, "sector_basis": basis}


def test_evaluation_matches_a_business_rule_task_of_spiffworkflow() -> None:
    """The same table run by SpiffWorkflow inside a workflow gives the very outputs ``evaluate`` reports."""
    deployment = compiled(source("multi.dmn"), source("escalation_level.bpmn"))
    (process,) = deployment.processes
    for days, level, handler in ((0, "dung_han", "skhcn"), (3, "tre_han", "skhcn"), (12, "tre_nghiem_trong", "ubnd")):
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=ENGINE)
        workflow.task_tree.data.update({"so_ngay_tre": days})
        workflow.do_engine_steps()
        (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert (task.data["muc_do"], task.data["cap_xu_ly"]) == (level, handler)
        first = evaluate(decision("multi.dmn", "delay_level"), {"so_ngay_tre": days}, ENGINE)
        second = evaluate(decision("multi.dmn", "handling_level"), {"muc_do": level}, ENGINE)
        assert {**first.outputs, **second.outputs} == {"muc_do": level, "cap_xu_ly": handler}


# --- hit policies, missing inputs, failures, notes ------------------------------------------------------------------
def test_collect_gives_each_output_as_a_list_of_every_match() -> None:
    table = decision("collect.dmn")
    every = evaluate(table, {"vuong_mac_phap_ly": True, "kinh_phi": 800, "trong_khu_cnc": True}, ENGINE)
    assert [m.rule.id for m in every.matched] == ["rule_legal", "rule_budget", "rule_park"]
    assert every.outputs == {"co_quan": ["stp", "stc", "htkc"], "can_cu": ["Điều 7.2", "Điều 9.1", "Điều 7.3"]}
    one = evaluate(table, {"vuong_mac_phap_ly": False, "kinh_phi": 800, "trong_khu_cnc": False}, ENGINE)
    assert one.outputs == {"co_quan": ["stc"], "can_cu": ["Điều 9.1"]}
    none = evaluate(table, {"vuong_mac_phap_ly": False, "kinh_phi": 100, "trong_khu_cnc": False}, ENGINE)
    assert (none.matched, none.outputs) == ((), {})
    assert [note["code"] for note in none.notes] == ["no-match"]
    assert "không quy tắc nào khớp" in none.notes[0]["detail_vi"]


def test_missing_inputs_are_named() -> None:
    table = decision("collect.dmn")
    with pytest.raises(DecisionInputsMissing) as caught:
        evaluate(table, {"kinh_phi": 800}, ENGINE)
    assert caught.value.fields["missing"] == ["trong_khu_cnc", "vuong_mac_phap_ly"]
    assert "trong_khu_cnc, vuong_mac_phap_ly" in caught.value.detail_vi
    with pytest.raises(InvalidVariables):
        evaluate(table, {"_private": 1}, ENGINE)


def test_a_failing_cell_names_the_rule_column_and_expression() -> None:
    table = decision("collect.dmn")
    with pytest.raises(DecisionEvaluationFailed) as caught:
        evaluate(table, {"vuong_mac_phap_ly": False, "kinh_phi": "nhiều", "trong_khu_cnc": False}, ENGINE)
    fields = caught.value.fields
    assert (fields["rule_id"], fields["rule_index"], fields["expression"], fields["python"]) == (
        "rule_budget",
        2,
        "> 500",
        "kinh_phi> 500",
    )
    assert "TypeError" in caught.value.detail and "Kinh phí (triệu đồng)" in caught.value.detail
    assert PYTHON_NOT_FEEL in caught.value.detail_vi


def test_unique_overlap_and_unreached_failures_are_notes() -> None:
    overlapping = decision(
        "sector_routing.dmn", replace={'? not in ("y_te", "giao_duc", "nong_nghiep_moi_truong")': '? != "giao_duc"'}
    )
    result = evaluate(overlapping, {"sector": "y_te"}, ENGINE)
    assert [m.rule.id for m in result.matched] == ["rule_health", "rule_other"]
    assert result.outputs == {"sector_agency": "syt", "sector_basis": "Điều 17.2"}  # SpiffWorkflow takes the first
    assert [note["code"] for note in result.notes] == ["unique-overlap"]
    # a UNIQUE table stops at its first match: a later cell that fails is a note, not an error
    failing_later = decision(
        "sector_routing.dmn", replace={'? not in ("y_te", "giao_duc", "nong_nghiep_moi_truong")': "? > 5"}
    )
    result = evaluate(failing_later, {"sector": "y_te", "ghi_chu": "x"}, ENGINE)
    assert result.outputs["sector_agency"] == "syt"
    assert [note["code"] for note in result.notes] == ["unreached-cell-fails", "unused-inputs"]
    with pytest.raises(DecisionEvaluationFailed):  # reached when nothing matched before it
        evaluate(failing_later, {"sector": "khac"}, ENGINE)


# --- FEEL ----------------------------------------------------------------------------------------------------------
def _one_rule(entry: str, output: str = '"match"') -> CompiledDecision:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_one" name="x" namespace="http://t">
  <decision id="one" name="Một quy tắc">
    <decisionTable id="one_table" hitPolicy="UNIQUE">
      <input id="in_1" label="Giá trị"><inputExpression id="in_1_expr"><text>gia_tri</text></inputExpression></input>
      <output id="out_1" name="ket_qua" />
      <rule id="r1"><inputEntry id="r1_in"><text>{entry}</text></inputEntry>
        <outputEntry id="r1_out"><text>{output}</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""
    return compile_file("one.dmn", xml.encode("utf-8"))[0]


@pytest.mark.parametrize(
    ("entry", "value", "severity"),
    [
        ("true", True, "error"),  # NameError
        ("null", None, "error"),
        ('"a","b"', "a", "error"),  # a tuple the input never equals
        ("5,6", 5, "error"),
        ('not("a")', "b", "error"),  # not("a") is False: "b" == False
        ('"a" or "b"', "b", "error"),  # "a" or "b" is "a"
        ("5 or 6", 6, "error"),
        ('&gt;= date("2026-01-01")', "2026-03-01", "error"),  # TypeError: date() takes numbers
        ('duration("P1D")', "P1D", "error"),  # NameError
        ("[5, 6]", 5, "warning"),  # matches only the list [5, 6] itself
        ("y_te", "y_te", "warning"),  # the variable y_te, not the text
    ],
)
def test_feel_constructs_fail_or_never_match_and_are_linted(entry: str, value: Any, severity: str) -> None:
    """Each FEEL cell, run by SpiffWorkflow's DMN engine, either fails or does not match the value FEEL would match;
    the lint says so, with its severity."""
    table = _one_rule(entry)
    try:
        result = evaluate(table, {"gia_tri": value}, ENGINE)
    except DecisionEvaluationFailed as exc:
        assert PYTHON_NOT_FEEL in exc.detail_vi  # the failure explains itself
    else:
        assert result.matched == ()
    issue = cell_issue(entry.replace("&gt;", ">"), "input entry", input_expression="gia_tri", known={"gia_tri"})
    assert issue is not None and issue.severity == severity
    assert PYTHON_NOT_FEEL in issue.vi and "Python, not FEEL" in issue.en


@pytest.mark.parametrize(
    "entry", ['"a"', "True", "&gt; 5", "? in (5, 6)", "0 &lt;= ? &lt;= 10", "-", "None", "gia_tri"]
)
def test_python_cells_are_not_linted(entry: str) -> None:
    assert (
        cell_issue(
            entry.replace("&gt;", ">").replace("&lt;", "<"),
            "input entry",
            input_expression="gia_tri",
            known={"gia_tri"},
        )
        is None
    )
    _one_rule(entry)  # and they compile


def test_feel_dmn_is_refused_at_deploy_naming_decision_rule_column_and_entry() -> None:
    findings = lint_deployment(compiled(source("feel.dmn")))
    found = {(f["code"], f["severity"], f["element_id"], f["line"]) for f in findings}
    assert found == {
        ("dmn-feel", "error", "rule_list", 14),
        ("dmn-feel", "error", "rule_list", 15),
        ("dmn-feel", "error", "rule_not", 19),
        ("dmn-feel", "error", "rule_or", 24),
        ("dmn-feel", "warning", "rule_words", 29),
        ("dmn-feel", "warning", "rule_words", 31),
        ("dmn-feel", "error", "rule_date", 35),
        ("dmn-feel", "error", "rule_date", 36),
    }  # rule_python, written in Python, has none
    by_line = {f["line"]: f for f in findings}
    assert by_line[14]["message_en"].startswith(
        "decision feel_routing, rule rule_list, column 'Loại vướng mắc': input entry '\"phap_ly\",\"thu_tuc\"'"
    )
    assert "? in ('phap_ly', 'thu_tuc')" in by_line[14]["message_en"]
    assert by_line[36]["message_vi"].startswith(
        "bảng quyết định feel_routing, quy tắc rule_date, cột 'co_quan': ô đầu ra"
    )
    assert all(PYTHON_NOT_FEEL in f["message_vi"] for f in findings)


@pytest.mark.parametrize(
    ("entry", "python"),
    [
        ("[1..10]", "1 <= ? <= 10"),
        ("]1..10[", "1 < ? < 10"),
        ("&gt; 1 and &lt; 10", "? > 1 and ? < 10"),
        ("= 5", "== 5"),
    ],
)
def test_feel_that_does_not_compile_is_refused_by_the_catalog_with_the_python_form(entry: str, python: str) -> None:
    (found,) = refused(source("collect.dmn", {"<text>&gt; 500</text>": f"<text>{entry}</text>"}))
    assert (found["code"], found["element_id"], found["line"]) == ("dmn-feel", "rule_budget_2", 28)
    assert python in found["reason"] and PYTHON_NOT_FEEL in found["reason_vi"]


def test_hit_policies_spiffworkflow_runs_differently_are_warnings() -> None:
    for policy, attributes in (
        ("RULE ORDER", 'hitPolicy="RULE ORDER"'),
        ("PRIORITY", 'hitPolicy="PRIORITY"'),
        ("COLLECT", 'hitPolicy="COLLECT" aggregation="SUM"'),
    ):
        changed = source("collect.dmn", {'hitPolicy="COLLECT"': attributes})
        (finding,) = lint_deployment(compiled(changed))
        assert (finding["code"], finding["severity"], finding["element_id"]) == (
            "dmn-hit-policy",
            "warning",
            "consulted_agencies",
        )
        assert policy in finding["message_en"]


def test_a_decision_requirement_graph_is_a_lint_error_naming_it() -> None:
    required = source(
        "multi.dmn",
        {
            '<decision id="handling_level" name="Cấp xử lý">': '<decision id="handling_level" name="Cấp xử lý">'
            '<informationRequirement id="req_1"><requiredDecision href="#delay_level" /></informationRequirement>'
        },
    )
    (finding,) = [f for f in lint_deployment(compiled(required)) if f["severity"] == "error"]
    assert (finding["code"], finding["element_id"]) == ("dmn-required-decision", "handling_level")
    assert "delay_level" in finding["message_en"] and "delay_level" in finding["message_vi"]


# --- several decisions in one file ---------------------------------------------------------------------------------
def test_a_file_with_several_decisions_compiles_each_by_id() -> None:
    deployment = compiled(source("multi.dmn"))
    assert (deployment.processes, deployment.decisions) == ((), ("delay_level", "handling_level"))
    tables = compile_file("multi.dmn", text("multi.dmn").encode())
    assert [(t.id, t.hit_policy, t.variables, len(t.rules)) for t in tables] == [
        ("delay_level", "FIRST", ("so_ngay_tre",), 3),
        ("handling_level", "UNIQUE", ("muc_do",), 2),
    ]


def test_every_decision_of_a_multi_decision_file_is_checked() -> None:
    broken = source(
        "multi.dmn",
        {
            '<inputEntry id="rule_city_in"><text>"tre_nghiem_trong"</text>': '<inputEntry id="rule_city_in"><text>"tre_nghiem_trong</text>'
        },
    )
    (found,) = refused(broken)
    assert (found["file"], found["element_id"]) == ("multi.dmn", "rule_city_in")
    content = text("multi.dmn")
    start = content.index('<decisionTable id="handling_level_table"')
    end = content.index("</decisionTable>", start) + len("</decisionTable>")
    literal = '<literalExpression id="lit"><text>"ubnd"</text></literalExpression>'
    (found,) = refused(SourceFile("multi.dmn", (content[:start] + literal + content[end:]).encode()))
    assert (found["element_id"], found["reason"]) == (
        "handling_level",
        "the decision has no decision table (only decision tables are supported)",
    )


def test_a_non_executable_process_with_decisions_is_still_refused() -> None:
    bpmn = source("escalation_level.bpmn", {'isExecutable="true"': 'isExecutable="false"'})
    (found,) = refused(bpmn, source("multi.dmn"))
    assert "no executable process" in found["reason"]


# --- stored decisions (both databases) -----------------------------------------------------------------------------
@pytest.fixture
def decisions(container: EngineContainer) -> Iterator[Decisions]:
    yield Decisions(container.db, container.executor.runtime)


def test_dmn_files_deploy_alone_and_get_versions_per_decision(container: EngineContainer, decisions: Decisions) -> None:
    first = container.deployments.deploy(OWNER, [source("multi.dmn")])
    assert [(d.key, d.version, d.created, d.kind) for d in first] == [
        ("delay_level", 1, True, "decision"),
        ("handling_level", 1, True, "decision"),
    ]
    again = container.deployments.deploy(OWNER, [source("multi.dmn")])
    assert [(d.key, d.version, d.created) for d in again] == [("delay_level", 1, False), ("handling_level", 1, False)]
    changed = container.deployments.deploy(OWNER, [source("multi.dmn", {'"ubnd"': '"vp-ubnd"'})], change_note="VP")
    assert [(d.key, d.version, d.created) for d in changed] == [("delay_level", 1, False), ("handling_level", 2, True)]
    listed = {d.id: d for d in decisions.list(OWNER)}
    assert {key: d.version for key, d in listed.items()} == {"delay_level": 1, "handling_level": 2}
    assert listed["handling_level"].inputs == (
        DecisionInput(id="input_level", label="Mức độ", expression="muc_do", type_ref="string"),
    )
    assert (listed["handling_level"].rule_count, listed["handling_level"].engine) == (2, "python")
    latest = decisions.evaluate(OWNER, "handling_level", {"muc_do": "tre_nghiem_trong"})
    older = decisions.evaluate(OWNER, "handling_level", {"muc_do": "tre_nghiem_trong"}, version=1)
    assert (latest.outputs, older.outputs) == ({"cap_xu_ly": "vp-ubnd"}, {"cap_xu_ly": "ubnd"})
    assert (latest.decision.version, older.decision.version) == (2, 1)
    with pytest.raises(DecisionNotFound):
        decisions.find(OWNER, "handling_level", 3)
    with pytest.raises(DecisionNotFound):
        decisions.find(OWNER, "khong_co")
    assert container.definition_reads.list_definitions() == []  # decisions are no process definitions


def test_decisions_of_a_process_folder_name_the_process_version(
    container: EngineContainer, decisions: Decisions
) -> None:
    ((_, files),) = deployable_sets(PROCESSES / "green_lane")
    (deployed,) = container.deployments.deploy(OWNER, files)
    found = decisions.get(OWNER, "green_lane_eligibility")
    assert found.processes == (ProcessVersionRef(key="green_lane", version=deployed.version),)
    assert found.rules is not None and [r.id for r in found.rules][-1] == "rule_default"
    result = decisions.evaluate(INTEGRATOR, "green_lane_eligibility", {"procedure_code": "KHCN-04"})
    assert [(m.rule_id, m.in_result) for m in result.matched] == [
        ("rule_khcn_04", True),
        ("rule_default", False),
    ]
    assert result.outputs == {
        "procedure_name": "Cấp Giấy chứng nhận đăng ký chuyển giao công nghệ",
        "green_lane": True,
        "standard_days": 5,
        "cut_rate": None,  # the setting's 60% (Văn bản 991/UBND-TH), no longer a lower cut of its own
        "in_hitech_park": False,
        "joint_processing": False,
    }


def test_a_business_rule_task_calls_each_decision_of_a_multi_decision_file(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, [source("multi.dmn"), source("escalation_level.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "escalation_level", variables={"so_ngay_tre": 4})
    found = container.instance_reads.get_instance(ADMIN, instance_id)
    assert (found.variables["muc_do"], found.variables["cap_xu_ly"]) == ("tre_han", "skhcn")


def test_only_owners_integrators_and_admins_use_decisions(container: EngineContainer, decisions: Decisions) -> None:
    container.deployments.deploy(OWNER, [source("sector_routing.dmn")])
    clerk = officer("can_bo", "skhcn")
    for call in (
        lambda: decisions.list(clerk),
        lambda: decisions.evaluate(clerk, "sector_routing", {"sector": "y_te"}),
    ):
        with pytest.raises(Forbidden):
            call()
    assert decisions.evaluate(ADMIN, "sector_routing", {"sector": "y_te"}).outputs["sector_agency"] == "syt"
    with pytest.raises(Forbidden):
        container.deployments.deploy(clerk, [source("sector_routing.dmn")])
