"""Issue 13, item 2: a burst of commands on a small PostgreSQL pool right after the business calendar's cache expired.

Before the fix every command held its pooled connection while ``CalendarService.current()`` waited for a second one,
so a burst larger than the pool deadlocked until the pool timeout (30 s): most commands failed with a 500, and the
ones that got through after the wait had already spent the 30 s step deadline and left their instances in ``error``.

This runs ``--commands`` completions at once (half human tasks, half external tasks) on an engine with a pool of
``--pool-size`` (and as many overflow connections, the default), after idling past the calendar cache's ttl, and
prints what each command answered (ok, 503 database-unavailable, other error = a 500 over HTTP), how many instances
ended in ``error`` and the wall time. A figure to report, not a timed test. Runs the code of the checkout it sits in:
copy it into an older checkout's bench/ to measure that one (it uses only the API both have).

Usage: python bench/pool_wait.py [--pool-size 2] [--commands 20]   (PostgreSQL: PHOIHOP_BENCH_PG_URL)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from phoihop.engine.clock import FakeClock  # noqa: E402
from phoihop.engine.commands.external_tasks import FetchTopic  # noqa: E402
from phoihop.engine.container import build_engine  # noqa: E402
from phoihop.engine.model import Actor, SourceFile  # noqa: E402
from phoihop.engine.store.schema import upgrade  # noqa: E402

PG_ADMIN = os.environ.get("PHOIHOP_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FIXTURES = ROOT / "tests" / "fixtures"
OWNER = Actor.of("owner", name="owner", roles=("process-owner",))
PORTAL = Actor.of("portal", name="portal", roles=("integrator",))
OFFICER = Actor.of("an", name="an", groups=("skhcn",), roles=("officer",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--commands", type=int, default=20)
    args = parser.parse_args()
    name = f"phoihop_bench_pool_wait_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        print(json.dumps(burst(url, args.pool_size, args.commands), ensure_ascii=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def burst(url: str, pool_size: int, commands: int) -> dict[str, object]:
    clock = FakeClock()
    engine = build_engine(url, clock=clock, pool_size=pool_size)
    try:
        for path in (FIXTURES / "engine" / "four_tasks.bpmn", FIXTURES / "external" / "gui_van_ban.bpmn"):
            engine.deployments.deploy(OWNER, [SourceFile(path.name, path.read_bytes())])
        instances: list[str] = []
        calls = []
        for n in range(commands):
            if n % 2 == 0:
                instance_id, _ = engine.instances.start(PORTAL, "four_tasks", variables={"ho_so": {"so": n}})
                (task,) = engine.task_reads.open_task_ids(OFFICER, instance_id)
                calls.append(lambda task=task: engine.tasks.complete(OFFICER, task, {"buoc1": True}))
            else:
                instance_id, _ = engine.instances.start(
                    PORTAL,
                    "gui_van_ban_lien_thong",
                    business_key=f"VB-{n}",
                    variables={"trich_yeu": "x", "so_trang": 1},
                )
                (locked,) = engine.external_tasks.fetch_and_lock(
                    PORTAL, f"worker-{n}", [FetchTopic("gui_van_ban", 600_000)], max_tasks=1
                )
                calls.append(lambda task=locked.id, n=n: engine.external_tasks.complete(PORTAL, task, f"worker-{n}"))
            instances.append(instance_id)
        clock.advance(engine.calendar.ttl_seconds + 1)  # idle past the calendar cache's ttl
        answers: list[str] = []
        lock = threading.Lock()
        gate = threading.Barrier(len(calls))

        def run(call: object) -> None:
            gate.wait()
            try:
                call()  # type: ignore[operator]
                answer = "ok"
            except Exception as exc:  # classify what the caller would have seen
                answer = "503" if type(exc).__name__ == "StoreUnavailable" else f"500 {type(exc).__name__}"
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=run, args=(call,)) for call in calls]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - began
        with engine.db.transaction(write=False) as conn:
            statuses = Counter(
                row[0]
                for row in conn.execute(
                    text("SELECT status FROM process_instance WHERE id = ANY(:ids)"), {"ids": instances}
                )
            )
        return {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "commands": commands,
            "answers": dict(Counter(answers)),
            "instances": dict(statuses),
            "seconds": round(seconds, 1),
        }
    finally:
        engine.close()


if __name__ == "__main__":
    main()
