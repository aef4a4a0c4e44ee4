"""DMN decision tables as SpiffWorkflow 3.2.0 runs them, for a business rule task or an owner trying a table.

SpiffWorkflow's DMN parser reads one decision per document and crashes (``AttributeError``) on a file with several:
:func:`split_decisions` gives each decision its own copy of the document, so every decision of a file can be called by
id (engine.definitions.catalog hands the copies to the parser). :func:`compile_file` parses a DMN file into
:class:`CompiledDecision` objects, and :func:`evaluate` runs one on input values exactly as a business rule task
would: SpiffWorkflow's own ``DMNEngine.evaluate`` on each cell and ``Rule.output_as_dict`` for the outputs, through the
sandboxed script engine the caller passes (never plain ``eval``). DMN expressions are Python, not FEEL
(engine.definitions.dmn.feel).

Hit policies as SpiffWorkflow implements them: UNIQUE stops at the first matching rule (it does not check that only one
matches); COLLECT gathers every match, each output becoming a list; every other policy (FIRST, ANY, PRIORITY, ...)
evaluates every rule and takes the first match.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from phoihop.engine.definitions.dmn.cells import dmn_entry_source, expression_names
from phoihop.engine.definitions.dmn.feel import PYTHON_NOT_FEEL, FeelIssue, cell_issue
from phoihop.engine.definitions.dmn.feel_python import translate_root
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import DefinitionNotFound, InvalidDefinition, InvalidInput
from phoihop.engine.execution.sandbox import unwrap_script_error
from phoihop.engine.variables import check_variables

__all__ = [
    "CompiledDecision",
    "DecisionEvaluationFailed",
    "DecisionInput",
    "DecisionInputsMissing",
    "DecisionNotFound",
    "DecisionOutput",
    "DecisionResult",
    "DecisionRule",
    "RuleMatch",
    "compile_file",
    "decision_elements",
    "evaluate",
    "split_decisions",
]


class DecisionNotFound(DefinitionNotFound):
    code = "decision-not-found"
    title_vi = "Không tìm thấy bảng quyết định"
    title_en = "Decision not found"


class DecisionInputsMissing(InvalidInput):
    code = "decision-inputs-missing"
    title_vi = "Thiếu dữ liệu đầu vào của bảng quyết định"
    title_en = "Decision inputs missing"


class DecisionEvaluationFailed(InvalidInput):
    code = "decision-evaluation-failed"
    title_vi = "Không đánh giá được bảng quyết định"
    title_en = "Decision evaluation failed"


# --- documents ------------------------------------------------------------------------------------------------------
def _namespace(root: Any) -> str:
    tag = root.tag if isinstance(root.tag, str) else ""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def decision_elements(root: Any) -> list[Any]:
    """The ``<decision>`` elements of a DMN document, in document order."""
    return list(root.iter(f"{{{_namespace(root)}}}decision"))


def split_decisions(root: Any) -> list[tuple[str, Any]]:
    """``[(decision id, document root)]``: the root itself for a file with one decision, else one deep copy per
    decision with the other decisions removed (item definitions, input data and diagrams stay)."""
    decisions = decision_elements(root)
    if len(decisions) <= 1:
        return [(decision.get("id", ""), root) for decision in decisions]
    documents = []
    for index, decision in enumerate(decisions):
        single = copy.deepcopy(root)
        for other_index, other in enumerate(decision_elements(single)):
            if other_index != index:
                other.getparent().remove(other)
        documents.append((decision.get("id", ""), single))
    return documents


# --- compiled decisions ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionInput:
    id: str
    label: str | None
    expression: str | None  # None: SpiffWorkflow reads the variable named by the label
    type_ref: str | None

    @property
    def column(self) -> str:
        return self.label or self.expression or self.id


@dataclass(frozen=True)
class DecisionOutput:
    id: str
    name: str  # the variable the business rule task sets (the label when the output has no name)
    label: str | None
    type_ref: str | None


@dataclass(frozen=True)
class DecisionRule:
    id: str
    index: int  # 1-based row number
    annotation: str | None  # the rule's <description>
    input_entries: tuple[str | None, ...]  # None: "-" or empty, matches anything
    output_entries: tuple[str | None, ...]


@dataclass(frozen=True)
class CompiledDecision:
    id: str
    name: str | None
    file: str
    hit_policy: str
    inputs: tuple[DecisionInput, ...]
    outputs: tuple[DecisionOutput, ...]
    rules: tuple[DecisionRule, ...]
    variables: tuple[str, ...]  # what the input expressions read: the inputs a caller must give
    content_hash: str  # sha256 of the decision element (canonical XML): a new decision version when it changes
    engine: Any = field(compare=False, repr=False)  # SpiffWorkflow DMNEngine of the decision table


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _compile_one(file: str, decision_id: str, root: Any, element: Any) -> CompiledDecision:
    parser = BpmnDmnParser()  # validator None: the file was validated (XSD and sandbox) when it was deployed
    parser.add_dmn_xml(root, filename=file)
    engine = parser.get_engine(decision_id, None)
    table = engine.decision_table
    inputs = tuple(DecisionInput(i.id, _text(i.label), _text(i.expression), _text(i.typeRef)) for i in table.inputs)
    outputs = tuple(DecisionOutput(o.id, o.name or o.label, _text(o.label), _text(o.typeRef)) for o in table.outputs)
    rules = tuple(
        DecisionRule(
            id=rule.id,
            index=rule.row_number,
            annotation=_text(rule.description),
            input_entries=tuple(entry.lhs[0] if entry.lhs else None for entry in rule.inputEntries),
            output_entries=tuple(_text(getattr(entry, "text", None)) for entry in rule.outputEntries),
        )
        for rule in table.rules
    )
    variables = {name for item in inputs for name in expression_names(item.expression)}
    variables |= {item.label for item in inputs if item.expression is None and item.label}
    canonical = etree.tostring(element, method="c14n")
    return CompiledDecision(
        id=decision_id,
        name=_text(element.get("name")),
        file=file,
        hit_policy=table.hit_policy,
        inputs=inputs,
        outputs=outputs,
        rules=rules,
        variables=tuple(sorted(variables)),
        content_hash=hashlib.sha256(canonical).hexdigest(),
        engine=engine,
    )


def compile_file(file: str, content: bytes) -> list[CompiledDecision]:
    """Every decision of a deployed DMN file (safe XML parsing, each decision in its own document for SpiffWorkflow);
    InvalidDefinition when SpiffWorkflow cannot parse one (deployment refuses such files)."""
    root = parse_xml(content, filename=file).getroot()
    translate_root(root)  # a FEEL file's cells as Python (engine.definitions.dmn.feel_python)
    compiled = []
    for (decision_id, single), element in zip(split_decisions(root), decision_elements(root), strict=True):
        try:
            compiled.append(_compile_one(file, decision_id, single, element))
        except Exception as exc:  # ValidationException, or an IndexError of a decision without a table
            reason = f"{type(exc).__name__}: {exc}"
            raise InvalidDefinition(
                f"{file}: decision {decision_id} cannot be parsed: {reason}",
                detail_vi=f"{file}: không đọc được bảng quyết định {decision_id}: {reason}",
                problems=[
                    {
                        "file": file,
                        "element_id": decision_id,
                        "line": element.sourceline,
                        "reason": reason,
                        "reason_vi": reason,
                    }
                ],
            ) from exc
    return compiled


# --- evaluation -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleMatch:
    rule: DecisionRule
    outputs: dict[str, Any] | None  # None when computing them failed in a rule the result does not use (see notes)


@dataclass(frozen=True)
class DecisionResult:
    decision: CompiledDecision
    matched: tuple[RuleMatch, ...]
    outputs: dict[str, Any]  # what a business rule task merges into the task data
    notes: tuple[dict[str, str], ...]  # {code, detail, detail_vi}


class _ScratchTask:
    """What SpiffWorkflow's DMNEngine, Rule.output_as_dict and the script engine read of a task: its data, its
    workflow's script engine, and the names its error messages quote."""

    def __init__(self, decision: CompiledDecision, data: dict[str, Any], script_engine: Any) -> None:
        self.data = data
        self.task_spec = SimpleNamespace(name=decision.id, bpmn_id=decision.id, bpmn_name=decision.name or decision.id)
        workflow = SimpleNamespace(script_engine=script_engine, spec=SimpleNamespace(file=decision.file))
        workflow.top_workflow = workflow
        self.workflow = workflow


def _note(code: str, en: str, vi: str) -> dict[str, str]:
    return {"code": code, "detail": en, "detail_vi": vi}


class _CellFailure(Exception):
    def __init__(self, error: DecisionEvaluationFailed) -> None:
        super().__init__(error.detail)
        self.error = error


def _failure(
    decision: CompiledDecision,
    rule: DecisionRule,
    where_en: str,
    where_vi: str,
    text: str,
    python: str | None,
    exc: Exception,
    hint: FeelIssue | None,
) -> DecisionEvaluationFailed:
    script_error = unwrap_script_error(exc)
    if script_error is not None:
        reason, reason_vi = script_error.detail, script_error.detail_vi
    else:
        reason = reason_vi = f"{type(exc).__name__}: {exc}"
    hint_en = f"; {hint.en}" if hint is not None else f" ({PYTHON_NOT_FEEL[0]})"
    hint_vi = f"; {hint.vi}" if hint is not None else f" ({PYTHON_NOT_FEEL[1]})"
    return DecisionEvaluationFailed(
        f"decision {decision.id}, rule {rule.id} (row {rule.index}), {where_en} {text!r} failed: {reason}{hint_en}",
        detail_vi=f"bảng quyết định {decision.id}, quy tắc {rule.id} (dòng {rule.index}), {where_vi} {text!r} bị lỗi: "
        f"{reason_vi}{hint_vi}",
        decision_id=decision.id,
        rule_id=rule.id,
        rule_index=rule.index,
        expression=text,
        python=python,
    )


def _rule_matches(decision: CompiledDecision, rule: DecisionRule, task: _ScratchTask) -> bool:
    """SpiffWorkflow's ``DMNEngine.__check_rule``: every input entry must hold (its cells evaluated one by one)."""
    engine = decision.engine
    for index, text in enumerate(rule.input_entries):
        if text is None:
            continue
        column = decision.inputs[index]
        expression = column.expression or ""
        try:
            # DMNEngine.__get_input_val: the input expression, else (SpiffWorkflow's fallback) the label's value
            expression = column.expression or repr(task.data[column.label or ""])
            if not engine.evaluate(expression, text, task):
                return False
        except Exception as exc:
            try:
                python: str | None = dmn_entry_source(expression, text)[0]
            except SyntaxError:
                python = None
            hint = cell_issue(text, "input entry", input_expression=expression, known=decision.variables)
            raise _CellFailure(
                _failure(
                    decision,
                    rule,
                    f"column {column.column!r}, input entry",
                    f"cột {column.column!r}, ô đầu vào",
                    text,
                    python,
                    exc,
                    hint,
                )
            ) from exc
    return True


def _outputs(decision: CompiledDecision, rule: DecisionRule, task: _ScratchTask) -> dict[str, Any]:
    spiff_rule = decision.engine.decision_table.rules[rule.index - 1]
    try:
        return dict(spiff_rule.output_as_dict(task))
    except Exception as exc:
        failing = next(
            (
                (output, text)
                for output, text in zip(decision.outputs, rule.output_entries, strict=False)
                if text is not None and _fails(text, task)
            ),
            None,
        )
        output, text = failing if failing is not None else (None, "")
        column = output.name if output is not None else "?"
        hint = cell_issue(text, "output entry", known=decision.variables) if text else None
        raise _CellFailure(
            _failure(
                decision,
                rule,
                f"output {column!r}, output entry",
                f"đầu ra {column!r}, ô đầu ra",
                text,
                text or None,
                exc,
                hint,
            )
        ) from exc


def _fails(text: str, task: _ScratchTask) -> bool:
    try:
        task.workflow.script_engine.evaluate(task, text)
    except Exception:
        return True
    return False


def _missing(decision: CompiledDecision, data: Mapping[str, Any]) -> None:
    missing = [name for name in decision.variables if name not in data]
    if missing:
        listed = ", ".join(missing)
        raise DecisionInputsMissing(
            f"decision {decision.id} reads {listed}, which the inputs do not give",
            missing=missing,
            detail_vi=f"bảng quyết định {decision.id} cần {listed} nhưng dữ liệu đầu vào không có",
            decision_id=decision.id,
        )


def evaluate(decision: CompiledDecision, inputs: Mapping[str, Any] | None, script_engine: Any) -> DecisionResult:
    """Run ``decision`` on ``inputs`` as a business rule task would (``script_engine``: the sandboxed engine, under
    the runtime's scripting context). Missing inputs: DecisionInputsMissing; a failing cell the task would evaluate:
    DecisionEvaluationFailed naming the rule and the expression. Rules a UNIQUE table never reaches after its first
    match are still checked, so that overlapping rules show up as a note."""
    data = check_variables(inputs)
    _missing(decision, data)
    task = _ScratchTask(decision, data, script_engine)
    policy = decision.hit_policy
    notes: list[dict[str, str]] = []
    matched: list[RuleMatch] = []
    for rule in decision.rules:
        reached = not (policy == "UNIQUE" and matched)  # SpiffWorkflow stops a UNIQUE table at its first match
        try:
            if not _rule_matches(decision, rule, task):
                continue
        except _CellFailure as failure:
            if reached:
                raise failure.error from None
            notes.append(_unreached(failure.error))
            continue
        outputs: dict[str, Any] | None = None
        try:
            outputs = _outputs(decision, rule, task)
        except _CellFailure as failure:
            if policy == "COLLECT" or not matched:  # outputs the task computes
                raise failure.error from None
            notes.append(_unreached(failure.error))
        matched.append(RuleMatch(rule, outputs))
    notes += _notes(decision, matched, data)
    return DecisionResult(decision, tuple(matched), _result(decision, matched), tuple(notes))


def _unreached(error: DecisionEvaluationFailed) -> dict[str, str]:
    return _note(
        "unreached-cell-fails",
        f"{error.detail} (a business rule task never evaluates it: it has its result before)",
        f"{error.detail_vi} (công việc quy tắc nghiệp vụ không đánh giá ô này: đã có kết quả trước đó)",
    )


def _result(decision: CompiledDecision, matched: Sequence[RuleMatch]) -> dict[str, Any]:
    """SpiffWorkflow's ``DMNEngine.result``: the first match's outputs, or for COLLECT each output as a list."""
    if decision.hit_policy != "COLLECT":
        return dict(matched[0].outputs or {}) if matched else {}
    result: dict[str, Any] = {}
    for match in matched:
        for key, value in (match.outputs or {}).items():
            result.setdefault(key, []).append(value)
    return result


def _notes(decision: CompiledDecision, matched: Sequence[RuleMatch], data: Mapping[str, Any]) -> list[dict[str, str]]:
    notes = []
    if not matched:
        notes.append(
            _note(
                "no-match",
                "no rule matches these inputs: a business rule task would set none of the "
                "outputs, and a later use of them would fail",
                "không quy tắc nào khớp với dữ liệu này: công việc quy tắc nghiệp vụ sẽ không gán đầu ra "
                "nào, và việc dùng chúng về sau sẽ lỗi",
            )
        )
    if decision.hit_policy == "UNIQUE" and len(matched) > 1:
        rules = ", ".join(match.rule.id for match in matched)
        notes.append(
            _note(
                "unique-overlap",
                f"hit policy UNIQUE but rules {rules} all match: SpiffWorkflow takes the "
                f"first, {matched[0].rule.id}, without an error",
                f"hit policy UNIQUE nhưng các quy tắc {rules} cùng khớp: SpiffWorkflow lấy quy tắc đầu "
                f"tiên, {matched[0].rule.id}, không báo lỗi",
            )
        )
    used = set(decision.variables)
    for rule in decision.rules:
        for text in (*rule.input_entries, *rule.output_entries):
            used |= expression_names(text)
    unused = sorted(name for name in data if name not in used)
    if unused:
        listed = ", ".join(unused)
        notes.append(
            _note("unused-inputs", f"the table reads none of: {listed}", f"bảng quyết định không dùng: {listed}")
        )
    return notes
