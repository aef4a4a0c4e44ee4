"""engine.definitions.dmn.feel_python: a FEEL decision table written as Camunda Modeler writes it, translated at deploy
into the Python the sandbox evaluates (every unary test form, simple expressions, date(...), an input named like a
Python builtin or keyword), an unsupported FEEL cell linted, and the project's Python tables unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.dmn.feel_python import (
    FeelUnsupported,
    is_feel,
    simple_expression,
    translate_root,
    unary_tests,
)
from phoihop.engine.definitions.dmn.tables import compile_file, evaluate
from phoihop.engine.definitions.lint.deployment import lint_deployment, lint_files
from phoihop.engine.definitions.lint.dmn_tables import dmn_findings
from phoihop.engine.execution.sandbox import SandboxedScriptEngine
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile

FIXTURE = Path(__file__).parent.parent / "fixtures" / "dmn" / "feel_camunda.dmn"
ENGINE = SandboxedScriptEngine(cpu_seconds=0.5)


def content(replace: dict[str, str] | None = None) -> bytes:
    text = FIXTURE.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text.encode("utf-8")


def run(amount: Any, kind: str = "z", go: bool = True, received: str = "2026-06-01") -> tuple[str, dict[str, Any]]:
    decision = compile_file("feel_camunda.dmn", content())[0]
    result = evaluate(decision, {"amount": amount, "input": kind, "continue": go, "received": received}, ENGINE)
    return result.matched[0].rule.id, result.outputs


@pytest.mark.parametrize(
    ("inputs", "rule_id", "outputs"),
    [
        ((5,), "Rule_range", {"route": "closed range", "days": 1}),  # [5..8] includes 5 and 8
        ((8,), "Rule_range", {"route": "closed range", "days": 1}),
        ((10,), "Rule_default", {"route": "other", "days": 0}),  # ]10..20[ excludes 10 and 20
        ((20,), "Rule_default", {"route": "other", "days": 0}),
        ((15,), "Rule_open_range", {"route": "open range", "days": 2}),
        ((1000, "a", True), "Rule_big", {"route": "big a/b", "days": 10}),  # >= 1000, "a","b", true; amount / 100
        ((2000, "b", True), "Rule_big", {"route": "big a/b", "days": 20}),
        ((1000, "c", True, "2025-12-31"), "Rule_not", {"route": "big old", "days": None}),  # not("x"), < date(...)
        ((1000, "a", False, "2025-12-31"), "Rule_not", {"route": "big old", "days": None}),  # continue is false
        ((1000, "x", True, "2025-12-31"), "Rule_default", {"route": "other", "days": 0}),
        ((1000, "c", True, "2026-01-01"), "Rule_default", {"route": "other", "days": 0}),
        ((30, "x", False, "2026-03-01"), "Rule_not_list", {"route": "x on 1 March", "days": 5}),  # not(1, 2)
        ((3,), "Rule_equal", {"route": "three", "days": 3}),  # 3: equality
        ((4,), "Rule_paren_range", {"route": "small", "days": "2026-12-31"}),  # (0..5); date(...) output
        ((0,), "Rule_less", {"route": "below five", "days": -1}),  # < 5
    ],
)
def test_each_feel_unary_test_form_evaluates_as_feel_reads_it(
    inputs: tuple[Any, ...], rule_id: str, outputs: dict[str, Any]
) -> None:
    assert run(*inputs) == (rule_id, outputs)


UNSET = {' expressionLanguage="https://www.omg.org/spec/DMN/20191111/FEEL/"': ""}


def test_a_camunda_modeler_file_without_expression_language_is_feel() -> None:
    # Camunda Modeler writes no expressionLanguage (FEEL is DMN's default): every cell translating, the file is FEEL
    decision = compile_file("feel_camunda.dmn", content(UNSET))[0]
    inputs = {"amount": 6, "input": "z", "continue": True, "received": "2026-06-01"}
    assert evaluate(decision, inputs, ENGINE).matched[0].rule.id == "Rule_range"


def test_a_camunda_modeler_file_with_a_python_only_cell_stays_python() -> None:
    # "0 <= ? <= 500" is no FEEL: the whole file keeps its Python reading, as before this translator
    changed = content(
        {
            **UNSET,
            "<text>[5..8]</text>": "<text>5 &lt;= ? &lt;= 8</text>",
            "<text>]10..20[</text>": ("<text>10 &lt; ? &lt; 20</text>"),
        }
    )
    decision = compile_file("feel_camunda.dmn", changed)[0]
    assert decision.rules[0].input_entries[0] == "5 <= ? <= 8"
    assert decision.rules[2].input_entries[1] == '"a","b"'  # not translated


def test_not_list_excludes_its_values() -> None:
    # not(1, 2) excludes 1 and 2: the later rules answer ((0..5), then < 5)
    assert run(2, "x", False, "2026-03-01")[0] == "Rule_paren_range"
    assert run(-2, "x", False, "2026-03-01")[0] == "Rule_not_list"
    assert run(1, "x", True, "2026-03-01")[0] == "Rule_paren_range"


def test_the_feel_file_deploys_and_lints_clean() -> None:
    files = [SourceFile("feel_camunda.dmn", content())]
    deployment = compile_deployment(files, agencies=default_registry(), check=check_source)
    findings = [f for f in lint_deployment(deployment) if f["code"] == "dmn-feel"]
    assert findings == []


def test_an_unsupported_feel_cell_is_a_lint_error_naming_rule_and_column() -> None:
    changed = content({"<text>amount / 100</text>": "<text>substring(received, 1, 2)</text>"})
    findings = lint_files(
        [SourceFile("feel_camunda.dmn", changed)],
        compile_files=lambda files: compile_deployment(files, agencies=default_registry(), check=check_source),
    )
    (found,) = [f for f in findings if f["code"] == "dmn-feel"]
    assert found["severity"] == "error" and found["element_id"] == "Rule_big"
    assert "rule Rule_big, column 'Số ngày': FEEL output entry 'substring(received, 1, 2)'" in found["message_en"]
    assert "substring()" in found["message_en"]
    assert "quy tắc Rule_big, cột 'Số ngày'" in found["message_vi"]
    assert "không phải FEEL" not in found["message_vi"]
    # the lint of a compiled deployment names it too (engine.definitions.lint.dmn_tables)
    root = etree.fromstring(changed)
    (linted,) = [f for f in dmn_findings("feel_camunda.dmn", root) if f["code"] == "dmn-feel"]
    assert linted["message_en"] == found["message_en"]


@pytest.mark.parametrize(
    ("feel", "python"),
    [
        ("-", None),
        ("", None),
        (">= 10", "(? >= 10)"),
        ("= 5", "(? == 5)"),
        ("[5..8]", "(5 <= ? <= 8)"),
        ("]5..8[", "(5 < ? < 8)"),
        ("(5..8]", "(5 < ? <= 8)"),
        ('"a","b"', "(? == ('a')) or (? == ('b'))"),
        ('not("x")', "not ((? == ('x')))"),
        ('date("2026-01-01")', "(? == ('2026-01-01'))"),
        ("true", "(? == (True))"),
        ("null", "(? == (None))"),
    ],
)
def test_unary_tests_translate(feel: str, python: str | None) -> None:
    assert unary_tests(feel) == python


@pytest.mark.parametrize(
    "feel", ["substring(x, 1, 2)", "[1, 2]", 'date("2026-13-01")', "x between 1 and 2", "a..b", "not"]
)
def test_unsupported_feel_raises(feel: str) -> None:
    with pytest.raises(FeelUnsupported):
        simple_expression(feel) if feel in ("not",) else unary_tests(feel)


@pytest.mark.parametrize("path", ["green_lane/eligibility.dmn", "sandbox_review/sector_routing.dmn"])
def test_the_projects_python_tables_are_not_translated(path: str) -> None:
    raw = (Path(__file__).parent.parent.parent / "processes" / path).read_bytes()
    root = etree.fromstring(raw)
    before = etree.tostring(root)
    assert not is_feel(root)
    assert translate_root(root) == []
    assert etree.tostring(root) == before


def test_a_business_rule_task_runs_a_feel_table() -> None:
    fixtures = Path(__file__).parent.parent / "fixtures" / "bpmn"
    dmn = (fixtures / "routing.dmn").read_text(encoding="utf-8")
    for old, new in {
        "<text>True</text>": "<text>true</text>",
        "<text>False</text>": "<text>false</text>",
        "<text>0 &lt;= ? &lt;= 500</text>": "<text>[0..500]</text>",
        "<text>trong_khu_cnc</text>": "<text>continue</text>",
    }.items():
        assert old in dmn
        dmn = dmn.replace(old, new)
    files = [
        SourceFile("business_rule.bpmn", (fixtures / "business_rule.bpmn").read_bytes()),
        SourceFile("routing.dmn", dmn.encode("utf-8")),
    ]
    (process,) = compile_deployment(files, agencies=default_registry(), check=check_source).processes
    results = []
    for data in (
        {"continue": True, "kinh_phi": 1},
        {"continue": False, "kinh_phi": 600},
        {"continue": False, "kinh_phi": 100},
    ):
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs)
        workflow.task_tree.data.update(data)
        workflow.do_engine_steps()
        (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
        results.append(task.data["co_quan"])
    assert results == ["htkc", "stc", "skhcn"]
