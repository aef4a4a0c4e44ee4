"""The compile-time policy of the script sandbox (engine.execution.sandbox): what a BPMN script, condition, timer or
DMN expression may be written with, checked once per source when it is compiled.

Each source is compiled once (LRU cache) by RestrictedPython's transformer with a stricter ``_Policy`` on top. The
policy refuses at compile time (``SandboxViolation`` with ``line``, so deploy finds it) what ``_REFUSED_NODES``,
``_FORBIDDEN_NAMES`` and ``_FORBIDDEN_ATTRIBUTES`` list, every name or attribute starting with ``_`` (the bare ``_``
throwaway excepted), attribute assignment and huge or computed f-string format specs. ``try`` is refused so that a
script cannot swallow its own timeout. Lambda is allowed (``sorted(rows, key=lambda r: r["a"])``): its body passes the
same policy and closes over the same restricted globals, so it reaches nothing an expression could not; its one new
power, recursion without a loop, is bounded because every call ticks the CPU budget like a loop iteration does (so
does straight-line code: every call ticks, but one long native call, such as sorting a million items, still runs to
its end). The code it emits calls the run-time limits of ``sandbox_limits`` instead of the native operations.

:func:`check_source` is the deploy-time check; :func:`compile_source` what the sandbox runs.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from types import CodeType
from typing import Literal

from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR, RestrictingNodeTransformer

from phoihop.engine.errors import SandboxViolation, ScriptError
from phoihop.engine.execution.sandbox_limits import SIZED_METHODS, TOO_WIDE, is_wide

__all__ = ["COMPILE_CACHE_SIZE", "SCRIPT_FILENAME", "Mode", "check_source", "compile_source", "source_line"]

Mode = Literal["eval", "exec"]
COMPILE_CACHE_SIZE = 4096
SCRIPT_FILENAME = "<script>"

_FORBIDDEN_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "input",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "type",
        "breakpoint",
        "help",
        "memoryview",
        "print",
        "printed",
        "builtins",
    }
)
_FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro"}) | INSPECT_ATTRIBUTES
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.FunctionDef: "def",
    ast.AsyncFunctionDef: "async def",
    ast.ClassDef: "class",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.Await: "await",
    ast.AsyncFor: "async for",
    ast.AsyncWith: "async with",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.Try: "try",
    ast.TryStar: "try",
    ast.With: "with",
    ast.Raise: "raise",
    ast.AnnAssign: "x: type = ...",
}
_BINOP_HOOKS = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
    ast.BitOr: "_or_",
    ast.BitXor: "_xor_",
}


# --- compile-time policy ------------------------------------------------------------------------------------------
def _call(name: str, args: list[ast.expr], near: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[]), near)


def _display(kind: str, elts: list[ast.expr], near: ast.AST) -> ast.Call:
    """``_display_(kind, a, (b,))`` for ``[*a, b]``: the total size is checked before anything is built."""
    parts = [e.value if isinstance(e, ast.Starred) else ast.Tuple([e], ast.Load()) for e in elts]
    return _call("_display_", [ast.Constant(kind), *parts], near)


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
            return self._refuse(
                node,
                f"Names starting with '_' are not allowed: {node.id}",
                f"Không được dùng tên bắt đầu bằng '_': {node.id}",
            )
        if node.id in _FORBIDDEN_NAMES:
            return self._refuse(
                node, f"'{node.id}' is not available in scripts", f"Không được dùng '{node.id}' trong kịch bản"
            )
        return super().visit_Name(node)  # type: ignore[no-any-return]

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_NAMES:
            return self.visit_Name(node.func)  # our message, not RestrictedPython's "Eval calls are not allowed"
        call = super().visit_Call(node)
        if any(isinstance(arg, ast.Starred) for arg in call.args):  # _apply_(f, *a, *b): f(*x, *x, ...) sized first
            call.args = [call.args[0], ast.Starred(_display("Tuple", call.args[1:], node), ast.Load())]
        return ast.copy_location(ast.BoolOp(op=ast.And(), values=[self._tick(node), call]), node)

    def _visit_display(self, node: ast.List | ast.Tuple | ast.Set) -> ast.AST:
        node = self.node_contents_visit(node)
        starred = any(isinstance(e, ast.Starred) for e in node.elts)
        if starred and (isinstance(node, ast.Set) or isinstance(node.ctx, ast.Load)):
            return _display(type(node).__name__, node.elts, node)
        return node

    visit_List = visit_Tuple = visit_Set = _visit_display

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        node = self.node_contents_visit(node)
        if None not in node.keys:
            return node
        parts = [v if k is None else ast.Dict([k], [v]) for k, v in zip(node.keys, node.values, strict=True)]
        return _call("_display_", [ast.Constant("Dict"), *parts], node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr.startswith("_") or node.attr in _FORBIDDEN_ATTRIBUTES:
            return self._refuse(
                node, f"Attribute '.{node.attr}' is not allowed", f"Không được dùng thuộc tính '.{node.attr}'"
            )
        if not isinstance(node.ctx, ast.Load):
            return self._refuse(node, "Attributes cannot be assigned or deleted", "Không được gán hoặc xóa thuộc tính")
        if node.attr not in SIZED_METHODS:  # the name is checked; a runtime getattr guard would add nothing
            return self.node_contents_visit(node)  # type: ignore[no-any-return]
        return _call("_sized_getattr_", [self.visit(node.value), ast.Constant(node.attr)], node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:  # reads stay native; writes go through _write_
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):  # x[:0] = x doubles x
            node = self.node_contents_visit(node)
            node.value = _call("_write_slice_", [node.value], node)
            return node
        load = isinstance(node.ctx, ast.Load)
        return self.node_contents_visit(node) if load else super().visit_Subscript(node)  # type: ignore[no-any-return]

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        parts = node.format_spec.values if isinstance(node.format_spec, ast.JoinedStr) else []
        if not all(isinstance(part, ast.Constant) for part in parts):
            return self._refuse(
                node.value,
                "Computed f-string format specs are not allowed",
                "Không được dùng định dạng f-string được tính toán",
            )
        if any(is_wide(digits) for part in parts for digits in re.findall(r"\d+", str(getattr(part, "value", "")))):
            return self._refuse(node.value, f"Result too large: {TOO_WIDE[0]}", f"Kết quả quá lớn: {TOO_WIDE[1]}")
        node = super().visit_FormattedValue(node)
        node.value = _call("_render_", [node.value], node.value)  # f"{[s] * 10**6}" renders s a million times
        return node

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
        return self._refuse(
            node,
            "Augmented assignment to attributes or slices is not allowed",
            "Không được dùng phép gán kết hợp cho thuộc tính hoặc lát cắt",
        )

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


def source_line(source: str, line: int | None) -> str:
    """Line ``line`` of ``source`` stripped, as an error shows it; the start of the source when the line is unknown."""
    lines = source.splitlines()
    return lines[line - 1].strip() if line and 0 < line <= len(lines) else source.strip()[:200]


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def compile_source(source: str, mode: Mode) -> tuple[CodeType, bool]:
    """Code object and whether it calls ``_tick_``; cached, since conditions run thousands of times."""
    policy = _Policy()
    try:
        # CPython's compiler warns about legal but dubious code (`x is 1`, "\d") without changing its meaning; such a
        # warning must not become an error under `-W error` on a cache miss, so compile-time warnings are dropped.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = policy.visit(ast.parse(source.lstrip(" \t") if mode == "eval" else source, SCRIPT_FILENAME, mode))
            code = None if policy.findings else compile(ast.fix_missing_locations(tree), SCRIPT_FILENAME, mode)
    except SyntaxError as exc:
        raise ScriptError(
            f"Syntax error on line {exc.lineno}: {exc.msg}",
            detail_vi=f"Lỗi cú pháp ở dòng {exc.lineno}: {exc.msg}",
            line=exc.lineno,
            expression=source_line(source, exc.lineno),
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        what = f"{type(exc).__name__} {exc}".strip()
        raise ScriptError(f"Cannot compile the script: {what}", detail_vi=f"Không biên dịch được: {what}") from None
    if code is None:
        line, en, vi = policy.findings[0]
        raise SandboxViolation(
            f"Line {line}: {en}", detail_vi=f"Dòng {line}: {vi}", line=line, expression=source_line(source, line)
        )
    return code, policy.uses_budget


def check_source(source: str, mode: Mode, *, element_id: str | None = None) -> None:
    """Deploy-time check: ``ScriptError`` for syntax, ``SandboxViolation`` for policy; both carry ``line``."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    try:
        compile_source(source, mode)  # also warms the cache
    except ScriptError as err:
        if element_id is not None:
            err.fields["element_id"] = element_id
        raise
