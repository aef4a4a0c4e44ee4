"""HTTP benchmark: the whole path (client → uvicorn → FastAPI → engine → database) through a real ``phoihop serve``.

One server process on a fresh SQLite file (or, with ``--postgres``, a fresh database ``phoihop_bench_http``), scheduler
and deploy-on-start off, a generated secret. ``tests/fixtures/engine/four_tasks.bpmn`` (start → 4 user tasks → end,
one lane) is deployed, then ONE keep-alive httpx client runs, per instance: POST /api/v1/process-instances, then
4 × (GET /api/v1/process-instances/{id} to read the open task, POST /api/v1/tasks/{task}/complete): 9 requests.
A warm-up of ``--warmup`` instances is not counted. Prints instances/s, requests/s, p50/p95 per request, the CPU
time per request of the server process and of this client (on a shared machine, wall time minus both is waiting), the
same client's GET /healthz median (the HTTP floor, no engine), and a last line with one JSON object. The server is
always stopped.

Usage: python bench/http.py [--instances 300] [--warmup 30] [--postgres] [--max-seconds 40]
                            [--server-prefix "py-spy record -o prof.txt --format raw --gil --"]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the standard library's
# ``http`` package (which httpx and PyJWT import): take the folder off, and put the repository root first.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import http.client  # noqa: E402
import json as _json  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import httpx  # noqa: E402

from phoihop.auth import issue_token  # noqa: E402

PHOIHOP = Path(sys.executable).parent / "phoihop"
PROCESS, KEY = ROOT / "tests" / "fixtures" / "engine" / "four_tasks.bpmn", "four_tasks"
PG_ADMIN = os.environ.get("PHOIHOP_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "phoihop_bench_http"
SPIFFARENA_REFERENCE_PER_S = 5  # spiff-arena's HTTP path, as the lead quoted it: the bar to beat by far
TARGET_PER_S = 50


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def postgres_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class Server:
    base: str
    popen: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) used so far by the ``phoihop serve`` process (Linux /proc; None elsewhere). With
        a ``--server-prefix`` wrapper, the descendant whose command line says ``serve`` is measured."""
        pids, seen = [self.popen.pid], []
        while pids:
            pid = pids.pop()
            seen.append(pid)
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                pids += [int(c) for c in children.read_text().split()]
        for pid in reversed(seen):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if b"serve" in cmdline and b"py-spy" not in cmdline[0]:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                continue
        return None


@contextmanager
def server(database_url: str, workdir: Path, secret: str, prefix: list[str]) -> Iterator[Server]:
    """A ``phoihop serve`` process, yielded once /healthz answers; always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOIHOP_")}
    env.update(
        {
            "PHOIHOP_ENV": "test",
            "PHOIHOP_SECRET_KEY": secret,
            "PHOIHOP_DATABASE_URL": database_url,
            "PHOIHOP_RUN_SCHEDULER": "false",
            "PHOIHOP_DEPLOY_ON_START": "false",
        }
    )
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*prefix, str(PHOIHOP), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.1)
        yield Server(base, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # SIGINT also lets a profiler wrapper write its output
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class _Response:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code, self.content = status_code, body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class StdlibClient:
    """A keep-alive client on the standard library's http.client: it costs the benchmark ~0.1 ms of CPU per request
    where httpx costs ~1.2 ms, so what is measured is the server (run with --client httpx to compare)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> _Response:
        body = None if json is None else _json.dumps(json).encode()
        all_headers = {**(headers or {}), **({"Content-Type": "application/json"} if body is not None else {})}
        self._conn.request(method, url, body=body, headers=all_headers)
        response = self._conn.getresponse()
        return _Response(response.status, response.read())

    def get(self, url: str, **kw: Any) -> _Response:
        return self.request("GET", url, **kw)

    def close(self) -> None:
        self._conn.close()


def run_instance(client: Any, officer: dict[str, str], latencies: list[float]) -> None:
    """start, then 4 × (read the instance's open task, complete it): 9 requests."""

    def call(method: str, url: str, **kw: Any) -> Any:
        began = time.perf_counter()
        response = client.request(method, url, **kw)
        latencies.append(time.perf_counter() - began)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")
        return response.json()

    instance_id = call("POST", "/api/v1/process-instances", json={"process_key": KEY}, headers=officer)["id"]
    for step in range(4):
        open_tasks = call("GET", f"/api/v1/process-instances/{instance_id}", headers=officer)["open_tasks"]
        call(
            "POST", f"/api/v1/tasks/{open_tasks[0]['id']}/complete", json={"variables": {"step": step}}, headers=officer
        )


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def bench(
    srv: Server, secret: str, instances: int, warmup: int, budget: float, client_kind: str = "stdlib"
) -> dict[str, Any]:
    owner = {"Authorization": "Bearer " + issue_token(secret, sub="bench-owner", roles=["process-owner"])}
    officer = {
        "Authorization": "Bearer " + issue_token(secret, sub="bench-officer", groups=["skhcn"], roles=["officer"])
    }
    with httpx.Client(base_url=srv.base, timeout=30) as client:
        deployed = client.post(
            "/api/v1/process-definitions",
            headers=owner,
            files=[("files", (PROCESS.name, PROCESS.read_bytes(), "application/xml"))],
        )
        if deployed.status_code != 201:
            raise RuntimeError(f"deploy failed: {deployed.status_code} {deployed.text}")
        ignored: list[float] = []
        if client_kind == "stdlib":
            client = StdlibClient(srv.base)  # type: ignore[assignment]
        for _ in range(warmup):
            run_instance(client, officer, ignored)
        latencies: list[float] = []
        server_cpu, client_cpu, began = srv.cpu_seconds(), time.process_time(), time.perf_counter()
        done = 0
        while done < instances and time.perf_counter() - began < budget:
            run_instance(client, officer, latencies)
            done += 1
        elapsed = time.perf_counter() - began
        client_cpu = time.process_time() - client_cpu
        server_after = srv.cpu_seconds()
        server_cpu = server_after - server_cpu if server_after is not None and server_cpu is not None else None
        floor = []  # the same client and server on the cheapest route: HTTP stack + client, no engine, no database
        for _ in range(200):
            started = time.perf_counter()
            client.get("/healthz")
            floor.append(time.perf_counter() - started)
    ordered, requests = sorted(latencies), len(latencies)
    return {
        "instances": done,
        "http_instances_per_s": round(done / elapsed, 1),
        "requests_per_s": round(requests / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 2),
        "server_cpu_ms_per_request": round(server_cpu / requests * 1000, 2) if server_cpu is not None else None,
        "client_cpu_ms_per_request": round(client_cpu / requests * 1000, 2),
        "healthz_p50_ms": round(statistics.median(floor) * 1000, 2),
        "client": client_kind,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help=f"run on PostgreSQL (database {PG_DATABASE})")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=40.0,
        help="stop measuring after this long even if fewer instances ran (keeps a run under a minute)",
    )
    parser.add_argument("--server-prefix", default="", help="command put before the server's, e.g. a profiler")
    parser.add_argument(
        "--client",
        choices=["stdlib", "httpx"],
        default="stdlib",
        help="HTTP client of the benchmark (stdlib http.client costs least, so the server is measured)",
    )
    args = parser.parse_args(argv)
    secret = secrets.token_urlsafe(48)
    prefix = shlex.split(args.server_prefix)
    with tempfile.TemporaryDirectory(prefix="phoihop-bench-http-") as tmp:
        workdir = Path(tmp)
        with (
            postgres_database() if args.postgres else _sqlite(workdir) as url,
            server(url, workdir, secret, prefix) as srv,
        ):
            result = bench(srv, secret, args.instances, args.warmup, args.max_seconds, args.client)
    database = "postgresql" if args.postgres else "sqlite"
    print(
        f"database: {database}; {result['instances']} instances (of {args.instances}; time budget "
        f"{args.max_seconds:g} s) after {args.warmup} warm-up, one keep-alive {args.client} client, 9 requests each"
    )
    print(
        f"instances/s: {result['http_instances_per_s']}  (target {TARGET_PER_S}, spiff-arena reference "
        f"{SPIFFARENA_REFERENCE_PER_S})"
    )
    print(f"requests/s:  {result['requests_per_s']}")
    print(
        f"per request: median {result['p50_ms']} ms, p95 {result['p95_ms']} ms; CPU: server "
        f"{result['server_cpu_ms_per_request']} ms, this client {result['client_cpu_ms_per_request']} ms"
    )
    print(f"floor: GET /healthz (same client, no engine) median {result['healthz_p50_ms']} ms")
    print(
        json.dumps(
            {
                **result,
                "database": database,
                "spiffarena_reference_per_s": SPIFFARENA_REFERENCE_PER_S,
                "target_per_s": TARGET_PER_S,
            }
        )
    )
    return 0


@contextmanager
def _sqlite(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'bench.db'}"


if __name__ == "__main__":
    sys.exit(main())
