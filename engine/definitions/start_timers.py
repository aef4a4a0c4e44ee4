"""When a timer start event is due: the occurrences of ``timeCycle`` (``R[n]/start/period``), ``timeDate`` and
``timeDuration`` start timers, with calendar months and years added as calendar months (31 January + P1M is
28/29 February, + P2M is 31 March: each occurrence is computed from the start, so no drift).

A ``timeCycle`` may also be a cron expression, as Camunda writes it: Quartz's six fields (seconds first) or seven
(a year, ``*`` only here), or the classic five. Quartz's ``?`` is ``*`` and its day-of-week numbers 1–7 (Sunday
first) become cron's 0–6; its ``L``, ``W`` and ``#`` are refused. Due times are computed by croniter in Hanoi time
(engine.clock.HANOI_TZ), each one the first after the previous due time."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from phoihop.engine.clock import HANOI_TZ

__all__ = ["Schedule", "cron_error", "cron_of", "is_cron", "parse_schedule"]

_CRON_FIELDS = re.compile(r"\S+(?:\s+\S+){4,6}")
_CYCLE = re.compile(r"^R(\d*)/(?:([^/P][^/]*)/)?(P[^/]+)$")


@dataclass(frozen=True)
class Schedule:
    kind: str
    start: datetime
    period: dict[str, float] | None  # parsed ISO duration, None for a one-shot
    repeats: int | None  # None: without end
    cron: str | None = None  # a cron cycle (six fields, seconds first): due times from croniter, in Hanoi time

    def occurrence(self, index: int) -> datetime | None:
        """The ``index``-th due time (0-based), or None past the last repetition."""
        if self.cron is not None:
            found = croniter(self.cron, self.start.astimezone(HANOI_TZ), second_at_beginning=True)
            due = self.start
            for _ in range(index):
                due = found.get_next(datetime)
            return due
        if self.period is None:
            return self.start if index == 0 else None
        if self.repeats is not None and index >= self.repeats:
            return None
        return _add(self.start, self.period, index)

    def first_after(self, moment: datetime) -> tuple[int, datetime] | None:
        """The first occurrence strictly after ``moment`` and its index."""
        if self.cron is not None:
            return 0, _cron_next(self.cron, moment)
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

    def following(self, index: int, due: datetime) -> datetime | None:
        """The due time after the one at ``due`` (occurrence ``index - 1``): the ``index``-th, or for a cron cycle
        the first after ``due``."""
        return _cron_next(self.cron, due) if self.cron is not None else self.occurrence(index)


def is_cron(text: str) -> bool:
    """Whether ``text`` has the shape of a cron expression (five to seven fields)."""
    return bool(_CRON_FIELDS.fullmatch(text.strip()))


def cron_of(text: str) -> str:
    """The six-field croniter form (seconds first) of a Quartz or classic cron ``text``; ValueError if unsupported."""
    fields = text.split()
    if any(letter in re.sub(r"[A-Za-z]{3}", "", field).upper() for field in fields[3:] for letter in "LW#"):
        raise ValueError("Quartz's L, W and # are not supported")
    if len(fields) == 5:
        fields = ["0", *fields]
    elif len(fields) in (6, 7):
        if len(fields) == 7 and fields.pop() not in ("*", "?"):
            raise ValueError("a year field other than * is not supported")
        fields[5] = re.sub(r"(?<!/)\d+", lambda m: str(int(m.group()) - 1), fields[5])  # Quartz: 1-7 from Sunday
    else:
        raise ValueError("a cron expression has 5 fields, or 6 or 7 in Quartz (seconds first)")
    expression = " ".join("*" if field == "?" else field for field in fields)
    if not croniter.is_valid(expression, second_at_beginning=True):
        raise ValueError("not a valid cron expression")
    return expression


def cron_error(text: str) -> str | None:
    """Why the cron ``text`` cannot be scheduled, or None."""
    try:
        cron_of(text)
    except ValueError as exc:
        return str(exc)
    return None


def _cron_next(cron: str, moment: datetime) -> datetime:
    found: datetime = croniter(cron, moment.astimezone(HANOI_TZ), second_at_beginning=True).get_next(datetime)
    return found


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
        if kind == "timeCycle" and is_cron(text):
            cron = cron_of(text.strip())
            return Schedule(kind, _cron_next(cron, now), None, None, cron)
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
