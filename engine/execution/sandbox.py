"""Restricted script engine for BPMN scripts, gateway conditions, timer and DMN expressions: the code the policy
compiled (engine.execution.sandbox_policy) run against task data.

Where code runs: an expression the fast path proves bounded (engine.execution.sandbox_fast: comparisons, arithmetic on
small values, ``working_days(...)``) runs here; every script and every other expression runs in a worker process of
the pool (engine.execution.sandbox_pool), under its CPU, memory and wall-clock limits, so that no script can hold
this process's GIL or memory. Time is limited twice: ``cpu_seconds`` of CPU time (the sandbox's ``Budget``, the
worker's ``RLIMIT_CPU``) for a script that computes, ``wall_seconds`` of waiting for the worker's answer for a script
that waits or is blocked. What runs, and how it is limited, is the same in both places (engine.execution
.sandbox_run): builtins of ``sandbox_limits.HOOKS`` only, the CPU ``Budget``, the size checks.

Every failure is a ``ScriptError`` (or subclass) with fields ``line`` and ``expression`` (the offending line). Inside a
workflow SpiffWorkflow raises ``WorkflowTaskException`` with it as ``__cause__``: use ``unwrap_script_error``.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from phoihop.engine.errors import ScriptError
from phoihop.engine.execution.sandbox_fast import NOT_FAST, run_fast
from phoihop.engine.execution.sandbox_pool import ScriptPool, shared_pool
from phoihop.engine.variables import check_results

__all__ = ["SandboxedEnvironment", "SandboxedScriptEngine", "unwrap_script_error"]


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _same(context: Mapping[str, Any], key: str, value: Any) -> bool:
    return key in context and type(context[key]) is type(value) and bool(context[key] == value)


class SandboxedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Runs restricted code on task data. SpiffWorkflow also calls it directly (``.environment.evaluate``).

    Globals are ``{**external_context, **task_data, **HOOKS}``: task data can never replace ``__builtins__`` or a
    hook. After ``execute`` only plain data goes back: ``_`` keys, functions, classes, modules and iterators are
    dropped, and refused (``SandboxViolation``) when nested in a container; data past MAX_DATA_SIZE (``flat_size``)
    is refused, as is a container ``evaluate`` would return past it. ``pool``: the workers (default: the process's
    shared pool of 2 workers of 512 MB, started on first use). ``wall_seconds`` (at least ``cpu_seconds``) bounds
    the wait for a worker's answer.
    """

    def __init__(self, *, cpu_seconds: float = 1.0, wall_seconds: float = 5.0, pool: ScriptPool | None = None) -> None:
        if not 0 < cpu_seconds <= wall_seconds:
            raise ValueError("cpu_seconds must be positive and wall_seconds at least cpu_seconds")
        super().__init__({})
        self.cpu_seconds, self.wall_seconds = cpu_seconds, wall_seconds
        self._pool = pool

    @property
    def pool(self) -> ScriptPool:
        if self._pool is None:
            self._pool = shared_pool()
        return self._pool

    def evaluate(
        self, expression: str | None, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        if expression is None or not expression.strip():  # an empty <bpmn:condition/> reaches here as None
            raise ScriptError("the expression is empty", detail_vi="biểu thức trống")
        result = run_fast(expression, context, external_context, self.cpu_seconds)
        if result is NOT_FAST:
            result = self.pool.run("eval", expression, context, external_context, self.cpu_seconds, self.wall_seconds)
        return result

    def execute(
        self, script: str, context: MutableMapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        updates = self.pool.run("exec", script, context, external_context, self.cpu_seconds, self.wall_seconds)
        # checked like API input before anything is written back: the task fails, its data stays as it was (values
        # come back from the worker as copies: a value is new when it differs; a container may hide a change)
        check_results({k: v for k, v in updates.items() if isinstance(v, _CONTAINERS) or not _same(context, k, v)})
        for key in [key for key in context if key not in updates]:  # deleted by the script, private, or not data
            del context[key]
        context.update(updates)
        return True  # SpiffWorkflow completes the task on True


class SandboxedScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Drop-in ``script_engine=`` for ``BpmnWorkflow``. Deserializing resets it: re-attach after every load."""

    def __init__(self, *, cpu_seconds: float = 1.0, wall_seconds: float = 5.0, pool: ScriptPool | None = None) -> None:
        super().__init__(
            environment=SandboxedEnvironment(cpu_seconds=cpu_seconds, wall_seconds=wall_seconds, pool=pool)
        )

    def evaluate(self, task: Any, expression: str | None, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as err:
            raise _task_exception(task, err, f"Error evaluating expression '{expression}'") from err

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        if not isinstance(err, ScriptError):
            return super().create_task_exec_exception(task, script, err)  # type: ignore[no-any-return]
        wrapped = _task_exception(task, err, "Error executing script")
        wrapped.__cause__ = err  # the base class raises it without "from"
        return wrapped


def _task_exception(task: Any, err: ScriptError, prefix: str) -> Exception:
    return WorkflowTaskException(  # type: ignore[no-any-return]
        f"{prefix}: {err.detail}",
        task=task,
        exception=err,
        line_number=err.fields.get("line"),
        error_line=err.fields.get("expression", ""),
    )


def unwrap_script_error(exc: BaseException) -> ScriptError | None:
    """The ``ScriptError`` behind ``exc``: itself or the first found through ``__cause__``, then ``__context__``."""
    stack, seen = [exc], set()
    while stack:
        current = stack.pop()
        if isinstance(current, ScriptError):
            return current
        seen.add(id(current))
        stack.extend(e for e in (current.__context__, current.__cause__) if e is not None and id(e) not in seen)
    return None
