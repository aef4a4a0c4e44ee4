"""The engine and its floor in alternating chunks, in one process: their ratio on a machine whose load moves.

``bench/engine.py`` times the engine, then (a minute later, after the raw, PostgreSQL and loop runs) the floor: on a
shared machine each half follows the load of its own minute. Here the same two things — the engine's commands on
SQLite (start, read the open task, 4 × complete) and the floor (raw SpiffWorkflow with phoihop's patches plus the
engine's captured writes replayed on plain ``sqlite3``, built by ``bench/engine.py``'s own ``capture_writes`` and
rewriting) — run in chunks of ``--chunk`` instances, one engine chunk then one floor chunk, ``--rounds`` times: each
pair is timed in the same seconds. Prints, for the wall clock and for this process's CPU, the median of the pairs'
ratios (engine ÷ floor) and the ratio of the best chunks, then one JSON line. Usage:
[PHOIHOP_BENCH_CODE=/path/to/checkout] python bench/floor_pairs.py [--rounds N] [--chunk N]   (the other checkout:
one whose bench/engine.py has ``floor_instance``, main from 8/12/2026)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/http.py is not the stdlib's
# PHOIHOP_BENCH_CODE: another checkout whose engine (and bench/engine.py) to measure, e.g. main's, side by side
CODE = Path(os.environ.get("PHOIHOP_BENCH_CODE") or Path(__file__).resolve().parents[1])
_spec = importlib.util.spec_from_file_location("bench_engine", CODE / "bench" / "engine.py")
assert _spec is not None and _spec.loader is not None
bench_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_engine)  # its bench/engine.py: the process, actors and the floor (floor_instance)


KEY, OFFICER, OWNER, PROCESS = bench_engine.KEY, bench_engine.OFFICER, bench_engine.OWNER, bench_engine.PROCESS


def engine_instance(url: str, revision: str = "head") -> tuple[Callable[[], None], Callable[[], None]]:
    """One engine instance per call, and the container's close; the schema at ``revision`` (another than head: an
    earlier migration's writes measured by the same engine, as bench/live_search_writes.py does)."""
    from alembic import command

    from phoihop.engine.clock import FakeClock
    from phoihop.engine.container import build_engine
    from phoihop.engine.model import SourceFile
    from phoihop.engine.store.database import make_engine
    from phoihop.engine.store.schema import alembic_config, upgrade

    if revision == "head":
        upgrade(url)
    else:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                config = alembic_config(url)
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
        finally:
            engine.dispose()
    container = build_engine(url, clock=FakeClock())
    container.deployments.deploy(OWNER, [SourceFile(PROCESS.name, PROCESS.read_bytes())])

    def one() -> None:
        instance_id, _ = container.instances.start(OFFICER, KEY, variables={"ho_so": {"ma": "HS-1"}})
        open_tasks = container.task_reads.open_task_ids(OFFICER, instance_id)
        for step in range(4):
            open_tasks = list(container.tasks.complete(OFFICER, open_tasks[0], {"step": step}).open_tasks)
        assert not open_tasks

    return one, container.close


def chunk(one: Callable[[], None], n: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per instance over ``n`` instances."""
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        one()
    return (time.perf_counter() - start) / n * 1000, (time.process_time() - start_cpu) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine, close_engine = engine_instance(f"sqlite:///{tmp}/engine.db")
        floor, close_floor = bench_engine.floor_instance(f"sqlite:///{tmp}/floor.db", args.chunk * (args.rounds + 1))
        try:
            chunk(engine, args.chunk)  # warm-up, one chunk each
            chunk(floor, args.chunk)
            pairs = [(chunk(engine, args.chunk), chunk(floor, args.chunk)) for _ in range(args.rounds)]
        finally:
            close_engine()
            close_floor()
    result: dict[str, float | str] = {}
    for k, name in enumerate(("wall", "cpu")):
        engine_ms, floor_ms = [e[k] for e, _ in pairs], [f[k] for _, f in pairs]
        result[f"engine_{name}_ms"] = round(statistics.median(engine_ms), 2)
        result[f"floor_{name}_ms"] = round(statistics.median(floor_ms), 2)
        ratios = [e / f for e, f in zip(engine_ms, floor_ms, strict=True)]
        result[f"{name}_ratio_median"] = round(statistics.median(ratios), 3)
        result[f"{name}_ratio_best"] = round(min(engine_ms) / min(floor_ms), 3)
        print(
            f"{name:4}: engine {result[f'engine_{name}_ms']:.2f} ms, floor {result[f'floor_{name}_ms']:.2f} ms per"
            f" instance (medians); engine / floor: median of the pairs {result[f'{name}_ratio_median']},"
            f" best chunks {result[f'{name}_ratio_best']}"
        )
    result["load_1min"] = round(os.getloadavg()[0], 1)
    result["code"] = str(CODE)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
