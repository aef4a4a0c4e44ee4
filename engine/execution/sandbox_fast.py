"""The in-process fast path of the script sandbox: the few expressions the API process may evaluate itself, because
their cost is proved bounded. Everything else (every script task, any expression with a loop, a comprehension, an
attribute, a call outside a short list, ``**``) runs in a worker process (engine.execution.sandbox_pool).

The proof has two halves:

- at compile time (``bounded_names``, cached per source): a short expression (at most ``MAX_SOURCE`` characters)
  built only from names, constants, comparisons, ``and``/``or``/``not``, ``+ - * / // %``, unary ``- + ~``,
  ``a if c else b``, subscripts, tuple/list/set displays, and calls of the calendar functions
  (``working_days(1 if urgent else 5)``) or a few builtins of constant cost. The number of operations is then bounded
  by the source length;
- at run time (``run_fast``): every name it reads holds a small value (``flat_size`` at most ``SMALL``: a scalar, a
  short string, a small record), and ``*`` only multiplies numbers, or a string into one of at most ``SMALL``
  characters. No operation can then amplify its inputs, so each costs at most about ``MAX_SOURCE × SMALL`` steps.

When the run-time half fails, ``run_fast`` answers ``NOT_FAST`` and the caller sends the expression to the pool: the
result is the same, only the place differs.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

from phoihop.engine.execution.sandbox_limits import HOOKS, MAX_INT_BITS, Budget, flat_size
from phoihop.engine.execution.sandbox_policy import compile_source
from phoihop.engine.execution.sandbox_run import check_value, raise_located, scope_of
from phoihop.engine.execution.script_functions import FUNCTIONS

__all__ = ["MAX_SOURCE", "NOT_FAST", "SMALL", "bounded_names", "run_fast"]

MAX_SOURCE = 300  # characters of an expression the fast path takes
SMALL = 10_000  # flat_size of a value the fast path reads
NOT_FAST: Final = object()

_BUILTINS = ("len", "abs", "int", "float", "bool", "str", "min", "max", "date", "datetime", "timedelta")
_CALLABLE = frozenset(FUNCTIONS) | frozenset(_BUILTINS)
_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
    ast.Not, ast.USub, ast.UAdd, ast.Invert, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.IfExp, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Set, ast.Call, ast.keyword,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)  # fmt: skip


class _NotFast(Exception):
    """Raised by a fast hook: the expression leaves the bounds; the pool evaluates it."""


@functools.lru_cache(maxsize=4096)
def bounded_names(expression: str) -> frozenset[str] | None:
    """The names a provably bounded expression reads (for the run-time half), or None when it is not one."""
    if len(expression) > MAX_SOURCE:
        return None
    try:
        tree = ast.parse(expression.lstrip(" \t"), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: set[str] = set()
    callees: set[int] = set()  # the Name nodes called: a function of the short list, never handed on as a value
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            return None
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _CALLABLE):
                return None
            if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
                return None
            callees.add(id(node.func))
        elif isinstance(node, ast.Name) and id(node) not in callees:
            names.add(node.id)
    return frozenset(names)


def _small(value: Any) -> bool:
    kind = type(value)
    if kind is int:
        return bool(value.bit_length() <= 64)
    if kind is float or kind is bool or value is None or kind in (date, datetime, timedelta):
        return True
    return flat_size(value, SMALL) <= SMALL


def _mul(a: Any, b: Any) -> Any:
    """``*`` of numbers (ints up to MAX_INT_BITS), of a timedelta by a number, or a string repeated into at most SMALL
    characters; anything else (``[x] * n``: shared references that a comparison would walk n times) goes to the pool."""
    kinds = (type(a), type(b))
    if all(kind in (int, float, bool) for kind in kinds):
        if int in kinds and float not in kinds and abs(a).bit_length() + abs(b).bit_length() > MAX_INT_BITS:
            raise _NotFast
        return a * b
    if timedelta in kinds and (int in kinds or float in kinds):
        return a * b
    text, count = (a, b) if isinstance(a, (str, bytes)) else (b, a)
    if isinstance(text, (str, bytes)) and type(count) is int and len(text) * count <= SMALL:
        return text * count
    raise _NotFast


def _add(a: Any, b: Any) -> Any:
    if (
        isinstance(a, (str, bytes, list, tuple))
        and isinstance(b, (str, bytes, list, tuple))
        and len(a) + len(b) > SMALL
    ):
        raise _NotFast
    return a + b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):  # %-formatting: the pool's hook measures it
        raise _NotFast
    return a % b


_FAST_HOOKS: dict[str, Any] = {
    **HOOKS,
    "__builtins__": {name: HOOKS["__builtins__"][name] for name in (*_BUILTINS, "True", "False", "None")},
    "_mul_": _mul,
    "_add_": _add,
    "_mod_": _mod,
}


def run_fast(
    expression: str, context: Mapping[str, Any], external: Mapping[str, Any] | None, cpu_seconds: float
) -> Any:
    """``expression`` evaluated here when both halves of the proof hold; ``NOT_FAST`` otherwise (nothing ran, or
    what ran had no effect: these expressions call nothing that changes anything)."""
    names = bounded_names(expression)
    if names is None:
        return NOT_FAST
    outer = external or {}
    for name in names:
        if name in context:
            value = context[name]
        elif name in outer:
            value = outer[name]
        else:
            return NOT_FAST  # an unknown name: the pool raises the NameError, or finds a builtin the fast path lacks
        if not _small(value):
            return NOT_FAST
    code, uses_budget = compile_source(expression, "eval")
    scope = scope_of(context, external, _FAST_HOOKS)
    if uses_budget:
        scope["_tick_"] = Budget(cpu_seconds).tick
    try:
        result = eval(code, scope)  # noqa: S307 - restricted code object, restricted globals
    except _NotFast:
        return NOT_FAST
    except Exception as exc:
        raise_located(exc, expression)
    return check_value(result)
