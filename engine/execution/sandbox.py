"""Restricted script engine for BPMN scripts, gateway conditions, timer and DMN expressions: the code the policy
compiled (engine.execution.sandbox_policy) run against task data.

Code runs against the builtins in ``sandbox_limits.HOOKS`` only. Limits: see ``sandbox_limits`` (CPU through
``Budget``, sizes through ``_check``/``_sized_getattr``/``flat_size``). Memory built by many small steps inside the time
budget (a list grown by ``append`` in a loop) is not measured: workers also need an OS memory limit. Data: see
``SandboxedEnvironment``.

Every failure is a ``ScriptError`` (or subclass) with fields ``line`` and ``expression`` (the offending line). Inside a
workflow SpiffWorkflow raises ``WorkflowTaskException`` with it as ``__cause__``: use ``unwrap_script_error``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, MappingView, MutableMapping
from datetime import date, datetime, timedelta
from types import CodeType, ModuleType
from typing import Any, NoReturn

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from phoihop.engine.errors import SandboxViolation, ScriptError
from phoihop.engine.execution.sandbox_limits import HOOKS, MAX_DATA_SIZE, MAX_ITEMS, Budget, flat_size
from phoihop.engine.execution.sandbox_policy import SCRIPT_FILENAME, Mode, compile_source, source_line
from phoihop.engine.execution.script_functions import FUNCTIONS
from phoihop.engine.variables import check_results

__all__ = ["SandboxedEnvironment", "SandboxedScriptEngine", "unwrap_script_error"]


# --- execution ----------------------------------------------------------------------------------------------------
def _raise_located(exc: Exception, source: str) -> NoReturn:
    if flat_size(exc.args, MAX_ITEMS) > MAX_ITEMS:  # KeyError(key) renders its key, maybe a giant aliased tuple
        exc.args = ("(value too large to show)",)
    line, tb = None, exc.__traceback__
    while tb is not None:  # innermost frame of the script itself
        line = tb.tb_lineno if tb.tb_frame.f_code.co_filename == SCRIPT_FILENAME else line
        tb = tb.tb_next
    err = (
        exc
        if isinstance(exc, ScriptError)
        else ScriptError(
            f"Script failed on line {line}: {type(exc).__name__}: {exc}",
            detail_vi=f"Kịch bản lỗi ở dòng {line}: {type(exc).__name__}: {exc}",
        )
    )
    if line is not None:
        err.fields.setdefault("line", line)
    err.fields.setdefault("expression", source_line(source, line))
    raise err from (None if err is exc else exc)


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), bytes, datetime, date, timedelta})
_CONTAINERS = (dict, list, tuple, set, frozenset)
_DATA_TOO_LARGE = (
    f"Result too large: task data over {MAX_DATA_SIZE} characters",
    f"Kết quả quá lớn: dữ liệu hơn {MAX_DATA_SIZE} ký tự",
)


def _is_runtime_object(value: Any) -> bool:
    return type(value) not in _PLAIN_TYPES and (
        callable(value) or isinstance(value, (ModuleType, Iterator, MappingView, range))
    )


def _refuse_nested(name: str, item: Any) -> None:
    if _is_runtime_object(item):
        kind = type(item).__name__
        raise SandboxViolation(
            f"'{name}' holds a {kind}; task data may only hold plain values",
            detail_vi=f"'{name}' chứa một {kind}; dữ liệu chỉ được chứa giá trị thường",
        )


def _task_data(scope: dict[str, Any], context: Mapping[str, Any], external: Mapping[str, Any]) -> dict[str, Any]:
    """The plain data of ``scope``; refused when it holds a runtime object in a container or, shared references
    counted every time (``[s] * 10**6``), would serialize to more than MAX_DATA_SIZE characters."""
    data, left = {}, MAX_DATA_SIZE
    for key, value in scope.items():
        if key.startswith("_") or (key in external and key not in context):
            continue
        if type(value) in _PLAIN_TYPES:
            left -= len(value) if isinstance(value, (str, bytes)) else 24
        elif _is_runtime_object(value):
            continue
        else:
            left -= flat_size(value, left, functools.partial(_refuse_nested, key))
        if left < 0:
            raise ScriptError(_DATA_TOO_LARGE[0], detail_vi=_DATA_TOO_LARGE[1])
        data[key] = value
    return data


class SandboxedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Runs cached restricted code on task data. SpiffWorkflow also calls it directly (``.environment.evaluate``).

    Globals are ``{**external_context, **task_data, **HOOKS}``: task data can never replace ``__builtins__`` or a
    hook. After ``execute`` only plain data goes back: ``_`` keys, functions, classes, modules and iterators are
    dropped, and refused (``SandboxViolation``) when nested in a container; data past MAX_DATA_SIZE (``flat_size``)
    is refused, as is a container ``evaluate`` would return past it.
    """

    def __init__(self, *, cpu_seconds: float = 1.0) -> None:
        if not cpu_seconds > 0:
            raise ValueError("cpu_seconds must be positive")
        super().__init__({})
        self.cpu_seconds = cpu_seconds

    def _prepare(
        self, source: str, mode: Mode, context: Mapping[str, Any], external: Mapping[str, Any] | None
    ) -> tuple[CodeType, dict[str, Any]]:
        code, uses_budget = compile_source(source, mode)
        # Calendar and clock functions first: a variable of the same name shadows one (and is kept on write-back).
        scope = {**FUNCTIONS, **external, **context, **HOOKS} if external else {**FUNCTIONS, **context, **HOOKS}
        if uses_budget:
            scope["_tick_"] = Budget(self.cpu_seconds).tick
        return code, scope

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        code, scope = self._prepare(expression, "eval", context, external_context)
        try:
            result = eval(code, scope)  # noqa: S307 - restricted code object, restricted globals
        except Exception as exc:
            _raise_located(exc, expression)
        if _is_runtime_object(result):  # not searched deeper: a condition may return the whole task data
            raise SandboxViolation(
                f"Expression returned a {type(result).__name__}, not a value",
                detail_vi=f"Biểu thức trả về một {type(result).__name__}, không phải giá trị",
            )
        if isinstance(result, _CONTAINERS) and flat_size(result, MAX_DATA_SIZE) > MAX_DATA_SIZE:
            raise ScriptError(_DATA_TOO_LARGE[0], detail_vi=_DATA_TOO_LARGE[1])
        return result

    def execute(
        self, script: str, context: MutableMapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        external = external_context or {}
        code, scope = self._prepare(script, "exec", context, external)
        try:
            exec(code, scope)  # noqa: S102 - restricted code object, restricted globals
        except Exception as exc:
            _raise_located(exc, script)
        updates = _task_data(scope, context, external)
        # checked like API input before anything is written back: the task fails, its data stays as it was
        check_results({k: v for k, v in updates.items() if context.get(k) is not v or isinstance(v, _CONTAINERS)})
        for key in [key for key in context if key not in updates]:  # deleted by the script, private, or not data
            del context[key]
        context.update(updates)
        return True  # SpiffWorkflow completes the task on True


class SandboxedScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Drop-in ``script_engine=`` for ``BpmnWorkflow``. Deserializing resets it: re-attach after every load."""

    def __init__(self, *, cpu_seconds: float = 1.0) -> None:
        super().__init__(environment=SandboxedEnvironment(cpu_seconds=cpu_seconds))

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
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
