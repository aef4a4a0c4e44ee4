"""FEEL written in a DMN cell where SpiffWorkflow 3.2.0 runs Python (engine.definitions.dmn.cells): what the cell does
differently from its FEEL reading, and how to write it in Python.

FEEL written there either fails (the instance stops in error) or, worse, compiles and silently never matches. Measured
under the sandbox:

- ``[1..10]``, ``]1..10[``, ``> 1 and < 10``, ``> 3, < 1``, ``= 5``, ``starts with("a")`` do not compile: the catalog
  refuses them at deploy (``syntax_hint`` explains the FEEL);
- ``true``, ``false``, ``null`` fail (NameError), as do FEEL functions (``duration("P1D")``, ``count(x)``) and
  ``date("2024-01-01")`` (Python's ``date`` takes numbers);
- ``"a","b"`` is a tuple the input never equals, ``not("a")`` is ``False``, ``"a" or "b"`` is ``"a"``: they compile
  and never match what FEEL would;
- a bare word (``Y``) is a variable, not the text ``"Y"``; ``[5, 6]`` matches only an input that is that very list.

:func:`cell_issue` and :func:`syntax_hint` judge one cell; the lint (engine.definitions.lint.dmn_tables) reports them
for whole DMN files. This module imports nothing of the catalog, so the catalog can use it for the cells it refuses.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from phoihop.engine.definitions.dmn.cells import CALLABLE_NAMES, PLACEHOLDER, QUESTION, parse_entry, parse_expression
from phoihop.engine.execution.script_functions import FUNCTIONS
from phoihop.engine.model import Severity

__all__ = [
    "FEEL_CODE",
    "PYTHON_NOT_FEEL",
    "CellKind",
    "FeelIssue",
    "cell_issue",
    "syntax_hint",
]

FEEL_CODE = "dmn-feel"
PYTHON_NOT_FEEL = ("DMN expressions here are Python, not FEEL", "biểu thức DMN ở đây là Python, không phải FEEL")
CellKind = Literal["input entry", "output entry", "input expression"]
_FEEL_CONSTANTS = {"true": "True", "false": "False", "null": "None"}
# FEEL built-in functions (DMN 1.3, 10.3.4) that the sandbox does not have under the same name
FEEL_FUNCTIONS = frozenset(
    {
        "time",
        "duration",
        "number",
        "string",
        "substring",
        "contains",
        "matches",
        "replace",
        "split",
        "count",
        "mean",
        "median",
        "stddev",
        "mode",
        "product",
        "floor",
        "ceiling",
        "decimal",
        "modulo",
        "sqrt",
        "log",
        "exp",
        "odd",
        "even",
        "append",
        "concatenate",
        "flatten",
        "sublist",
        "reverse",
        "union",
        "remove",
    }
)
# FEEL functions whose names hold spaces: they never compile as Python
_FEEL_SPACED = re.compile(
    r"\b(date and time|years and months duration|days and time duration|string length|upper case|lower case|"
    r"substring before|substring after|starts with|ends with|list contains|insert before|index of|"
    r"distinct values|day of week|day of year|month of year|week of year|get value|get entries|is defined)\s*\("
)
_RANGE = re.compile(r"^\s*([\[\](])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])[])\s*$")
_BARE_RANGE = re.compile(r"^\s*([^\s.\[\]()]+)\s*\.\.\s*([^\s.\[\]()]+)\s*$")
_OPERATOR = r"(?:<=|>=|<|>|!=|==|=)"
_JOINED_TESTS = re.compile(rf"^\s*{_OPERATOR}.*(?:,|\band\b|\bor\b)\s*{_OPERATOR}")
_FEEL_EQUALS = re.compile(r"^\s*=[^=]|[^=!<>]=[^=]")
_BETWEEN = re.compile(r"\bbetween\b(.+)\band\b(.+)$")


@dataclass(frozen=True)
class FeelIssue:
    severity: Severity
    en: str  # what is wrong and how to write it, without the cell itself
    vi: str


def _issue(severity: Severity, en: str, vi: str) -> FeelIssue:
    return FeelIssue(severity, f"{en} ({PYTHON_NOT_FEEL[0]})", f"{vi} ({PYTHON_NOT_FEEL[1]})")


# --- cells that do not compile --------------------------------------------------------------------------------------
def syntax_hint(text: str) -> FeelIssue | None:
    """The FEEL construct a cell that is not valid Python was written in, with its Python form; None if none is seen."""
    if (found := _RANGE.match(text)) is not None:
        low_open, high_open = found.group(1) in "](", found.group(4) in "[)"
        low, high = found.group(2), found.group(3)
        python = f"{low} {'<' if low_open else '<='} ? {'<' if high_open else '<='} {high}"
        return _issue(
            "error",
            f"the FEEL range {text.strip()} is not Python: write {python}",
            f"khoảng giá trị FEEL {text.strip()} không phải Python: hãy viết {python}",
        )
    if (found := _BARE_RANGE.match(text)) is not None:
        python = f"{found.group(1)} <= ? <= {found.group(2)}"
        return _issue(
            "error",
            f"the range {text.strip()} is not Python: write {python}",
            f"khoảng giá trị {text.strip()} không phải Python: hãy viết {python}",
        )
    if (found := _FEEL_SPACED.search(text)) is not None:
        return _issue(
            "error",
            f"the FEEL function {found.group(1)!r}() does not exist in Python expressions",
            f"hàm FEEL {found.group(1)!r}() không có trong biểu thức Python",
        )
    if _JOINED_TESTS.match(text):
        return _issue(
            "error",
            "FEEL tests joined by ',', 'and' or 'or' need the input on each side in Python: "
            "write ? > 1 and ? < 10 (or ? < 1 or ? > 3)",
            "các phép so sánh FEEL nối bằng ',', 'and' hay 'or' phải ghi rõ giá trị đầu vào ở mỗi vế "
            "trong Python: hãy viết ? > 1 and ? < 10 (hoặc ? < 1 or ? > 3)",
        )
    if (found := _BETWEEN.search(text)) is not None:
        python = f"{found.group(1).strip()} <= ? <= {found.group(2).strip()}"
        return _issue(
            "error",
            f"FEEL 'between' is not Python: write {python}",
            f"'between' của FEEL không phải Python: hãy viết {python}",
        )
    if _FEEL_EQUALS.search(text.replace("<=", "").replace(">=", "").replace("!=", "").replace("==", "")):
        return _issue(
            "error",
            "FEEL '=' compares, Python's '=' assigns: write == 5, or just the value 5",
            "dấu '=' của FEEL là phép so sánh, trong Python là phép gán: hãy viết == 5, hoặc chỉ ghi giá trị 5",
        )
    return None


# --- cells that compile ---------------------------------------------------------------------------------------------
def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_literal(element) for element in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_literal(node.operand)
    return isinstance(node, ast.Constant)


def _text(node: ast.AST) -> str:
    return ast.unparse(node)


def _names_and_calls(tree: ast.expr, known: frozenset[str]) -> FeelIssue | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in known:
            python = _FEEL_CONSTANTS.get(node.id.lower())
            if python is not None:
                return _issue(
                    "error",
                    f"{node.id} is FEEL; Python writes {python}: as written the rule fails "
                    f"(NameError: {node.id} is not defined)",
                    f"{node.id} là cú pháp FEEL; Python viết {python}: viết như hiện nay quy tắc sẽ lỗi "
                    f"(NameError: không có biến {node.id})",
                )
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        name = node.func.id
        if (
            name in ("date", "datetime")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            literal = f"{name}({node.args[0].value!r})"
            return _issue(
                "error",
                f"FEEL {literal}: Python's {name}() takes numbers, {name}(2024, 1, 31); as "
                'written the rule fails (TypeError). Compare ISO texts (? >= "2024-01-31") or '
                "build the date from numbers",
                f"{literal} kiểu FEEL: hàm {name}() của Python nhận các số, {name}(2024, 1, 31); viết "
                'như hiện nay quy tắc sẽ lỗi (TypeError). Hãy so sánh chuỗi ISO (? >= "2024-01-31") hoặc '
                "tạo ngày từ các số",
            )
        if name not in CALLABLE_NAMES and name not in known:
            feel = name in FEEL_FUNCTIONS
            what_en = f"{name}() is a FEEL function" if feel else f"{name}() is not a function DMN expressions have"
            what_vi = f"{name}() là hàm của FEEL" if feel else f"{name}() không phải hàm dùng được trong biểu thức DMN"
            return _issue(
                "error",
                f"{what_en}: as written the rule fails (NameError); available functions: "
                f"{', '.join(sorted(FUNCTIONS))} and Python's len, min, max, abs, round, ...",
                f"{what_vi}: viết như hiện nay quy tắc sẽ lỗi (NameError); các hàm dùng được: "
                f"{', '.join(sorted(FUNCTIONS))} và len, min, max, abs, round, ... của Python",
            )
    return None


def _shape(tree: ast.expr, text: str, input_expression: str | None, known: frozenset[str]) -> FeelIssue | None:
    """An input entry compared for equality whose Python meaning is not what the FEEL reading of it says."""
    shown = text.strip()
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not):
        operand = _text(tree.operand)
        if not _is_literal(tree.operand):
            return _issue(
                "warning",
                f"{shown} compares the input with the boolean not {operand}; for FEEL negation write ? != {operand}",
                f"{shown} so sánh đầu vào với giá trị đúng/sai not {operand}; nếu muốn phủ định kiểu FEEL "
                f"hãy viết ? != {operand}",
            )
        python = f"? not in {operand}" if isinstance(tree.operand, ast.Tuple) else f"? != {operand}"
        value = not _truth(tree.operand)
        return _issue(
            "error",
            f"{shown} is FEEL negation; in Python it is the boolean {value}, so the cell matches "
            f"only an input equal to {value}, never what it excludes: write {python}",
            f"{shown} là phép phủ định của FEEL; trong Python nó là giá trị {value}, nên ô chỉ khớp khi "
            f"đầu vào bằng {value}, không bao giờ theo nghĩa loại trừ: hãy viết {python}",
        )
    if isinstance(tree, ast.Tuple) and not _is_tuple_expression(input_expression):
        python = f"? in ({', '.join(_text(e) for e in tree.elts)})"
        return _issue(
            "error",
            f"{shown} is a FEEL list of values; in Python it is one tuple the input never equals: write {python}",
            f"{shown} là danh sách giá trị kiểu FEEL; trong Python đó là một bộ (tuple) mà đầu vào không "
            f"bao giờ bằng: hãy viết {python}",
        )
    if isinstance(tree, ast.BoolOp) and all(_is_literal(value) for value in tree.values):
        word, result = ("or" if isinstance(tree.op, ast.Or) else "and"), _text(_bool_result(tree))
        python = f"? in ({', '.join(_text(v) for v in tree.values)})"
        return _issue(
            "error",
            f"{shown}: Python's '{word}' between values gives one value, {result}, so the cell "
            f"matches only {result}: to match any of them write {python}",
            f"{shown}: '{word}' giữa các giá trị trong Python cho ra một giá trị, {result}, nên ô chỉ khớp "
            f"{result}: để khớp một trong các giá trị hãy viết {python}",
        )
    if isinstance(tree, (ast.List, ast.Set)) and _is_literal(tree):
        python = f"? in {shown}"
        return _issue(
            "warning",
            f"{shown} matches only an input that is exactly this list or set; to test membership write {python}",
            f"{shown} chỉ khớp khi đầu vào đúng bằng cả danh sách (tập hợp) này; để kiểm tra thuộc danh "
            f"sách hãy viết {python}",
        )
    if isinstance(tree, ast.Name) and tree.id not in known and tree.id != PLACEHOLDER:
        return _bare_name(tree.id)
    return None


def _is_tuple_expression(text: str | None) -> bool:
    parsed = parse_expression(text) if text else None
    return parsed is not None and isinstance(parsed[0], ast.Tuple)


def _truth(node: ast.expr) -> bool:
    try:
        return bool(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return True


def _bool_result(tree: ast.BoolOp) -> ast.expr:
    """The operand Python's and/or returns for literal operands."""
    for value in tree.values:
        if _truth(value) == isinstance(tree.op, ast.Or):
            return value
    return tree.values[-1]


def _bare_name(name: str) -> FeelIssue:
    return _issue(
        "warning",
        f'{name} is read as the variable {name}, not the text "{name}"; for the text write "{name}" with quotes',
        f'{name} được hiểu là biến {name}, không phải chuỗi "{name}"; nếu là chuỗi hãy đặt trong dấu '
        f'ngoặc kép "{name}"',
    )


def cell_issue(
    text: str | None, kind: CellKind, *, input_expression: str | None = None, known: Iterable[str] = ()
) -> FeelIssue | None:
    """What a DMN cell does differently from its FEEL reading, or None. ``known``: the table's variables (names its
    input expressions read), which a cell may legitimately name."""
    if text is None or text.strip() in ("", "-"):
        return None
    names = frozenset(known)
    if _FEEL_SPACED.search(text):  # "date and time(...)" parses as Python's "date and time(...)": name FEEL first
        return syntax_hint(text)
    parsed = parse_entry(text) if kind == "input entry" else parse_expression(text)
    if parsed is None:
        return syntax_hint(text)
    tree, glued = parsed
    found = _names_and_calls(tree, names)
    if found is not None:
        return found
    if kind == "input entry" and not glued and not QUESTION.search(text):
        return _shape(tree, text, input_expression, names)
    if kind == "output entry" and isinstance(tree, ast.Name) and tree.id not in names:
        return _bare_name(tree.id)
    return None
