"""When a timer start event is due: the occurrences of ``timeCycle`` (``R[n]/start/period``), ``timeDate`` and
``timeDuration`` start timers, with calendar months and years added as calendar months (31 January + P1M is
28/29 February, + P2M is 31 March: each occurrence is computed from the start, so no drift)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

_CYCLE = re.compile(r"^R(\d*)/(?:([^/P][^/]*)/)?(P[^/]+)$")


@dataclass(frozen=True)
class Schedule:
    kind: str
    start: datetime
    period: dict[str, float] | None  # parsed ISO duration, None for a one-shot
    repeats: int | None  # None: without end

    def occurrence(self, index: int) -> datetime | None:
        """The ``index``-th due time (0-based), or None past the last repetition."""
        if self.period is None:
            return self.start if index == 0 else None
        if self.repeats is not None and index >= self.repeats:
            return None
        return _add(self.start, self.period, index)

    def first_after(self, moment: datetime) -> tuple[int, datetime] | None:
        """The first occurrence strictly after ``moment`` and its index."""
        index = 0
        if self.period is not None and self.start < moment:  # jump close, then step
            step = _add(self.start, self.period, 1) - self.start
            if step > timedelta(0):
                index = max(0, int((moment - self.start) / step) - 2)
        for _ in range(100_000):
            due = self.occurrence(index)
            if due is None:
                return None
            if due > moment:
                return index, due
            index += 1
        return None


def _add(start: datetime, period: dict[str, float], times: int) -> datetime:
    months = int(period.get("years", 0) * 12 + period.get("months", 0)) * times
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    moved = start.replace(year=year, month=month + 1, day=day)
    rest = timedelta(
        weeks=period.get("weeks", 0),
        days=period.get("days", 0),
        hours=period.get("hours", 0),
        minutes=period.get("minutes", 0),
        seconds=period.get("seconds", 0),
    )
    return moved + rest * times


def _aware(moment: datetime) -> datetime:
    """Kept in its own offset: months are added to the local date (01/01 08:00+07:00 stays the 1st of a month)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_schedule(kind: str, text: str, now: datetime) -> Schedule:
    """A start timer's schedule (``now``: the deploy time, the origin of a ``timeDuration``); ValueError if none."""
    try:
        if kind == "timeCycle":
            match = _CYCLE.match(text.strip())
            if match is None:
                raise ValueError("expected R[n]/<start date-time>/<period>, e.g. R/2026-01-01T08:00:00+07:00/P1M")
            repeats = int(match.group(1)) if match.group(1) else None
            period = TimerEventDefinition.parse_iso_duration(match.group(3))
            if not any(period.values()):
                raise ValueError("the period is zero")
            start = (
                _aware(TimerEventDefinition.get_datetime(match.group(2))) if match.group(2) else _add(now, period, 1)
            )  # R/P1D: the first one period after deployment
            return Schedule(kind, start, period, repeats)
        if kind == "timeDate":
            return Schedule(kind, _aware(TimerEventDefinition.get_datetime(text.strip())), None, 1)
        if kind == "timeDuration":
            period = TimerEventDefinition.parse_iso_duration(text.strip())
            return Schedule(kind, _add(now, period, 1), None, 1)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ValueError(f"the start timer {text!r} cannot be scheduled: {exc}") from exc
    raise ValueError(f"unknown timer kind {kind!r}")
