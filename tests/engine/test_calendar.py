"""The business calendar: the counting rules on known dates (pure), then the overrides service on both databases."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from phoihop.engine.clock import HANOI_TZ, FakeClock
from phoihop.engine.commands.calendar import CalendarService, read_calendar_file
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import CalendarDayNotFound, Forbidden, InvalidCalendarDay, InvalidInput
from phoihop.engine.time.calendar import MAX_DAYS, BusinessCalendar, DayOff, Override
from phoihop.engine.time.due_dates import warning_time
from tests.conftest import officer

PLAIN = BusinessCalendar()
ADMIN = officer("root", roles=("admin",))
CLERK = officer("an", "skhcn")
ROOT = Path(__file__).parent.parent.parent


def hanoi(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=HANOI_TZ)


# --- national holidays ----------------------------------------------------------------------------------------------
def test_tet_2026_days_off_are_monday_16_to_friday_20_february() -> None:
    tet = [date(2026, 2, d) for d in range(16, 21)]
    assert [d.weekday() for d in tet] == [0, 1, 2, 3, 4]
    assert not any(PLAIN.is_working_day(d) for d in tet)
    assert PLAIN.is_working_day(date(2026, 2, 13)) and PLAIN.is_working_day(date(2026, 2, 23))
    off = PLAIN.day_off(date(2026, 2, 17))
    assert off == DayOff(date(2026, 2, 17), "Tết Nguyên Đán", "Lunar New Year")


@pytest.mark.parametrize("year", [2026, 2027])
def test_fixed_public_holidays_are_days_off(year: int) -> None:
    listed = {d.day for d in PLAIN.non_working_days(year)}
    for month, day in ((1, 1), (4, 30), (5, 1), (9, 2)):
        assert not PLAIN.is_working_day(date(year, month, day))
        assert date(year, month, day) in listed
    assert PLAIN.day_off(date(year, 9, 2)) is not None
    assert PLAIN.day_off(date(year, 9, 2)).name_vi == "Quốc khánh"  # type: ignore[union-attr]


def test_tet_2027_falls_on_saturday_6_february_and_its_days_off_run_to_wednesday() -> None:
    assert date(2027, 2, 6).weekday() == 5
    assert PLAIN.day_off(date(2027, 2, 6)) == DayOff(date(2027, 2, 6), "Tết Nguyên Đán", "Lunar New Year")
    listed = {d.day: d.name_vi for d in PLAIN.non_working_days(2027)}
    assert listed[date(2027, 2, 6)] == "Tết Nguyên Đán"
    # five Tết days; those on the weekend are made up on working days either side (4–5/2 and 8–10/2 off)
    assert all(not PLAIN.is_working_day(date(2027, 2, d)) for d in range(4, 11))
    assert PLAIN.is_working_day(date(2027, 2, 3)) and PLAIN.is_working_day(date(2027, 2, 11))


def test_swaps_the_package_knows_move_a_saturday_into_the_working_week() -> None:
    # Quốc khánh 2026: Monday 31/8 off in exchange for Saturday 22/8 worked
    assert not PLAIN.is_working_day(date(2026, 8, 31))
    assert PLAIN.is_working_day(date(2026, 8, 22))
    assert [o.day for o in PLAIN.working_weekend_days(2026)] == [date(2026, 8, 22)]
    # 30/4–1/5/2025: Friday 2/5 off, Saturday 26/4 worked
    assert PLAIN.is_working_day(date(2025, 4, 26)) and not PLAIN.is_working_day(date(2025, 5, 2))


def test_a_plain_weekend_is_named_but_not_listed_among_the_holidays() -> None:
    assert PLAIN.day_off(date(2026, 3, 7)) == DayOff(date(2026, 3, 7), "Thứ Bảy", "Saturday")
    assert PLAIN.day_off(date(2026, 3, 8)) == DayOff(date(2026, 3, 8), "Chủ nhật", "Sunday")
    assert PLAIN.day_off(date(2026, 3, 9)) is None
    assert date(2026, 3, 7) not in {d.day for d in PLAIN.non_working_days(2026)}


# --- counting -------------------------------------------------------------------------------------------------------
def test_received_12_february_2026_plus_10_working_days_is_due_5_march() -> None:
    result = PLAIN.add_working_days(date(2026, 2, 12), 10)
    assert result.received_on == date(2026, 2, 12)
    assert result.due_date == date(2026, 3, 5)
    assert result.due_at == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # 17:00 Hanoi
    assert result.start == hanoi(2026, 2, 12, 0)
    skipped = [d.day for d in result.skipped]
    assert skipped == [
        date(2026, 2, 14),
        date(2026, 2, 15),
        *[date(2026, 2, d) for d in range(16, 23)],
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]
    assert result.skipped[2].name_vi == "Giao thừa Tết Nguyên Đán"


def test_zero_days_is_office_close_of_the_day_of_receipt() -> None:
    result = BusinessCalendar(office_close=time(16, 30)).add_working_days(hanoi(2026, 3, 4, 8), 0)
    assert result.received_on == result.due_date == date(2026, 3, 4)
    assert result.due_at == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert result.skipped == ()


def test_receipt_after_the_cutoff_counts_from_the_next_working_day() -> None:
    calendar = BusinessCalendar(cutoff=time(15, 0))
    late = calendar.add_working_days(hanoi(2026, 2, 12, 16), 1)  # Thursday before Tết
    assert late.received_on == date(2026, 2, 13)
    assert late.due_date == date(2026, 2, 23)
    on_time = calendar.add_working_days(hanoi(2026, 2, 12, 14, 59), 1)
    assert (on_time.received_on, on_time.due_date) == (date(2026, 2, 12), date(2026, 2, 13))
    at_cutoff = calendar.add_working_days(hanoi(2026, 2, 12, 15), 0)
    assert at_cutoff.received_on == date(2026, 2, 13)
    # per call: another cut-off, or none at all
    assert calendar.add_working_days(hanoi(2026, 2, 12, 16), 1, cutoff=None).received_on == date(2026, 2, 12)
    assert PLAIN.add_working_days(hanoi(2026, 2, 12, 16), 1, cutoff=time(17)).received_on == date(2026, 2, 12)
    assert PLAIN.add_working_days(hanoi(2026, 2, 12, 16), 1, cutoff=time(15)).received_on == date(2026, 2, 13)
    # a date is a receipt that day before any cut-off
    assert calendar.add_working_days(date(2026, 2, 12), 1).received_on == date(2026, 2, 12)


def test_receipt_on_a_weekend_or_holiday_counts_from_the_next_working_day() -> None:
    saturday = PLAIN.add_working_days(hanoi(2026, 3, 7, 10), 0)
    assert (saturday.received_on, saturday.due_date) == (date(2026, 3, 9), date(2026, 3, 9))
    assert PLAIN.add_working_days(hanoi(2026, 3, 7, 10), 1).due_date == date(2026, 3, 10)
    tet = PLAIN.add_working_days(date(2026, 2, 17), 2)
    assert (tet.received_on, tet.due_date) == (date(2026, 2, 23), date(2026, 2, 25))
    # Friday after the cut-off: Monday is the day of receipt
    late_friday = BusinessCalendar(cutoff=time(15)).add_working_days(hanoi(2026, 3, 6, 15, 30), 1)
    assert (late_friday.received_on, late_friday.due_date) == (date(2026, 3, 9), date(2026, 3, 10))


def test_the_start_is_read_in_hanoi_time() -> None:
    # 20:00 UTC on 5/3 is 03:00 on 6/3 in Hanoi
    result = PLAIN.add_working_days(datetime(2026, 3, 5, 20, 0, tzinfo=UTC), 0)
    assert result.received_on == date(2026, 3, 6)
    assert result.start == hanoi(2026, 3, 6, 3)
    naive = PLAIN.add_working_days(datetime(2026, 3, 5, 16, 0), 0, cutoff=time(15))  # naive: Hanoi time
    assert naive.received_on == date(2026, 3, 6)
    assert naive.start.utcoffset() == timedelta(hours=7)


def test_a_swapped_saturday_override_is_a_working_day() -> None:
    calendar = BusinessCalendar([Override(date(2026, 3, 7), True, "Làm bù")])
    assert calendar.is_working_day(date(2026, 3, 7))
    assert calendar.add_working_days(date(2026, 3, 6), 1).due_date == date(2026, 3, 7)
    assert PLAIN.add_working_days(date(2026, 3, 6), 1).due_date == date(2026, 3, 9)
    assert [o.day for o in calendar.working_weekend_days(2026)] == [date(2026, 3, 7), date(2026, 8, 22)]


def test_a_day_made_off_by_override_is_skipped_and_named() -> None:
    calendar = BusinessCalendar([Override(date(2026, 3, 10), False, "Nghỉ đột xuất")])
    result = calendar.add_working_days(date(2026, 3, 9), 1)
    assert result.due_date == date(2026, 3, 11)
    assert result.skipped == (DayOff(date(2026, 3, 10), "Nghỉ đột xuất", "Day off"),)
    assert DayOff(date(2026, 3, 10), "Nghỉ đột xuất", "Day off") in calendar.non_working_days(2026)


def test_an_override_wins_over_a_national_holiday() -> None:
    calendar = BusinessCalendar([Override(date(2026, 4, 30), True, "Làm việc", "Working day")])
    assert not PLAIN.is_working_day(date(2026, 4, 30))
    assert calendar.is_working_day(date(2026, 4, 30))
    assert date(2026, 4, 30) not in {d.day for d in calendar.non_working_days(2026)}
    renamed = BusinessCalendar([Override(date(2026, 9, 2), False, "Quốc khánh 2/9")])
    assert renamed.day_off(date(2026, 9, 2)) == DayOff(date(2026, 9, 2), "Quốc khánh 2/9", "National Day")


@pytest.mark.parametrize("year", [2026, 2027, 2029])
def test_24_november_is_worked_until_the_labour_code_makes_it_a_holiday(year: int) -> None:
    # Nghị quyết 80-NQ/TW and 30/NQ-CP only ask for Điều 112.1 of the Labour Code to be amended; the package counts it
    culture_day = date(year, 11, 24)
    assert PLAIN.is_working_day(culture_day) is (culture_day.weekday() < 5)
    assert not [off for off in PLAIN.non_working_days(year) if off.day.month == 11]  # nor a compensation day for it
    in_force = BusinessCalendar([Override(culture_day, False, "Ngày Văn hóa Việt Nam", "Vietnam Culture Day")])
    assert not in_force.is_working_day(culture_day)
    assert DayOff(culture_day, "Ngày Văn hóa Việt Nam", "Vietnam Culture Day") in in_force.non_working_days(year)


def test_the_project_calendar_file_keeps_24_november_a_working_day() -> None:
    days = {o.day: o for o, _basis in read_calendar_file(ROOT / "processes" / "calendar.toml")}
    calendar = BusinessCalendar(days.values())
    assert date(2026, 11, 24) not in days
    assert calendar.add_working_days(hanoi(2026, 11, 23), 1).due_date == date(2026, 11, 24)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (hanoi(2026, 3, 10, 10, 30), hanoi(2026, 3, 10, 10, 30)),  # Tuesday morning: as it is
        (hanoi(2026, 3, 10, 2, 23), hanoi(2026, 3, 10, 8, 0)),  # 02:23 → the opening that day
        (hanoi(2026, 3, 10, 17, 0), hanoi(2026, 3, 10, 17, 0)),  # office close itself is still working time
        (hanoi(2026, 3, 10, 19, 45), hanoi(2026, 3, 11, 8, 0)),  # evening → next morning
        (hanoi(2026, 3, 8, 11, 0), hanoi(2026, 3, 9, 8, 0)),  # a Sunday → Monday's opening
        (hanoi(2026, 4, 29, 18, 0), hanoi(2026, 5, 4, 8, 0)),  # before 30/4 and 1/5 and a weekend
    ],
)
def test_a_moment_outside_working_hours_moves_to_the_next_opening(moment: datetime, expected: datetime) -> None:
    assert PLAIN.in_working_hours(moment) == expected.astimezone(UTC)


def test_a_warning_beyond_the_calendars_years_stays_where_it_falls() -> None:
    far = datetime(9000, 1, 1, 2, 0, tzinfo=UTC)
    assert warning_time(far - timedelta(days=4), far, calendar=PLAIN) == far - timedelta(days=1)


@pytest.mark.parametrize("days", [-1, MAX_DAYS + 1])
def test_days_out_of_range_are_refused(days: int) -> None:
    with pytest.raises(ValueError, match="days"):
        PLAIN.add_working_days(date(2026, 3, 9), days)


def test_years_outside_the_supported_range_are_refused() -> None:
    with pytest.raises(ValueError, match="supported"):
        PLAIN.add_working_days(date(1990, 3, 9), 1)
    with pytest.raises(ValueError, match="supported"):
        PLAIN.add_working_days(date(2100, 12, 1), 30)
    assert PLAIN.add_working_days(date(2026, 3, 9), MAX_DAYS).due_date.year == 2040


def test_the_shipped_calendar_file_is_valid() -> None:
    entries = read_calendar_file(ROOT / "processes" / "calendar.toml")
    assert entries
    for override, basis in entries:
        assert override.name_vi and basis, override
        # announcements move weekdays off and weekend days into the working week
        assert override.working == (override.day.weekday() >= 5)


# --- the service, on both databases ---------------------------------------------------------------------------------
def calendar_events(container: EngineContainer) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        rows = (
            conn.execute(
                text(
                    "SELECT instance_id, actor, kind, data FROM audit_event WHERE kind = 'calendar_changed' ORDER BY id"
                )
            )
            .mappings()
            .all()
        )
    out = []
    for row in rows:
        data = row["data"]
        out.append({**row, "data": data if isinstance(data, dict) else json.loads(data)})
    return out


def test_an_admin_override_changes_the_calendar_at_once_and_is_audited(container: EngineContainer) -> None:
    service = container.calendar
    before = service.current()
    assert not before.is_working_day(date(2026, 3, 7))
    row = service.set_override(ADMIN, date(2026, 3, 7), working=True, name_vi="  Làm bù  ", name_en="Make-up day")
    assert row.source == "api" and row.updated_by == "root" and row.name_vi == "Làm bù"
    assert service.current().is_working_day(date(2026, 3, 7))
    assert service.working_days(date(2026, 3, 6), 1).due_date == date(2026, 3, 7)
    service.set_override(ADMIN, date(2026, 3, 7), working=False, name_vi="Nghỉ")
    assert not service.current().is_working_day(date(2026, 3, 7))
    events = calendar_events(container)
    assert [(e["instance_id"], e["actor"]) for e in events] == [(None, "root"), (None, "root")]
    assert events[0]["data"]["before"] is None
    assert events[0]["data"]["after"] == {
        "day": "2026-03-07",
        "working": True,
        "name_vi": "Làm bù",
        "name_en": "Make-up day",
        "source": "api",
    }
    assert events[1]["data"]["before"]["working"] is True and events[1]["data"]["after"]["working"] is False
    assert [r.day for r in service.list_overrides(ADMIN, 2026)] == [date(2026, 3, 7)]
    assert service.list_overrides(ADMIN, 2027) == []


def test_delete_restores_the_national_calendar(container: EngineContainer) -> None:
    service = container.calendar
    service.set_override(ADMIN, date(2026, 9, 2), working=True, name_vi="Thử")
    assert service.current().is_working_day(date(2026, 9, 2))
    removed = service.delete_override(ADMIN, date(2026, 9, 2))
    assert removed.working is True
    assert not service.current().is_working_day(date(2026, 9, 2))
    assert calendar_events(container)[-1]["data"]["after"] is None
    with pytest.raises(CalendarDayNotFound):
        service.delete_override(ADMIN, date(2026, 9, 2))


def test_only_admins_change_or_list_overrides(container: EngineContainer) -> None:
    service = container.calendar
    with pytest.raises(Forbidden):
        service.set_override(CLERK, date(2026, 3, 7), working=True, name_vi="Làm bù")
    with pytest.raises(Forbidden):
        service.delete_override(CLERK, date(2026, 3, 7))
    with pytest.raises(Forbidden):
        service.list_overrides(CLERK)
    assert service.list_overrides(ADMIN) == [] and calendar_events(container) == []


@pytest.mark.parametrize(
    ("day", "name", "field"), [(date(1999, 3, 6), "Làm bù", "day"), (date(2026, 3, 7), "  ", "name_vi")]
)
def test_bad_overrides_are_refused(container: EngineContainer, day: date, name: str, field: str) -> None:
    with pytest.raises(InvalidCalendarDay) as caught:
        container.calendar.set_override(ADMIN, day, working=True, name_vi=name)
    assert caught.value.fields["field"] == field
    assert container.calendar.list_overrides(ADMIN) == []


def test_another_process_sees_a_change_within_the_ttl(container: EngineContainer, clock: FakeClock) -> None:
    other = CalendarService(container.db, clock, ttl_seconds=10)
    assert not other.current().is_working_day(date(2026, 3, 7))
    container.calendar.set_override(ADMIN, date(2026, 3, 7), working=True, name_vi="Làm bù")
    clock.advance(5)
    assert not other.current().is_working_day(date(2026, 3, 7))  # still cached
    clock.advance(5)
    assert other.current().is_working_day(date(2026, 3, 7))


def test_working_days_errors_name_the_field(container: EngineContainer) -> None:
    for start, days, field in (
        (date(2026, 3, 9), -1, "add"),
        (date(2026, 3, 9), MAX_DAYS + 1, "add"),
        (date(1995, 3, 9), 1, "start"),
        (date(2099, 12, 1), 400, "add"),
    ):
        with pytest.raises(InvalidInput) as caught:
            container.calendar.working_days(start, days)
        assert caught.value.fields["field"] == field, (start, days)


CALENDAR_FILE = """
[[day]]
date = 2026-03-09
working = false
name_vi = "Nghỉ theo thông báo"
source = "Thông báo thử"

[[day]]
date = 2026-03-14
working = true
name_vi = "Làm bù"
name_en = "Make-up day"
"""


def test_the_file_is_loaded_without_overwriting_an_admin_change(container: EngineContainer, tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(CALENDAR_FILE, encoding="utf-8")
    service = CalendarService(container.db, container.clock, file=path)
    service.set_override(ADMIN, date(2026, 3, 14), working=False, name_vi="Quyết định của quản trị")
    assert service.load_file() == 1
    rows = {r.day: r for r in service.list_overrides(ADMIN)}
    assert rows[date(2026, 3, 9)].source == "file" and rows[date(2026, 3, 9)].updated_by == "system:calendar-file"
    assert rows[date(2026, 3, 14)].source == "api" and rows[date(2026, 3, 14)].working is False
    assert not service.current().is_working_day(date(2026, 3, 9))
    assert service.load_file() == 0  # a restart changes nothing
    # the file changes: its day goes, the admin's day stays
    path.write_text(CALENDAR_FILE.split("[[day]]")[0] + "[[day]]" + CALENDAR_FILE.split("[[day]]")[2], encoding="utf-8")
    assert service.load_file() == 1
    assert [r.day for r in service.list_overrides(ADMIN)] == [date(2026, 3, 14)]
    assert service.current().is_working_day(date(2026, 3, 9))
    file_events = [e for e in calendar_events(container) if e["actor"] == "system:calendar-file"]
    assert [(e["data"]["before"] is None, e["data"]["after"] is None) for e in file_events] == [
        (True, False),
        (False, True),
    ]
    assert file_events[0]["data"]["basis"] == "Thông báo thử"


@pytest.mark.parametrize(
    "content",
    [
        "[[day]]\ndate = 2026-03-09\nworking = false\n",  # no name
        "[[day]]\ndate = 2026-03-09\nworking = 'no'\nname_vi = 'Nghỉ'\n",  # not a boolean
        "[[day]]\ndate = '2026-03-09'\nworking = false\nname_vi = 'Nghỉ'\n",  # not a TOML date
        "[[day]]\ndate = 2026-03-09\nworking = false\nname_vi = 'Nghỉ'\nnote = 'x'\n",  # unknown key
        "[[day]]\ndate = 2026-03-09\nworking = false\nname_vi = 'A'\n" * 2,  # twice
        "[[day]]\ndate = 1990-03-09\nworking = false\nname_vi = 'Nghỉ'\n",  # unsupported year
        "[[ngay]]\ndate = 2026-03-09\n",  # wrong table
        "[[day]\n",  # not TOML
    ],
)
def test_a_bad_file_is_refused_and_changes_nothing(container: EngineContainer, tmp_path: Path, content: str) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidCalendarDay):
        container.calendar.load_file(path)
    assert container.calendar.list_overrides(ADMIN) == []
