"""One connection per command, a step deadline that counts engine steps only, and a database that is away (a pool
timeout, a connection lost mid-command) as a retryable StoreUnavailable that leaves the instance as it was.

Issue 13, item 2: every command took a second pooled connection (``CalendarService.current()`` when its cache had
expired) while holding its own, so a small pool deadlocked until its timeout; the 30 s step deadline started before
that wait, so commands that finally got a connection put their instances in ``error``. SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.exc import DBAPIError

from phoihop.engine.clock import FakeClock
from phoihop.engine.commands.external_tasks import FetchTopic
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.errors import StoreUnavailable
from phoihop.engine.execution import runtime as runtime_module
from phoihop.engine.model import SourceFile
from phoihop.engine.store.database import Database
from tests.conftest import FIXTURES, INTEGRATOR, OWNER
from tests.engine.helpers import SKHCN, deploy, instance, open_tasks, task_id

EXTERNAL = "gui_van_ban_lien_thong"


def deploy_external(container: EngineContainer) -> None:
    name = "gui_van_ban.bpmn"
    container.deployments.deploy(OWNER, [SourceFile(name, (FIXTURES / "external" / name).read_bytes())])


def start_four_tasks(container: EngineContainer) -> str:
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks", variables={"ho_so": {"so": 1}})
    return instance_id


def start_external(container: EngineContainer) -> tuple[str, str]:
    instance_id, _ = container.instances.start(
        INTEGRATOR, EXTERNAL, business_key="VB-1", variables={"trich_yeu": "Dự thảo", "so_trang": 3}
    )
    (locked,) = container.external_tasks.fetch_and_lock(INTEGRATOR, "van-thu", [FetchTopic("gui_van_ban", 60_000)])
    return instance_id, locked.id


def expire_calendar(container: EngineContainer, clock: FakeClock) -> None:
    """Idle past the calendar cache's ttl (the issue's "after 11 s idle")."""
    clock.advance(container.calendar.ttl_seconds + 1)


@dataclass
class Connections:
    """The DBAPI connections a command used, while recording: on PostgreSQL each one checked out of the pool, on
    SQLite (no pool: each thread keeps its connections) each one that ran a statement, raw SQL included."""

    used: list[Any] = field(default_factory=list)
    recording: bool = False

    def saw(self, dbapi_connection: Any) -> None:
        if self.recording and all(c is not dbapi_connection for c in self.used):
            self.used.append(dbapi_connection)


@contextmanager
def connections(container: EngineContainer) -> Iterator[Connections]:
    """Listen from before the first transaction: SQLite's connections are made (and traced) from then on."""
    seen = Connections()

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        seen.saw(dbapi_connection)

    def connect(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(lambda _sql: seen.saw(dbapi_connection))

    name, listener = ("connect", connect) if container.db.is_sqlite else ("checkout", checkout)
    event.listen(container.db.engine, name, listener)
    try:
        yield seen
    finally:
        event.remove(container.db.engine, name, listener)


@contextmanager
def recording(seen: Connections) -> Iterator[None]:
    seen.used.clear()
    seen.recording = True
    try:
        yield
    finally:
        seen.recording = False


# --- (a) one connection per command ---------------------------------------------------------------------------------
def test_each_command_runs_on_one_connection_when_the_calendar_cache_expired(
    container: EngineContainer, clock: FakeClock
) -> None:
    """Start, complete a task and complete an external task with the calendar cache expired before each: every
    statement of a command runs on the command's own connection (the calendar is read inside its transaction)."""
    with connections(container) as seen:
        deploy(container, "four_tasks.bpmn")
        deploy_external(container)
        instance_id = start_four_tasks(container)
        external_instance, external_task = start_external(container)
        t1 = task_id(container, instance_id, "t1")
        commands: list[tuple[str, Callable[[], Any]]] = [
            ("start", lambda: start_four_tasks(container)),
            ("complete task", lambda: container.tasks.complete(SKHCN, t1, {"buoc1": True})),
            ("complete external task", lambda: container.external_tasks.complete(INTEGRATOR, external_task, "van-thu")),
        ]
        for name, command in commands:
            expire_calendar(container, clock)
            with recording(seen):
                command()
            assert len(seen.used) == 1, f"{name} used {len(seen.used)} connections"
    assert instance(container, external_instance)["status"] == "running"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_pool_of_one_connection_serves_commands_after_the_calendar_cache_expired(db_url: str) -> None:
    """The issue's deadlock: with a pool of one and no overflow, a command that asked for a second connection waited
    for the one it held, until the pool timeout."""
    clock = FakeClock()
    small = build_engine(db_url, clock=clock, pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        deploy(small, "four_tasks.bpmn")
        deploy_external(small)
        expire_calendar(small, clock)
        instance_id = start_four_tasks(small)
        expire_calendar(small, clock)
        external_instance, external_task = start_external(small)
        expire_calendar(small, clock)
        small.tasks.complete(SKHCN, task_id(small, instance_id, "t1"), {"buoc1": True})
        expire_calendar(small, clock)
        small.external_tasks.complete(INTEGRATOR, external_task, "van-thu")
        assert set(open_tasks(small, instance_id)) == {"t2"}
        assert instance(small, external_instance)["status"] == "running"
    finally:
        small.close()


# --- (b) the step deadline counts engine steps only -----------------------------------------------------------------
@pytest.fixture
def slow_calendar(container: EngineContainer, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Make the command's calendar read take ``seconds`` on the runtime's monotonic clock (a pool wait, a slow
    lock): the runtime's clock is one the test moves, nothing sleeps."""
    now = [1000.0]
    monkeypatch.setattr(runtime_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    read = container.executor.runtime.calendar
    wait = [0.0]

    def slow() -> Any:
        now[0] += wait[0]
        return read()

    monkeypatch.setattr(container.executor.runtime, "calendar", slow)

    def set_wait(seconds: float) -> None:
        wait[0] = seconds

    return set_wait


def test_a_wait_before_the_engine_steps_does_not_count_against_the_step_deadline(
    container: EngineContainer, slow_calendar: Callable[[float], None]
) -> None:
    deploy(container, "four_tasks.bpmn")
    deploy_external(container)
    instance_id = start_four_tasks(container)
    external_instance, external_task = start_external(container)
    slow_calendar(container.executor.runtime.max_seconds + 1)

    container.tasks.complete(SKHCN, task_id(container, instance_id, "t1"), {"buoc1": True})
    container.external_tasks.complete(INTEGRATOR, external_task, "van-thu")
    started = start_four_tasks(container)

    for case in (instance_id, external_instance, started):
        row = instance(container, case)
        assert row["status"] == "running", row["error"]
    assert set(open_tasks(container, instance_id)) == {"t2"}


# --- (c) a database that is away ------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_pool_timeout_is_store_unavailable_and_the_command_can_be_retried(db_url: str) -> None:
    clock = FakeClock()
    small = build_engine(db_url, clock=clock, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        deploy(small, "four_tasks.bpmn")
        instance_id = start_four_tasks(small)
        t1 = task_id(small, instance_id, "t1")
        before = instance(small, instance_id)
        with small.db.transaction(write=False), pytest.raises(StoreUnavailable) as raised:
            small.tasks.complete(SKHCN, t1, {"buoc1": True})  # the only connection is taken
        assert raised.value.fields["reason"] == "pool-timeout"
        assert raised.value.retry_after >= 1
        assert instance(small, instance_id) == before
        small.tasks.complete(SKHCN, t1, {"buoc1": True})
        assert set(open_tasks(small, instance_id)) == {"t2"}
    finally:
        small.close()


def lose_connection(container: EngineContainer, raw: Any) -> None:
    """Take the connection away under the command: the server ends its backend (PostgreSQL), or the file's
    connection is closed underneath (SQLite)."""
    if container.db.is_sqlite:
        raw.close()
        return
    admin = create_engine(container.db.url)
    try:
        with admin.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(raw.info.backend_pid)})")
    finally:
        admin.dispose()


@pytest.mark.parametrize("command", ["complete-task", "complete-external-task"])
def test_a_connection_lost_mid_command_is_store_unavailable_and_leaves_the_instance_as_it_was(
    container: EngineContainer, command: str
) -> None:
    with connections(container) as seen:
        deploy(container, "four_tasks.bpmn")
        deploy_external(container)
        human_instance = start_four_tasks(container)
        external_instance, external_task = start_external(container)
        t1 = task_id(container, human_instance, "t1")
        run: Callable[[], Any] = {
            "complete-task": lambda: container.tasks.complete(SKHCN, t1, {"buoc1": True}),
            "complete-external-task": lambda: container.external_tasks.complete(INTEGRATOR, external_task, "van-thu"),
        }[command]
        target = human_instance if command == "complete-task" else external_instance
        before = instance(container, target)

        def cut() -> None:
            (command_connection,) = seen.used
            lose_connection(container, command_connection)

        container.executor.fail_before_commit = cut
        with recording(seen), pytest.raises(StoreUnavailable) as raised:
            run()
        container.executor.fail_before_commit = None
    assert raised.value.fields["reason"] == "connection-lost"
    assert instance(container, target) == before  # rolled back, not `error`

    run()  # the client retries
    after = instance(container, target)
    assert after["status"] == "running" and after["version"] == before["version"] + 1


# --- what counts as unavailable -------------------------------------------------------------------------------------
def test_sqlite_busy_past_its_timeout_is_store_unavailable(tmp_path: Path) -> None:
    """Another process holds the write lock longer than the busy timeout: ``busy`` (here a timeout of 0)."""
    path = tmp_path / "busy.db"
    db = Database(f"sqlite:///{path}", unavailable=StoreUnavailable.because)
    with db.transaction() as conn:  # this thread's write connection: WAL, no waiting for the lock
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable) as raised, db.transaction():
            pass
        assert raised.value.fields["reason"] == "busy"
        with db.transaction(write=False) as conn:  # readers are not blocked (WAL)
            conn.exec_driver_sql("SELECT count(*) FROM t")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        db.dispose()


def test_a_postgresql_server_that_cannot_be_reached_is_store_unavailable() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/none", unavailable=StoreUnavailable.because)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            db.ping()
        assert raised.value.fields["reason"] == "connection-lost"
    finally:
        db.dispose()


def test_other_database_errors_are_not_store_unavailable(container: EngineContainer) -> None:
    """A bug or a constraint is not the caller's to retry: it goes up as it is (a 500)."""
    with pytest.raises(DBAPIError) as raised, container.db.transaction() as conn:
        conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert not isinstance(raised.value, StoreUnavailable)
