"""Hand-written SQL for the hot path (every command runs these), sent straight to the driver.

SQLAlchemy Core costs ~200 µs per statement here in statement building and cache-key generation — more than
SQLite itself. The few statements every command runs are written once with ``:name`` parameters, converted once per
dialect (sqlite3 takes ``:name``; psycopg takes ``%(name)s``), and their values adapted by hand: datetimes as
SQLAlchemy stores them (naive UTC text on SQLite, timestamptz on PostgreSQL), JSON as text (cast to jsonb on
PostgreSQL). Cold paths (deploy, listings) stay on SQLAlchemy Core.

Round trips on PostgreSQL: a write whose result the command does not need at once is ``defer``-red: kept on the
connection and sent, in one psycopg pipeline, with the next statement that must answer (a read, ``run``) or with the
``COMMIT`` (``commit``), so a command's writes cost no trip of their own. A statement of SQLAlchemy Core sends them
first too (store/database.py flushes them before any cursor runs), so every statement sees the writes before it.
SQLite has no network: ``defer`` runs the write at once.

``BEGIN`` and ``COMMIT`` ride in those trips too (``begin``, ``commit``). psycopg, left to itself, ends every pipeline
that opens a transaction with a Sync right after its ``BEGIN`` and waits for the answer before sending the rest, and
a ``commit()`` inside a pipeline syncs, then the pipeline's end syncs again: two extra round trips a transaction
that libpq's trace shows (each a wake-up of the server's process and of ours). A transaction of
``store.database.Database`` therefore runs its connection in psycopg's autocommit mode (psycopg sends no ``BEGIN`` of
its own) and sends ``BEGIN`` itself, ahead of its first statement, and ``COMMIT`` as the last statement of the
commit's pipeline: one Sync each trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

_PARAM = re.compile(r"(?<![:\w]):(\w+)(@json)?")
_converted: dict[tuple[str, str], str] = {}
DEFERRED = "phoihop_deferred"  # Connection.info key: the writes waiting for the next trip (PostgreSQL)
# Connection.info key: the instances whose row this transaction locked (FOR UPDATE) or inserted, with the version it
# left them at (PostgreSQL): no one else can move them before it ends, so their save needs no answer
# (store/instances.py: save_instance)
LOCKED = "phoihop_locked_instances"
BEGIN = "phoihop_begin"  # Connection.info key: this transaction's BEGIN is not sent yet (PostgreSQL: ``begin``)
Params = Mapping[str, Any] | list[dict[str, Any]] | None


def _convert(dialect: str, sql: str) -> str:
    key = (dialect, sql)
    native = _converted.get(key)
    if native is None:
        if dialect == "postgresql":
            native = _PARAM.sub(lambda m: f"%({m.group(1)})s" + ("::jsonb" if m.group(2) else ""), sql)
        else:
            native = _PARAM.sub(lambda m: f":{m.group(1)}", sql)
        _converted[key] = native
    return native


class Result:
    """What a statement returned: rowcount, and rows as dicts keyed by column name."""

    __slots__ = ("_names", "_rows", "rowcount")

    def __init__(self, cursor: Any) -> None:
        self.rowcount: int = cursor.rowcount
        description = cursor.description
        self._names = [d[0] for d in description] if description else []
        self._rows = cursor.fetchall() if description else []

    @classmethod
    def of_psycopg(cls, cursor: Any) -> Result:
        """psycopg: the column names read from the result itself. ``cursor.description`` builds a Column object per
        column (type lookups included) on every call: ~15 µs for a task row, against ~1 µs for the names alone."""
        result = cls.__new__(cls)
        result.rowcount = cursor.rowcount
        pgresult = cursor.pgresult
        if pgresult is None or not pgresult.nfields:
            result._names, result._rows = [], []
            return result
        fname = pgresult.fname
        result._names = [fname(i).decode() for i in range(pgresult.nfields)]
        result._rows = cursor.fetchall()
        return result

    def all(self) -> list[dict[str, Any]]:
        names = self._names
        return [dict(zip(names, row, strict=True)) for row in self._rows]

    def first(self) -> dict[str, Any] | None:
        return dict(zip(self._names, self._rows[0], strict=True)) if self._rows else None


def run(conn: Connection, sql: str, params: Params = None) -> Result:
    """Run on the DBAPI cursor of ``conn``, inside the transaction SQLAlchemy began on it (with the deferred writes
    before it, in the same trip)."""
    dbapi: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite":  # nothing is ever deferred there: straight to the driver
        cursor = _sqlite(dbapi, sql, params)
        try:
            return Result(cursor)
        finally:
            cursor.close()
    native = _convert("postgresql", sql)
    cursor = dbapi.cursor()
    try:
        if _waiting(conn):
            with dbapi.pipeline():
                _send_deferred(conn, dbapi)
                _execute(cursor, native, params)
        elif _opens_transaction(dbapi):  # the BEGIN rides with the statement
            with dbapi.pipeline():
                _execute(cursor, native, params)
        else:
            _execute(cursor, native, params)
        return Result.of_psycopg(cursor)
    finally:
        cursor.close()


def _sqlite(dbapi: Any, sql: str, params: Params) -> Any:
    """sqlite3's own ``execute``/``executemany`` (a cursor made and run in C): the hot path runs ~60 statements an
    instance, and the wrapper's own Python was half of what each cost."""
    native = _converted.get(("sqlite", sql)) or _convert("sqlite", sql)
    if isinstance(params, list):
        return dbapi.executemany(native, params)
    return dbapi.execute(native, params if type(params) is dict else dict(params or {}))


def run_together(conn: Connection, statements: list[tuple[str, Params]]) -> list[Result]:
    """Several statements in one trip, run by the server in this order (PostgreSQL: one pipeline, with the deferred
    writes before them and, first in a transaction, its ``BEGIN``); SQLite runs them one after the other."""
    if conn.dialect.name != "postgresql":
        return [run(conn, sql, params) for sql, params in statements]
    dbapi: Any = conn.connection.dbapi_connection
    cursors = [dbapi.cursor() for _ in statements]
    try:
        with dbapi.pipeline():
            if _waiting(conn):
                _send_deferred(conn, dbapi)
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                _execute(cursor, _convert("postgresql", sql), params)
        return [Result.of_psycopg(cursor) for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def locked(conn: Connection, instance_id: str, version: int) -> None:
    """PostgreSQL: this transaction holds the instance's row (locked FOR UPDATE, or inserted) until it ends, and the
    row is at ``version`` now."""
    if conn.dialect.name == "postgresql":
        conn.info.setdefault(LOCKED, {})[instance_id] = version


def held_version(conn: Connection, instance_id: str) -> int | None:
    """The version of an instance row this transaction holds (``locked``), None for any other row."""
    held: dict[str, int] = conn.info.get(LOCKED, {})
    return held.get(instance_id)


def _opens_transaction(dbapi: Any) -> bool:
    """psycopg sends ``BEGIN`` as a query of its own (a trip) before the first statement of a transaction, unless the
    statement goes in a pipeline: then the two leave together."""
    return not dbapi.autocommit and dbapi.pgconn.transaction_status == 0  # TransactionStatus.IDLE


def _execute(cursor: Any, native: str, params: Params) -> None:
    if isinstance(params, list):
        cursor.executemany(native, params)
    else:
        cursor.execute(native, dict(params or {}))


def defer(conn: Connection, sql: str, params: Params = None) -> None:
    """A write whose result nobody reads: on PostgreSQL sent with the next trip (see the module docstring), on
    SQLite run at once. An empty list of parameters writes nothing."""
    if isinstance(params, list) and not params:
        return
    if conn.dialect.name != "postgresql":
        _sqlite(conn.connection.dbapi_connection, sql, params).close()
        return
    conn.info.setdefault(DEFERRED, []).append((_convert("postgresql", sql), params))


def flush(conn: Connection) -> None:
    """Send the deferred writes now, in one trip (before a statement that does not go through ``run``). The
    transaction's ``BEGIN`` alone (a read through SQLAlchemy Core, say) goes without a pipeline, as psycopg's own."""
    if conn.info.get(DEFERRED):
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.pipeline():
            _send_deferred(conn, dbapi)
    elif conn.info.pop(BEGIN, False):
        conn.connection.dbapi_connection.execute(_BEGIN, prepare=False)  # type: ignore[union-attr]


def begin(conn: Connection) -> None:
    """PostgreSQL: a transaction begins on ``conn`` (its driver connection idle): psycopg's autocommit mode, so that it
    sends no ``BEGIN`` (nor the Sync it puts after one in a pipeline), and this module's own ``BEGIN`` ahead of the
    first statement sent. ``end`` when the transaction is over."""
    conn.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
    conn.info[BEGIN] = True


def end(conn: Connection) -> None:
    """The transaction that ``begin`` opened is over (committed or rolled back): psycopg begins transactions itself
    again, for whoever uses the connection next outside ``store.database.Database``."""
    conn.info.pop(BEGIN, None)
    conn.connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]


def commit(conn: Connection) -> None:
    """PostgreSQL: the deferred writes and the ``COMMIT`` in one trip (a transaction that sent nothing: none).
    SQLAlchemy's commit after it finds the driver's transaction ended and sends nothing."""
    dbapi: Any = conn.connection.dbapi_connection
    conn.info.pop(LOCKED, None)
    if not conn.info.get(DEFERRED):
        if conn.info.pop(BEGIN, False):  # nothing was sent: no transaction on the server to end
            return
        dbapi.commit()  # psycopg sends COMMIT when a transaction is open, nothing otherwise
        return
    with dbapi.pipeline():
        cursor = _send_deferred(conn, dbapi)
        if dbapi.autocommit:  # begun by ``begin``: the COMMIT goes last in the pipeline, one Sync for all
            cursor.execute(_COMMIT, prepare=False)
        else:  # a transaction psycopg began (a connection used outside ``begin``)
            dbapi.commit()


def discard(conn: Connection) -> None:
    """The transaction ends without committing: its deferred writes (and a BEGIN not sent) go nowhere, its locks are
    gone."""
    conn.info.pop(DEFERRED, None)
    conn.info.pop(LOCKED, None)
    conn.info.pop(BEGIN, None)


def _waiting(conn: Connection) -> bool:
    """Whether statements wait to be sent ahead of the next one: deferred writes, or this transaction's ``BEGIN``."""
    return bool(conn.info.get(DEFERRED) or conn.info.get(BEGIN))


_BEGIN, _COMMIT = b"BEGIN", b"COMMIT"


def _send_deferred(conn: Connection, dbapi: Any) -> Any:
    """Queue the waiting statements on the pipeline open on ``dbapi`` (called inside ``with dbapi.pipeline()``):
    the transaction's ``BEGIN`` when not sent yet, then the deferred writes. Returns the cursor that sent them."""
    cursor = dbapi.cursor()
    if conn.info.pop(BEGIN, False):
        cursor.execute(_BEGIN, prepare=False)
    for native, params in conn.info.pop(DEFERRED, ()):
        _execute(cursor, native, params)
    return cursor


def ts(conn: Connection, value: datetime | None) -> Any:
    """A datetime as the UtcDateTime column stores it."""
    if value is None:
        return None
    if conn.dialect.name == "sqlite":
        # SQLAlchemy's SQLite DATETIME text; isoformat is several times faster than strftime
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value.astimezone(UTC)


def js(value: Any) -> str:
    return orjson.dumps(value).decode()


def ts_out(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def js_out(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def row_out(row: Mapping[str, Any], *, times: tuple[str, ...] = (), jsons: tuple[str, ...] = ()) -> dict[str, Any]:
    out = dict(row)
    for name in times:
        out[name] = ts_out(out[name])
    for name in jsons:
        out[name] = js_out(out[name])
    return out
