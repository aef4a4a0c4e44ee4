"""Restart benchmark: seconds from starting ``phoihop serve`` to the port accepting connections, and to ready.

A template SQLite database is made first by one ``phoihop serve`` of the tree that deploys the shipped processes
(``processes/``) on start. Each measured run starts ``phoihop serve`` on a fresh copy of it (deploy-on-start on, the
scheduler off, the same processes folder, so nothing changed on disk), and measures, from the moment the process is
spawned: when a TCP connect to its port first succeeds ("accept"), and when ``GET /readyz`` first answers 200
("ready"; a tree without /readyz deploys before it listens, so for it ready = ``GET /healthz`` 200). Idle machine
figures are the meaningful ones; medians of ``--runs``. On a loaded machine the wall times measure the load as much
as the start: ``cpu_s``, the server process's own CPU time (user + system, from /proc) when it first answered ready,
is the figure load moves least (some: caches are shared), and an idle machine's ready time is close to it. Bytecode
is cached (PYTHONPYCACHEPREFIX in the work folder, PYTHONDONTWRITEBYTECODE dropped) as for an installed wheel: the
first start of each tree, which makes the template, writes it.

``--before-tree PATH`` measures another checkout the same way, its runs interleaved with this tree's (run from this
venv with PYTHONPATH=PATH, e.g. a worktree of the commit before the change), and prints the ratios before/after.

``--busy-seconds N``: another writer holds the database's write lock for N seconds from each spawn (a long write
transaction on a busy database): a start that writes before it listens waits for it.

Usage: python bench/restart.py [--runs 5] [--before-tree /path/to/old/checkout] [--busy-seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would shadow the standard library's
# ``http`` package (which httpx imports): take the folder off.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx  # noqa: E402

LIMIT_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def ready(base: str) -> bool:
    try:
        answer = httpx.get(f"{base}/readyz", timeout=2)
        if answer.status_code == 404:  # a tree without readiness: ready once it listens and answers
            answer = httpx.get(f"{base}/healthz", timeout=2)
        return answer.status_code == 200
    except httpx.TransportError:
        return False


def hold_write_lock(database: Path, seconds: float) -> threading.Thread:
    """Another writer holding SQLite's write lock for ``seconds`` (a long write transaction on a busy database)."""
    conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")

    def release() -> None:
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=release, daemon=True)
    holder.start()
    return holder


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(tree: Path, database: Path, workdir: Path, secret: str, *, busy: float = 0.0) -> tuple[float, float, float]:
    """Spawn ``phoihop serve`` of ``tree`` on ``database``; (seconds to accept, seconds to ready, its CPU seconds at
    ready). Always stopped.
    ``busy``: another writer holds the database's write lock that many seconds from the spawn."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOIHOP_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            # bytecode cached as an installed package has it (pip compiles on install), kept apart from the trees
            "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
            "PYTHONPATH": str(tree),
            "PHOIHOP_ENV": "test",
            "PHOIHOP_SECRET_KEY": secret,
            "PHOIHOP_DATABASE_URL": f"sqlite:///{database}",
            "PHOIHOP_RUN_SCHEDULER": "false",
            "PHOIHOP_DEPLOY_ON_START": "true",
            "PHOIHOP_PROCESSES_DIR": str(tree / "processes"),
        }
    )
    command = [sys.executable, "-c", "import sys; from phoihop.cli import main; sys.exit(main())"]
    log = workdir / "server.log"
    holder = hold_write_lock(database, busy) if busy else None
    began = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        accepted = readied = None
        cpu = 0.0
        while readied is None:
            if proc.poll() is not None or time.perf_counter() - began > LIMIT_SECONDS:
                raise RuntimeError(f"server did not become ready:\n{log.read_text(errors='replace')[-4000:]}")
            if accepted is None and accepts(port):
                accepted = time.perf_counter() - began
            if accepted is not None and ready(f"http://127.0.0.1:{port}"):
                readied = time.perf_counter() - began
                cpu = cpu_seconds(proc.pid)
            time.sleep(0.01)
        assert accepted is not None  # ready is only asked once it accepts
        return accepted, readied, cpu
    finally:
        if holder is not None:
            holder.join()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def template(tree: Path, workdir: Path, secret: str) -> Path:
    """A database of ``tree`` with the shipped processes deployed (its first start migrates and deploys them)."""
    folder = workdir / tree.name
    folder.mkdir()
    made = folder / "template.db"
    start(tree, made, folder, secret)
    return made


def restart(tree: Path, made: Path, run: int, secret: str, busy: float) -> tuple[float, float, float]:
    copy = made.parent / f"run-{run}.db"
    shutil.copy(made, copy)
    return start(tree, copy, made.parent, secret, busy=busy)


def medians(times: list[tuple[float, float, float]]) -> dict[str, float]:
    return {
        "accept_s": round(statistics.median(t[0] for t in times), 3),
        "ready_s": round(statistics.median(t[1] for t in times), 3),
        "cpu_s": round(statistics.median(t[2] for t in times), 3),
        "accept_min_s": round(min(t[0] for t in times), 3),
        "ready_min_s": round(min(t[1] for t in times), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before-tree", type=Path, help="another checkout to measure the same way (the baseline)")
    parser.add_argument(
        "--busy-seconds", type=float, default=0.0, help="another writer holds the write lock this long from the spawn"
    )
    args = parser.parse_args()
    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory(prefix="phoihop-restart-") as tmp:
        workdir = Path(tmp)
        trees = [ROOT] + ([args.before_tree.resolve()] if args.before_tree is not None else [])
        made = [template(tree, workdir, secret) for tree in trees]
        times: list[list[tuple[float, float, float]]] = [[] for _ in trees]
        for run in range(args.runs):  # interleaved: a load that changes meanwhile weighs on both trees alike
            for index, tree in enumerate(trees):
                times[index].append(restart(tree, made[index], run, secret, args.busy_seconds))
        after = medians(times[0])
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(
            f"this tree:   accept {after['accept_s']:.2f} s, ready {after['ready_s']:.2f} s, CPU to ready "
            f"{after['cpu_s']:.2f} s (medians of {args.runs}; load average {' '.join(load)})"
        )
        result: dict[str, object] = {
            "after": after,
            "runs": args.runs,
            "busy_seconds": args.busy_seconds,
            "loadavg": " ".join(load),
        }
        if args.before_tree is not None:
            before = medians(times[1])
            print(
                f"before tree: accept {before['accept_s']:.2f} s, ready {before['ready_s']:.2f} s, "
                f"CPU to ready {before['cpu_s']:.2f} s"
            )
            ratios = {
                "accept": round(before["accept_s"] / after["accept_s"], 2),
                "ready": round(before["ready_s"] / after["ready_s"], 2),
                "cpu": round(before["cpu_s"] / after["cpu_s"], 2),
            }
            print(f"ratio before/after: accept ×{ratios['accept']}, ready ×{ratios['ready']}, CPU ×{ratios['cpu']}")
            result.update(before=before, ratio=ratios)
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
