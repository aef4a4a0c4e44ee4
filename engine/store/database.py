"""Database engines and the transaction boundary.

SQLite (the embedded default) runs in WAL mode; a write command takes the database write lock up front with
``BEGIN IMMEDIATE`` so two commands never interleave (the lock the design calls "lock the instance"). PostgreSQL
(production) locks instance rows with ``SELECT ... FOR UPDATE``; several server and worker processes share it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            json_serializer=_json_serializer,
            json_deserializer=orjson.loads,
            # Database.transaction keeps one connection per thread itself; a bounded pool under it would only make
            # the 16th thread wait for a connection that a parked thread holds.
            poolclass=NullPool,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        json_serializer=_json_serializer,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        dbapi = conn.connection.dbapi_connection
        if dbapi.in_transaction:  # type: ignore[union-attr]  # Database.transaction began it on the driver
            return
        write = conn.get_execution_options().get("phoihop_write", True)
        # straight to the driver: this runs for every command, SQLAlchemy's execute path costs more than SQLite
        dbapi.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]


class Database:
    """Owns the SQLAlchemy engine; hands out one transaction per command."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self._read_engine = self.engine.execution_options(phoihop_write=False)  # same pool, BEGIN (deferred)
        self.dialect = self.engine.dialect.name
        # SQLite: each thread keeps its own two connections (read, write) instead of a pool round trip per
        # command — checkout, reset and return cost more than the transaction itself.
        self._local = threading.local()
        self._held: list[Connection] = []
        self._held_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One database transaction: commit on success, roll back on any exception."""
        if not self.is_sqlite:
            with (self.engine if write else self._read_engine).connect() as conn, conn.begin():
                yield conn
            return
        conn = self._thread_connection(write)
        dbapi: Any = conn.connection.dbapi_connection
        if conn.in_transaction() or dbapi.in_transaction:  # nested use on one thread: its own connection
            with (self.engine if write else self._read_engine).connect() as other, other.begin():
                yield other
            return
        # The transaction is begun and ended on the driver: SQLAlchemy's transaction objects cost several times
        # what SQLite's BEGIN/COMMIT do. A Core statement inside autobegins SQLAlchemy's bookkeeping (the begin
        # hook sees the open transaction and emits nothing); ending goes through SQLAlchemy then.
        dbapi.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            try:
                if conn.in_transaction():
                    conn.rollback()
                elif dbapi.in_transaction:
                    dbapi.rollback()
            finally:
                if conn.invalidated or conn.closed:
                    self._drop_thread_connection(write)
            raise
        try:
            if conn.in_transaction():
                conn.commit()
            else:
                dbapi.commit()
        except BaseException:  # e.g. disk full: never keep this thread's connection inside BEGIN IMMEDIATE
            with contextlib.suppress(Exception):
                dbapi.rollback()
            conn.invalidate()
            self._drop_thread_connection(write)
            raise

    def _thread_connection(self, write: bool) -> Connection:
        name = "write" if write else "read"
        conn: Connection | None = getattr(self._local, name, None)
        if conn is None or conn.closed:
            conn = (self.engine if write else self._read_engine).connect()
            setattr(self._local, name, conn)
            with self._held_lock:
                self._held.append(conn)
        return conn

    def _drop_thread_connection(self, write: bool) -> None:
        setattr(self._local, "write" if write else "read", None)

    def ping(self) -> bool:
        with self.transaction(write=False) as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    def dispose(self) -> None:
        with self._held_lock:
            held, self._held = self._held, []
        for conn in held:
            with contextlib.suppress(Exception):  # closing at shutdown, maybe from another thread: best effort
                conn.close()
        self.engine.dispose()
