"""Database engines and the transaction boundary.

SQLite (the embedded default) runs in WAL mode; a write command takes the database write lock up front with
``BEGIN IMMEDIATE`` so two commands never interleave (the lock the design calls "lock the instance"). PostgreSQL
(production) locks instance rows with ``SELECT ... FOR UPDATE``; several server and worker processes share it.

One command, one connection: the transaction open in the current context (thread or task) is ``active()``, so a
collaborator that reads inside a command (the business calendar) uses the command's connection instead of waiting
for a second one from the pool. A database that cannot serve the transaction (``unavailable_reason``: a pool timeout,
a lost connection, SQLite's lock busy past its timeout) raises what the ``unavailable`` hook given at construction
makes of the reason (the engine's StoreUnavailable: the store imports nothing else of the engine).
"""

from __future__ import annotations

import contextlib
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from phoihop.engine.store import audit_chain, rawsql, write_hooks

DEFAULT_POOL_TIMEOUT = 30.0  # seconds a command waits for a pooled connection (PostgreSQL) before StoreUnavailable


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value).decode()


def unavailable_reason(error: BaseException, dialect: Dialect) -> str | None:
    """Why the database could not serve a transaction, when ``error`` says it could not: ``pool-timeout`` (no pooled
    connection free within the pool timeout), ``connection-lost`` (the server ended or dropped the connection, or
    cannot be reached), ``busy`` (SQLite: the write lock stayed taken past the busy timeout). None for every other
    error (a constraint, a bug): those are not the caller's to retry."""
    if isinstance(error, sa_exc.TimeoutError):
        return "pool-timeout"
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return "connection-lost"
        if isinstance(error, sa_exc.OperationalError) and error.statement is None and dialect.name != "sqlite":
            return "connection-lost"  # outside any statement: connecting failed (the server is down or refuses)
        error = error.orig if isinstance(error.orig, BaseException) else error
    dbapi = dialect.loaded_dbapi
    if not isinstance(error, dbapi.Error):
        return None
    if dialect.is_disconnect(error, None, None):  # no connection at hand: the dialect judges the message
        return "connection-lost"
    busy = dialect.name == "sqlite" and isinstance(error, dbapi.OperationalError)
    return "busy" if busy and ("database is locked" in str(error) or "database is busy" in str(error)) else None


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int | None = None, pool_timeout: float = DEFAULT_POOL_TIMEOUT
) -> Engine:
    """``max_overflow`` (connections beyond ``pool_size`` under load) defaults to ``pool_size``. SQLite has no pool."""
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
    engine = create_engine(
        url,
        json_serializer=_json_serializer,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_timeout=pool_timeout,
        # no pre-ping (a round trip per checkout): a dead connection is found without one (_configure_postgresql)
    )
    _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    """Dead pooled connections found for free, and the deferred writes (store/rawsql.py) kept in order.

    A connection the server ended (restart, ``pg_terminate_backend``, idle timeout) has data waiting on its socket
    while it sits idle in the pool (the server's FATAL message, then end of file): the checkout looks at the socket
    without waiting (``select`` with a zero timeout) and hands the pool a ``DisconnectionError``, so the pool throws
    that connection away and checks out another — the command never sees it, and nothing was sent on it. A
    connection that dies without a word (a cut network) fails its first statement instead: it is invalidated
    (``is_disconnect``; for SQLAlchemy's own statements the pool's older connections with it, the others are found at
    their checkout) and the command ends with StoreUnavailable ("connection-lost"), a 503 the client retries."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed or dbapi_connection.broken:
            raise sa_exc.DisconnectionError("connection closed")
        try:
            readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        except (OSError, ValueError) as error:
            raise sa_exc.DisconnectionError(str(error)) from error
        if readable:  # nothing is in flight on an idle connection: the server said goodbye
            raise sa_exc.DisconnectionError("the server ended the connection")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_cursor_execute(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(audit_chain.BUFFERED) and "audit_event" in statement:  # it reads this command's events
            audit_chain.spill(conn)
        rawsql.flush(conn)  # a Core statement: the transaction's BEGIN and the deferred writes go first, if waiting


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

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
        unavailable: Callable[[str], Exception] | None = None,
    ) -> None:
        """``unavailable``: the error to raise, from the driver's, when ``unavailable_reason`` names one (without it
        the driver's error goes up as it is)."""
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
        self.unavailable = unavailable
        self._active: ContextVar[Connection | None] = ContextVar(f"phoihop_transaction_{id(self)}", default=None)
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

    def active(self) -> Connection | None:
        """The connection of the transaction open in this context (thread or task), if one is."""
        return self._active.get()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One database transaction: commit on success, roll back on any exception; a database that cannot serve it
        raises the ``unavailable`` error (see the module docstring)."""
        try:
            with self._transaction(write) as conn:
                token = self._active.set(conn)
                try:
                    yield conn
                    audit_chain.seal_pending(conn)  # seal this transaction's audit events last
                finally:
                    # a lost connection refuses even this; a stale mark would only seal nothing (harmless)
                    with contextlib.suppress(sa_exc.SQLAlchemyError):
                        audit_chain.forget(conn)
                    self._active.reset(token)
        except sa_exc.SQLAlchemyError as error:
            reason = unavailable_reason(error, self.engine.dialect)
            if reason is None or self.unavailable is None:
                raise
            raise self.unavailable(reason) from error
        except Exception as error:  # SQLite's own BEGIN and COMMIT go to the driver straight
            reason = unavailable_reason(error, self.engine.dialect) if self.is_sqlite else None
            if reason is None or self.unavailable is None:
                raise
            raise self.unavailable(reason) from error

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        if not self.is_sqlite:
            with (self.engine if write else self._read_engine).connect() as conn:
                yield from self._postgresql_transaction(conn)
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
            except Exception:  # the connection is gone (closed underneath, lost): the error that ended the body counts
                conn.invalidate()
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

    def _postgresql_transaction(self, conn: Connection) -> Iterator[Connection]:
        """The writes deferred by the command and its ``COMMIT`` leave in one trip (store/rawsql.py); a driver error
        that says the connection is gone invalidates it (the hand-written SQL goes to the driver straight, past
        SQLAlchemy's own check) and goes up as SQLAlchemy's error, for ``unavailable_reason``."""
        conn.info.pop(rawsql.LOCKED, None)  # what a transaction outside this method (a test's) may have left
        transaction = conn.begin()
        rawsql.begin(conn)  # BEGIN and COMMIT sent by rawsql, each in a trip of the transaction's statements
        try:
            yield conn
            rawsql.commit(conn)
            transaction.commit()
            rawsql.end(conn)
        except BaseException as error:
            rawsql.discard(conn)
            lost = False
            if isinstance(error, self.engine.dialect.loaded_dbapi.Error) and not conn.invalidated:
                with contextlib.suppress(sa_exc.SQLAlchemyError):
                    lost = self.engine.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
            if lost:
                conn.invalidate(error)
            else:
                if transaction.is_active:
                    with contextlib.suppress(sa_exc.SQLAlchemyError):
                        transaction.rollback()
                try:
                    rawsql.end(conn)
                except Exception:  # the driver's transaction did not end: the connection never goes back to the pool
                    conn.invalidate()
            if lost:
                raise sa_exc.OperationalError(None, None, error, connection_invalidated=True) from error
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
        hook = write_hooks.installed(self.engine)
        self.engine.dispose()  # a new pool: the write hook (keyed by the pool) moves to it
        write_hooks.install(self.engine, hook)
