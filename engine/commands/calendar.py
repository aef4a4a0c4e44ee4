"""The business calendar as the engine uses it: overrides from the ``calendar_day`` table (set by admins over the API,
or loaded from ``processes/calendar.toml`` at start), one cached ``BusinessCalendar`` per process.

The cache is rebuilt ``ttl_seconds`` after it was built, so a change made by another server process is seen within
the ttl; a change made through this object is seen at once (the cache is dropped after its commit). A rebuild inside
a command reads on the command's own connection (``Database.active``): a command never holds one pooled connection
while it waits for another (issue 13: with a small pool that wait deadlocked until the pool timeout).
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from types import EllipsisType
from typing import Any, Literal

from phoihop.engine.clock import Clock
from phoihop.engine.errors import CalendarDayNotFound, InvalidCalendarDay, InvalidInput
from phoihop.engine.model import Actor
from phoihop.engine.store import calendar_days as sql
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database
from phoihop.engine.store.unit_of_work import UnitOfWork, unit_of_work
from phoihop.engine.time.calendar import MAX_DAYS, MAX_YEAR, MIN_YEAR, BusinessCalendar, DayOff, Override, WorkingDays

FILE_ACTOR = "system:calendar-file"
MAX_NAME = 300
_FILE_KEYS = frozenset({"date", "working", "name_vi", "name_en", "source"})
_SPACED_OFFSET = re.compile(r" (\d{2}:?\d{2})$")  # "+07:00" that arrived unencoded in a query string

__all__ = ["CalendarOverride", "CalendarService", "parse_cutoff", "parse_start"]


@dataclass(frozen=True, slots=True)
class CalendarOverride:
    """An override of the calendar for one day: a working day (a swapped Saturday) or a day off; ``source`` api (set
    by an admin) or file (processes/calendar.toml)."""

    day: date
    working: bool
    name_vi: str
    name_en: str | None
    source: Literal["api", "file"]
    updated_by: str
    updated_at: datetime


def _override(row: Mapping[str, Any]) -> CalendarOverride:
    return CalendarOverride(
        day=row["day"],
        working=bool(row["working"]),
        name_vi=row["name_vi"],
        name_en=row["name_en"],
        source=row["source"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )


@dataclass(frozen=True)
class _Cached:
    calendar: BusinessCalendar
    built_at: datetime
    generation: int


def parse_start(text: str) -> date | datetime:
    """``YYYY-MM-DD`` (a date) or an ISO 8601 datetime; a datetime without an offset is Hanoi time."""
    value = _SPACED_OFFSET.sub(r"+\1", text.strip())
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"start must be a date (YYYY-MM-DD) or an ISO 8601 datetime, got {text!r}",
            detail_vi=f"start phải là ngày (YYYY-MM-DD) hoặc thời điểm ISO 8601, nhận được {text!r}",
            field="start",
        ) from None


def parse_cutoff(text: str) -> time | None:
    """``HH:MM`` (Hanoi time), or empty for no cut-off."""
    if not text.strip():
        return None
    try:
        return time.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        raise InvalidInput(
            f"cutoff must be HH:MM or empty, got {text!r}",
            detail_vi=f"cutoff phải có dạng HH:MM hoặc để trống, nhận được {text!r}",
            field="cutoff",
        ) from None


def _check_day(day: date, field: str = "day", error: type[InvalidInput] = InvalidCalendarDay) -> None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise error(
            f"{day.isoformat()} is outside the supported years {MIN_YEAR}–{MAX_YEAR}",
            detail_vi=f"Ngày {day.strftime('%d/%m/%Y')} nằm ngoài khoảng năm được hỗ trợ {MIN_YEAR}–{MAX_YEAR}",
            field=field,
        )


def _check_name(value: Any, field: str, *, required: bool, where: str = "") -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_NAME:
        raise InvalidCalendarDay(
            f"{where}{field} must be a non-empty text of at most {MAX_NAME} characters",
            detail_vi=f"{where}{field} phải là chuỗi không rỗng, tối đa {MAX_NAME} ký tự",
            field=field,
        )
    return value.strip() or None


def _public(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A row as JSON for the audit trail."""
    if row is None:
        return None
    return {
        "day": row["day"].isoformat(),
        "working": row["working"],
        "name_vi": row["name_vi"],
        "name_en": row["name_en"],
        "source": row["source"],
    }


class CalendarService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        file: Path | None = None,
        cutoff: time | None = None,
        office_close: time = time(17, 0),
        ttl_seconds: float = 10.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.file = file
        self.cutoff = cutoff
        self.office_close = office_close
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._generation = 0
        self._cached: _Cached | None = None

    # --- the calendar -----------------------------------------------------------------------------------------------
    def current(self) -> BusinessCalendar:
        now = self.clock.now()
        with self._lock:
            cached, generation = self._cached, self._generation
        if cached is not None and cached.generation == generation:
            age = (now - cached.built_at).total_seconds()
            if 0 <= age < self.ttl_seconds:
                return cached.calendar
        command = self.db.active()
        if command is not None:  # inside a command: its own connection, never a second one from the pool
            rows = sql.list_days(command)
        else:
            with self.db.transaction(write=False) as conn:
                rows = sql.list_days(conn)
        calendar = BusinessCalendar(
            [Override(r["day"], bool(r["working"]), r["name_vi"], r["name_en"]) for r in rows],
            cutoff=self.cutoff,
            office_close=self.office_close,
        )
        with self._lock:
            if self._generation == generation:  # no change committed while we read
                self._cached = _Cached(calendar, now, generation)
        return calendar

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cached = None

    def working_days(
        self, start: date | datetime, days: int, *, cutoff: time | EllipsisType | None = ...
    ) -> WorkingDays:
        """``current().add_working_days`` with bad input as engine errors naming the field (``start``, ``add``)."""
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
            raise InvalidInput(
                f"add must be a whole number of working days from 0 to {MAX_DAYS}",
                detail_vi=f"add phải là số ngày làm việc nguyên từ 0 đến {MAX_DAYS}",
                field="add",
            )
        _check_day(start.date() if isinstance(start, datetime) else start, "start", InvalidInput)
        try:
            return self.current().add_working_days(start, days, cutoff=cutoff)
        except ValueError:  # counting ran past the last supported year
            raise InvalidInput(
                f"the deadline falls after {MAX_YEAR}, beyond the supported calendar",
                detail_vi=f"Thời hạn rơi vào sau năm {MAX_YEAR}, ngoài phạm vi lịch được hỗ trợ",
                field="add",
            ) from None

    def days_off(self, year: int) -> tuple[list[DayOff], list[Override]]:
        """Non-working days (holidays and overrides) of ``year``, and its worked Saturdays and Sundays."""
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise InvalidInput(
                f"year must be from {MIN_YEAR} to {MAX_YEAR}",
                detail_vi=f"Năm phải từ {MIN_YEAR} đến {MAX_YEAR}",
                field="year",
            )
        calendar = self.current()
        return calendar.non_working_days(year), calendar.working_weekend_days(year)

    # --- overrides (admin) ------------------------------------------------------------------------------------------
    def _uow(self) -> Any:
        return unit_of_work(self.db, self.clock.now)

    def _audit(
        self,
        uow: UnitOfWork,
        actor_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        day: date,
        **extra: Any,
    ) -> None:
        repo.insert_audit(
            uow.conn,
            [
                {
                    "instance_id": None,
                    "at": uow.now,
                    "actor": actor_id,
                    "kind": "calendar_changed",
                    "data": {"day": day.isoformat(), "before": _public(before), "after": _public(after), **extra},
                }
            ],
        )
        uow.after_commit.append(self.invalidate)

    def list_overrides(self, actor: Actor, year: int | None = None) -> list[CalendarOverride]:
        actor.require_role("admin")
        with self.db.transaction(write=False) as conn:
            return [_override(row) for row in sql.list_days(conn, year)]

    def set_override(
        self, actor: Actor, day: date, *, working: bool, name_vi: str, name_en: str | None = None
    ) -> CalendarOverride:
        actor.require_role("admin")
        _check_day(day)
        if not isinstance(working, bool):
            raise InvalidCalendarDay(
                "working must be true or false", detail_vi="working phải là true hoặc false", field="working"
            )
        values = {
            "day": day,
            "working": working,
            "name_vi": _check_name(name_vi, "name_vi", required=True),
            "name_en": _check_name(name_en, "name_en", required=False),
            "source": "api",
        }
        with self._uow() as uow:
            before = sql.get_day(uow.conn, day, lock=True)
            sql.upsert_day(uow.conn, **values, updated_by=actor.id, updated_at=uow.now)
            after = sql.get_day(uow.conn, day)
            self._audit(uow, actor.id, before, after, day, origin="api")
        assert after is not None
        return _override(after)

    def delete_override(self, actor: Actor, day: date) -> CalendarOverride:
        """Remove the override of ``day``; returns the removed row. A day from the calendar file comes back at the
        next start unless the file is changed too."""
        actor.require_role("admin")
        with self._uow() as uow:
            before = sql.get_day(uow.conn, day, lock=True)
            if before is None or not sql.delete_day(uow.conn, day):
                raise CalendarDayNotFound(
                    f"no calendar override for {day.isoformat()}",
                    detail_vi=f"Không có điều chỉnh lịch cho ngày {day.strftime('%d/%m/%Y')}",
                    day=day.isoformat(),
                )
            self._audit(uow, actor.id, before, None, day, origin="api")
        return _override(before)

    # --- the calendar file ------------------------------------------------------------------------------------------
    def load_file(self, path: Path | None = None) -> int:
        """Make the "file" overrides match the file: add and update its days, remove "file" rows it no longer has.
        A day an admin set over the API (source "api") is left alone. Returns the number of days changed."""
        path = path or self.file
        if path is None:
            return 0
        entries = read_calendar_file(path)
        changed = 0
        with self._uow() as uow:
            existing = {r["day"]: r for r in sql.list_days(uow.conn)}
            for entry, basis in entries:
                before = existing.get(entry.day)
                if before is not None and (
                    before["source"] != "file"
                    or (bool(before["working"]), before["name_vi"], before["name_en"])
                    == (entry.working, entry.name_vi, entry.name_en)
                ):
                    continue
                if sql.upsert_file_day(
                    uow.conn,
                    day=entry.day,
                    working=entry.working,
                    name_vi=entry.name_vi,
                    name_en=entry.name_en,
                    updated_by=FILE_ACTOR,
                    updated_at=uow.now,
                ):
                    self._audit(
                        uow,
                        FILE_ACTOR,
                        before,
                        sql.get_day(uow.conn, entry.day),
                        entry.day,
                        origin="file",
                        file=path.name,
                        basis=basis,
                    )
                    changed += 1
            in_file = {entry.day for entry, _ in entries}
            stale = [d for d, r in existing.items() if r["source"] == "file" and d not in in_file]
            sql.delete_file_days(uow.conn, stale)
            for day in stale:
                self._audit(uow, FILE_ACTOR, existing[day], None, day, origin="file", file=path.name)
            changed += len(stale)
        return changed


def read_calendar_file(path: Path) -> list[tuple[Override, str | None]]:
    """The ``[[day]]`` entries of a calendar TOML file, checked; ``(override, basis)`` where ``basis`` is the
    announcement the entry cites (its ``source`` key)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidCalendarDay(
            f"cannot read calendar file {path}: {exc}",
            detail_vi=f"Không đọc được tệp lịch {path}: {exc}",
            file=str(path),
        ) from None
    unknown = sorted(set(document) - {"day"})
    days = document.get("day", [])
    if unknown or not isinstance(days, list):
        raise InvalidCalendarDay(
            f"{path}: only [[day]] tables are allowed (found {unknown or 'day'})",
            detail_vi=f"{path}: chỉ được dùng các bảng [[day]]",
            file=str(path),
        )
    entries: list[tuple[Override, str | None]] = []
    seen: set[date] = set()
    for index, raw in enumerate(days, start=1):
        where = f"{path.name} [[day]] #{index}: "
        if not isinstance(raw, dict) or set(raw) - _FILE_KEYS:
            extra = sorted(set(raw) - _FILE_KEYS) if isinstance(raw, dict) else []
            raise InvalidCalendarDay(
                f"{where}unknown keys {extra}",
                detail_vi=f"{where}khóa không hợp lệ {extra}",
                file=str(path),
                entry=index,
            )
        day = raw.get("date")
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidCalendarDay(
                f"{where}date must be a TOML date (2026-01-02)",
                detail_vi=f"{where}date phải là ngày TOML (2026-01-02)",
                file=str(path),
                entry=index,
                field="date",
            )
        _check_day(day, "date")
        if day in seen:
            raise InvalidCalendarDay(
                f"{where}{day.isoformat()} is listed twice",
                detail_vi=f"{where}ngày {day.strftime('%d/%m/%Y')} bị khai báo hai lần",
                file=str(path),
                entry=index,
                field="date",
            )
        seen.add(day)
        working = raw.get("working")
        if not isinstance(working, bool):
            raise InvalidCalendarDay(
                f"{where}working must be true or false",
                detail_vi=f"{where}working phải là true hoặc false",
                file=str(path),
                entry=index,
                field="working",
            )
        name_vi = _check_name(raw.get("name_vi"), "name_vi", required=True, where=where)
        name_en = _check_name(raw.get("name_en"), "name_en", required=False, where=where)
        basis = _check_name(raw.get("source"), "source", required=False, where=where)
        assert name_vi is not None
        entries.append((Override(day, working, name_vi, name_en), basis))
    return entries
