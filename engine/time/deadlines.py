"""Deadline states of tasks and instances ("rõ thời gian"): on time, warning, overdue; finished early, on time, late.

- Warning: from ``created + ratio × (due − created)`` moved into working hours (``due_dates.warning_time``: 02:23 or
  a Sunday becomes the next opening; never after the due time), ratio
  0.75 by default (a warning at 75% of the time limit), stored per task as ``human_task.warn_at`` when the task is
  created, so the inbox filters in SQL.
- Open: ``overdue`` once now is past ``due_at``; ``warning`` from ``warn_at`` on; else ``on_time``; no ``due_at``
  → no state (None).
- Finished (completed): ``late`` after ``due_at``; ``on_time`` on the due day itself (Hanoi calendar day); ``early``
  on an earlier day — the portal's trước hạn / đúng hạn / quá hạn. Cancelled → None.
- An instance's ``due_at`` is its ``appointment_at`` variable (ngày hẹn trả, ISO date-time); its warning time is
  reckoned from its start, and its finish time is ``ended_at``.

Pure functions of rows and a time: no clock, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.time.calendar import BusinessCalendar
from phoihop.engine.time.due_dates import DEFAULT_WARNING_RATIO, warning_time
from phoihop.engine.time.due_dates import parse_moment as parse_appointment

__all__ = [
    "APPOINTMENT_VARIABLE",
    "DEFAULT_WARNING_RATIO",
    "FILTERS",
    "DeadlineFilter",
    "check_ratio",
    "finished_state",
    "instance_deadline",
    "open_state",
    "parse_appointment",
    "task_deadline_state",
    "warning_time",
]

APPOINTMENT_VARIABLE = "appointment_at"

DeadlineFilter = Literal["on_time", "warning", "overdue"]
FILTERS: tuple[DeadlineFilter, ...] = ("on_time", "warning", "overdue")
_OPEN = ("open", "claimed", "awaiting_approval")  # a draft awaiting approval keeps its deadline


def check_ratio(ratio: float) -> float:
    """A warning ratio must be a number in [0, 1]: 0 warns from the start, 1 never before the due time."""
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"the warning ratio must be between 0 and 1, got {ratio!r}")
    return float(ratio)


def open_state(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> str | None:
    """State of unfinished work: ``overdue`` if now > due_at, ``warning`` if now >= warn_at, else ``on_time``.
    No ``warn_at`` (a row written before warnings existed) means no warning period."""
    if due_at is None:
        return None
    if now > due_at:
        return "overdue"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "on_time"


def finished_state(due_at: datetime | None, finished_at: datetime) -> str | None:
    """``late`` after due_at, ``on_time`` on the due day (Hanoi), ``early`` before that day."""
    if due_at is None:
        return None
    if finished_at > due_at:
        return "late"
    if finished_at.astimezone(HANOI_TZ).date() == due_at.astimezone(HANOI_TZ).date():
        return "on_time"
    return "early"


def task_deadline_state(task: Mapping[str, Any], now: datetime) -> str | None:
    """The deadline state of a ``human_task`` row (status, due_at, warn_at, completed_at)."""
    status = task["status"]
    if status in _OPEN:
        return open_state(task["due_at"], task.get("warn_at"), now)
    if status == "completed" and task.get("completed_at") is not None:
        return finished_state(task["due_at"], task["completed_at"])
    return None


def instance_deadline(
    instance: Mapping[str, Any],
    appointment: Any,
    now: datetime,
    ratio: float = DEFAULT_WARNING_RATIO,
    calendar: BusinessCalendar | None = None,
) -> tuple[datetime | None, str | None]:
    """``(due_at, deadline_state)`` of an instance row (status, started_at, ended_at) whose ``appointment_at``
    variable is ``appointment``. Running (or stuck in error): open state with the warning reckoned from the start;
    completed: finished state at ``ended_at``; cancelled: no state."""
    due_at = parse_appointment(appointment)
    status = instance["status"]
    if due_at is None or status == "cancelled":
        return due_at, None
    if status == "completed":
        ended_at = instance.get("ended_at")
        return due_at, finished_state(due_at, ended_at) if ended_at is not None else None
    return due_at, open_state(due_at, warning_time(instance["started_at"], due_at, ratio, calendar=calendar), now)
