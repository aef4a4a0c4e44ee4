"""Engine benchmark: raw SpiffWorkflow in memory vs the persisted engine on SQLite and PostgreSQL, same run.

For one process (start → 4 user tasks → end, one lane) and the same sandboxed script engine:
- raw:      SpiffWorkflow 3.2.0 as shipped, in memory, no persistence (instances/s), measured in a child process
            that never imports phoihop's runtime (whose SpiffWorkflow patches — deep-copied task data, a task index,
            no per-state-change log call — would change the baseline); the patched library is measured too;
- sqlite:   the engine's commands (start, read the open task, 4 × complete it — each command reports the tasks it
            leaves open), each one committed transaction;
- postgres: the same on PostgreSQL when reachable; with the server on this machine, also its backends' CPU per
            instance (from /proc) and ``postgres_over_sqlite_cpu`` = SQLite's CPU per instance / (PostgreSQL's in
            this process + its backends'), the wall-clock ratio less the commit's WAL flush and the trips' latency,
            which a shared machine's load moves much less than the rates;
- loop:     one task looped 50 times, persisted on SQLite: median step time of the last 10 over the first 10;
- floor:    what a persisted instance cannot cost less than: raw SpiffWorkflow (as in ``raw``, with phoihop's patches)
            plus, around each of its steps, the bare SQL writes of exactly the rows the engine wrote for that command
            (BEGIN IMMEDIATE … COMMIT, on a plain ``sqlite3`` connection with the engine's pragmas, no Python layer).
            The writes are captured from one instance run by the engine (the sqlite3 trace callback: every INSERT,
            UPDATE and DELETE with its values), then replayed for each instance with fresh ids (every UUID replaced,
            audit event ids and chain positions moved past the last); the rewriting is done before the clock starts.
            ``floor_ratio`` = engine time / floor time (goal <= 1.25). Beside it, ``floor_cpu_ratio``: the same
            ratio of this process's CPU per instance (``sqlite_cpu_ms`` / ``floor_cpu_ms``, best of the three rounds
            each), which a shared machine's load moves much less than the wall clock: the engine and the floor are
            timed a minute apart, and under load their wall-clock rates follow the load of that minute.
Prints ratios to raw, then one JSON line. Usage: python bench/engine.py [--instances N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]  # bench/http.py is not the stdlib's
sys.path.insert(0, str(ROOT))

import subprocess  # noqa: E402

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from phoihop.engine.execution.sandbox import SandboxedScriptEngine  # noqa: E402  (imports no SpiffWorkflow patch)
from phoihop.engine.model import Actor  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "engine"
PROCESS, KEY = FIXTURES / "four_tasks.bpmn", "four_tasks"
LOOP, LOOP_KEY = FIXTURES / "loop.bpmn", "looped"
PG_ADMIN = os.environ.get("PHOIHOP_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# PHOIHOP_BENCH_PG_DATABASE: the database dropped and made again for the run (another name: runs side by side)
PG_DATABASE = os.environ.get("PHOIHOP_BENCH_PG_DATABASE", "phoihop_bench")
OWNER = Actor.of("bench-owner", roles=("process-owner",))
OFFICER = Actor.of("bench-officer", groups=("skhcn",), roles=("officer",))


def bench_raw(n: int) -> float:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(PROCESS)])
    spec, subprocesses = parser.get_spec(KEY), parser.get_subprocess_specs(KEY)
    script_engine = SandboxedScriptEngine()

    def one() -> None:
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=script_engine)
        workflow.do_engine_steps()
        for step in range(4):
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(step=step)
            task.run()
            workflow.do_engine_steps()
        assert workflow.completed

    return _rate(one, n)


def _rate(one: object, n: int, server_cpu: object = None) -> float:
    """``server_cpu``: a callable giving the CPU seconds the database server's processes of this run have used, None
    when it cannot tell; the least per instance of the three rounds lands in SERVER_CPU_MS."""
    assert callable(one)
    for _ in range(max(5, n // 10)):
        one()
    best = 0.0
    cpu = server = float("inf")
    for _ in range(3):
        start_server = server_cpu() if callable(server_cpu) else None
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            one()
        best = max(best, n / (time.perf_counter() - start))
        cpu = min(cpu, (time.process_time() - start_cpu) / n)
        end_server = server_cpu() if start_server is not None and callable(server_cpu) else None
        if start_server is not None and end_server is not None:
            server = min(server, (end_server - start_server) / n)
    CPU_MS[getattr(one, "__qualname__", "")] = cpu * 1000
    if server != float("inf"):
        SERVER_CPU_MS[getattr(one, "__qualname__", "")] = server * 1000
    return best


# this process's CPU per instance (ms, best of the three rounds), by measured function: on a shared machine the
# wall-clock rates move with the load, the CPU a command costs the engine's process much less (the database server's
# own CPU is not in it)
CPU_MS: dict[str, float] = {}
# the PostgreSQL backends' CPU per instance (ms, best of the three rounds), when the server runs on this machine: in a
# one-client run the engine waits for it, and on 2 cores it competes with the engine's process for them
SERVER_CPU_MS: dict[str, float] = {}


def postgres_backends_cpu(url: str) -> float | None:
    """CPU seconds (user + system) used so far by the server processes connected to ``url``'s database, read from
    /proc (None when the server is not on this machine or /proc does not show them)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    database = make_url(url).database
    admin = create_engine(PG_ADMIN, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                {"d": database},
            ).scalars()
            ticks = 0
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    return None
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
    finally:
        admin.dispose()
    return ticks / os.sysconf("SC_CLK_TCK")


def bench_raw_stock(n: int) -> float:
    """Raw SpiffWorkflow as shipped: measured in a child process that imports no phoihop runtime."""
    out = subprocess.run(
        [sys.executable, __file__, "--raw-only", "--instances", str(n)], capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["raw_per_s"])


def bench_engine(url: str, n: int) -> float:
    from phoihop.engine.clock import FakeClock
    from phoihop.engine.container import build_engine
    from phoihop.engine.model import SourceFile
    from phoihop.engine.store.schema import upgrade

    upgrade(url)
    container = build_engine(url, clock=FakeClock())
    try:
        container.deployments.deploy(OWNER, [SourceFile(PROCESS.name, PROCESS.read_bytes())])
        instances, tasks, task_reads = container.instances, container.tasks, container.task_reads

        def one() -> None:
            instance_id, _ = instances.start(OFFICER, KEY, variables={"ho_so": {"ma": "HS-1"}})
            open_tasks = task_reads.open_task_ids(OFFICER, instance_id)
            for step in range(4):  # each command reports the tasks it left open
                open_tasks = list(tasks.complete(OFFICER, open_tasks[0], {"step": step}).open_tasks)
            assert not open_tasks

        server_cpu = (lambda: postgres_backends_cpu(url)) if not container.db.is_sqlite else None
        return _rate(one, n, server_cpu)
    finally:
        container.close()


def bench_loop(url: str, iterations: int = 50, repeats: int = 5) -> float:
    from phoihop.engine.clock import FakeClock
    from phoihop.engine.container import build_engine
    from phoihop.engine.model import SourceFile
    from phoihop.engine.store.schema import upgrade

    upgrade(url)
    container = build_engine(url, clock=FakeClock())
    try:
        container.deployments.deploy(OWNER, [SourceFile(LOOP.name, LOOP.read_bytes())])
        instances, tasks, task_reads = container.instances, container.tasks, container.task_reads
        steps: list[list[float]] = [[] for _ in range(iterations)]
        for _ in range(repeats):
            instance_id, _ = instances.start(OFFICER, LOOP_KEY, variables={"tiep_tuc": True})
            for i in range(iterations):
                task_id = task_reads.open_task_ids(OFFICER, instance_id)[0]
                start = time.perf_counter()
                tasks.complete(OFFICER, task_id, {"tiep_tuc": i < iterations - 1, "lan": i})
                steps[i].append(time.perf_counter() - start)
        first = statistics.median(t for row in steps[:10] for t in row)
        last = statistics.median(t for row in steps[-10:] for t in row)
        return last / first
    finally:
        container.close()


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# positions and ids in the captured SQL: the seal's UPDATEs (``chain_seq=N``, ``WHERE audit_event.id = N``), the
# head's, and an INSERT of an event already sealed (its id first, its position before its two hashes)
_CHAIN_SEQ = re.compile(
    r"(chain_seq=|UPDATE audit_chain SET seq ?= ?)(\d+)|(, )(\d+)(?=, (?:'[0-9a-f]{64}'|NULL), '[0-9a-f]{64}'\)\s*$)"
)
_EVENT_ID = re.compile(r"(WHERE audit_event\.id = |INSERT INTO audit_event \(id, [^)]*\) VALUES \()(\d+)")
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def capture_writes(url: str) -> list[list[str]]:
    """The write statements (values inlined) of each command of one engine-run instance: start, then 4 completes."""
    from sqlalchemy import event

    from phoihop.engine.clock import FakeClock
    from phoihop.engine.container import build_engine
    from phoihop.engine.model import SourceFile
    from phoihop.engine.store.schema import upgrade

    upgrade(url)
    container = build_engine(url, clock=FakeClock())
    commands: list[list[str]] = []
    recording = False

    def traced(sql: str) -> None:
        if not recording:
            return
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb == "BEGIN":
            commands.append([])
        elif verb in _WRITES and not (commands[-1] and commands[-1][-1] == sql):
            # sqlite3's trace callback reports a statement again for each trigger it fires (migration 0201's
            # triggers keep task_candidate.status in step): the statement is written once, its triggers run on replay
            commands[-1].append(sql)

    event.listen(container.db.engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(traced))
    container.db.dispose()
    try:
        container.deployments.deploy(OWNER, [SourceFile(PROCESS.name, PROCESS.read_bytes())])
        instances, tasks, task_reads = container.instances, container.tasks, container.task_reads
        for warm in (True, False):  # the second instance is the one recorded (caches warm, as in the timed runs)
            recording = not warm
            instance_id, _ = instances.start(OFFICER, KEY, variables={"ho_so": {"ma": "HS-1"}})
            recording = False
            open_tasks = task_reads.open_task_ids(OFFICER, instance_id)
            for step in range(4):
                recording = not warm
                open_tasks = list(tasks.complete(OFFICER, open_tasks[0], {"step": step}).open_tasks)
                recording = False
    finally:
        container.close()
    return [c for c in commands if c]


def floor_instance(url: str, total: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """One floor instance per call (raw SpiffWorkflow plus the engine's writes of each command, replayed on plain
    sqlite3; ``total`` of them rewritten before any is timed), and the connection's close. bench/floor_pairs.py
    alternates these with engine instances."""
    commands = capture_writes(url)
    assert len(commands) == 5, f"captured {len(commands)} commands"
    database = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=60000"):
        conn.execute(f"PRAGMA {pragma}")
    next_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit_event").fetchone()[0]) + 1
    next_seq = int(conn.execute("SELECT seq FROM audit_chain WHERE id = 1").fetchone()[0]) + 1
    flat = [sql for command in commands for sql in command]
    first_id = min((int(m.group(2)) for sql in flat for m in _EVENT_ID.finditer(sql)), default=0)
    first_seq = min((int(m.group(2) or m.group(4)) for sql in flat for m in _CHAIN_SEQ.finditer(sql)), default=0)
    per_instance = sum(sql.startswith("INSERT INTO audit_event") for sql in flat)

    def replay(k: int) -> list[list[str]]:
        ids: dict[str, str] = {}
        shift_id, shift_seq = next_id + k * per_instance - first_id, next_seq + k * per_instance - first_seq

        def fresh(m: re.Match[str]) -> str:
            return ids.setdefault(m.group(0), str(uuid.uuid4()))

        def one(sql: str) -> str:
            sql = _UUID.sub(fresh, sql)
            sql = _CHAIN_SEQ.sub(
                lambda m: f"{m.group(1) or m.group(3)}{int(m.group(2) or m.group(4)) + shift_seq}", sql
            )
            return _EVENT_ID.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + shift_id}", sql)

        return [[one(sql) for sql in command] for command in commands]

    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(PROCESS)])
    spec, subprocesses = parser.get_spec(KEY), parser.get_subprocess_specs(KEY)
    script_engine = SandboxedScriptEngine()
    runs = iter([replay(k) for k in range(total)])  # rewritten before the clock starts

    def write(statements: list[str]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for sql in statements:
            conn.execute(sql)
        conn.execute("COMMIT")

    def one() -> None:
        script = next(runs)
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=script_engine)
        workflow.do_engine_steps()
        write(script[0])
        for step in range(4):
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(step=step)
            task.run()
            workflow.do_engine_steps()
            write(script[step + 1])
        assert workflow.completed

    return one, conn.close


def bench_floor(url: str, n: int) -> float:
    """Raw SpiffWorkflow plus the engine's writes of each command, replayed on plain sqlite3 (see the docstring)."""
    one, close = floor_instance(url, max(5, n // 10) + 3 * n)
    try:
        return _rate(one, n)
    finally:
        close()


def pg_database() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        admin.dispose()
    except Exception as exc:
        print(f"postgres: not reachable ({type(exc).__name__}); skipped")
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--raw-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.instances
    if args.raw_only:
        assert "engine.execution.task_index" not in sys.modules, "the stock baseline must not load phoihop's patches"
        print(json.dumps({"raw_per_s": bench_raw(n)}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        raw = bench_raw_stock(n)
        sqlite = bench_engine(f"sqlite:///{tmp}/bench.db", n)
        sqlite_cpu = CPU_MS["bench_engine.<locals>.one"]
        raw_patched = bench_raw(n)  # after bench_engine imported the runtime: the library with phoihop's patches
        pg_url = pg_database()
        postgres = bench_engine(pg_url, n) if pg_url else None
        postgres_cpu = CPU_MS["bench_engine.<locals>.one"] if pg_url else None
        postgres_server_cpu = SERVER_CPU_MS.get("bench_engine.<locals>.one") if pg_url else None
        loop = bench_loop(f"sqlite:///{tmp}/loop.db")
        floor = bench_floor(f"sqlite:///{tmp}/floor.db", n)
        floor_cpu = CPU_MS["floor_instance.<locals>.one"]
    result = {
        "raw_per_s": round(raw, 1),
        "raw_patched_per_s": round(raw_patched, 1),
        "sqlite_per_s": round(sqlite, 1),
        "postgres_per_s": round(postgres, 1) if postgres else None,
        "sqlite_cpu_ms": round(sqlite_cpu, 2),
        "postgres_cpu_ms": round(postgres_cpu, 2) if postgres_cpu else None,
        "sqlite_ratio": round(sqlite / raw, 3),
        "postgres_ratio": round(postgres / raw, 3) if postgres else None,
        "loop_last10_over_first10": round(loop, 2),
        "floor_per_s": round(floor, 1),
        "floor_ratio": round(floor / sqlite, 3),  # engine time / floor time
        "floor_cpu_ms": round(floor_cpu, 2),
        "floor_cpu_ratio": round(sqlite_cpu / floor_cpu, 3),  # engine CPU / floor CPU, per instance
        "postgres_over_sqlite": round(postgres / sqlite, 3) if postgres else None,
        # the PostgreSQL backends' CPU per instance (local server only), and SQLite's CPU per instance over
        # PostgreSQL's (this process's plus its backends'): what the wall-clock ratio comes to on an idle machine,
        # but for the commit's WAL flush and the trips' latency, and much less moved by a shared machine's load
        "postgres_server_cpu_ms": round(postgres_server_cpu, 2) if postgres_server_cpu is not None else None,
        "postgres_over_sqlite_cpu": round(sqlite_cpu / (postgres_cpu + postgres_server_cpu), 3)
        if postgres_cpu is not None and postgres_server_cpu is not None
        else None,
    }
    print(f"raw SpiffWorkflow in memory : {raw:8.1f} instances/s  (3.2.0 as shipped)")
    print(f"  … with phoihop's patches  : {raw_patched:8.1f} instances/s")
    print(f"engine on SQLite            : {sqlite:8.1f} instances/s  ratio {result['sqlite_ratio']}", end="")
    print(f"  ({sqlite_cpu:.2f} ms CPU per instance)")
    if postgres:
        print(f"engine on PostgreSQL        : {postgres:8.1f} instances/s  ratio {result['postgres_ratio']}", end="")
        print(f"  ({postgres_cpu:.2f} ms CPU per instance, this process)")
        if postgres_server_cpu is not None:
            print(f"  … PostgreSQL backends' CPU : {postgres_server_cpu:.2f} ms per instance")
    print(f"loop of 50, last10/first10  : {loop:.2f}")
    print(f"floor (raw + bare writes)   : {floor:8.1f} instances/s  floor_ratio {result['floor_ratio']} (goal <= 1.25)")
    print(f"  … CPU per instance        : {floor_cpu:.2f} ms, engine {sqlite_cpu:.2f}: {result['floor_cpu_ratio']}")
    if postgres:
        print(f"PostgreSQL / SQLite         : {result['postgres_over_sqlite']} (goal >= 0.5)")
        if result["postgres_over_sqlite_cpu"] is not None:
            print(
                f"  … by CPU per instance     : {result['postgres_over_sqlite_cpu']} (SQLite / PostgreSQL + backends)"
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
