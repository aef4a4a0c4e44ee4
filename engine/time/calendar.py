"""The business calendar of Hanoi's administrative procedures: working days, holidays, due dates. Pure: no database.

Rules:

- State agencies work Monday to Friday (Quyết định 188/1999/QĐ-TTg, so years before 2000 are refused).
- Public holidays are those of the Labour Code 2019, Điều 112 (1/1, five Tết days by the Vietnamese lunar calendar,
  Giỗ Tổ Hùng Vương, 30/4, 1/5, 2/9 and an adjacent day), with the compensation days and the Government's announced
  swaps that the ``holidays`` package knows (``country_holidays("VN")``): a swapped Saturday is a working day.
- 24/11, Ngày Văn hóa Việt Nam, is a working day: Nghị quyết 80-NQ/TW of the Politburo chose it as a paid holiday and
  Nghị quyết 30/NQ-CP (2026) tasks the Government with amending Điều 112 khoản 1 of the Labour Code, but until that
  amendment is in force the Code lists eleven holiday days and 24/11 is not one of them. The ``holidays`` package
  (0.109 here) already counts it from 2026, so it is taken out here (with its compensation day); the day it becomes law,
  ``processes/calendar.toml`` makes it a day off (``working = false``) citing the amending law.
- Working hours: 08:00 to office close (17:00) of a working day (Giả định: the usual hours of Hanoi's agencies). A
  moment meant for an officer (the 75 %/90 % deadline warnings) falling outside them is moved to the next opening.
- Overrides (the ``calendar_day`` table and ``processes/calendar.toml``) win over everything: ``working=True`` makes a
  day worked, ``working=False`` makes it a day off. Future Tết and swap days are estimates until announced.
- Counting (Bộ luật Dân sự 2015, Điều 147–148): the day of receipt is not counted; the deadline is the end (office
  close) of the N-th working day after it. A receipt on a non-working day, or at/after the cut-off hour, is deemed
  received on the next working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import EllipsisType

import holidays
from holidays.countries.vietnam import Vietnam

from phoihop.engine.clock import HANOI_TZ

MAX_DAYS = 3650
OFFICE_OPEN = time(8, 0)  # Giả định: opening of office hours, Hanoi time
CULTURE_DAY = (11, 24)  # Ngày Văn hóa Việt Nam: not a holiday until Điều 112.1 of the Labour Code is amended
MIN_YEAR = 2000  # the five-day week of Quyết định 188/1999/QĐ-TTg
MAX_YEAR = min(int(Vietnam.end_year), 2100)  # the package's lunar tables end there
WEEKEND_NAMES = {5: ("Thứ Bảy", "Saturday"), 6: ("Chủ nhật", "Sunday")}

__all__ = ["MAX_DAYS", "MAX_YEAR", "MIN_YEAR", "BusinessCalendar", "DayOff", "Override", "WorkingDays"]


@dataclass(frozen=True)
class DayOff:
    """A non-working day skipped while counting."""

    day: date
    name_vi: str
    name_en: str


@dataclass(frozen=True)
class Override:
    """One row of the override table or file."""

    day: date
    working: bool
    name_vi: str
    name_en: str | None = None


@dataclass(frozen=True)
class WorkingDays:
    start: datetime  # aware
    received_on: date  # the day deemed the day of receipt (moved past the cut-off and non-working days)
    due_date: date
    due_at: datetime  # aware UTC: office close of due_date
    skipped: tuple[DayOff, ...]  # non-working days passed over between received_on and due_date


@dataclass(frozen=True)
class _National:
    days_off: dict[date, tuple[str, str]]  # day → (name_vi, name_en)
    weekend_workdays: frozenset[date]  # Saturdays swapped into working days by a Government announcement


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year {year} is outside the supported range {MIN_YEAR}–{MAX_YEAR}")


@lru_cache(maxsize=256)
def _national(year: int) -> _National:
    """Holidays and swapped Saturdays of one year from the ``holidays`` package. A swap announced for one year may
    move a working day into the year before (31/12/2018 ↔ 5/1/2019), so the neighbouring years are populated too."""
    years = [y for y in (year - 1, year, year + 1) if MIN_YEAR - 1 <= y <= MAX_YEAR]
    vi = holidays.country_holidays("VN", years=years, language="vi")
    en = holidays.country_holidays("VN", years=years, language="en_US")
    days_off = {
        d: (str(name), str(en.get(d) or name))
        for d, name in vi.items()
        if d.year == year and not _culture_day(d, str(en.get(d) or ""))
    }
    workdays = frozenset(d for d in vi.weekend_workdays if d.year == year and d not in days_off)
    return _National(days_off, workdays)


def _culture_day(day: date, name_en: str) -> bool:
    """24/11 (or its compensation day) as the ``holidays`` package names it: not yet a legal holiday."""
    return (day.month, day.day) == CULTURE_DAY or "cultural day" in name_en.lower()


def _naive(value: time | None) -> time | None:
    return value.replace(tzinfo=None) if value is not None else None


class BusinessCalendar:
    """Working days of Hanoi's state agencies. Immutable once built; safe to share between threads."""

    def __init__(
        self,
        overrides: Iterable[Override] = (),
        *,
        cutoff: time | None = None,
        office_close: time = time(17, 0),
        office_open: time = OFFICE_OPEN,
    ) -> None:
        self._overrides = {o.day: o for o in overrides}
        self.cutoff = _naive(cutoff)
        self.office_close = office_close.replace(tzinfo=None)
        self.office_open = min(office_open.replace(tzinfo=None), self.office_close)

    @property
    def overrides(self) -> tuple[Override, ...]:
        return tuple(self._overrides[d] for d in sorted(self._overrides))

    def is_working_day(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.working
        _check_year(day.year)
        national = _national(day.year)
        if day in national.days_off:
            return False
        if day in national.weekend_workdays:
            return True
        return day.weekday() < 5

    def day_off(self, day: date) -> DayOff | None:
        """Why ``day`` is not worked, or None when it is a working day."""
        if self.is_working_day(day):
            return None
        override = self._overrides.get(day)
        national = _national(day.year).days_off.get(day)
        if override is not None:
            return DayOff(day, override.name_vi, override.name_en or (national[1] if national else "Day off"))
        if national is not None:
            return DayOff(day, *national)
        return DayOff(day, *WEEKEND_NAMES[day.weekday()])

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is worked, else the first working day after it."""
        while not self.is_working_day(day):
            day = _next(day)
        return day

    def in_working_hours(self, moment: datetime) -> datetime:
        """``moment`` itself when it falls in the working hours of a working day (from ``office_open`` up to and
        including ``office_close``), else the opening of the next working hours, as an aware UTC datetime. A naive
        ``moment`` is Hanoi time."""
        local = (moment.replace(tzinfo=HANOI_TZ) if moment.tzinfo is None else moment).astimezone(HANOI_TZ)
        day, clock = local.date(), local.time().replace(tzinfo=None)
        if self.is_working_day(day) and self.office_open <= clock <= self.office_close:
            return local.astimezone(UTC)
        if self.is_working_day(day) and clock < self.office_open:
            return datetime.combine(day, self.office_open, HANOI_TZ).astimezone(UTC)
        return datetime.combine(self.next_working_day(_next(day)), self.office_open, HANOI_TZ).astimezone(UTC)

    def add_working_days(
        self, start: date | datetime, days: int, *, cutoff: time | EllipsisType | None = ...
    ) -> WorkingDays:
        """The deadline ``days`` working days after a receipt at ``start`` (see the module's rules).

        ``start``: an aware datetime (converted to Hanoi time), a naive one (taken as Hanoi time), or a date (received
        that day before any cut-off). ``cutoff``: this call's cut-off hour, Hanoi time; omitted → the calendar's;
        None → no cut-off.
        """
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError("days must be an integer")
        if days < 0:
            raise ValueError("days must not be negative")
        if days > MAX_DAYS:
            raise ValueError(f"days must be at most {MAX_DAYS}")
        limit = self.cutoff if isinstance(cutoff, EllipsisType) else _naive(cutoff)
        if isinstance(start, datetime):
            moment = start.replace(tzinfo=HANOI_TZ) if start.tzinfo is None else start
            local = moment.astimezone(HANOI_TZ)
            day = local.date()
            late = limit is not None and local.time().replace(tzinfo=None) >= limit
        else:
            moment = datetime.combine(start, time(0), HANOI_TZ)
            day, late = start, False
        received_on = self.next_working_day(_next(day) if late else day)
        skipped: list[DayOff] = []
        due, remaining = received_on, days
        while remaining:
            due = _next(due)
            off = self.day_off(due)
            if off is None:
                remaining -= 1
            else:
                skipped.append(off)
        due_at = datetime.combine(due, self.office_close, HANOI_TZ).astimezone(UTC)
        return WorkingDays(moment, received_on, due, due_at, tuple(skipped))

    def non_working_days(self, year: int) -> list[DayOff]:
        """Holidays and overrides of ``year`` that are days off (plain weekends are left out)."""
        _check_year(year)
        days = set(_national(year).days_off) | {d for d, o in self._overrides.items() if d.year == year}
        found = (self.day_off(d) for d in sorted(days))
        return [off for off in found if off is not None]

    def working_weekend_days(self, year: int) -> list[Override]:
        """Saturdays and Sundays of ``year`` that are worked: announced swaps and ``working=True`` overrides."""
        _check_year(year)
        national = _national(year)
        days = set(national.weekend_workdays) | {d for d, o in self._overrides.items() if d.year == year and o.working}
        out: list[Override] = []
        for d in sorted(days):
            if d.weekday() < 5 or not self.is_working_day(d):
                continue
            override = self._overrides.get(d)
            if override is not None:
                out.append(override)
            else:
                out.append(Override(d, True, "Ngày làm việc bù (hoán đổi ngày nghỉ)", "Working day (swapped day off)"))
        return out


def _next(day: date) -> date:
    try:
        return day + timedelta(days=1)
    except OverflowError:
        raise ValueError("date out of range") from None
