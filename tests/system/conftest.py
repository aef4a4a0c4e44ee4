"""Real ``phoihop serve`` and ``phoihop worker`` processes for the system tests (no mocks, no TestClient).

``processes`` is a factory fixture: ``processes.serve(url, scheduler=...)`` starts a server on a free port and waits
for ``/healthz``; ``processes.worker(url)`` starts a timer worker. Every process started is stopped in the
fixture's finalizer (SIGTERM, then SIGKILL), and when the test failed its log is printed. ``pg_servers`` is a pair of
servers on PostgreSQL shared by the tests of a module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SECRET, empty_database

PHOIHOP = Path(sys.executable).parent / "phoihop"
READY_SECONDS = 90.0  # a bound against a hang, not a timing: a loaded 2-core CI machine starts 3 servers slowly
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:  # the process logs are printed when the test's (or its module's) processes are stopped
        item.stash[FAILED] = True
        if item.parent is not None:
            item.parent.stash[FAILED] = True
    return report


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_env(database_url: str, **settings: str) -> dict[str, str]:
    """The caller's environment without any PHOIHOP_* of its own, plus test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOIHOP_")}
    env.update(
        {
            "PHOIHOP_ENV": "test",
            "PHOIHOP_SECRET_KEY": TEST_SECRET,
            "PHOIHOP_DATABASE_URL": database_url,
            "PHOIHOP_DEPLOY_ON_START": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"PHOIHOP_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Proc:
    """One child process with its output in a file (a pipe could fill up and block it)."""

    name: str
    args: list[str]
    env: dict[str, str]
    popen: subprocess.Popen[bytes]
    log: Path
    base_url: str = ""
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def is_server(self) -> bool:
        return self.args[0] == "serve"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def ready(self) -> bool:
        if not self.is_server:
            return "firing timers" in self.output()
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def client(self, timeout: float = 30.0) -> httpx.Client:
        made = httpx.Client(base_url=self.base_url, timeout=timeout)
        self.clients.append(made)
        return made

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash)."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        for made in self.clients:
            made.close()
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


class Processes:
    """Starts phoihop processes for one test; ``stop_all`` ends every one of them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[Proc] = []

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        if args[0] == "serve":
            port = free_port()
            args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        log = self.tmp_path / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [str(PHOIHOP), *args],
                env=env,
                cwd=self.tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(name, args, env, popen, log)
        if args[0] == "serve":
            proc.base_url = f"http://127.0.0.1:{args[-1]}"
        self.started.append(proc)
        return proc

    def serve(self, database_url: str, *, scheduler: bool = False, name: str = "server", wait: bool = True) -> Proc:
        """``phoihop serve`` on a free port; with ``wait``, returns once /healthz answers."""
        proc = self._spawn(name, ["serve"], process_env(database_url, run_scheduler=str(scheduler).lower()))
        return self.wait_ready(proc)[0] if wait else proc

    def worker(self, database_url: str, *, name: str = "worker", wait: bool = True, **settings: str) -> Proc:
        """``phoihop worker`` (``settings``: more PHOIHOP_* of its own, by lower-case name); with ``wait``, returns once
        it announced itself (after migrating)."""
        proc = self._spawn(name, ["worker"], process_env(database_url, **settings))
        return self.wait_ready(proc)[0] if wait else proc

    def wait_ready(self, *procs: Proc, seconds: float = READY_SECONDS) -> list[Proc]:
        """Wait (bounded) until each process is ready. A server whose port was taken meanwhile is started again on
        another port; the list returned holds the processes that are running."""
        ready = []
        for proc in procs:
            for _attempt in range(3):
                try:
                    wait_until(proc.ready, seconds, proc)
                    break
                except RuntimeError:
                    if not (proc.is_server and "address already in use" in proc.output().lower()):
                        raise
                    proc = self._spawn(proc.name, proc.args, proc.env)
            ready.append(proc)
        return ready

    def stop_all(self, *, show_logs: bool) -> None:
        for proc in reversed(self.started):
            proc.stop()
        if show_logs:
            for proc in self.started:
                tail = "\n".join(proc.output().splitlines()[-150:])
                print(
                    f"\n===== {proc.name} (pid {proc.popen.pid}, exit {proc.popen.returncode}) {proc.log} =====\n{tail}"
                )


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON of ``response``, which must have ``status`` (the request and body in the message otherwise)."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def wait_until(ready: Callable[[], bool], seconds: float, proc: Proc) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()[-4000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready after {seconds} s:\n{proc.output()[-4000:]}")


@pytest.fixture
def processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all(show_logs=request.node.stash.get(FAILED, False))


def two_servers(processes: Processes, url: str) -> tuple[Proc, Proc]:
    """Servers A and B on one database, started side by side, timers off (workers or nobody fire them)."""
    a, b = processes.wait_ready(
        processes.serve(url, name="server-a", wait=False), processes.serve(url, name="server-b", wait=False)
    )
    return a, b


@pytest.fixture(scope="module")
def pg_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_database: str
) -> Iterator[tuple[Proc, Proc]]:
    """Servers A and B on the session's PostgreSQL database, emptied once, timers off; shared by the tests of a
    module (starting a pair costs seconds of both cores). Each test deploys and starts data of its own and looks at
    nothing else."""
    empty_database(pg_database)
    started = Processes(tmp_path_factory.mktemp("pg-servers"))
    try:
        yield two_servers(started, pg_database)
    finally:
        started.stop_all(show_logs=request.node.stash.get(FAILED, False))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file; the server migrates it when it starts."""
    return f"sqlite:///{tmp_path / 'phoihop.db'}"
