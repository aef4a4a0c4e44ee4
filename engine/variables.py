"""Checks on process variables coming from outside, and due-time expressions of human tasks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from phoihop.engine.errors import InvalidVariables

MAX_DEPTH = 20


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
    _check_value(variables, 0, "variables")
    return dict(variables)


def _is_utf8(text: str) -> bool:
    """False for lone surrogates ("\\ud800" in JSON decodes to one): they cannot be stored as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_value(value: Any, depth: int, path: str) -> None:
    if depth > MAX_DEPTH:
        raise InvalidVariables(
            f"variables nest deeper than {MAX_DEPTH} levels",
            detail_vi=f"Biến lồng nhau quá {MAX_DEPTH} cấp",
            field=path,
        )
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise InvalidVariables(
                f"{path} is outside the 64-bit integer range",
                detail_vi=f"{path} vượt quá phạm vi số nguyên 64 bit",
                field=path,
            )
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidVariables(
                f"{path} is not a finite number", detail_vi=f"{path} không phải số hữu hạn", field=path
            )
    elif isinstance(value, str):
        if "\x00" in value or not _is_utf8(value):
            raise InvalidVariables(
                f"{path} contains a NUL character or a lone surrogate (not storable text)",
                detail_vi=f"{path} chứa ký tự NUL hoặc ký tự thay thế đơn lẻ (không lưu được)",
                field=path,
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key or not _is_utf8(key):
                raise InvalidVariables(
                    f"invalid key in {path}", detail_vi=f"Khóa không hợp lệ trong {path}", field=path
                )
            _check_value(item, depth + 1, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, depth + 1, f"{path}[{index}]")


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
