"""The pool of script workers: the API process sends each script and each expression that the fast path
(engine.execution.sandbox_fast) cannot prove bounded to a worker process (engine.execution.sandbox_worker) and waits
for the answer, so that it never runs such code itself.

- Workers are plain interpreters (``python -P -m phoihop.engine.execution.sandbox_worker``) started with a minimal
  environment (no secret, no database URL), in ``/``, with no inherited file descriptor but their pipes; they start
  lazily (the first script), up to ``workers`` of them, and stay: one pipe message each way per job, compiled code
  cached in the worker. A job waits for a free worker when all are busy. Any thread may call ``run``.
- Limits: the worker's own ``RLIMIT_AS`` (``memory_mb``) and per-job ``RLIMIT_CPU`` (CPU time, as the sandbox's
  ``Budget``); here the job's wall clock (``wall_seconds``), the guard for a script that waits or is blocked without
  using CPU: past it the worker is killed (SIGKILL) and the job fails with a ``ScriptTimeout`` that names the wall
  clock (``exceeded`` "wall_seconds"). A killed or dead worker is replaced by the next job that needs one.
- Answers are unpickled with a whitelist (plain data, dates, UUID, Decimal): a worker someone broke into cannot
  make this process build anything else.
- ``close()`` ends every worker now (a later job starts new ones); ``close_all()`` closes every pool of the
  process (server stop, end of a test session, interpreter exit).
"""

from __future__ import annotations

import atexit
import builtins
import io
import os
import pickle
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any, Literal

from phoihop.engine.clock import SystemClock
from phoihop.engine.errors import SandboxViolation, ScriptError, ScriptTimeout
from phoihop.engine.execution import script_functions
from phoihop.engine.execution.sandbox_limits import cpu_timeout
from phoihop.engine.execution.sandbox_policy import source_line

__all__ = ["ScriptPool", "close_all", "shared_pool"]

Op = Literal["eval", "exec"]
START_SECONDS = 60.0  # a worker that has not said "ready" by then (a machine under heavy load) is given up
_SIGKILL, _SIGXCPU = -signal.SIGKILL, -signal.SIGXCPU  # a worker's return code when the pool or the kernel ended it
_ERRORS: dict[str, type[ScriptError]] = {c.__name__: c for c in (ScriptError, SandboxViolation, ScriptTimeout)}
_ALLOWED_GLOBALS = frozenset(
    {
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        ("decimal", "Decimal"),
    }
)


class _Answers(pickle.Unpickler):
    """Unpickles plain data only: containers, scalars, and the classes in _ALLOWED_GLOBALS."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not data")


class _Unused(Exception):
    """The worker had died before it was sent the job."""


def _worker_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    env = {"PYTHONPATH": path, "PYTHONHASHSEED": "random", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("PATH", "PYTHONPYCACHEPREFIX"):  # the cache prefix: the worker reads the bytecode its server wrote
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _timeout(source: str, code: int, cpu_seconds: float, wall_seconds: float) -> ScriptTimeout:
    """The timeout of a worker stopped from outside: by the kernel's CPU-time limit (SIGXCPU, inside a long native
    call: the sandbox's CPU error, ``stopped_by`` "cpu_rlimit") or by this pool's wall clock (SIGKILL: ``exceeded``
    "wall_seconds", ``stopped_by`` "wall_clock"). The line is unknown, the expression is the source's start."""
    expression = source_line(source, None)
    if code == _SIGXCPU:
        return cpu_timeout(cpu_seconds, expression=expression, stopped_by="cpu_rlimit")
    return ScriptTimeout(
        f"Script exceeded its wall-clock time limit of {wall_seconds:g} s"
        " (it waited, was blocked or the server was overloaded)",
        detail_vi=f"Kịch bản chạy quá thời gian thực cho phép ({wall_seconds:g} giây):"
        " kịch bản phải chờ, bị chặn hoặc máy chủ quá tải",
        expression=expression,
        exceeded="wall_seconds",
        limit_seconds=wall_seconds,
        stopped_by="wall_clock",
    )


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        job_read, job_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, this package's module
                [sys.executable, "-P", "-m", "phoihop.engine.execution.sandbox_worker", str(memory_mb)],
                stdin=job_read,
                stdout=reply_write,
                env=_worker_env(),
                cwd="/",
                close_fds=True,
                start_new_session=True,  # Ctrl+C in the server's terminal is the server's to handle
            )
        except BaseException:
            for fd in (job_read, job_write, reply_read, reply_write):
                os.close(fd)
            raise
        os.close(job_read)
        os.close(reply_write)
        self.jobs, self.replies = Connection(job_write, readable=False), Connection(reply_read, writable=False)
        self.retiring = False
        if not self.replies.poll(START_SECONDS) or self.replies.recv_bytes() != b"ready":
            self.kill()
            raise ScriptError("The script worker did not start", detail_vi="Không khởi động được tiến trình kịch bản")

    def call(self, job: bytes, wall_seconds: float) -> bytes | None:
        """The answer, or None when the worker did not answer in time or died (it is then killed). ``retiring`` is
        set when the worker said it ends after this answer."""
        try:
            self.jobs.send_bytes(job)
        except OSError:  # it died while idle: the job never started
            self.kill()
            raise _Unused from None
        try:
            if self.replies.poll(wall_seconds):
                answer = self.replies.recv_bytes()
                self.retiring = answer[:1] == b"1"
                return answer[1:]
        except (OSError, EOFError):
            pass
        self.kill()
        return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.jobs.close()
        self.replies.close()


class ScriptPool:
    """Up to ``workers`` script worker processes, each under ``memory_mb`` of address space."""

    def __init__(self, workers: int = 2, *, memory_mb: int = 512) -> None:
        if workers < 1 or memory_mb < 64:
            raise ValueError("a pool needs at least 1 worker of 64 MB or more")
        self.workers, self.memory_mb = workers, memory_mb
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._starting = 0
        self._changed = threading.Condition()
        _POOLS.add(self)

    # --- jobs ---------------------------------------------------------------------------------------------------------
    def run(
        self,
        op: Op,
        source: str,
        context: Mapping[str, Any],
        external: Mapping[str, Any] | None,
        cpu_seconds: float,
        wall_seconds: float,
    ) -> Any:
        """What ``sandbox_run.evaluate_here`` (op "eval") or ``execute_here`` (op "exec") would return, computed in a
        worker under ``cpu_seconds`` of CPU time; a ``ScriptError`` as they would raise it (``ScriptTimeout`` past
        the CPU limit or, waiting, past ``wall_seconds``)."""
        job = _job(op, source, context, external, cpu_seconds)
        for attempt in (1, 2):
            worker = self._acquire()
            try:
                answer = worker.call(job, wall_seconds)
            except _Unused:
                self._release(worker, False)
                if attempt == 2:
                    raise ScriptError(
                        "The script worker ended before it could run the script",
                        detail_vi="Tiến trình chạy kịch bản đã dừng trước khi chạy",
                    ) from None
                continue
            except BaseException:  # this thread was interrupted: the worker's state is unknown, it goes
                self._release(worker, False)
                raise
            break
        self._release(worker, answer is not None and not worker.retiring)
        if answer is None:
            code = worker.process.returncode
            if code in (_SIGKILL, _SIGXCPU):  # our wall clock, its CPU limit
                raise _timeout(source, code, cpu_seconds, wall_seconds)
            raise ScriptError(
                f"Script stopped: its worker process ended (exit code {code})",
                detail_vi=f"Kịch bản bị dừng: tiến trình chạy kịch bản đã kết thúc (mã {code})",
            )
        return _reply(answer)

    def warm(self) -> None:
        """Start every worker now (benchmarks, tests that time a first script)."""
        started = [self._acquire() for _ in range(self.workers)]
        for worker in started:
            self._release(worker, True)

    def _acquire(self) -> _Worker:
        with self._changed:
            while not self._idle and len(self._all) + self._starting >= self.workers:
                self._changed.wait()
            if self._idle:
                return self._idle.pop()
            self._starting += 1
        worker = None
        try:
            worker = _Worker(self.memory_mb)
            return worker
        finally:
            with self._changed:
                self._starting -= 1
                if worker is not None:
                    self._all.add(worker)
                self._changed.notify()

    def _release(self, worker: _Worker, alive: bool) -> None:
        with self._changed:
            if alive and worker.process.poll() is None and worker in self._all:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                if worker.process.poll() is None:
                    worker.kill()
            self._changed.notify()

    # --- lifecycle ----------------------------------------------------------------------------------------------------
    @property
    def pids(self) -> list[int]:
        with self._changed:
            return sorted(w.process.pid for w in self._all)

    def close(self) -> None:
        """End every worker now; a busy one's job fails as if the worker had died."""
        with self._changed:
            workers, self._idle, self._all = list(self._all), [], set()
            self._changed.notify_all()
        for worker in workers:
            worker.kill()


def _job(op: Op, source: str, context: Mapping[str, Any], external: Mapping[str, Any] | None, cpu: float) -> bytes:
    scripting = script_functions.current_context()
    now = None if type(scripting.clock) is SystemClock else scripting.clock.now()
    data = {k: v for k, v in context.items() if not k.startswith("_")}  # unreadable by scripts, dropped after them
    try:
        return pickle.dumps(
            (op, source, data, dict(external or {}), cpu, now, _calendar_blob(scripting.calendar),
             (scripting.green_lane_cut, scripting.consultation_days)),
            protocol=5,
        )  # fmt: skip
    except Exception as exc:  # a task data value that cannot leave the process
        raise ScriptError(
            f"Task data cannot be passed to the script: {type(exc).__name__}: {exc}"[:500],
            detail_vi="Không chuyển được dữ liệu của công việc cho kịch bản",
        ) from exc


_BLOBS: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()
_BLOBS_LOCK = threading.Lock()


def _calendar_blob(calendar: Any) -> bytes:
    with _BLOBS_LOCK:
        blob = _BLOBS.get(calendar)
        if blob is None:
            blob = _BLOBS[calendar] = pickle.dumps(calendar, protocol=5)
        return blob


def _reply(answer: bytes) -> Any:
    try:
        reply = _Answers(io.BytesIO(answer)).load()
    except Exception as exc:
        raise SandboxViolation(
            f"The script returned a value that is not data: {exc}"[:500],
            detail_vi="Kịch bản trả về giá trị không phải dữ liệu",
        ) from None
    if reply[0] == "ok":
        return reply[1]
    _, kind, detail, detail_vi, fields, cause_kind, cause_args = reply
    err = _ERRORS.get(kind, ScriptError)(detail, detail_vi=detail_vi, **fields)
    cause = _builtin_exception(cause_kind, cause_args)
    if cause is not None:
        raise err from cause
    raise err


def _builtin_exception(kind: str | None, args: tuple[Any, ...]) -> BaseException | None:
    """The worker's cause (``KeyError``, ``ZeroDivisionError``...) as the same built-in exception, its arguments as
    text."""
    cls = getattr(builtins, kind or "", None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(*args)
        except Exception:
            return None
    return None


# --- the process's pools --------------------------------------------------------------------------------------------
_POOLS: weakref.WeakSet[ScriptPool] = weakref.WeakSet()
_SHARED: dict[tuple[int, int], ScriptPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(workers: int = 2, memory_mb: int = 512) -> ScriptPool:
    """The process's pool of this size: engines built in one process (a server has one; the tests build hundreds)
    share their workers."""
    with _SHARED_LOCK:
        pool = _SHARED.get((workers, memory_mb))
        if pool is None:
            pool = _SHARED[(workers, memory_mb)] = ScriptPool(workers, memory_mb=memory_mb)
        return pool


def close_all() -> None:
    """End the workers of every pool of this process."""
    for pool in list(_POOLS):
        pool.close()


atexit.register(close_all)
