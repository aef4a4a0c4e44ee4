"""Compile every expression of a deployment at deploy time, and make ISO 8601 timer literals runnable.

SpiffWorkflow evaluates conditions, scripts, timers, payloads and DMN cells only when an instance reaches them; a typo
then stops that instance in ERROR. Here each is handed to ``check(source, mode)`` (the sandbox's ``check_source``)
while deploying, in the exact form SpiffWorkflow will run it. Timer texts Camunda Modeler writes as plain ISO 8601
(``PT2S``, ``R3/PT1H``, ``2026-03-01T10:00:00+07:00``) are validated with SpiffWorkflow's own parsers and rewritten in
the tree to the quoted Python literal (``'PT2S'``) that SpiffWorkflow's timer code evaluates.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from phoihop.engine.definitions.dmn.cells import dmn_entry_source
from phoihop.engine.definitions.dmn.feel import FEEL_CODE, syntax_hint
from phoihop.engine.definitions.start_timers import cron_error, is_cron
from phoihop.engine.definitions.structure import NSMAP, Document, local_name, problem
from phoihop.engine.errors import ScriptError
from phoihop.engine.model import Problem

Mode = Literal["eval", "exec"]
Check = Callable[[str, Mode], None]  # check(source, mode); raises (ScriptError, SyntaxError, ...) to refuse

# Elements between an expression and the element a modeller recognises (the task, flow or event carrying it).
_WRAPPERS = frozenset(
    {
        "extensionElements",
        "multiInstanceLoopCharacteristics",
        "standardLoopCharacteristics",
        "timerEventDefinition",
        "conditionalEventDefinition",
        "messageEventDefinition",
        "signalEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
        "correlationPropertyRetrievalExpression",
        "processVariableCorrelation",
        "serviceTaskOperator",
        "parameters",
        "inputExpression",
    }
)

# (path below the root, mode, what it is in English, in Vietnamese)
_BPMN_EXPRESSIONS: tuple[tuple[str, Mode, str, str], ...] = (
    ("bpmn:sequenceFlow/bpmn:conditionExpression", "eval", "condition", "điều kiện"),
    ("bpmn:scriptTask/bpmn:script", "exec", "script", "kịch bản"),
    ("bpmn:extensionElements/spiffworkflow:preScript", "exec", "pre-script", "kịch bản trước"),
    ("bpmn:extensionElements/spiffworkflow:postScript", "exec", "post-script", "kịch bản sau"),
    (
        "bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality",
        "eval",
        "multi-instance cardinality",
        "số lượng đa thực thể",
    ),
    (
        "bpmn:multiInstanceLoopCharacteristics/bpmn:loopDataInputRef",
        "eval",
        "multi-instance collection",
        "tập dữ liệu đa thực thể",
    ),
    (
        "bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition",
        "eval",
        "multi-instance completion condition",
        "điều kiện hoàn thành đa thực thể",
    ),
    ("bpmn:standardLoopCharacteristics/bpmn:loopCondition", "eval", "loop condition", "điều kiện lặp"),
    ("bpmn:adHocSubProcess/bpmn:completionCondition", "eval", "completion condition", "điều kiện hoàn thành"),
    ("bpmn:conditionalEventDefinition/bpmn:condition", "eval", "event condition", "điều kiện sự kiện"),
    ("spiffworkflow:messagePayload", "eval", "message payload", "nội dung thông điệp"),
    (
        "spiffworkflow:processVariableCorrelation/spiffworkflow:expression",
        "eval",
        "message correlation",
        "biểu thức tương quan thông điệp",
    ),
    (
        "bpmn:correlationPropertyRetrievalExpression/*",
        "eval",
        "correlation retrieval expression",
        "biểu thức lấy khóa tương quan",
    ),
    ("spiffworkflow:payloadExpression", "eval", "event payload", "nội dung sự kiện"),
)
_TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
_ISO_LIKE = re.compile(r"R\d*/\S+|P[0-9A-Z.,]*|\d{4}-?(?:W\d{2}|\d{2})\S*")
# SpiffWorkflow's DMNEngine replaces a "?" outside quotes by the input value (same pattern).


def owner(element: Any) -> Any:
    """The nearest enclosing element with an id that is not a mere wrapper (e.g. the task of an extension)."""
    current = element.getparent()
    while current is not None:
        if current.get("id") is not None and local_name(current) not in _WRAPPERS:
            return current
        current = current.getparent()
    return element.getparent()


def run_check(check: Check, source: str, mode: Mode) -> tuple[str, str, int | None] | None:
    """None when ``source`` passes, else (reason, reason_vi, line within the source)."""
    try:
        check(source, mode)
    except ScriptError as exc:
        line = exc.fields.get("line")
        return exc.detail, exc.detail_vi, line if isinstance(line, int) else None
    except SyntaxError as exc:
        return f"syntax error: {exc.msg}", f"lỗi cú pháp: {exc.msg}", exc.lineno
    except Exception as exc:  # a checker must never take the deployment down; report what it raised
        return f"{type(exc).__name__}: {exc}", f"{type(exc).__name__}: {exc}", None
    return None


def _checked(
    document: Document,
    check: Check,
    source: str,
    mode: Mode,
    text_element: Any,
    what: tuple[str, str],
    owner_element: Any = None,
) -> list[Problem]:
    failure = run_check(check, source, mode)
    if failure is None:
        return []
    reason, reason_vi, script_line = failure
    line = text_element.sourceline + (script_line - 1 if script_line else 0)
    extra: dict[str, Any] = {"script_line": script_line} if script_line else {}
    return [
        problem(
            document.name,
            f"invalid {what[0]}: {reason}",
            f"{what[1]} không hợp lệ: {reason_vi}",
            element=owner_element if owner_element is not None else owner(text_element),
            line=line,
            **extra,
        )
    ]


def check_bpmn_expressions(document: Document, check: Check) -> list[Problem]:
    problems: list[Problem] = []
    root = document.root
    for path, mode, what_en, what_vi in _BPMN_EXPRESSIONS:
        for element in root.iterfind(".//" + path, NSMAP):
            if element.text and element.text.strip():
                problems += _checked(document, check, element.text, mode, element, (what_en, what_vi))
    for task in root.iterfind(".//bpmn:scriptTask", NSMAP):
        if not (task.findtext("bpmn:script", "", NSMAP) or "").strip():
            problems.append(
                problem(document.name, "script task has no script", "công việc kịch bản không có mã", element=task)
            )
    for definition in root.iterfind(".//bpmn:conditionalEventDefinition", NSMAP):  # SpiffWorkflow evaluates None
        if not (definition.findtext("bpmn:condition", "", NSMAP) or "").strip():
            event = owner(definition)
            problems.append(
                problem(
                    document.name,
                    f"conditional event {event.get('id')} has no condition: write the expression in its "
                    "<bpmn:condition> (for example so_ngay_tre > 0)",
                    f"sự kiện điều kiện {event.get('id')} chưa có điều kiện: hãy viết biểu thức trong "
                    "<bpmn:condition> (ví dụ so_ngay_tre > 0)",
                    element=event,
                )
            )
    for parameter in root.iterfind(".//spiffworkflow:serviceTaskOperator//spiffworkflow:parameter[@value]", NSMAP):
        problems += _checked(
            document, check, parameter.get("value"), "eval", parameter, ("service parameter", "tham số dịch vụ")
        )
    return problems


# --- timers ---------------------------------------------------------------------------------------------------------
def cron_start_error(text: str, event: Any) -> tuple[str, str] | None:
    """Why the cron ``timeCycle`` ``text`` of ``event`` cannot run (English, Vietnamese), or None: cron cycles are
    scheduled for the timer start event of a process only (engine.definitions.start_timers)."""
    if local_name(event) != "startEvent" or local_name(event.getparent()) != "process":
        return (
            "a cron cycle runs only on the timer start event of a process: write an ISO 8601 repetition such "
            "as R3/PT1H here",
            "biểu thức cron chỉ dùng cho sự kiện bắt đầu hẹn giờ của quy trình: ở đây hãy viết chu kỳ ISO 8601 "
            "như R3/PT1H",
        )
    error = cron_error(text)
    if error is not None:
        return f"unsupported cron expression: {error}", f"biểu thức cron không được hỗ trợ: {error}"
    return None


def _timer_literal_error(kind: str, text: str) -> str | None:
    """Why SpiffWorkflow would fail on the ISO 8601 ``text`` of a ``kind`` timer, or None if it is fine."""
    try:
        if kind == "timeDuration":
            if not text.startswith("P") or not TimerEventDefinition.parse_iso_duration(text):
                return "not an ISO 8601 duration such as PT2S or P10D"
        elif kind == "timeDate":
            if not isinstance(TimerEventDefinition.parse_time_or_duration(text), datetime):
                return "not an ISO 8601 date-time such as 2026-03-01T10:00:00+07:00"
        else:
            TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception as exc:  # SpiffWorkflow raises bare Exception, ValueError, AttributeError, IndexError here
        return f"not valid ISO 8601 ({exc or type(exc).__name__})"
    return None


def _string_literal(text: str) -> str | None:
    try:
        value = ast.literal_eval(text)
    except Exception:  # not a literal at all: an ordinary expression
        return None
    return value if isinstance(value, str) else None


def _literal_error(kind: str, literal: str, event: Any) -> str | None:
    """Why a literal timer text cannot run: a cron cycle (the timer start event of a process only) or ISO 8601."""
    if kind == "timeCycle" and is_cron(literal):
        return (cron_start_error(literal, event) or (None, None))[0]
    return _timer_literal_error(kind, literal)


def check_timers(document: Document, check: Check) -> list[Problem]:
    """Validate every timer; rewrite plain ISO 8601 texts in the tree to quoted Python string literals."""
    problems: list[Problem] = []
    for definition in document.root.iterfind(".//bpmn:timerEventDefinition", NSMAP):
        event = owner(definition)
        specs = [child for child in definition if local_name(child) in _TIMER_KINDS]
        if not specs:
            problems.append(
                problem(
                    document.name,
                    "timer has no timeDate, timeDuration or timeCycle",
                    "bộ hẹn giờ thiếu timeDate, timeDuration hoặc timeCycle",
                    element=event,
                )
            )
        for spec in specs:
            kind, text = local_name(spec), (spec.text or "").strip()
            iso = bool(_ISO_LIKE.fullmatch(text))
            literal = text if iso else _string_literal(text)  # a quoted literal is checked like an ISO one
            error = (
                "is empty"
                if not text
                else _literal_error(kind, literal.strip(), event)
                if literal is not None
                else None
            )
            if error:
                problems.append(
                    problem(
                        document.name,
                        f"timer {kind} {text!r} {error}",
                        f"bộ hẹn giờ {kind} {text!r} không hợp lệ: {error}",
                        element=event,
                        line=spec.sourceline,
                    )
                )
            elif iso:
                spec.text = repr(text)
            else:
                problems += _checked(
                    document, check, text, "eval", spec, ("timer expression", "biểu thức hẹn giờ"), event
                )
    return problems


# --- DMN ------------------------------------------------------------------------------------------------------------
def _dmn_entry_problems(
    document: Document,
    check: Check,
    input_expression: str,
    entry: Any,
    rule: Any,
) -> list[Problem]:
    text_element = entry.find("{*}text")
    text = text_element.text if text_element is not None else None
    if text is None or text in ("", "-"):
        return []  # "-" and empty cells match anything
    where = f"input entry {text!r} of rule {rule.get('id')}", f"ô đầu vào {text!r} của quy tắc {rule.get('id')}"
    feel = syntax_hint(text)  # a FEEL range, '=' or joined tests: say so rather than "syntax error"
    try:
        source, glued = dmn_entry_source(input_expression, text)
    except Exception:
        if feel is not None:
            return [
                problem(
                    document.name,
                    f"{where[0]}: {feel.en}",
                    f"{where[1]}: {feel.vi}",
                    element=entry,
                    line=text_element.sourceline,
                    code=FEEL_CODE,
                )
            ]
        return [
            problem(
                document.name,
                f"{where[0]} is neither an expression nor a comparison such as '> 5'",
                f"{where[1]} không phải biểu thức hay phép so sánh (ví dụ '> 5')",
                element=entry,
                line=text_element.sourceline,
            )
        ]
    if glued and re.search(r"\w$", input_expression) and re.match(r"\w", text):
        return [
            problem(
                document.name,
                f"{where[0]} is appended to the input expression without a space, giving "
                f"{source!r}: write '? {text}' instead",
                f"{where[1]} bị nối liền vào biểu thức đầu vào thành {source!r}: hãy viết '? {text}'",
                element=entry,
                line=text_element.sourceline,
            )
        ]
    found = _checked(document, check, source, "eval", text_element, ("input entry", "ô đầu vào"), entry)
    if found and feel is not None and not _parses(source):  # a syntax error, not a sandbox refusal
        found[0].update(reason=f"{where[0]}: {feel.en}", reason_vi=f"{where[1]}: {feel.vi}", code=FEEL_CODE)
    return found


def _parses(source: str) -> bool:
    try:
        ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def check_dmn_expressions(document: Document, check: Check) -> list[Problem]:
    """Every input expression, input entry and output entry of every decision table of a DMN file."""
    ns = {"dmn": document.root.tag[1:].split("}", 1)[0]}
    problems: list[Problem] = []
    for cell in document.untranslated:  # FEEL not translated: said as FEEL, its Python reading not checked
        en, vi = cell.message()
        problems.append(problem(document.name, en, vi, element=cell.element, element_id=cell.rule_id, code=FEEL_CODE))
    skip = frozenset(cell.element for cell in document.untranslated)
    for table in document.root.iterfind(".//dmn:decisionTable", ns):
        problems += _check_dmn_table(document, check, table, ns, skip)
    return problems


def _check_dmn_table(
    document: Document, check: Check, table: Any, ns: dict[str, str], skip: frozenset[Any]
) -> list[Problem]:
    problems: list[Problem] = []
    inputs: list[str | None] = []  # None: the column's expression failed, its entries would only repeat that
    for input_element in table.iterfind("dmn:input", ns):
        text_element = input_element.find("dmn:inputExpression/dmn:text", ns)
        expression = text_element.text if text_element is not None else None
        if input_element.find("dmn:inputExpression", ns) in skip:
            inputs.append(None)
            continue
        found = (
            _checked(
                document,
                check,
                expression,
                "eval",
                text_element,
                ("input expression", "biểu thức đầu vào"),
                input_element,
            )
            if expression
            else []
        )
        problems += found
        # Without an expression SpiffWorkflow falls back to the value named by the label.
        inputs.append(None if found else expression or "None")
    for rule in table.iterfind("dmn:rule", ns):
        for index, entry in enumerate(rule.iterfind("dmn:inputEntry", ns)):
            expression = inputs[index] if index < len(inputs) else None
            if expression is not None and entry not in skip:
                problems += _dmn_entry_problems(document, check, expression, entry, rule)
        for entry in rule.iterfind("dmn:outputEntry", ns):
            text_element = entry.find("dmn:text", ns)
            if text_element is not None and text_element.text and entry not in skip:
                problems += _checked(
                    document, check, text_element.text, "eval", text_element, ("output entry", "ô đầu ra"), entry
                )
    return problems


def check_expressions(documents: list[Document], check: Check) -> list[Problem]:
    """Every expression, script and timer in ``documents``; rewrites ISO timer literals in place."""
    problems: list[Problem] = []
    for document in documents:
        if document.kind == "bpmn":
            problems += check_bpmn_expressions(document, check)
            problems += check_timers(document, check)
        else:
            problems += check_dmn_expressions(document, check)
    return problems
