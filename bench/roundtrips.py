"""Round trips per command: start, claim, complete of the four-task process, and send_back, approve of the drafted
reply (an officer's draft a lead approves), on SQLite and PostgreSQL.

Counted at the driver, so every path is seen (SQLAlchemy Core and the hand-written SQL of engine/store/rawsql.py,
which goes to the DBAPI cursor straight):
- PostgreSQL (psycopg 3): a statement executed outside a pipeline is one trip, plus one for the ``BEGIN`` psycopg
  sends before the first statement of a transaction; ``executemany`` is one trip (psycopg pipelines it); a pipeline
  is one trip however many statements it carries (the ``COMMIT`` inside it too); a ``COMMIT``/``ROLLBACK`` outside a
  pipeline is one trip when a transaction is open (psycopg sends nothing otherwise); a pool pre-ping is a statement.
  Beside it, PostgreSQL's ``wire`` trips: the times the client waits for the server's answer as the protocol has
  it, each ``Sync`` a pipeline sends (psycopg syncs after a ``BEGIN`` it puts in a pipeline, and twice when a
  ``commit()`` is inside one: the pipeline's end syncs again) and each query sent outside a pipeline.
- SQLite: every statement the sqlite3 driver runs (its trace callback), BEGIN and COMMIT included: there is no
  network, this is the count of statements.
The counters are installed by patching the driver's classes in this process only (a benchmark, never a test).
Prints a table, then one JSON line. Usage: python bench/roundtrips.py [--instances N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phoihop.engine.model import Actor

ROOT = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]  # bench/http.py is not the stdlib's http
_spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "engine.py")
assert _spec is not None and _spec.loader is not None
bench_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_engine)  # bench/engine.py: the same process, actors and PostgreSQL database
KEY, OFFICER, OWNER, PROCESS = bench_engine.KEY, bench_engine.OFFICER, bench_engine.OWNER, bench_engine.PROCESS
pg_database = bench_engine.pg_database
DRAFTED = bench_engine.FIXTURES / "drafted_reply.bpmn"  # receive (skhcn), reply (stp, approval="lead"), check
DRAFTER = Actor.of("bench-drafter", groups=("stp",), roles=("officer",))
LEAD = Actor.of("bench-lead", groups=("stp",), roles=("lead", "officer"))


class Counter:
    def __init__(self) -> None:
        self.trips = 0
        self.wire = 0  # PostgreSQL: Syncs sent, and queries sent outside a pipeline
        self.statements = 0
        self.pipeline_depth: dict[int, int] = {}
        self.log: list[str] | None = None  # --show: what each trip carried

    def note(self, what: str) -> None:
        if self.log is not None:
            self.log.append(" ".join(str(what).split())[:110])


COUNTER = Counter()


def patch_psycopg() -> None:
    import psycopg
    from psycopg.pq import TransactionStatus

    cursor_execute, cursor_executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
    conn_commit, conn_rollback, conn_pipeline = (
        psycopg.Connection.commit,
        psycopg.Connection.rollback,
        (psycopg.Connection.pipeline),
    )

    def in_pipeline(conn: Any) -> bool:
        return COUNTER.pipeline_depth.get(id(conn), 0) > 0

    def execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        conn = self.connection
        if query in (b"BEGIN", b"COMMIT"):  # sent by engine/store/rawsql.py: not a statement, as psycopg's own
            COUNTER.note(("   | " if in_pipeline(conn) else "") + query.decode())
            if not in_pipeline(conn):  # a trip of its own
                COUNTER.wire += 1
                COUNTER.trips += 1
            return cursor_execute(self, query, params, **kw)
        COUNTER.statements += 1
        COUNTER.note(("   | " if in_pipeline(conn) else "") + str(query))
        if not in_pipeline(conn):
            COUNTER.wire += 1
            COUNTER.trips += 1
            if not conn.autocommit and conn.pgconn.transaction_status == TransactionStatus.IDLE:
                COUNTER.trips += 1  # psycopg's BEGIN, a query of its own
        return cursor_execute(self, query, params, **kw)

    def executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
        params_seq = list(params_seq)
        COUNTER.statements += len(params_seq)
        COUNTER.note(("   | " if in_pipeline(self.connection) else "") + f"{len(params_seq)} x {query}")
        if not in_pipeline(self.connection):
            COUNTER.trips += 1  # BEGIN rides in the pipeline psycopg opens for it
        return cursor_executemany(self, query, params_seq, **kw)

    def ended(method: Callable[..., Any]) -> Callable[..., Any]:
        def end(self: Any) -> Any:
            if not in_pipeline(self) and self.pgconn.transaction_status != TransactionStatus.IDLE:
                COUNTER.trips += 1
                COUNTER.statements += 1
                COUNTER.note(method.__name__.upper())
            return method(self)

        return end

    @contextmanager
    def pipeline(self: Any) -> Iterator[Any]:
        depth = COUNTER.pipeline_depth.get(id(self), 0)
        COUNTER.pipeline_depth[id(self)] = depth + 1
        try:
            with conn_pipeline(self) as p:
                yield p
        finally:
            COUNTER.pipeline_depth[id(self)] = depth
            if depth == 0:
                COUNTER.trips += 1
                COUNTER.note("(pipeline sent)")

    from psycopg._connection_base import BaseConnection
    from psycopg._pipeline_base import BasePipeline

    enqueue_sync, exec_command = BasePipeline._enqueue_sync, BaseConnection._exec_command

    def synced(self: Any) -> None:
        COUNTER.wire += 1
        enqueue_sync(self)

    def command(self: Any, command: Any, *args: Any, **kw: Any) -> Any:
        if not self._pipeline:  # BEGIN, COMMIT, ROLLBACK as a query of their own
            COUNTER.wire += 1
        return exec_command(self, command, *args, **kw)

    BasePipeline._enqueue_sync = synced  # type: ignore[method-assign]
    BaseConnection._exec_command = command  # type: ignore[method-assign]
    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
    psycopg.Connection.commit = ended(conn_commit)  # type: ignore[method-assign]
    psycopg.Connection.rollback = ended(conn_rollback)  # type: ignore[method-assign]
    psycopg.Connection.pipeline = pipeline  # type: ignore[method-assign,assignment]


def trace_sqlite(engine: Any) -> None:
    from sqlalchemy import event

    def traced(sql: str) -> None:
        COUNTER.note(sql)
        COUNTER.trips += 1
        COUNTER.statements += 1

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(traced)


def measure(url: str, n: int) -> dict[str, dict[str, float]]:
    from phoihop.engine.clock import FakeClock
    from phoihop.engine.container import build_engine
    from phoihop.engine.model import SourceFile
    from phoihop.engine.store import write_hooks
    from phoihop.engine.store.schema import upgrade

    upgrade(url)
    container = build_engine(url, clock=FakeClock())
    if url.startswith("sqlite"):
        trace_sqlite(container.db.engine)
    # every connection from here on is a counted one; the notifications' write hook (keyed by the pool) stays on, as
    # in a server (an older tree's dispose dropped it with the pool: put back, so both trees count the same work)
    hook = write_hooks._hooks.get(container.db.engine.pool)
    container.db.dispose()
    if hook is not None and write_hooks._hooks.get(container.db.engine.pool) is None:
        write_hooks.install(container.db.engine, hook)
    totals: dict[str, list[int]] = {}

    def counted(name: str, call: Callable[[], Any]) -> Any:
        trips, statements, wire = COUNTER.trips, COUNTER.statements, COUNTER.wire
        if COUNTER.log is not None:
            COUNTER.log.clear()
        out = call()
        if COUNTER.log is not None:
            print(f"--- {name}", *COUNTER.log, sep="\n  ")
        totals.setdefault(name, [0, 0, 0, 0])
        totals[name][0] += COUNTER.trips - trips
        totals[name][1] += COUNTER.statements - statements
        totals[name][2] += 1
        totals[name][3] += COUNTER.wire - wire
        return out

    try:
        container.deployments.deploy(OWNER, [SourceFile(PROCESS.name, PROCESS.read_bytes())])
        instances, tasks, reads = container.instances, container.tasks, container.task_reads
        for i in range(n + 3):  # three warm-up instances: caches, prepared statements
            if i == 3:
                totals.clear()
            instance_id, _ = counted(
                "start", lambda: instances.start(OFFICER, KEY, variables={"ho_so": {"ma": "HS-1"}})
            )
            open_tasks = reads.open_task_ids(OFFICER, instance_id)
            for step in range(4):
                task_id = open_tasks[0]
                counted("claim", lambda t=task_id: tasks.claim(OFFICER, t))  # type: ignore[misc]
                result = counted(
                    "complete",
                    lambda t=task_id, s=step: tasks.complete(OFFICER, t, {"step": s}),  # type: ignore[misc]
                )
                open_tasks = list(result.open_tasks)
        container.deployments.deploy(OWNER, [SourceFile(DRAFTED.name, DRAFTED.read_bytes())])
        flow = container.task_flow
        for i in range(n + 3):  # the drafted reply: send the reply back once, then approve the officer's draft
            if i == 3:
                for name in ("send_back", "approve"):
                    totals.pop(name, None)
            instance_id, _ = instances.start(OFFICER, "drafted_reply")
            tasks.complete(OFFICER, reads.open_task_ids(OFFICER, instance_id)[0], {})
            (reply,) = reads.open_task_ids(LEAD, instance_id)
            counted("send_back", lambda t=reply: flow.send_back(LEAD, t, "Bổ sung"))  # type: ignore[misc]
            tasks.complete(OFFICER, reads.open_task_ids(OFFICER, instance_id)[0], {})
            (reply,) = reads.open_task_ids(DRAFTER, instance_id)
            tasks.complete(DRAFTER, reply, {"answer": "Đồng ý"})  # a draft awaiting the lead
            counted("approve", lambda t=reply: flow.approve(LEAD, t))  # type: ignore[misc]
    finally:
        container.close()
    return {
        name: {"trips": round(t / count, 2), "statements": round(s / count, 2)}
        | ({} if url.startswith("sqlite") else {"wire_trips": round(w / count, 2)})
        for name, (t, s, count, w) in totals.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print what each command sent")
    args = parser.parse_args()
    if args.show:
        COUNTER.log = []
    patch_psycopg()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = measure(f"sqlite:///{tmp}/trips.db", args.instances)
    pg_url = pg_database()
    if pg_url:
        result["postgresql"] = measure(pg_url, args.instances)
    for database, commands in result.items():
        for name, counts in commands.items():
            wire = f"  {counts['wire_trips']:6.2f} on the wire" if "wire_trips" in counts else ""
            trips = f"{counts['trips']:6.2f} round trips  {counts['statements']:6.2f} statements"
            print(f"{database:10} {name:9} {trips}{wire}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
