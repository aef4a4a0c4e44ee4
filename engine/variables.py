"""Checks on process variables coming from outside and on what scripts and decisions leave in task data (the same
rules: both end up in the same columns), and due-time expressions of human tasks."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from phoihop.engine.errors import InvalidScriptResult, InvalidVariables

MAX_DEPTH = 20

Problem = tuple[str, str, str]  # (path, English, Vietnamese)


def check_variables(variables: Mapping[str, Any] | None) -> dict[str, Any]:
    """Variables must be a JSON object whose keys are non-empty strings not starting with ``_``
    (``__builtins__`` in task data would override a script's builtins)."""
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise InvalidVariables(
            "variables must be a JSON object", detail_vi="Biến phải là một đối tượng JSON", field="variables"
        )
    for key in variables:
        if not isinstance(key, str) or not key or key.startswith("_"):
            raise InvalidVariables(
                f"variable name {key!r} is not allowed (empty or starting with '_')",
                detail_vi=f"Tên biến {key!r} không hợp lệ (rỗng hoặc bắt đầu bằng '_')",
                field=f"variables.{key}",
            )
    problem = _problem(variables, 0, "variables")
    if problem is not None:
        path, en, vi = problem
        raise InvalidVariables(en, detail_vi=vi, field=path)
    return dict(variables)


def check_results(values: Mapping[str, Any]) -> None:
    """What a script or a decision leaves in task data (``values``: variable → value) must be storable as API input
    is: 64-bit integers, finite numbers, text without NUL or lone surrogates, objects with text keys, nesting of at
    most MAX_DEPTH levels, and only JSON values, dates, date-times and UUIDs (no bytes, no timedelta). Raises
    InvalidScriptResult naming the variable and the path of the first value that is not."""
    for name, value in values.items():
        problem = _problem(value, 1, name, results=True)
        if problem is not None:
            path, en, vi = problem
            raise InvalidScriptResult(
                f"the result {name!r} cannot be stored: {en}",
                detail_vi=f"Kết quả {name!r} không lưu được: {vi}",
                variable=name,
                path=path,
            )


def _is_utf8(text: str) -> bool:
    """False for lone surrogates ("\\ud800" in JSON decodes to one): they cannot be stored as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_RESULT_SCALARS = (datetime, date, UUID)  # stored by the serializer and the variables column alike


def _problem(value: Any, depth: int, path: str, *, results: bool = False) -> Problem | None:
    """The first value under ``value`` (at ``path``) that cannot be stored, or None. ``results``: what a script left,
    which may also hold dates, tuples and sets, but nothing a JSON body cannot carry beyond those."""
    found = _find(value, depth, results)
    if found is None:
        return None
    parts, kind = found
    for part in reversed(parts):  # the path is built only for the value refused, not for every value checked
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return _message(kind, path)


def _find(value: Any, depth: int, results: bool) -> tuple[list[str | int], str] | None:
    """(the path below ``value``, innermost first, and what is wrong) of the first value that cannot be stored."""
    if depth > MAX_DEPTH:
        return [], "depth"
    kind = type(value)
    if kind is str:
        return None if "\x00" not in value and (value.isascii() or _is_utf8(value)) else ([], "text")
    if value is None or kind is bool:
        return None
    if kind is int or (isinstance(value, int) and not isinstance(value, bool)):
        return None if -(2**63) <= value < 2**63 else ([], "int")
    if isinstance(value, float):
        return None if math.isfinite(value) else ([], "float")
    if isinstance(value, str):
        return None if "\x00" not in value and _is_utf8(value) else ([], "text")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key or not _is_utf8(key):
                return [], "key"
            found = _find(item, depth + 1, results)
            if found is not None:
                found[0].append(key)
                return found
    elif isinstance(value, list) or (results and isinstance(value, tuple | set | frozenset)):
        for index, item in enumerate(value):
            found = _find(item, depth + 1, results)
            if found is not None:
                found[0].append(index)
                return found
    elif results and not isinstance(value, _RESULT_SCALARS):
        return [], f"type:{type(value).__name__}"
    return None


def _message(kind: str, path: str) -> Problem:
    if kind == "depth":
        return path, f"variables nest deeper than {MAX_DEPTH} levels", f"Biến lồng nhau quá {MAX_DEPTH} cấp"
    if kind == "int":
        return path, f"{path} is outside the 64-bit integer range", f"{path} vượt quá phạm vi số nguyên 64 bit"
    if kind == "float":
        return path, f"{path} is not a finite number", f"{path} không phải số hữu hạn"
    if kind == "text":
        return (
            path,
            f"{path} contains a NUL character or a lone surrogate (not storable text)",
            f"{path} chứa ký tự NUL hoặc ký tự thay thế đơn lẻ (không lưu được)",
        )
    if kind == "key":
        return path, f"invalid key in {path}", f"Khóa không hợp lệ trong {path}"
    name = kind.removeprefix("type:")
    return (
        path,
        f"{path} is a {name}, which cannot be stored (text, numbers, true/false, lists, objects and dates can)",
        f"{path} có kiểu {name}, không lưu được (chỉ lưu được văn bản, số, đúng/sai, danh sách, đối tượng và ngày giờ)",
    )


_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def due_at_for(due_date: str | None, now: datetime) -> datetime | None:
    """A task's due time from ``camunda:dueDate``: an ISO 8601 duration from creation or an ISO date-time.
    (Working-day expressions arrive with the business calendar.)"""
    if not due_date:
        return None
    text = due_date.strip()
    if _DURATION.match(text):
        parsed = TimerEventDefinition.parse_iso_duration(text)
        due: datetime = now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return due
    try:
        moment: datetime = TimerEventDefinition.get_datetime(text)
        return moment
    except ValueError:
        return None
