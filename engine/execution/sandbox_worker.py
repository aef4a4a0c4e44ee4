"""A script worker: the process that runs user scripts and expressions for the API process, one job at a time
(``python -m phoihop.engine.execution.sandbox_worker MEMORY_MB``; engine.execution.sandbox_pool starts it).

It sets its own hard limits before it reads a job: address space (``RLIMIT_AS``, MEMORY_MB), no core files, and for
each job a CPU-time limit (``RLIMIT_CPU``, whole seconds: the job's budget and 1–2 s more on top of what it has used;
the sandbox's ``Budget``, which counts the same CPU time, stops a script that ticks first, and the kernel ends the
worker with SIGXCPU even inside one long native call). The pool's wall clock kills it past that.

Protocol, one message each way per job over its standard input and output (``multiprocessing.connection`` frames,
pickle protocol 5): ``(op, source, context, external, cpu_seconds, clock_now, calendar, (green_lane_cut,
consultation_days))`` in; ``b"0"`` (``b"1"`` when the worker ends after this answer) then ``("ok", value)`` or
``("error", kind, detail, detail_vi, fields, cause_kind, cause_args)`` out; ``b"ready"`` once at start. After a
MemoryError it answers and exits: what such a script left behind is not trusted. It exits when its input closes.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from phoihop.engine.clock import SystemClock
from phoihop.engine.errors import SandboxViolation, ScriptError, ScriptTimeout
from phoihop.engine.execution import sandbox_run, script_functions
from phoihop.engine.execution.script_functions import ScriptContext

__all__ = ["main"]

_KINDS = (ScriptTimeout, SandboxViolation, ScriptError)  # most specific first
_CPU_MARGIN = 2  # whole seconds: 1–2 s of CPU time past a job's budget before the kernel ends the worker


class _FrozenClock:
    """The command's clock as it read when the job was sent (a test's FakeClock, the server's clock)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _limit_cpu(cpu_seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + cpu_seconds) + _CPU_MARGIN
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _address_space_bytes() -> int:
    """What RLIMIT_AS counts now (VmSize); the peak resident size where /proc is not there."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _error(err: ScriptError) -> tuple[Any, ...]:
    kind = next(k.__name__ for k in _KINDS if isinstance(err, k))
    cause = err.__cause__
    fields = {k: v for k, v in err.fields.items() if isinstance(v, (str, int, float))}
    cause_kind = type(cause).__name__ if cause is not None else None
    cause_args = tuple(a if isinstance(a, (int, float)) else str(a)[:1000] for a in cause.args[:4]) if cause else ()
    return ("error", kind, err.detail, err.detail_vi, fields, cause_kind, cause_args)


def _too_large(memory_mb: int) -> ScriptError:
    return ScriptError(
        f"Result too large: the script needed more than {memory_mb} MB of memory",
        detail_vi=f"Kết quả quá lớn: kịch bản cần hơn {memory_mb} MB bộ nhớ",
        exceeded="memory_mb",
        limit_mb=memory_mb,
    )


def _run(job: tuple[Any, ...], calendars: dict[bytes, Any]) -> Any:
    op, source, context, external, cpu_seconds, clock_now, calendar_blob, (green_lane_cut, consultation_days) = job
    calendar = calendars.get(calendar_blob)
    if calendar is None:
        calendars.clear()  # one calendar at a time: it changes when an officer edits the override table
        calendar = calendars[calendar_blob] = pickle.loads(calendar_blob)  # noqa: S301 - from the parent
    clock = SystemClock() if clock_now is None else _FrozenClock(clock_now)
    _limit_cpu(cpu_seconds)
    with script_functions.using_context(ScriptContext(clock, calendar, green_lane_cut, consultation_days)):
        if op == "eval":
            return sandbox_run.evaluate_here(source, context, external, cpu_seconds)
        return sandbox_run.execute_here(source, context, external, cpu_seconds)


def _answer(reply: tuple[Any, ...], memory_mb: int) -> bytes:
    try:
        return pickle.dumps(reply, protocol=5)
    except MemoryError:
        return pickle.dumps(_error(_too_large(memory_mb)), protocol=5)
    except Exception as exc:  # a value that is not data (a lambda inside a returned list)
        violation = SandboxViolation(
            f"The script returned a value that is not data: {type(exc).__name__}",
            detail_vi="Kịch bản trả về giá trị không phải dữ liệu",
        )
        return pickle.dumps(_error(violation), protocol=5)


def main() -> None:
    memory_mb = int(sys.argv[1])
    out_fd = os.dup(1)
    os.dup2(2, 1)  # nothing the worker prints can corrupt the protocol
    jobs, replies = Connection(0, writable=False), Connection(out_fd, readable=False)
    _limit_memory(memory_mb)
    calendars: dict[bytes, Any] = {}
    replies.send_bytes(b"ready")
    while True:
        try:
            job = pickle.loads(jobs.recv_bytes())  # noqa: S301 - from the parent that started this process
        except EOFError:
            return
        retire = False
        try:
            reply: tuple[Any, ...] = ("ok", _run(job, calendars))
        except ScriptError as err:
            retire = isinstance(err.__cause__, MemoryError)
            if retire:
                located, err = err, _too_large(memory_mb)
                err.fields.update(located.fields)
            reply = _error(err)
        except MemoryError:
            retire, reply = True, _error(_too_large(memory_mb))
        except Exception as exc:  # not the script's doing (no ScriptError): reported all the same, never a crash
            what = f"{type(exc).__name__}: {exc}"[:1000]
            reply = _error(ScriptError(f"Script failed: {what}", detail_vi=f"Kịch bản lỗi: {what}"))
        job = None
        # a worker whose heap kept half its allowance after a big script (freed memory is not always given back)
        # retires: the next script gets a fresh worker with its whole allowance, never the leftovers of another's
        retire = retire or _address_space_bytes() > memory_mb * 1024 * 1024 // 2
        replies.send_bytes((b"1" if retire else b"0") + _answer(reply, memory_mb))
        if retire:
            return


if __name__ == "__main__":
    main()
