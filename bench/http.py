"""HTTP benchmark: the whole path (client → uvicorn → FastAPI → engine → database) through real ``phoihop serve``.

``--servers N`` server processes (default 1) on a fresh SQLite file (or, with ``--postgres``, a fresh database of
the run's own, ``phoihop_bench_http_<pid>``, dropped when the run ends, on Ctrl-C and SIGTERM too, so that runs side
by side never drop each other's; ``PHOIHOP_BENCH_PG_DATABASE`` names another, dropped and made again), deploy-on-start
off, a generated secret; with more than one server the scheduler runs in one ``phoihop worker`` beside them, as in
production, else nowhere. ``tests/fixtures/engine/four_tasks.bpmn`` (start → 4 user tasks → end, one lane) is
deployed, then keep-alive clients walk instances:

- ``--walk next`` (default): POST /api/v1/process-instances (its answer lists the open task), then 4 × POST
  /api/v1/tasks/{task}/complete, each answering the next task in ``next_tasks``: 5 requests per instance;
- ``--walk full``: the walk of the earlier releases, 4 × (GET /api/v1/process-instances/{id} to read the open task,
  complete it) after the start: 9 requests, so figures stay comparable across releases.

``--clients 1,4,8`` runs one level per count, that many client threads at once (client i on server i mod N, each its
own connection; the standard library client costs ~0.1 ms of CPU per request, so threads do not hold each other back)
for ``--max-seconds`` each (or until ``--instances``), after ``--warmup`` instances that are not counted; it prints
instances/s per level and the ratios of each level to the first (4/1, 8/1). Per level: requests/s, p50/p95 per
request, the servers' CPU time per request and the client's. Then the floor: the same client's GET /healthz, its
median and the server CPU it costs, and the framework overhead of a request (server CPU per request minus /healthz's).

The nearest Python peer: with ``--spiffarena-url`` (and ``--spiffarena-model``, its process model identifier with
``/`` written as ``:``, holding the same four-task model; ``--spiffarena-token``, a bearer token of a user who may run
it) the same kind of client walks instances through SpiffArena's REST API (create, run, read the first task; then per
task GET it and PUT its form data, whose answer is the next task) in the same sitting, and the ratio is against that.
Without it (SpiffArena's backend is not on PyPI: no run here) the ratio is against the upper end of the figure
measured in issue 15's sitting, 2.3 instances/s, so that the ratio printed is the conservative one; the output says so.

Last line: one JSON object. The servers are always stopped.

Usage: python bench/http.py [--instances 300] [--warmup 30] [--postgres] [--max-seconds 40] [--walk next|full]
                            [--servers 1] [--clients 1] [--client stdlib|httpx]
                            [--server-prefix "py-spy record -o prof.txt --format raw --gil --"]  (first server only)
                            [--spiffarena-url URL --spiffarena-model GROUP:MODEL --spiffarena-token TOKEN]
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
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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
# PHOIHOP_BENCH_PG_DATABASE: the database dropped and made again for the run; by default each run has its own
PG_DATABASE = os.environ.get("PHOIHOP_BENCH_PG_DATABASE") or f"phoihop_bench_http_{os.getpid()}"
# SpiffArena (spiff-arena's backend) on the same four-task model, one client, measured in issue 15's sitting on this
# machine: 1.8–2.3 instances/s. Without --spiffarena-url the ratio is against the upper end (the conservative one).
SPIFFARENA_SITTING_PER_S = 2.3
RATIO_GOAL = 20  # issue 15, goal 4: HTTP ≥ 20× SpiffArena
REQUESTS_PER_INSTANCE = {"next": 5, "full": 9}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def postgres_database() -> Iterator[str]:
    """``PG_DATABASE``, empty, for the run; dropped at the end however the run ends (an error, Ctrl-C, SIGTERM: the
    servers are stopped first, and a second Ctrl-C cannot interrupt the drop). Only a SIGKILL leaves it behind."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    drop = text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    try:
        with admin.connect() as conn:
            conn.execute(drop)
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"
    finally:
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with admin.connect() as conn:
                conn.execute(drop)
        finally:
            signal.signal(signal.SIGINT, interrupt)
            admin.dispose()


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so that the servers stop and the database is dropped."""
    raise SystemExit(128 + signum)


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


def _environment(database_url: str, secret: str, *, run_scheduler: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOIHOP_")}
    env.update(
        {
            "PHOIHOP_ENV": "test",
            "PHOIHOP_SECRET_KEY": secret,
            "PHOIHOP_DATABASE_URL": database_url,
            "PHOIHOP_RUN_SCHEDULER": "true" if run_scheduler else "false",
            "PHOIHOP_DEPLOY_ON_START": "false",
        }
    )
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # SIGINT also lets a profiler wrapper write its output
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def server(database_url: str, workdir: Path, secret: str, prefix: list[str], name: str = "server") -> Iterator[Server]:
    """A ``phoihop serve`` process (scheduler off), yielded once /healthz answers; always stopped."""
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*prefix, str(PHOIHOP), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=_environment(database_url, secret, run_scheduler=False),
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded 2-core machine takes a while to import and upgrade
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
        _stop(proc)


@contextmanager
def worker(database_url: str, workdir: Path, secret: str) -> Iterator[subprocess.Popen[bytes]]:
    """``phoihop worker``: the timers and webhooks of every server, in one process beside them; always stopped."""
    with (workdir / "worker.log").open("wb") as out:
        proc = subprocess.Popen(
            [str(PHOIHOP), "worker"],
            env=_environment(database_url, secret, run_scheduler=True),
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield proc
    finally:
        _stop(proc)


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
        self._prefix = parts.path.rstrip("/")

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
        self._conn.request(method, self._prefix + url, body=body, headers=all_headers)
        response = self._conn.getresponse()
        return _Response(response.status, response.read())

    def get(self, url: str, **kw: Any) -> _Response:
        return self.request("GET", url, **kw)

    def close(self) -> None:
        self._conn.close()


def make_client(kind: str, base: str) -> Any:
    return StdlibClient(base) if kind == "stdlib" else httpx.Client(base_url=base, timeout=30)


Call = Callable[..., Any]


def caller(client: Any, latencies: list[float]) -> Call:
    """``call(method, url, **kw)``: one request, its latency recorded; anything but 200/201 stops the run."""

    def call(method: str, url: str, **kw: Any) -> Any:
        began = time.perf_counter()
        response = client.request(method, url, **kw)
        latencies.append(time.perf_counter() - began)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")
        return response.json()

    return call


def walk_next(call: Call, officer: dict[str, str]) -> None:
    """start, then 4 × complete, each answering the next task: 5 requests."""
    started = call("POST", "/api/v1/process-instances", json={"process_key": KEY}, headers=officer)
    task = started["open_tasks"][0]
    for step in range(4):
        done = call("POST", f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"step": step}}, headers=officer)
        if step < 3:
            task = done["next_tasks"][0]
        elif done["next_tasks"]:
            raise RuntimeError(f"the instance should have ended: {done['next_tasks']}")


def walk_full(call: Call, officer: dict[str, str]) -> None:
    """start, then 4 × (read the instance's open task, complete it): 9 requests (the earlier releases' walk)."""
    instance_id = call("POST", "/api/v1/process-instances", json={"process_key": KEY}, headers=officer)["id"]
    for step in range(4):
        open_tasks = call("GET", f"/api/v1/process-instances/{instance_id}", headers=officer)["open_tasks"]
        call(
            "POST", f"/api/v1/tasks/{open_tasks[0]['id']}/complete", json={"variables": {"step": step}}, headers=officer
        )


WALKS: dict[str, Callable[[Call, dict[str, str]], None]] = {"next": walk_next, "full": walk_full}


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _cpu(servers: list[Server]) -> float | None:
    figures = [s.cpu_seconds() for s in servers]
    return None if any(f is None for f in figures) else sum(f for f in figures if f is not None)


def run_level(
    servers: list[Server],
    walk: Callable[[Call, dict[str, str]], None],
    officer: dict[str, str],
    clients: int,
    instances: int,
    budget: float,
    client_kind: str,
) -> dict[str, Any]:
    """``clients`` threads walk instances at once until ``instances`` are done or ``budget`` seconds passed."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    connections = [make_client(client_kind, servers[i % len(servers)].base) for i in range(clients)]
    lock, stop, failures = threading.Lock(), threading.Event(), []
    counted = [0]
    barrier = threading.Barrier(clients + 1)

    def loop(index: int) -> None:
        call = caller(connections[index], latencies[index])
        barrier.wait()
        try:
            while not stop.is_set():
                with lock:
                    if counted[0] >= instances:
                        return
                    counted[0] += 1
                walk(call, officer)
        except Exception as error:  # reported after the level, which stops
            failures.append(error)
            stop.set()

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    server_cpu, client_cpu = _cpu(servers), time.process_time()
    barrier.wait()
    began = time.perf_counter()
    while any(t.is_alive() for t in threads) and time.perf_counter() - began < budget:
        time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - client_cpu
    server_after = _cpu(servers)
    for connection in connections:
        connection.close()
    if failures:
        raise failures[0]
    done = counted[0]
    ordered = sorted(x for per_client in latencies for x in per_client)
    requests = len(ordered)
    server_seconds = server_after - server_cpu if server_after is not None and server_cpu is not None else None
    return {
        "clients": clients,
        "instances": done,
        "instances_per_s": round(done / elapsed, 1),
        "requests_per_s": round(requests / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 2),
        "server_cpu_ms_per_request": round(server_seconds / requests * 1000, 3) if server_seconds is not None else None,
        "client_cpu_ms_per_request": round(client_cpu / requests * 1000, 3),
        # what a busy machine moves least: the servers' CPU per instance (a core to itself would do 1000 / this)
        "server_cpu_ms_per_instance": round(server_seconds / done * 1000, 2)
        if server_seconds is not None and done
        else None,
    }


def healthz_floor(srv: Server, client_kind: str, count: int = 500) -> tuple[float, float | None]:
    """The cheapest route through the same client and server (HTTP stack only, no engine, no database): its median
    latency and the server CPU it costs per request."""
    client = make_client(client_kind, srv.base)
    latencies: list[float] = []
    call = caller(client, latencies)
    for _ in range(50):
        call("GET", "/healthz")
    latencies.clear()
    before = srv.cpu_seconds()
    for _ in range(count):
        call("GET", "/healthz")
    after = srv.cpu_seconds()
    client.close()
    cpu = (after - before) / count * 1000 if after is not None and before is not None else None
    return statistics.median(latencies) * 1000, cpu


def bench(
    servers: list[Server],
    secret: str,
    *,
    instances: int,
    warmup: int,
    budget: float,
    client_kind: str = "stdlib",
    walk: str = "next",
    levels: tuple[int, ...] = (1,),
) -> dict[str, Any]:
    owner = {"Authorization": "Bearer " + issue_token(secret, sub="bench-owner", roles=["process-owner"])}
    officer = {
        "Authorization": "Bearer " + issue_token(secret, sub="bench-officer", groups=["skhcn"], roles=["officer"])
    }
    deployed = httpx.post(
        f"{servers[0].base}/api/v1/process-definitions",
        headers=owner,
        files=[("files", (PROCESS.name, PROCESS.read_bytes(), "application/xml"))],
        timeout=60,
    )
    if deployed.status_code != 201:
        raise RuntimeError(f"deploy failed: {deployed.status_code} {deployed.text}")
    walker = WALKS[walk]
    for srv in servers:  # every server loads the model and warms its caches; not counted
        client = make_client(client_kind, srv.base)
        call = caller(client, [])
        for _ in range(max(1, warmup // len(servers))):
            walker(call, officer)
        client.close()
    results = [run_level(servers, walker, officer, n, instances, budget, client_kind) for n in levels]
    healthz_ms, healthz_cpu = healthz_floor(servers[0], client_kind)
    first = results[0]
    per_request = first["server_cpu_ms_per_request"]
    return {
        "instances": first["instances"],
        "http_instances_per_s": first["instances_per_s"],
        "requests_per_s": first["requests_per_s"],
        "p50_ms": first["p50_ms"],
        "p95_ms": first["p95_ms"],
        "server_cpu_ms_per_request": per_request,
        "server_cpu_ms_per_instance": first["server_cpu_ms_per_instance"],
        "client_cpu_ms_per_request": first["client_cpu_ms_per_request"],
        "healthz_p50_ms": round(healthz_ms, 2),
        "healthz_server_cpu_ms": round(healthz_cpu, 3) if healthz_cpu is not None else None,
        "overhead_cpu_ms_per_request": round(per_request - healthz_cpu, 3)
        if per_request is not None and healthz_cpu is not None
        else None,
        "levels": results,
        "ratios": {
            f"{r['clients']}/{first['clients']}": round(r["instances_per_s"] / first["instances_per_s"], 2)
            for r in results[1:]
        },
        "client": client_kind,
        "walk": walk,
        "requests_per_instance": REQUESTS_PER_INSTANCE[walk],
        "servers": len(servers),
    }


# --- SpiffArena (spiff-arena's backend), walked through its documented REST API (api.yml, /v1.0) -------------------
def spiffarena_bench(url: str, model: str, token: str, instances: int, warmup: int, budget: float) -> dict[str, Any]:
    """One keep-alive client, the same four-task model: POST /process-instances/{model} (create), POST
    /process-instances/{model}/{id}/run, GET /tasks/{id}/instruction (the first task); then per task GET
    /tasks/{id}/{task_guid} and PUT /tasks/{id}/{task_guid} with its form data, whose answer is the next task (or,
    once the instance has no task left for the caller, something without a ready user task)."""
    headers = {"Authorization": f"Bearer {token}"}
    client = StdlibClient(url.rstrip("/") + "/v1.0")
    latencies: list[float] = []
    call = caller(client, latencies)

    def walk() -> None:
        instance_id = call("POST", f"/process-instances/{model}", headers=headers)["id"]
        call("POST", f"/process-instances/{model}/{instance_id}/run", headers=headers)
        task = call("GET", f"/tasks/{instance_id}/instruction", headers=headers)
        for step in range(4):
            guid = task["id"]
            call("GET", f"/tasks/{instance_id}/{guid}?with_form_data=true", headers=headers)
            task = call("PUT", f"/tasks/{instance_id}/{guid}", json={"step": step}, headers=headers)
            if step < 3 and (not isinstance(task, dict) or task.get("state") != "READY" or "id" not in task):
                task = call("GET", f"/tasks/{instance_id}/instruction", headers=headers)

    for _ in range(warmup):
        walk()
    latencies.clear()
    began, done = time.perf_counter(), 0
    while done < instances and time.perf_counter() - began < budget:
        walk()
        done += 1
    elapsed = time.perf_counter() - began
    client.close()
    ordered = sorted(latencies)
    return {
        "instances": done,
        "instances_per_s": round(done / elapsed, 2),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "requests": len(ordered),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instances", type=int, default=300, help="at most this many instances per level")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help=f"run on PostgreSQL (database {PG_DATABASE})")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=40.0,
        help="stop measuring a level after this long even if fewer instances ran (keeps a run under a minute)",
    )
    parser.add_argument(
        "--walk",
        choices=sorted(WALKS),
        default="next",
        help="next: 5 requests per instance (complete answers the next task); full: 9, the earlier releases' walk",
    )
    parser.add_argument("--servers", type=int, default=1, help="phoihop serve processes (and one worker if > 1)")
    parser.add_argument("--clients", default="1", help="client counts, one level each, e.g. 1,4,8")
    parser.add_argument("--server-prefix", default="", help="command put before the first server's, e.g. a profiler")
    parser.add_argument(
        "--client",
        choices=["stdlib", "httpx"],
        default="stdlib",
        help="HTTP client of the benchmark (stdlib http.client costs least, so the server is measured)",
    )
    parser.add_argument("--spiffarena-url", default=None, help="a running SpiffArena backend, e.g. http://host:7000")
    parser.add_argument("--spiffarena-model", default="bench:four-tasks", help="its process model id (/ written :)")
    parser.add_argument("--spiffarena-token", default=os.environ.get("SPIFFARENA_TOKEN", ""), help="bearer token")
    args = parser.parse_args(argv)
    levels = tuple(int(n) for n in args.clients.split(",") if n.strip())
    if not levels or min(levels) < 1 or args.servers < 1:
        parser.error("--clients and --servers need counts of at least 1")
    peer = (
        spiffarena_bench(
            args.spiffarena_url, args.spiffarena_model, args.spiffarena_token, args.instances, 3, args.max_seconds
        )
        if args.spiffarena_url
        else None
    )
    secret = secrets.token_urlsafe(48)
    prefix = shlex.split(args.server_prefix)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminated)
    with tempfile.TemporaryDirectory(prefix="phoihop-bench-http-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        url = stack.enter_context(postgres_database() if args.postgres else _sqlite(workdir))
        servers = [
            stack.enter_context(server(url, workdir, secret, prefix if i == 0 else [], name=f"server{i}"))
            for i in range(args.servers)
        ]
        if args.servers > 1:
            stack.enter_context(worker(url, workdir, secret))
        result = bench(
            servers,
            secret,
            instances=args.instances,
            warmup=args.warmup,
            budget=args.max_seconds,
            client_kind=args.client,
            walk=args.walk,
            levels=levels,
        )
    database = "postgresql" if args.postgres else "sqlite"
    peer_per_s = peer["instances_per_s"] if peer is not None else SPIFFARENA_SITTING_PER_S
    ratio = result["http_instances_per_s"] / peer_per_s if peer_per_s else None
    print(
        f"database: {database}; {args.servers} server(s){' + 1 worker' if args.servers > 1 else ''}; walk "
        f"{args.walk} ({result['requests_per_instance']} requests per instance); {args.warmup} warm-up instances; "
        f"{args.client} keep-alive clients; each level at most {args.instances} instances or {args.max_seconds:g} s"
    )
    for level in result["levels"]:
        print(
            f"  {level['clients']} client(s): {level['instances_per_s']} instances/s ({level['instances']} instances), "
            f"{level['requests_per_s']} requests/s, per request p50 {level['p50_ms']} ms p95 {level['p95_ms']} ms, "
            f"CPU per request: servers {level['server_cpu_ms_per_request']} ms, clients "
            f"{level['client_cpu_ms_per_request']} ms; servers' CPU per instance "
            f"{level['server_cpu_ms_per_instance']} ms"
        )
    if result["ratios"]:
        print("scaling: " + ", ".join(f"{k} = ×{v}" for k, v in result["ratios"].items()))
    print(
        f"floor: GET /healthz median {result['healthz_p50_ms']} ms, server CPU {result['healthz_server_cpu_ms']} ms "
        f"per request; framework and engine over the floor: {result['overhead_cpu_ms_per_request']} ms of server "
        "CPU per request"
    )
    if peer is not None:
        source = f"SpiffArena measured now at {args.spiffarena_url}: {peer_per_s} instances/s"
    else:
        source = (
            f"SpiffArena not run here (no --spiffarena-url): against {SPIFFARENA_SITTING_PER_S}/s, the upper end "
            "of issue 15's sitting (1.8–2.3/s), so the ratio is the conservative one"
        )
    print(
        f"instances/s: {result['http_instances_per_s']} = ×{ratio:.1f} SpiffArena (goal ×{RATIO_GOAL}: "
        f"{RATIO_GOAL * peer_per_s:g}/s); {source}"
    )
    print(
        json.dumps(
            {
                **result,
                "database": database,
                "spiffarena_per_s": peer_per_s,
                "spiffarena_measured": peer is not None,
                "ratio_to_spiffarena": round(ratio, 1) if ratio is not None else None,
                "target_per_s": RATIO_GOAL * peer_per_s,
            }
        )
    )
    return 0


@contextmanager
def _sqlite(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'bench.db'}"


if __name__ == "__main__":
    sys.exit(main())
