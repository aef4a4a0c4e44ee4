"""Running compiled sandbox code in this process: what a script worker (engine.execution.sandbox_worker) does with
every job, and what the API process does only for the expressions engine.execution.sandbox_fast proves bounded.

Code runs against the builtins in ``sandbox_limits.HOOKS`` only. Limits: see ``sandbox_limits`` (CPU through
``Budget``, sizes through ``_check``/``_sized_getattr``/``flat_size``). What no check here can stop (one native call
that holds the GIL for minutes, memory built by many small steps) is stopped by the worker process's limits.

Every failure is a ``ScriptError`` (or subclass) with fields ``line`` and ``expression`` (the offending line). Imports
no SpiffWorkflow, so that a worker starts light.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, MappingView
from datetime import date, datetime, timedelta
from types import CodeType, ModuleType
from typing import Any, NoReturn

from phoihop.engine.errors import SandboxViolation, ScriptError
from phoihop.engine.execution.sandbox_limits import HOOKS, MAX_DATA_SIZE, MAX_ITEMS, Budget, flat_size
from phoihop.engine.execution.sandbox_policy import SCRIPT_FILENAME, Mode, compile_source, source_line
from phoihop.engine.execution.script_functions import FUNCTIONS

__all__ = ["DATA_TOO_LARGE", "evaluate_here", "execute_here", "raise_located", "scope_of"]


def raise_located(exc: Exception, source: str) -> NoReturn:
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
DATA_TOO_LARGE = (
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
            raise ScriptError(DATA_TOO_LARGE[0], detail_vi=DATA_TOO_LARGE[1], exceeded="max_data_size")
        data[key] = value
    return data


def scope_of(
    context: Mapping[str, Any], external: Mapping[str, Any] | None, hooks: Mapping[str, Any] = HOOKS
) -> dict[str, Any]:
    """Globals of a run: calendar and clock functions first (a variable of the same name shadows one and is kept on
    write-back), then the external context, the task data, and the hooks last (data can never replace them)."""
    return {**FUNCTIONS, **external, **context, **hooks} if external else {**FUNCTIONS, **context, **hooks}


def _prepare(
    source: str, mode: Mode, context: Mapping[str, Any], external: Mapping[str, Any] | None, cpu_seconds: float
) -> tuple[CodeType, dict[str, Any]]:
    code, uses_budget = compile_source(source, mode)
    scope = scope_of(context, external)
    if uses_budget:
        scope["_tick_"] = Budget(cpu_seconds).tick
    return code, scope


def check_value(result: Any) -> Any:
    """What an expression may return: a value, not a function, and no container past MAX_DATA_SIZE."""
    if _is_runtime_object(result):  # not searched deeper: a condition may return the whole task data
        raise SandboxViolation(
            f"Expression returned a {type(result).__name__}, not a value",
            detail_vi=f"Biểu thức trả về một {type(result).__name__}, không phải giá trị",
        )
    if isinstance(result, _CONTAINERS) and flat_size(result, MAX_DATA_SIZE) > MAX_DATA_SIZE:
        raise ScriptError(DATA_TOO_LARGE[0], detail_vi=DATA_TOO_LARGE[1], exceeded="max_data_size")
    return result


def evaluate_here(
    expression: str, context: Mapping[str, Any], external: Mapping[str, Any] | None, cpu_seconds: float
) -> Any:
    """``expression`` evaluated in this process."""
    code, scope = _prepare(expression, "eval", context, external, cpu_seconds)
    try:
        result = eval(code, scope)  # noqa: S307 - restricted code object, restricted globals
    except Exception as exc:
        raise_located(exc, expression)
    return check_value(result)


def execute_here(
    script: str, context: Mapping[str, Any], external: Mapping[str, Any] | None, cpu_seconds: float
) -> dict[str, Any]:
    """``script`` run in this process on ``context``; returns the task data it leaves (``context`` itself may have
    been changed in place: nested containers are shared)."""
    external = external or {}
    code, scope = _prepare(script, "exec", context, external, cpu_seconds)
    try:
        exec(code, scope)  # noqa: S102 - restricted code object, restricted globals
    except Exception as exc:
        raise_located(exc, script)
    return _task_data(scope, context, external)
