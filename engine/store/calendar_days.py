"""SQL of the business calendar's overrides (table ``calendar_day``). Never commits."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, select

from phoihop.engine.store.tables import Row, all_rows, calendar_day_table, for_update, insert_ignore, one

COLUMNS = ("day", "working", "name_vi", "name_en", "source", "updated_by", "updated_at")


def list_days(conn: Connection, year: int | None = None) -> list[Row]:
    stmt = select(calendar_day_table)
    if year is not None:
        stmt = stmt.where(calendar_day_table.c.day >= date(year, 1, 1), calendar_day_table.c.day <= date(year, 12, 31))
    return all_rows(conn.execute(stmt.order_by(calendar_day_table.c.day)))


def get_day(conn: Connection, day: date, *, lock: bool = False) -> Row | None:
    stmt = select(calendar_day_table).where(calendar_day_table.c.day == day)
    return one(conn.execute(for_update(conn, stmt) if lock else stmt))


def upsert_day(conn: Connection, **values: Any) -> None:
    """Insert or replace the override of ``values["day"]``, whatever its source."""
    stmt = insert_ignore(conn, calendar_day_table).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[calendar_day_table.c.day], set_={k: stmt.excluded[k] for k in COLUMNS if k != "day"}
        )
    )


def upsert_file_day(conn: Connection, **values: Any) -> bool:
    """Insert or replace an override from the calendar file; a row an admin set (source other than "file") is left
    alone. True when a row was written."""
    stmt = insert_ignore(conn, calendar_day_table).values(**values, source="file")
    stmt = stmt.on_conflict_do_update(
        index_elements=[calendar_day_table.c.day],
        set_={k: stmt.excluded[k] for k in COLUMNS if k != "day"},
        where=calendar_day_table.c.source == "file",
    )
    return conn.execute(stmt.returning(calendar_day_table.c.day)).first() is not None


def delete_day(conn: Connection, day: date) -> bool:
    return bool(conn.execute(delete(calendar_day_table).where(calendar_day_table.c.day == day)).rowcount == 1)


def delete_file_days(conn: Connection, days: list[date]) -> None:
    if days:
        conn.execute(
            delete(calendar_day_table).where(calendar_day_table.c.day.in_(days), calendar_day_table.c.source == "file")
        )
