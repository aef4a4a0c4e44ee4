"""Expressions written in Camunda rewritten to the Python SpiffWorkflow runs: JUEL (``${…}``, ``#{…}``,
engine.definitions.camunda.juel) becomes the Python it means, FEEL (``=…``, Camunda 8) and JUEL outside the subset are
refused, and so are other expression languages and ``camunda:resource``; a cron ``timeCycle`` is kept (as a
Python string) on the timer start event of a process, where engine.definitions.start_timers schedules it, and refused
elsewhere. This covers sequence-flow and
event conditions, loop expressions and timers here; the other steps of the dialect call :func:`python_of` for
``camunda:dueDate``, ``camunda:in sourceExpression`` and input/output parameters. A refused text is replaced by a
neutral one, so the later checks do not report it twice."""

from __future__ import annotations

import ast
from typing import Any

from phoihop.engine.definitions.camunda.juel import JuelRefused, is_juel, looks_like_juel, translate
from phoihop.engine.definitions.camunda.rewrite import CODE_FEEL, CODE_JUEL, Rewrite
from phoihop.engine.definitions.expressions import cron_start_error, owner
from phoihop.engine.definitions.start_timers import is_cron
from phoihop.engine.definitions.structure import CAMUNDA_NS, NSMAP, local_name

__all__ = ["python_of", "rewrite_expressions"]

_C = f"{{{CAMUNDA_NS}}}"
_NEUTRAL = {
    "condition": "False",
    "value": "None",
    "timeDuration": "'PT1H'",
    "timeCycle": "'R1/PT1H'",
    "timeDate": "'2026-01-01T00:00:00+07:00'",
}
# (path, kind, English, Vietnamese): the BPMN elements whose text is an expression
_EXPRESSIONS: tuple[tuple[str, str, str, str], ...] = (
    (".//bpmn:sequenceFlow/bpmn:conditionExpression", "condition", "condition", "điều kiện"),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "condition", "event condition", "điều kiện sự kiện"),
    (
        ".//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality",
        "value",
        "multi-instance cardinality",
        "số lượng đa thực thể",
    ),
    (
        ".//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition",
        "condition",
        "multi-instance completion condition",
        "điều kiện hoàn thành đa thực thể",
    ),
    (".//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "condition", "loop condition", "điều kiện lặp"),
    (".//bpmn:timerEventDefinition/bpmn:timeDate", "timer", "timer timeDate", "bộ hẹn giờ timeDate"),
    (".//bpmn:timerEventDefinition/bpmn:timeDuration", "timer", "timer timeDuration", "bộ hẹn giờ timeDuration"),
    (".//bpmn:timerEventDefinition/bpmn:timeCycle", "timer", "timer timeCycle", "bộ hẹn giờ timeCycle"),
)


def python_of(rewrite: Rewrite, text: str, element: Any, what: tuple[str, str], line: int | None = None) -> str | None:
    """The Python for an expression text written in Camunda (JUEL) or Python; None after reporting a refusal."""
    stripped = text.strip()
    if stripped.startswith("="):
        rewrite.refuse(
            element,
            f"{what[0]} {stripped!r} is FEEL (Camunda 8), which this engine does not run: write "
            "a JUEL ${…} or Python expression",
            f"{what[1]} {stripped!r} là FEEL (Camunda 8), máy chủ này không chạy được: hãy viết biểu thức "
            "JUEL ${…} hoặc Python",
            CODE_FEEL,
            line,
        )
        return None
    if is_juel(stripped) or (looks_like_juel(stripped) and not _parses(stripped)):
        try:
            return translate(stripped).python
        except JuelRefused as exc:
            rewrite.refuse(
                element,
                f"{what[0]} {stripped!r}: {exc.reason}",
                f"{what[1]} {stripped!r}: {exc.reason_vi}",
                CODE_JUEL,
                line,
            )
            return None
    return text


def rewrite_expressions(rewrite: Rewrite) -> None:
    """Conditions, loop expressions and timers of the document in Python, or refused and neutralised."""
    for path, kind, what_en, what_vi in _EXPRESSIONS:
        for element in rewrite.document.root.iterfind(path, NSMAP):
            text = element.text or ""
            target = owner(element)
            language = (element.get("language") or "").strip().lower()
            if language not in ("", "python", "juel") or element.get(_C + "resource") is not None:
                shown = f"language {element.get('language')!r}" if language else "camunda:resource"
                rewrite.refuse(
                    target,
                    f"{what_en}: {shown} is not supported, only Python or JUEL ${{…}} "
                    "expressions written in the element",
                    f"{what_vi}: không hỗ trợ {shown}, chỉ dùng biểu thức Python hoặc JUEL ${{…}} viết trong phần tử",
                    line=element.sourceline,
                )
                element.text = _neutral(kind, element)
                continue
            if not text.strip():
                continue
            if kind == "timer" and local_name(element) == "timeCycle" and is_cron(text):
                error = cron_start_error(text.strip(), target)
                if error is None:
                    element.text = repr(text.strip())  # scheduled by engine.definitions.start_timers
                    continue
                rewrite.refuse(
                    target,
                    f"{what_en} {text.strip()!r}: {error[0]}",
                    f"{what_vi} {text.strip()!r}: {error[1]}",
                    line=element.sourceline,
                )
                element.text = _neutral(kind, element)
                continue
            python = python_of(rewrite, text, target, (what_en, what_vi), element.sourceline)
            element.text = _neutral(kind, element) if python is None else python


def _neutral(kind: str, element: Any) -> str:
    """A valid text standing in for a refused one (each timer kind has its own)."""
    return _NEUTRAL[local_name(element) if kind == "timer" else kind]


def _parses(text: str) -> bool:
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
