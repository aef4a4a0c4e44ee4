"""Restricted script engine for BPMN scripts, gateway conditions, timer and DMN expressions.

Each source is compiled once (LRU cache) by RestrictedPython's transformer with a stricter ``_Policy`` on top and
runs against ``_SAFE_BUILTINS`` only. The policy refuses at compile time (``SandboxViolation`` with ``line``, so
deploy finds it) what ``_REFUSED_NODES``, ``_FORBIDDEN_NAMES`` and ``_FORBIDDEN_ATTRIBUTES`` list, every name or
attribute starting with ``_`` (the bare ``_`` throwaway excepted), attribute assignment and huge or computed f-string
format specs. ``try`` is refused so that a script cannot swallow its own timeout.
Lambda is allowed (``sorted(rows, key=lambda r: r["a"])``): its body passes the same policy and closes over the same
restricted globals, so it reaches nothing an expression could not; its one new power, recursion without a loop, is
bounded because every call ticks the CPU budget like a loop iteration does.

Limits: see ``_Budget`` (CPU, no signals: scripts run in worker threads) and ``_check``/``_sized_getattr`` (sizes).
Memory built by many small steps inside the time budget (a string doubled by f-strings in a loop) is not measured:
workers also need an OS memory limit. Data: see ``SandboxedEnvironment``.

Every failure is a ``ScriptError`` (or subclass) with fields ``line`` and ``expression`` (the offending line). Inside a
workflow SpiffWorkflow raises ``WorkflowTaskException`` with it as ``__cause__``: use ``unwrap_script_error``.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, MappingView, MutableMapping
from datetime import date, datetime, timedelta, timezone
from types import CodeType, ModuleType
from typing import Any, Literal, NoReturn

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR, RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from .errors import SandboxViolation, ScriptError, ScriptTimeout

__all__ = ["SandboxedEnvironment", "SandboxedScriptEngine", "check_source", "unwrap_script_error"]

Mode = Literal["eval", "exec"]
MAX_ITEMS = 1_000_000  # range() length; items in a str/bytes/list/tuple built by a guarded operation
MAX_INT_BITS = 100_000  # about 30 000 decimal digits
MAX_FORMAT_WIDTH = 10_000  # width/precision in f-string specs and % formatting
MAX_STAR_ARGS = 256  # f(*rows) with more positional arguments is refused (zip(*rows) amplification)
CLOCK_EVERY = 16  # budget ticks between two clock reads
COMPILE_CACHE_SIZE = 4096
_FILENAME = "<script>"

_FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "input", "globals", "locals", "vars", "getattr", "setattr", "delattr", "type",
    "breakpoint", "help", "memoryview", "print", "printed", "builtins",
})
_FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro"}) | INSPECT_ATTRIBUTES
_SIZED_METHODS = frozenset(
    {"join", "replace", "ljust", "rjust", "center", "zfill", "expandtabs", "translate", "to_bytes"}
)
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def", ast.AsyncFunctionDef: "async def",
    ast.ClassDef: "class", ast.Yield: "yield", ast.YieldFrom: "yield from", ast.Await: "await",
    ast.AsyncFor: "async for", ast.AsyncWith: "async with", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Try: "try", ast.TryStar: "try", ast.With: "with", ast.Raise: "raise", ast.AnnAssign: "x: type = ...",
}
_BINOP_HOOKS = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_"}
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
_TOO_WIDE = (f"format width over {MAX_FORMAT_WIDTH}", f"độ rộng định dạng hơn {MAX_FORMAT_WIDTH}")


# --- run-time guards ----------------------------------------------------------------------------------------------
def _too_large(en: str, vi: str) -> ScriptError:
    return ScriptError(f"Result too large: {en}", detail_vi=f"Kết quả quá lớn: {vi}")


def _wide(digits: str | None) -> bool:
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
        if "%" in text and any(_wide(m[1]) or _wide(m[2]) for m in _PERCENT_SPEC.finditer(text)):
            raise _too_large(*_TOO_WIDE)
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


class _Budget:
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
_HOOKS: dict[str, Any] = {
    "__builtins__": _SAFE_BUILTINS,
    "_sized_getattr_": _sized_getattr, "_getiter_": iter, "_write_": _write,
    "_apply_": _apply, "_inplacevar_": _inplacevar, "_inplace_item_": _inplace_item,
    "_unpack_sequence_": guarded_unpack_sequence, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    **{hook: functools.partial(_binop, symbol, op) for hook, symbol, op in (
        ("_add_", "+", operator.add), ("_mul_", "*", operator.mul), ("_pow_", "**", operator.pow),
        ("_lshift_", "<<", operator.lshift), ("_mod_", "%", operator.mod))},
}  # "_tick_" is added per call, only for code with loops or lambdas


# --- compile-time policy ------------------------------------------------------------------------------------------
def _call(name: str, args: list[ast.expr], near: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[]), near)


class _Policy(RestrictingNodeTransformer):  # type: ignore[misc]
    """RestrictedPython's policy, made stricter (statements, names, attributes) and instrumented (budget, sizes)."""

    def __init__(self) -> None:
        super().__init__()
        self.findings: list[tuple[int | None, str, str]] = []
        self.uses_budget = False

    def _refuse(self, node: ast.AST, en: str, vi: str) -> ast.AST:
        self.findings.append((getattr(node, "lineno", None), en, vi))
        return node

    def error(self, node: ast.AST, info: str) -> None:  # RestrictedPython's own refusals (e.g. lambda argument names)
        self._refuse(node, info, f"Vi phạm quy tắc an toàn: {info}")

    def _refuse_node(self, node: ast.AST) -> ast.AST:
        label = _REFUSED_NODES.get(type(node), type(node).__name__.lower())
        return self._refuse(node, f"'{label}' is not allowed in scripts", f"Không được dùng '{label}' trong kịch bản")

    visit_Import = visit_ImportFrom = visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _refuse_node
    visit_Yield = visit_YieldFrom = visit_Await = visit_AsyncFor = visit_AsyncWith = visit_Global = _refuse_node
    visit_Nonlocal = visit_Try = visit_TryStar = visit_With = visit_Raise = visit_AnnAssign = _refuse_node
    generic_visit = _refuse_node  # every node RestrictedPython does not know: match, future syntax

    def _tick(self, near: ast.AST) -> ast.Call:
        self.uses_budget = True
        return _call("_tick_", [], near)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("_") and node.id != "_":
            return self._refuse(node, f"Names starting with '_' are not allowed: {node.id}",
                                f"Không được dùng tên bắt đầu bằng '_': {node.id}")
        if node.id in _FORBIDDEN_NAMES:
            return self._refuse(node, f"'{node.id}' is not available in scripts",
                                f"Không được dùng '{node.id}' trong kịch bản")
        return super().visit_Name(node)  # type: ignore[no-any-return]

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_NAMES:
            return self.visit_Name(node.func)  # our message, not RestrictedPython's "Eval calls are not allowed"
        return super().visit_Call(node)  # type: ignore[no-any-return]

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr.startswith("_") or node.attr in _FORBIDDEN_ATTRIBUTES:
            return self._refuse(node, f"Attribute '.{node.attr}' is not allowed",
                                f"Không được dùng thuộc tính '.{node.attr}'")
        if not isinstance(node.ctx, ast.Load):
            return self._refuse(node, "Attributes cannot be assigned or deleted", "Không được gán hoặc xóa thuộc tính")
        if node.attr not in _SIZED_METHODS:  # the name is checked; a runtime getattr guard would add nothing
            return self.node_contents_visit(node)  # type: ignore[no-any-return]
        return _call("_sized_getattr_", [self.visit(node.value), ast.Constant(node.attr)], node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:  # reads stay native; writes go through _write_
        load = isinstance(node.ctx, ast.Load)
        return self.node_contents_visit(node) if load else super().visit_Subscript(node)  # type: ignore[no-any-return]

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        parts = node.format_spec.values if isinstance(node.format_spec, ast.JoinedStr) else []
        if not all(isinstance(part, ast.Constant) for part in parts):
            return self._refuse(node.value, "Computed f-string format specs are not allowed",
                                "Không được dùng định dạng f-string được tính toán")
        if any(_wide(digits) for part in parts for digits in re.findall(r"\d+", str(getattr(part, "value", "")))):
            return self._refuse(node.value, f"Result too large: {_TOO_WIDE[0]}", f"Kết quả quá lớn: {_TOO_WIDE[1]}")
        return super().visit_FormattedValue(node)  # type: ignore[no-any-return]

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        hook = _BINOP_HOOKS.get(type(node.op))
        return node if hook is None else _call(hook, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        op, value, target = ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(node.value), node.target
        if isinstance(target, ast.Name):
            self.visit(target)
            call = _call("_inplacevar_", [op, ast.Name(target.id, ast.Load()), value], node)
            return ast.copy_location(ast.Assign(targets=[target], value=call), node)
        if isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Slice):
            args = [self.visit(target.value), self.visit(target.slice), op, value]
            return ast.copy_location(ast.Expr(_call("_inplace_item_", args, node)), node)
        return self._refuse(node, "Augmented assignment to attributes or slices is not allowed",
                            "Không được dùng phép gán kết hợp cho thuộc tính hoặc lát cắt")

    def _visit_loop(self, node: ast.For | ast.While) -> ast.AST:
        node = super().visit_For(node) if isinstance(node, ast.For) else self.node_contents_visit(node)
        node.body.insert(0, ast.copy_location(ast.Expr(self._tick(node)), node))
        return node

    visit_For = visit_While = _visit_loop

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        node = super().visit_comprehension(node)
        node.ifs.insert(0, self._tick(node.iter))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(op=ast.And(), values=[self._tick(node.body), node.body]), node.body)
        return node


def _source_line(source: str, line: int | None) -> str:
    lines = source.splitlines()
    return lines[line - 1].strip() if line and 0 < line <= len(lines) else source.strip()[:200]


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def _compile(source: str, mode: Mode) -> tuple[CodeType, bool]:
    """Code object and whether it calls ``_tick_``; cached, since conditions run thousands of times."""
    policy = _Policy()
    try:
        # CPython's compiler warns about legal but dubious code (`x is 1`, "\d") without changing its meaning; such a
        # warning must not become an error under `-W error` on a cache miss, so compile-time warnings are dropped.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = policy.visit(ast.parse(source.lstrip(" \t") if mode == "eval" else source, _FILENAME, mode))
            code = None if policy.findings else compile(ast.fix_missing_locations(tree), _FILENAME, mode)
    except SyntaxError as exc:
        raise ScriptError(f"Syntax error on line {exc.lineno}: {exc.msg}",
                          detail_vi=f"Lỗi cú pháp ở dòng {exc.lineno}: {exc.msg}",
                          line=exc.lineno, expression=_source_line(source, exc.lineno)) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        what = f"{type(exc).__name__} {exc}".strip()
        raise ScriptError(f"Cannot compile the script: {what}", detail_vi=f"Không biên dịch được: {what}") from None
    if code is None:
        line, en, vi = policy.findings[0]
        raise SandboxViolation(f"Line {line}: {en}", detail_vi=f"Dòng {line}: {vi}", line=line,
                               expression=_source_line(source, line))
    return code, policy.uses_budget


def check_source(source: str, mode: Mode, *, element_id: str | None = None) -> None:
    """Deploy-time check: ``ScriptError`` for syntax, ``SandboxViolation`` for policy; both carry ``line``."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    try:
        _compile(source, mode)  # also warms the cache
    except ScriptError as err:
        if element_id is not None:
            err.fields["element_id"] = element_id
        raise


# --- execution ----------------------------------------------------------------------------------------------------
def _raise_located(exc: Exception, source: str) -> NoReturn:
    line, tb = None, exc.__traceback__
    while tb is not None:  # innermost frame of the script itself
        line = tb.tb_lineno if tb.tb_frame.f_code.co_filename == _FILENAME else line
        tb = tb.tb_next
    err = exc if isinstance(exc, ScriptError) else ScriptError(
        f"Script failed on line {line}: {type(exc).__name__}: {exc}",
        detail_vi=f"Kịch bản lỗi ở dòng {line}: {type(exc).__name__}: {exc}",
    )
    if line is not None:
        err.fields.setdefault("line", line)
    err.fields.setdefault("expression", _source_line(source, line))
    raise err from (None if err is exc else exc)


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), bytes, datetime, date, timedelta})
_CONTAINERS = (dict, list, tuple, set, frozenset)


def _is_runtime_object(value: Any) -> bool:
    return type(value) not in _PLAIN_TYPES and (
        callable(value) or isinstance(value, (ModuleType, Iterator, MappingView, range))
    )


def _is_task_data(name: str, value: Any) -> bool:
    """False for a function, class, module, iterator or dict view; SandboxViolation for one nested in a container."""
    if not isinstance(value, _CONTAINERS):
        return not _is_runtime_object(value)
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if type(item) in _PLAIN_TYPES or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            stack.extend(item)
        elif _is_runtime_object(item):
            kind = type(item).__name__
            raise SandboxViolation(f"'{name}' holds a {kind}; task data may only hold plain values",
                                   detail_vi=f"'{name}' chứa một {kind}; dữ liệu chỉ được chứa giá trị thường")
    return True


class SandboxedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Runs cached restricted code on task data. SpiffWorkflow also calls it directly (``.environment.evaluate``).

    Globals are ``{**external_context, **task_data, **_HOOKS}``: task data can never replace ``__builtins__`` or a
    hook. After ``execute`` only plain data goes back: ``_`` keys, functions, classes, modules and iterators are
    dropped, and refused (``SandboxViolation``) when nested in a container.
    """

    def __init__(self, *, cpu_seconds: float = 1.0) -> None:
        if not cpu_seconds > 0:
            raise ValueError("cpu_seconds must be positive")
        super().__init__({})
        self.cpu_seconds = cpu_seconds

    def _prepare(self, source: str, mode: Mode, context: Mapping[str, Any],
                 external: Mapping[str, Any] | None) -> tuple[CodeType, dict[str, Any]]:
        code, uses_budget = _compile(source, mode)
        scope = {**external, **context, **_HOOKS} if external else {**context, **_HOOKS}
        if uses_budget:
            scope["_tick_"] = _Budget(self.cpu_seconds).tick
        return code, scope

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        code, scope = self._prepare(expression, "eval", context, external_context)
        try:
            result = eval(code, scope)  # noqa: S307 - restricted code object, restricted globals
        except Exception as exc:
            _raise_located(exc, expression)
        if _is_runtime_object(result):  # not searched deeper: a condition may return the whole task data
            raise SandboxViolation(f"Expression returned a {type(result).__name__}, not a value",
                                   detail_vi=f"Biểu thức trả về một {type(result).__name__}, không phải giá trị")
        return result

    def execute(self, script: str, context: MutableMapping[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        external = external_context or {}
        code, scope = self._prepare(script, "exec", context, external)
        try:
            exec(code, scope)  # noqa: S102 - restricted code object, restricted globals
        except Exception as exc:
            _raise_located(exc, script)
        updates = {
            key: value for key, value in scope.items()
            if not key.startswith("_") and (key in context or key not in external)
            and (type(value) in _PLAIN_TYPES or _is_task_data(key, value))
        }
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
        f"{prefix}: {err.detail}", task=task, exception=err,
        line_number=err.fields.get("line"), error_line=err.fields.get("expression", ""),
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
