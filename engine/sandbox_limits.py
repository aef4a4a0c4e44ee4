"""Run-time limits of the script sandbox: what the code ``sandbox._Policy`` transforms calls instead of the native
operation, so that no single step builds a result too large, and the CPU budget that loops, comprehensions and lambda
calls tick.

Sizes: ``_check`` refuses ``+ * ** << %`` (and their in-place forms) whose result would pass ``MAX_ITEMS`` items,
``MAX_INT_BITS`` bits or ``MAX_FORMAT_WIDTH``; ``_sized_getattr`` does the same for the ``SIZED_METHODS`` of
str/bytes/int; ``range``, ``sum`` and ``f(*args)`` are bounded too. Time: ``Budget`` (CPU, no signals: scripts run in
worker threads). Every refusal is a ``ScriptError`` (``ScriptTimeout``, ``SandboxViolation``) with English and
Vietnamese text. ``HOOKS`` is what every globals dict of a script ends with.
"""

from __future__ import annotations

import builtins
import functools
import operator
import re
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from .errors import SandboxViolation, ScriptError, ScriptTimeout

__all__ = ["CLOCK_EVERY", "HOOKS", "MAX_FORMAT_WIDTH", "MAX_INT_BITS", "MAX_ITEMS", "MAX_STAR_ARGS", "SIZED_METHODS",
           "TOO_WIDE", "Budget", "is_wide"]

MAX_ITEMS = 1_000_000  # range() length; items in a str/bytes/list/tuple built by a guarded operation
MAX_INT_BITS = 100_000  # about 30 000 decimal digits
MAX_FORMAT_WIDTH = 10_000  # width/precision in f-string specs and % formatting
MAX_STAR_ARGS = 256  # f(*rows) with more positional arguments is refused (zip(*rows) amplification)
CLOCK_EVERY = 16  # budget ticks between two clock reads
SIZED_METHODS = frozenset(
    {"join", "replace", "ljust", "rjust", "center", "zfill", "expandtabs", "translate", "to_bytes"}
)
_IOPS: dict[str, Callable[[Any, Any], Any]] = dict(zip(
    ("+=", "-=", "*=", "/=", "//=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "@="),
    (operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ifloordiv, operator.imod,
     operator.ipow, operator.ilshift, operator.irshift, operator.iand, operator.ior, operator.ixor, operator.imatmul),
    strict=True,
))
_SEQUENCES = (str, bytes, list, tuple)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_TOO_MANY_ITEMS = (f"more than {MAX_ITEMS} items", f"hơn {MAX_ITEMS} phần tử")
_TOO_MANY_BITS = (f"integer over {MAX_INT_BITS} bits", f"số nguyên hơn {MAX_INT_BITS} bit")
TOO_WIDE = (f"format width over {MAX_FORMAT_WIDTH}", f"độ rộng định dạng hơn {MAX_FORMAT_WIDTH}")


def _too_large(en: str, vi: str) -> ScriptError:
    return ScriptError(f"Result too large: {en}", detail_vi=f"Kết quả quá lớn: {vi}")


def is_wide(digits: str | None) -> bool:
    """Whether a width or precision (``*`` or digits) of a format spec could pass ``MAX_FORMAT_WIDTH``."""
    return digits == "*" or bool(digits and (len(digits) > 6 or int(digits) > MAX_FORMAT_WIDTH))


def _check(op: str, a: Any, b: Any) -> None:
    """Refuse ``a <op> b`` before it runs if its result would be too large."""
    if isinstance(a, int) and isinstance(b, int):
        bits = 0
        if op == "*":
            bits = a.bit_length() + b.bit_length()
        elif op == "**" and abs(a) > 1:
            bits = a.bit_length() * b
        elif op == "<<" and a:
            bits = a.bit_length() + b
        if bits > MAX_INT_BITS:
            raise _too_large(*_TOO_MANY_BITS)
    elif op == "%" and isinstance(a, (str, bytes)):
        text = a.decode("latin-1") if isinstance(a, bytes) else a
        if "%" in text and any(is_wide(m[1]) or is_wide(m[2]) for m in _PERCENT_SPEC.finditer(text)):
            raise _too_large(*TOO_WIDE)
    elif op == "+" and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        if len(a) + len(b) > MAX_ITEMS:
            raise _too_large(*_TOO_MANY_ITEMS)
    elif op == "*":
        seq, count = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
        if isinstance(seq, _SEQUENCES) and isinstance(count, int) and len(seq) * count > MAX_ITEMS:
            raise _too_large(*_TOO_MANY_ITEMS)


def _binop(symbol: str, op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    _check(symbol, a, b)
    return op(a, b)


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    _check(op[:-1], target, value)
    return _IOPS[op](target, value)


def _write(obj: Any) -> Any:
    if isinstance(obj, (dict, list)):
        return obj
    kind = type(obj).__name__
    raise SandboxViolation(f"Only dict and list items can be assigned, not items of {kind}",
                           detail_vi=f"Chỉ được gán phần tử của dict hoặc list, không phải của {kind}")


def _inplace_item(container: Any, key: Any, op: str, value: Any) -> None:
    _write(container)[key] = _inplacevar(op, container[key], value)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if len(args) > MAX_STAR_ARGS:
        raise _too_large(f"more than {MAX_STAR_ARGS} unpacked arguments", f"hơn {MAX_STAR_ARGS} đối số")
    return func(*args, **kwargs)


def _sum(values: Any, /, start: Any = 0) -> Any:
    if not isinstance(start, (int, float, timedelta)):  # sum(lists, []) concatenates: quadratic and unbounded
        raise SandboxViolation("sum() only adds numbers", detail_vi="sum() chỉ dùng để cộng các số")
    return sum(values, start)


def _range(*args: int) -> range:
    span = range(*args)
    if len(span[: MAX_ITEMS + 1]) > MAX_ITEMS:  # len(span) itself overflows past sys.maxsize
        raise _too_large(*_TOO_MANY_ITEMS)
    return span


def _result_size(obj: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Upper bound of the length a size-amplifying str/bytes/int method would produce."""
    if name == "join" and args:
        return sum(len(p) for p in args[0] if isinstance(p, _SEQUENCES)) + len(obj) * len(args[0])
    if name == "replace" and len(args) >= 2:
        return len(obj) + obj.count(args[0]) * max(len(args[1]) - len(args[0]), 0)
    if name == "translate" and args and isinstance(args[0], Mapping):
        return len(obj) * max((len(v) for v in args[0].values() if isinstance(v, _SEQUENCES)), default=1)
    if name == "expandtabs":
        return len(obj) * int(args[0] if args else kwargs.get("tabsize", 8))
    width = args[0] if args else kwargs.get("length", 0)  # ljust rjust center zfill to_bytes
    return width if isinstance(width, int) else 0


def _sized_getattr(obj: Any, name: str) -> Any:
    method = getattr(obj, name)
    if isinstance(obj, type):  # str.join(sep, parts): check through the method bound to sep
        return lambda self, *args, **kwargs: _sized_getattr(self, name)(*args, **kwargs)
    if not isinstance(obj, (str, bytes, int)):  # e.g. datetime.replace
        return method

    def checked(*args: Any, **kwargs: Any) -> Any:
        if name == "join" and args:
            args = (list(args[0]),)  # an iterator would be consumed by the size check
        if _result_size(obj, name, args, kwargs) > MAX_ITEMS:
            raise _too_large(*_TOO_MANY_ITEMS)
        return method(*args, **kwargs)

    return checked


class Budget:
    """Loop iterations, comprehension iterations and lambda calls tick; the clock is read every CLOCK_EVERY ticks."""

    __slots__ = ("deadline", "left", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds, self.deadline, self.left = seconds, time.monotonic() + seconds, CLOCK_EVERY

    def tick(self) -> bool:
        self.left -= 1
        if self.left <= 0:
            self.left = CLOCK_EVERY
            if time.monotonic() > self.deadline:
                raise ScriptTimeout(f"Script exceeded its time limit of {self.seconds:g} s",
                                    detail_vi=f"Kịch bản chạy quá thời gian cho phép ({self.seconds:g} giây)")
        return True


_SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in ("len", "min", "max", "sorted", "reversed", "round", "abs", "str", "int", "float", "bool",
                 "list", "dict", "set", "tuple", "enumerate", "zip", "any", "all", "isinstance", "divmod")
} | {"range": _range, "sum": _sum, "datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone,
     "True": True, "False": False, "None": None}

# What the transformed code calls (attribute/item reads stay native). Merged last into every globals dict,
# so task data cannot replace any of it.
HOOKS: dict[str, Any] = {
    "__builtins__": _SAFE_BUILTINS,
    "_sized_getattr_": _sized_getattr, "_getiter_": iter, "_write_": _write,
    "_apply_": _apply, "_inplacevar_": _inplacevar, "_inplace_item_": _inplace_item,
    "_unpack_sequence_": guarded_unpack_sequence, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    **{hook: functools.partial(_binop, symbol, op) for hook, symbol, op in (
        ("_add_", "+", operator.add), ("_mul_", "*", operator.mul), ("_pow_", "**", operator.pow),
        ("_lshift_", "<<", operator.lshift), ("_mod_", "%", operator.mod))},
}  # "_tick_" is added per call, only for code with loops or lambdas
