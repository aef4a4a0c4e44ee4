"""Run-time limits of the script sandbox: what the code ``sandbox_policy._Policy`` transforms calls instead of the
native operation, so that no single step builds a result too large, and the CPU budget that loops, comprehensions and
calls tick.

Sizes: ``_check`` refuses ``+ * ** << % | ^`` (and their in-place forms) whose result would pass ``MAX_ITEMS`` items,
``MAX_INT_BITS`` bits or ``MAX_FORMAT_WIDTH``; ``_sized_getattr`` does the same for the ``SIZED_METHODS`` of
str/bytes/int and the growing methods of list/dict/set (``x.extend(x)``); ``range``, ``sum``, slice assignment,
starred displays (``[*x, *x]``) and ``f(*args)`` are bounded too. Rendering (``str``, f-string values, ``%`` arguments)
is bounded by ``flat_size``, which counts shared references every time: ``[s] * 10**6`` holds one string but renders it
a million times. Time: ``Budget`` (the thread's CPU time, no signals: scripts may run in any thread). Every refusal is
a ``ScriptError`` (``ScriptTimeout``, ``SandboxViolation``) with English and Vietnamese text. ``HOOKS`` is what every
globals dict of a script ends with.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import operator
import re
import time
from collections.abc import Callable, Mapping, Sized
from datetime import date, datetime, timedelta, timezone
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from phoihop.engine.errors import SandboxViolation, ScriptError, ScriptTimeout

__all__ = [
    "HOOKS",
    "MAX_DATA_SIZE",
    "MAX_FORMAT_WIDTH",
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_STAR_ARGS",
    "SIZED_METHODS",
    "TOO_WIDE",
    "Budget",
    "cpu_timeout",
    "flat_size",
    "is_wide",
]

MAX_ITEMS = 1_000_000  # range() length; items in a str/bytes/list/tuple/dict/set built by a guarded operation
MAX_DATA_SIZE = 10 * MAX_ITEMS  # flat_size of the task data a script hands back, or of an expression's container
MAX_INT_BITS = 100_000  # about 30 000 decimal digits
MAX_FORMAT_WIDTH = 10_000  # width/precision in f-string specs and % formatting
MAX_STAR_ARGS = 256  # f(*rows) with more positional arguments is refused (zip(*rows) amplification)
_GROWING = frozenset({"extend", "update", "union", "symmetric_difference", "symmetric_difference_update", "index"})
SIZED_METHODS = (
    frozenset({"join", "replace", "ljust", "rjust", "center", "zfill", "expandtabs", "translate", "to_bytes"})
    | _GROWING
)
_IOPS: dict[str, Callable[[Any, Any], Any]] = dict(
    zip(
        ("+=", "-=", "*=", "/=", "//=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "@="),
        (
            operator.iadd,
            operator.isub,
            operator.imul,
            operator.itruediv,
            operator.ifloordiv,
            operator.imod,
            operator.ipow,
            operator.ilshift,
            operator.irshift,
            operator.iand,
            operator.ior,
            operator.ixor,
            operator.imatmul,
        ),
        strict=True,
    )
)
_SEQUENCES = (str, bytes, list, tuple)
_PERCENT_SPEC = re.compile(r"%(?:%|(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?)")  # %% is a literal %
# (English, Vietnamese, the limit's name: the refusal's field ``exceeded``)
_TOO_MANY_ITEMS = (f"more than {MAX_ITEMS} items", f"hơn {MAX_ITEMS} phần tử", "max_items")
_TOO_MANY_BITS = (f"integer over {MAX_INT_BITS} bits", f"số nguyên hơn {MAX_INT_BITS} bit", "max_int_bits")
TOO_WIDE = (
    f"format width over {MAX_FORMAT_WIDTH}",
    f"độ rộng định dạng hơn {MAX_FORMAT_WIDTH}",
    "max_format_width",
)


def _too_large(en: str, vi: str, exceeded: str) -> ScriptError:
    """A size check refused the step before it ran; ``exceeded`` names the check (a field of the error)."""
    return ScriptError(f"Result too large: {en}", detail_vi=f"Kết quả quá lớn: {vi}", exceeded=exceeded)


def is_wide(digits: str | None) -> bool:
    """Whether a width or precision (``*`` or digits) of a format spec could pass ``MAX_FORMAT_WIDTH``."""
    return digits == "*" or bool(digits and (len(digits) > 6 or int(digits) > MAX_FORMAT_WIDTH))


_CONTAINERS = (list, tuple, dict, set, frozenset)
_NESTED: tuple[type, ...] = (*_CONTAINERS, type({}.keys()), type({}.values()), type({}.items()))  # and views
_SHORT = frozenset({int, float, bool, type(None), date, datetime, timedelta})  # str() of these is short


class _Past(Exception):
    """flat_size went past its limit."""


def flat_size(value: Any, limit: int, leaf: Callable[[Any], object] | None = None) -> int:
    """About the characters ``str(value)`` or its JSON would take, a shared reference counted every time it occurs:
    ``[s] * 10**6`` counts ``len(s)`` a million times. Returns ``limit + 1`` once past ``limit``, and for a cycle or
    nesting deeper than the recursion limit. A shared container is walked once (its size remembered), so the cost
    follows the references that exist. ``leaf`` sees every object that is not str, bytes, int, float, bool, None,
    list, tuple, dict, set or frozenset."""
    sizes: dict[int, int] = {}  # id -> size of a container walked to its end

    def walk(container: Any, before: int) -> int:  # before: what was counted outside this container
        size = 2 + 2 * len(container)
        for item in itertools.chain(container, container.values()) if isinstance(container, dict) else container:
            kind = type(item)
            if kind is str or kind is bytes:
                size += len(item)
                if before + size > limit:
                    raise _Past
            elif kind is int:
                size += item.bit_length() // 3 + 1
            elif kind is float or kind is bool or item is None:
                size += 24
            else:
                known = sizes.get(id(item))
                if known is None:
                    if leaf is not None and not isinstance(item, _CONTAINERS):
                        leaf(item)
                    known = walk(item, before + size) if isinstance(item, _NESTED) else 32
                size += known
                if before + size > limit:
                    raise _Past
        if before + size > limit:
            raise _Past
        sizes[id(container)] = size
        return size

    try:
        return walk((value,), 0)
    except (_Past, RecursionError):  # a cycle recurses until RecursionError
        return limit + 1


def _render(value: Any) -> Any:
    """``value``, once its ``str``/``repr`` is known to stay within MAX_ITEMS characters."""
    if type(value) in _SHORT:
        return value
    if (len(value) if type(value) is str else flat_size(value, MAX_ITEMS)) > MAX_ITEMS:
        raise _too_large(*_TOO_MANY_ITEMS)
    return value


class _StrType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, str)


class _Str(str, metaclass=_StrType):
    """The ``str`` scripts see: ``str(x)`` refuses what ``_render`` refuses; ``isinstance(x, str)`` and ``str.upper``
    work as with ``str`` itself, and what it returns is a plain ``str``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> str:  # type: ignore[misc]
        for value in (*args, *kwargs.values()):
            _render(value)
        return str(*args, **kwargs)


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
        if "%" in text:
            for m in _PERCENT_SPEC.finditer(text):
                if "(" in (m[1] or "")[1:]:  # Python reads %(...) keys up to the balanced ")": %((a))99s
                    raise SandboxViolation(
                        "'%(...)' format keys may not contain '('",
                        detail_vi="Khóa định dạng '%(...)' không được chứa '('",
                    )
                if is_wide(m[2]) or is_wide(m[3]):
                    raise _too_large(*TOO_WIDE)
            _render(b)
    elif (op in ("|", "^") or (op == "+" and isinstance(a, _SEQUENCES))) and isinstance(a, Sized):
        if isinstance(b, Sized) and len(a) + len(b) > MAX_ITEMS:
            raise _too_large(*_TOO_MANY_ITEMS)
    elif op == "*":
        seq, count = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
        if isinstance(seq, _SEQUENCES) and isinstance(count, int) and len(seq) * count > MAX_ITEMS:
            raise _too_large(*_TOO_MANY_ITEMS)


def _binop(symbol: str, op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    _check(symbol, a, b)
    return op(a, b)


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    if op in ("+=", "|=") and isinstance(target, (list, dict)) and not isinstance(value, Sized):
        value = list(value)  # x += reversed(x) extends x: measured first
    _check(op[:-1], target, value)
    return _IOPS[op](target, value)


def _write(obj: Any) -> Any:
    if isinstance(obj, (dict, list)):
        return obj
    kind = type(obj).__name__
    raise SandboxViolation(
        f"Only dict and list items can be assigned, not items of {kind}",
        detail_vi=f"Chỉ được gán phần tử của dict hoặc list, không phải của {kind}",
    )


def _inplace_item(container: Any, key: Any, op: str, value: Any) -> None:
    _write(container)[key] = _inplacevar(op, container[key], value)


class _SliceWriter:
    """``_write_(x)`` for ``x[i:j] = v``: ``v`` may not take ``x`` past MAX_ITEMS (``x[:0] = x`` doubles it)."""

    __slots__ = ("target",)

    def __init__(self, target: Any) -> None:
        self.target = _write(target)

    def __setitem__(self, key: Any, value: Any) -> None:
        value = value if isinstance(value, Sized) else list(value)
        if len(self.target) + len(value) > MAX_ITEMS:
            raise _too_large(*_TOO_MANY_ITEMS)
        self.target[key] = value


_DISPLAYS: dict[str, Callable[[Any], Any]] = {"List": list, "Tuple": tuple, "Set": set}


def _display(kind: str, *parts: Any) -> Any:
    """``[*a, *b]``, ``(*a, *b)``, ``{*a, *b}``, ``{**a, **b}`` and the arguments of ``f(*a, *b)``, measured before
    they are built (plain elements arrive as 1-tuples or 1-dicts)."""
    sized: list[Any] = [part if isinstance(part, Sized) else list(part) for part in parts]
    if sum(map(len, sized)) > MAX_ITEMS:
        raise _too_large(*_TOO_MANY_ITEMS)
    if kind != "Dict":
        return _DISPLAYS[kind](itertools.chain.from_iterable(sized))
    merged: dict[Any, Any] = {}
    for part in sized:
        merged.update(part)
    return merged


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if len(args) > MAX_STAR_ARGS:
        raise _too_large(
            f"more than {MAX_STAR_ARGS} unpacked arguments", f"hơn {MAX_STAR_ARGS} đối số", "max_star_args"
        )
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
    if name == "translate" and args and isinstance(obj, str):  # str.translate looks up table[ord(c)]
        table = args[0]
        if not isinstance(table, (Mapping, list, tuple, str, bytes, range)):
            raise SandboxViolation(
                "translate() takes a dict, list, tuple or str table",
                detail_vi="translate() chỉ nhận bảng dict, list, tuple hoặc str",
            )
        values = table.values() if isinstance(table, Mapping) else table if isinstance(table, (list, tuple)) else ()
        return len(obj) * max((len(v) for v in values if isinstance(v, _SEQUENCES)), default=1)
    if name == "expandtabs":
        return len(obj) * int(args[0] if args else kwargs.get("tabsize", 8))
    width = args[0] if args else kwargs.get("length", 0)  # ljust rjust center zfill to_bytes
    return width if isinstance(width, int) else 0


def _growing(obj: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    """list.extend, dict/set.update, set.union...: the result may not pass MAX_ITEMS; list.index(x) renders x."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        if method.__name__ == "index":
            _render(args[0] if args else None)
            return method(*args, **kwargs)
        args = tuple(arg if isinstance(arg, Sized) else list(arg) for arg in args)
        if len(obj) + len(kwargs) + sum(map(len, args)) > MAX_ITEMS:
            raise _too_large(*_TOO_MANY_ITEMS)
        return method(*args, **kwargs)

    return checked


def _sized_getattr(obj: Any, name: str) -> Any:
    method = getattr(obj, name)
    if isinstance(obj, type):  # str.join(sep, parts): check through the method bound to sep
        return lambda self, *args, **kwargs: _sized_getattr(self, name)(*args, **kwargs)
    if name in _GROWING:
        return _growing(obj, method) if isinstance(obj, (list, dict, set, frozenset)) else method
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
    """The CPU time of the thread that runs the script (``time.thread_time``): loop and comprehension iterations,
    calls and lambda calls tick. A thread cannot spend more CPU time than wall time passes, so a tick reads the
    monotonic clock (some 30 ns) and reads the thread's CPU clock (a system call, some 0.3 µs) only once the wall time
    since the last reading reaches what is left of the budget: a script that waited (a worker descheduled on a busy
    machine, a blocking call) is not charged for the wait, and a tick after a long native call (a sort of a million
    items) still sees the CPU it took. The timeout says why it stopped the script (fields ``exceeded``
    "cpu_seconds", ``limit_seconds``: the budget, ``stopped_by`` "budget", ``used_seconds``: the CPU time the script
    had used, past the budget by construction). Waiting is bounded elsewhere: the pool's wall clock."""

    __slots__ = ("check_at", "cpu_start", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds, self.cpu_start, self.check_at = seconds, time.thread_time(), time.monotonic() + seconds

    def tick(self) -> bool:
        if time.monotonic() > self.check_at:
            self._check()
        return True

    def _check(self) -> None:
        used = time.thread_time() - self.cpu_start
        if used > self.seconds:
            raise cpu_timeout(self.seconds, stopped_by="budget", used_seconds=round(used, 6))
        self.check_at = time.monotonic() + self.seconds - used  # the earliest the rest of the budget can be spent


def cpu_timeout(limit_seconds: float, **fields: Any) -> ScriptTimeout:
    """A script stopped for the CPU time it used: by its ``Budget`` or by its worker's ``RLIMIT_CPU``."""
    return ScriptTimeout(
        f"Script exceeded its CPU time limit of {limit_seconds:g} s",
        detail_vi=f"Kịch bản dùng quá thời gian xử lý (CPU) cho phép ({limit_seconds:g} giây)",
        exceeded="cpu_seconds",
        limit_seconds=limit_seconds,
        **fields,
    )


_SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "len",
        "min",
        "max",
        "sorted",
        "reversed",
        "round",
        "abs",
        "int",
        "float",
        "bool",
        "list",
        "dict",
        "set",
        "tuple",
        "enumerate",
        "zip",
        "any",
        "all",
        "isinstance",
        "divmod",
    )
} | {
    "str": _Str,
    "range": _range,
    "sum": _sum,
    "datetime": datetime,
    "date": date,
    "timedelta": timedelta,
    "timezone": timezone,
    "True": True,
    "False": False,
    "None": None,
}

# What the transformed code calls (attribute/item reads stay native). Merged last into every globals dict,
# so task data cannot replace any of it.
HOOKS: dict[str, Any] = {
    "__builtins__": _SAFE_BUILTINS,
    "_sized_getattr_": _sized_getattr,
    "_getiter_": iter,
    "_write_": _write,
    "_apply_": _apply,
    "_inplacevar_": _inplacevar,
    "_inplace_item_": _inplace_item,
    "_write_slice_": _SliceWriter,
    "_render_": _render,
    "_display_": _display,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    **{
        hook: functools.partial(_binop, symbol, op)
        for hook, symbol, op in (
            ("_add_", "+", operator.add),
            ("_mul_", "*", operator.mul),
            ("_pow_", "**", operator.pow),
            ("_lshift_", "<<", operator.lshift),
            ("_mod_", "%", operator.mod),
            ("_or_", "|", operator.or_),
            ("_xor_", "^", operator.xor),
        )
    },
}  # "_tick_" is added per call, only for code with loops, calls or lambdas
