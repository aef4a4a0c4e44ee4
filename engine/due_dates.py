"""A human task's due time from its ``camunda:dueDate``: an ISO 8601 literal, or a sandboxed expression evaluated
against the task's data (``working_days(5)``, ``working_days(1 if urgent else 5)``, ``appointment_at``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .calendar import HANOI_TZ
from .errors import ScriptError
from .variables import due_at_for

DEFAULT_WARNING_RATIO = 0.75  # "sắp đến hạn" at 75% of the time limit (issue 3; Giả định)


def _coerce(value: Any, now: datetime) -> datetime | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=HANOI_TZ)).astimezone(UTC)
    if isinstance(value, date):  # a date alone: the end of that day's office hours
        return datetime.combine(value, time(17, 0), HANOI_TZ).astimezone(UTC)
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return _coerce(date.fromisoformat(text), now)
            except ValueError:
                return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return due_at_for(text, now)  # an ISO duration such as P3D
        return _coerce(moment, now)
    return None


def resolve_due(raw: str | None, now: datetime, evaluate: Callable[[str], Any], *, element_id: str) -> datetime | None:
    """The due time of a task created ``now``; a dueDate that cannot give one is a ``ScriptError`` naming the task."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    if len(text) == 10:  # a date alone: the end of that day's office hours
        dated = _coerce(text, now)
        if dated is not None:
            return dated
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:  # a date-time without an offset is Hanoi time, as everywhere else in the engine
        return (moment if moment.tzinfo else moment.replace(tzinfo=HANOI_TZ)).astimezone(UTC)
    literal = due_at_for(text, now)
    if literal is not None:
        return literal.astimezone(UTC) if literal.tzinfo else literal.replace(tzinfo=UTC)
    try:
        value = evaluate(text)
    except ScriptError as exc:
        raise ScriptError(f"the due date of task {element_id} ({text}) cannot be computed: {exc.detail}",
                          detail_vi=f"không tính được hạn xử lý của công việc {element_id} ({text}): {exc.detail_vi}",
                          element_id=element_id, expression=text) from exc
    if value is None:
        return None
    due = _coerce(value, now)
    if due is None:
        raise ScriptError(f"the due date of task {element_id} ({text}) gave {value!r}, not a date-time or duration",
                          detail_vi=f"hạn xử lý của công việc {element_id} ({text}) cho kết quả {value!r}, "
                                    "không phải thời điểm hay khoảng thời gian", element_id=element_id,
                          expression=text)
    return due


def warning_time(created_at: datetime, due_at: datetime | None, ratio: float = DEFAULT_WARNING_RATIO,
                 ) -> datetime | None:
    """When a task becomes "sắp đến hạn": ``ratio`` of the way from creation to its due time."""
    if due_at is None:
        return None
    span = due_at - created_at
    return created_at + span * ratio if span > timedelta(0) else due_at
