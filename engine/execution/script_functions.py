"""Functions that BPMN scripts, conditions, due dates and timer expressions may call: working days on the Vietnamese
business calendar, deadline fractions, the green-lane deadline, and the command's own clock.

They read the clock and the calendar of the command being run through context variables (``using_context``), so a
FakeClock moves them in tests and every server process sees the override table it loaded. Results are ISO 8601
strings in Hanoi time: they are stored in task data as they are and SpiffWorkflow's timers parse them.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from phoihop.engine.clock import HANOI_TZ, Clock, SystemClock
from phoihop.engine.errors import ScriptError
from phoihop.engine.time.calendar import BusinessCalendar
from phoihop.engine.time.due_dates import in_working_time

DEFAULT_GREEN_LANE_CUT = 0.6  # Văn bản 991/UBND-TH (2025): processing times cut by at least 60% [2nd]
# working days an agency consulted for its opinion ("cho ý kiến") has before its silence counts as consent (Giả định)
DEFAULT_CONSULTATION_DAYS = 5
MAX_DAYS = 3650


@dataclass(frozen=True)
class ScriptContext:
    clock: Clock
    calendar: BusinessCalendar
    green_lane_cut: float = DEFAULT_GREEN_LANE_CUT
    consultation_days: int = DEFAULT_CONSULTATION_DAYS


_DEFAULT = ScriptContext(SystemClock(), BusinessCalendar())
_current: contextvars.ContextVar[ScriptContext | None] = contextvars.ContextVar("phoihop_script_context", default=None)


@contextmanager
def using_context(context: ScriptContext) -> Iterator[None]:
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


def current_context() -> ScriptContext:
    """The clock, calendar and green-lane cut of the command being run (a script worker is sent them with each job)."""
    return _current.get() or _DEFAULT


_context = current_context


def _refuse(en: str, vi: str) -> ScriptError:
    return ScriptError(en, detail_vi=vi)


def _days(value: Any, name: str = "n") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise _refuse(
            f"{name} must be a number of working days, not {value!r}",
            f"{name} phải là số ngày làm việc, không phải {value!r}",
        )
    days = math.ceil(value)
    if not 0 <= days <= MAX_DAYS:
        raise _refuse(
            f"{name} must be between 0 and {MAX_DAYS} working days, not {value!r}",
            f"{name} phải từ 0 đến {MAX_DAYS} ngày làm việc, không phải {value!r}",
        )
    return days


def _moment(value: Any, name: str) -> datetime | date:
    """An ISO date or date-time (a naive date-time is Hanoi time)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=HANOI_TZ)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=HANOI_TZ)
    raise _refuse(
        f"{name} must be an ISO 8601 date or date-time, not {value!r}",
        f"{name} phải là ngày hoặc thời điểm ISO 8601, không phải {value!r}",
    )


def _cutoff(value: Any) -> time | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _refuse(
        f"cutoff must be a time such as '15:00', not {value!r}", f"giờ chốt phải có dạng '15:00', không phải {value!r}"
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(HANOI_TZ).isoformat()


def add_working_days(start: Any, n: Any, cutoff: Any = None) -> str:
    """The deadline ``n`` working days after ``start`` (Civil Code counting), as an ISO date-time in Hanoi time."""
    context = _context()
    moment = _moment(start, "start")
    days = _days(n)
    if cutoff is None:
        result = context.calendar.add_working_days(moment, days)
    else:
        result = context.calendar.add_working_days(moment, days, cutoff=_cutoff(cutoff))
    return _iso(result.due_at)


def working_days(n: Any, cutoff: Any = None) -> str:
    """The deadline ``n`` working days from now (the command's clock)."""
    return add_working_days(_context().clock.now(), n, cutoff)


def deadline_fraction(start: Any, end: Any, ratio: Any) -> str:
    """The moment at ``ratio`` (0–1) of the way from ``start`` to ``end``: the 75 % warning of a time limit. A moment
    outside working hours (02:23, a Sunday) is moved to the next opening of the calendar's working hours (never past
    ``end``): a warning is for officers at work."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
        raise _refuse(
            f"ratio must be a number between 0 and 1, not {ratio!r}",
            f"tỉ lệ phải là số từ 0 đến 1, không phải {ratio!r}",
        )
    first, last = _moment(start, "start"), _moment(end, "end")
    if not isinstance(first, datetime):
        first = datetime.combine(first, time(0), HANOI_TZ)
    if not isinstance(last, datetime):
        last = datetime.combine(last, time(0), HANOI_TZ)
    return _iso(in_working_time(first + (last - first) * ratio, last, _context().calendar))


def green_lane_days(standard_days: Any, cut_rate: Any = None) -> int:
    """⌈standard × (1 − cut)⌉: the shortened time limit of a green-lane procedure (cut default: the setting)."""
    days = _days(standard_days, "standard_days")
    cut = _context().green_lane_cut if cut_rate is None else cut_rate
    if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not 0 <= cut < 1:
        raise _refuse(
            f"cut_rate must be a number from 0 up to 1 (excluded), not {cut!r}",
            f"tỉ lệ cắt giảm phải từ 0 đến dưới 1, không phải {cut!r}",
        )
    return math.ceil(round(days * (1 - cut), 9))


def consultation_days() -> int:
    """The working days a consulted agency has to give its opinion before its silence counts as consent ("quá thời hạn
    không có ý kiến được coi là đồng ý"): the setting PHOIHOP_CONSULTATION_DAYS (Giả định: 5)."""
    return _context().consultation_days


def now() -> str:
    """The command's current time, ISO 8601 in Hanoi time."""
    return _iso(_context().clock.now())


def today() -> str:
    """The command's current date in Hanoi, ISO 8601 (YYYY-MM-DD)."""
    return _context().clock.now().astimezone(HANOI_TZ).date().isoformat()


def is_working_day(day: Any) -> bool:
    moment = _moment(day, "day")
    local = moment.astimezone(HANOI_TZ).date() if isinstance(moment, datetime) else moment
    return _context().calendar.is_working_day(local)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "working_days": working_days,
    "add_working_days": add_working_days,
    "deadline_fraction": deadline_fraction,
    "green_lane_days": green_lane_days,
    "consultation_days": consultation_days,
    "now": now,
    "today": today,
    "is_working_day": is_working_day,
}
