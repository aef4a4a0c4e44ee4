"""A human task's due time from its ``camunda:dueDate``: an ISO 8601 literal, or a sandboxed expression evaluated
against the task's data (``working_days(5)``, ``working_days(1 if urgent else 5)``, ``appointment_at``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.errors import ScriptError
from phoihop.engine.time.calendar import BusinessCalendar
from phoihop.engine.variables import due_at_for

DEFAULT_WARNING_RATIO = 0.75  # "sắp đến hạn" at 75% of the time limit (issue 3; Giả định)
OFFICE_CLOSE = time(17, 0)  # a date alone means the end of office hours that day (as calendar.py counts)


def parse_moment(value: Any) -> datetime | None:
    """A moment as an aware UTC datetime: a datetime, a date (the end of office hours that day), or the ISO text of
    either; without an offset it is Hanoi time. Anything else → None. (Due dates and the ``appointment_at`` of an
    instance are read the same way.)"""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, OFFICE_CLOSE)
    else:
        return None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=HANOI_TZ)).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 next to an offset
        return None


def resolve_due(raw: str | None, now: datetime, evaluate: Callable[[str], Any], *, element_id: str) -> datetime | None:
    """The due time of a task created ``now``; a dueDate that cannot give one is a ``ScriptError`` naming the task."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    moment = parse_moment(text)
    if moment is not None:
        return moment
    literal = due_at_for(text, now)  # an ISO duration such as P3D
    if literal is not None:
        return literal.astimezone(UTC) if literal.tzinfo else literal.replace(tzinfo=UTC)
    try:
        value = evaluate(text)
    except ScriptError as exc:
        raise ScriptError(
            f"the due date of task {element_id} ({text}) cannot be computed: {exc.detail}",
            detail_vi=f"không tính được hạn xử lý của công việc {element_id} ({text}): {exc.detail_vi}",
            element_id=element_id,
            expression=text,
        ) from exc
    if value is None:
        return None
    due = parse_moment(value)
    if due is None and isinstance(value, str):
        due = due_at_for(value.strip(), now)
    if due is None:
        raise ScriptError(
            f"the due date of task {element_id} ({text}) gave {value!r}, not a date-time or duration",
            detail_vi=f"hạn xử lý của công việc {element_id} ({text}) cho kết quả {value!r}, "
            "không phải thời điểm hay khoảng thời gian",
            element_id=element_id,
            expression=text,
        )
    return due


def warning_time(
    created_at: datetime,
    due_at: datetime | None,
    ratio: float = DEFAULT_WARNING_RATIO,
    *,
    calendar: BusinessCalendar | None = None,
) -> datetime | None:
    """When a task becomes "sắp đến hạn": ``ratio`` of the way from creation to its due time; with a ``calendar``, a
    moment outside working hours (02:23, a Sunday) moves to the next opening, never past the due time."""
    if due_at is None:
        return None
    span = due_at - created_at
    moment = created_at + span * ratio if span > timedelta(0) else due_at
    return in_working_time(moment, due_at, calendar)


def in_working_time(moment: datetime, limit: datetime | None, calendar: BusinessCalendar | None) -> datetime:
    """``moment`` moved into working hours by ``calendar`` (None: as it is), never past ``limit``; the result keeps
    ``moment``'s awareness (a naive moment is Hanoi time and comes back naive)."""
    if calendar is None:
        return moment
    try:
        moved = calendar.in_working_hours(moment)
    except (ValueError, OverflowError):  # a year outside the calendar's range: the moment as it is
        return moment
    if moment.tzinfo is None:
        moved = moved.astimezone(HANOI_TZ).replace(tzinfo=None)
        return min(moved, limit) if limit is not None and limit.tzinfo is None else moved
    if limit is not None and limit.tzinfo is not None and moved > limit:
        return max(moment, limit)
    return moved
