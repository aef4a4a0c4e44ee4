"""The per-day dossier sequence: one atomic upsert per number, on the caller's transaction (never commits).

``INSERT … ON CONFLICT … DO UPDATE … RETURNING`` is one statement on PostgreSQL and SQLite (≥ 3.35): the first
dossier of a (prefix, day) inserts 1; every later one increments the row and reads the new value. On PostgreSQL a
concurrent start waits on the row lock the first one holds until that transaction ends, then increments the
committed value, so numbers stay distinct and consecutive; if the start rolls back, its number is reused. SQLite's
write commands already hold the database lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from sqlalchemy import Connection

from phoihop.engine.store import rawsql

__all__ = ["next_dossier_number"]

_NEXT = (
    "INSERT INTO dossier_sequence (prefix, day, last) VALUES (:prefix, :day, 1)"
    " ON CONFLICT (prefix, day) DO UPDATE SET last = dossier_sequence.last + 1 RETURNING last"
)


def next_dossier_number(conn: Connection, prefix: str, day_yymmdd: str) -> int:
    """The next number of ``prefix`` (an agency code) on ``day_yymmdd`` (the receipt day, Hanoi time): 1, 2, …"""
    if len(day_yymmdd) != 6 or not day_yymmdd.isdigit():
        raise ValueError(f"day must be YYMMDD, got {day_yymmdd!r}")
    row = rawsql.run(conn, _NEXT, {"prefix": prefix, "day": day_yymmdd}).first()
    assert row is not None  # RETURNING always yields the row
    return int(row["last"])
