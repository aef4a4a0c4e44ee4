"""What the live search's triggers cost the engine's writes on SQLite: migration 0204's (FTS rows keyed by
``human_task``'s rowid) against 0207's (keyed by the task's id through ``human_task_live_search_key``), in one process.

Two databases, one at 0204 and one at head, each with the engine's container; the instance of
``bench/floor_pairs.py`` (start, read the open task, 4 × complete: five live tasks written, four finished) runs in
chunks of ``--chunk`` instances, one chunk at 0204 then one at head, ``--rounds`` times, so each pair is timed in the
same seconds. Prints, for the wall clock and this process's CPU, the medians per instance and the median of the
pairs' ratios (head ÷ 0204), then one JSON line. Usage: python bench/live_search_writes.py [--rounds N] [--chunk N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/http.py is not the stdlib's
sys.path.insert(0, str(HERE))

import floor_pairs  # noqa: E402  (its engine instance and its chunk timing)

BEFORE = "0204"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before, close_before = floor_pairs.engine_instance(f"sqlite:///{tmp}/before.db", BEFORE)
        head, close_head = floor_pairs.engine_instance(f"sqlite:///{tmp}/head.db")
        try:
            floor_pairs.chunk(before, args.chunk)  # warm-up, one chunk each
            floor_pairs.chunk(head, args.chunk)
            pairs = [
                (floor_pairs.chunk(before, args.chunk), floor_pairs.chunk(head, args.chunk)) for _ in range(args.rounds)
            ]
        finally:
            close_before()
            close_head()
    result: dict[str, float | str] = {"before": BEFORE}
    for k, name in enumerate(("wall", "cpu")):  # floor_pairs.chunk's order
        before_ms, head_ms = [b[k] for b, _ in pairs], [h[k] for _, h in pairs]
        result[f"before_{name}_ms"] = round(statistics.median(before_ms), 2)
        result[f"head_{name}_ms"] = round(statistics.median(head_ms), 2)
        result[f"{name}_ratio_median"] = round(
            statistics.median(h / b for b, h in zip(before_ms, head_ms, strict=True)), 3
        )
        print(
            f"{name:4}: {BEFORE} {result[f'before_{name}_ms']:.2f} ms, head {result[f'head_{name}_ms']:.2f} ms per"
            f" instance (medians); head / {BEFORE}: median of the pairs {result[f'{name}_ratio_median']}"
        )
    result["load_1min"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
