"""The business calendar: working-day deadlines, the days off of a year, the admins' overrides
(engine.commands.calendar)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from phoihop.api.schemas.common import In, Out, Text


class CalendarDayOut(Out):
    date: dt.date = Field(validation_alias="day")  # engine.time.calendar's DayOff and Override name it day
    name_vi: str
    name_en: str | None


class WorkingDaysOut(Out):
    start: dt.datetime = Field(description="The receipt moment (given in Hanoi time: a date is 00:00 that day), in UTC")
    add: int = Field(description="Working days added")
    received_on: dt.date = Field(description="The day deemed the day of receipt (after the cut-off and days off)")
    due_date: dt.date
    due_at: dt.datetime = Field(description="Office close of due_date, UTC")
    skipped: list[CalendarDayOut] = Field(description="Non-working days passed over, weekends included")


class CalendarYearOut(Out):
    year: int
    days_off: list[CalendarDayOut] = Field(description="Holidays and days off by override (not plain weekends)")
    working_weekend_days: list[CalendarDayOut] = Field(description="Saturdays/Sundays worked (announced swaps)")


class CalendarOverrideIn(In):
    working: bool = Field(description="true: a working day (a swapped Saturday); false: a day off")
    name_vi: Text = Field(min_length=1, max_length=300, description="Tên ngày, ví dụ: Nghỉ bù Tết Dương lịch")
    name_en: Text | None = Field(default=None, max_length=300)


class CalendarOverrideOut(Out):
    date: dt.date = Field(validation_alias="day")  # engine.commands.calendar's CalendarOverride names it day
    working: bool
    name_vi: str
    name_en: str | None
    source: str = Field(description="api (set by an admin) or file (processes/calendar.toml)")
    updated_by: str
    updated_at: dt.datetime
