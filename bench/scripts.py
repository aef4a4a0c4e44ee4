"""Script sandbox benchmark: what running scripts outside the server process costs per call, and what it buys.

Part 1, per call (median of ``--calls``), on task data like a dossier's: a gateway condition, a due-date expression
and a script task's script, each run

- ``in-process``: as before the worker pool (``sandbox_run.evaluate_here`` / ``execute_here`` in this process);
- ``as served``: through ``SandboxedEnvironment``, as the server runs it (the fast path for the proved-bounded
  expressions, the pool for the rest);
- ``pool``: forced through a worker (one pipe message each way).

Prints µs per call and the ratios to in-process.

Part 2 (``--healthz``): a real ``phoihop serve`` (bench/http.py's server, SQLite), a process whose script holds the
GIL in one native call (``y = [x] * 30000; max(y)`` with 10⁵ items in x: 3·10⁹ comparisons), started from one thread
while this one calls GET /healthz in a loop until the start answers. Prints the /healthz latencies while the script
runs (max, median, count) and on the calm server. ``--healthz-only`` skips part 1: it is how the same measurement is
taken on a checkout without the pool (PYTHONPATH=<that checkout> python bench/scripts.py --healthz-only).

Usage: python bench/scripts.py [--calls 2000] [--healthz | --healthz-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_http", HERE / "http.py")
assert _spec is not None and _spec.loader is not None
bench_http = sys.modules["bench_http"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_http)  # puts the repository first on sys.path, keeps the standard library's http

import httpx  # noqa: E402

from phoihop.auth import issue_token  # noqa: E402

DATA: dict[str, Any] = {
    "outcome": "complete",
    "so_ngay": 3,
    "urgent": False,
    "period": "2026-06",
    "ho_so": {"ma": "HS-2026-000123", "muc": [{"gia": 80}, {"gia": 40}], "chi_tiet": {"loai": "A"}},
}
CONDITION = 'outcome == "complete" and so_ngay < 5'
DUE_DATE = "working_days(1 if urgent else 5)"
SCRIPT = 'tong = sum(i["gia"] for i in ho_so["muc"])\nduyet = tong > 100\nma = ho_so["ma"].upper()'
HOSTILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://x">
  <bpmn:process id="gil_holder" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="hold" name="Hold"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>y = [x] * 30000
m = max(y)</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="hold"/>
    <bpmn:sequenceFlow id="f1" sourceRef="hold" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def per_call(run: Callable[[], Any], calls: int) -> float:
    """Median µs of one call, in batches of 20."""
    samples = []
    for _ in range(max(1, calls // 20)):
        began = time.perf_counter()
        for _ in range(20):
            run()
        samples.append((time.perf_counter() - began) / 20 * 1e6)
    return statistics.median(samples)


def costs(calls: int) -> dict[str, Any]:
    from phoihop.engine.execution.sandbox import SandboxedEnvironment
    from phoihop.engine.execution.sandbox_pool import ScriptPool
    from phoihop.engine.execution.sandbox_run import evaluate_here, execute_here

    pool = ScriptPool(2)
    pool.warm()
    env = SandboxedEnvironment(pool=pool)
    rows: dict[str, Any] = {}
    try:
        for name, source, op in (("condition", CONDITION, "eval"), ("due date", DUE_DATE, "eval"),
                                 ("script", SCRIPT, "exec")):  # fmt: skip
            if op == "eval":
                here = per_call(lambda s=source: evaluate_here(s, DATA, None, 1.0), calls)
                served = per_call(lambda s=source: env.evaluate(s, DATA), calls)
            else:
                here = per_call(lambda s=source: execute_here(s, dict(DATA), None, 1.0), calls)
                served = per_call(lambda s=source: env.execute(s, dict(DATA)), calls)
            pooled = per_call(lambda s=source, o=op: pool.run(o, s, DATA, None, 1.0), calls)  # type: ignore[arg-type]
            rows[name] = {
                "in_process_us": round(here, 1),
                "as_served_us": round(served, 1),
                "pool_us": round(pooled, 1),
                "as_served_ratio": round(served / here, 2),
                "pool_ratio": round(pooled / here, 2),
            }
    finally:
        pool.close()
    return rows


def healthz_under_attack() -> dict[str, Any]:
    secret = secrets.token_urlsafe(48)
    owner = {"Authorization": "Bearer " + issue_token(secret, sub="bench-owner", roles=["process-owner"])}
    portal = {"Authorization": "Bearer " + issue_token(secret, sub="bench-portal", roles=["integrator"])}
    with tempfile.TemporaryDirectory(prefix="phoihop-bench-scripts-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        with bench_http.server(url, workdir, secret, []) as srv, httpx.Client(base_url=srv.base, timeout=120) as c:
            deployed = c.post(
                "/api/v1/process-definitions", headers=owner, files=[("files", ("h.bpmn", HOSTILE, "application/xml"))]
            )
            if deployed.status_code != 201:
                raise RuntimeError(f"deploy failed: {deployed.status_code} {deployed.text}")
            calm = []
            for _ in range(50):
                began = time.perf_counter()
                c.get("/healthz")
                calm.append(time.perf_counter() - began)
            answer: dict[str, Any] = {}

            def start() -> None:
                body = {"process_key": "gil_holder", "variables": {"x": [0] * 100_000}}
                began = time.perf_counter()
                with httpx.Client(base_url=srv.base, timeout=120) as other:
                    response = other.post("/api/v1/process-instances", json=body, headers=portal)
                answer.update(seconds=time.perf_counter() - began, status=response.json().get("status"),
                              error=(response.json().get("error") or {}).get("code"))  # fmt: skip

            starter = threading.Thread(target=start)
            starter.start()
            time.sleep(0.3)  # the request is in the server by then (it sends 200 kB)
            hostile = []
            while starter.is_alive():
                began = time.perf_counter()
                c.get("/healthz")
                hostile.append(time.perf_counter() - began)
            starter.join()
    return {
        "calm_healthz_p50_ms": round(statistics.median(calm) * 1000, 2),
        "healthz_during_script_max_ms": round(max(hostile) * 1000, 1),
        "healthz_during_script_p50_ms": round(statistics.median(hostile) * 1000, 2),
        "healthz_calls_during_script": len(hostile),
        "hostile_start_seconds": round(answer["seconds"], 2),
        "hostile_instance": f"{answer['status']} ({answer['error']})",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--healthz", action="store_true", help="also measure /healthz while a hostile script runs")
    parser.add_argument("--healthz-only", action="store_true", help="only that (works on a checkout without the pool)")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    if not args.healthz_only:
        result["per_call"] = rows = costs(args.calls)
        for name, row in rows.items():
            print(
                f"{name:10} in-process {row['in_process_us']:7.1f} µs | as served {row['as_served_us']:7.1f} µs "
                f"(×{row['as_served_ratio']}) | pool {row['pool_us']:7.1f} µs (×{row['pool_ratio']})"
            )
    if args.healthz or args.healthz_only:
        result["healthz"] = h = healthz_under_attack()
        print(
            f"/healthz while a GIL-holding script runs: max {h['healthz_during_script_max_ms']} ms, median "
            f"{h['healthz_during_script_p50_ms']} ms over {h['healthz_calls_during_script']} calls (calm: median "
            f"{h['calm_healthz_p50_ms']} ms); the hostile start answered after {h['hostile_start_seconds']} s: "
            f"{h['hostile_instance']}"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
