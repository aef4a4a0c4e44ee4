"""DMN cells SpiffWorkflow 3.2.0 reads as Python although they were written as FEEL, and table features it ignores.

SpiffWorkflow evaluates a DMN input entry as Python: ``-`` or an empty cell matches anything; a cell holding ``?``
becomes an expression of the input value (``0 <= ? <= 500``); a cell that only parses after a left operand is glued to
the input expression (``> 500`` → ``kinh_phi> 500``); any other cell is compared for equality
(``(kinh_phi) == (500)``). Output entries and input expressions are plain Python expressions. FEEL written there either
fails (the instance stops in error) or, worse, compiles and silently never matches. Measured under the sandbox:

- ``[1..10]``, ``]1..10[``, ``> 1 and < 10``, ``> 3, < 1``, ``= 5``, ``starts with("a")`` do not compile: the catalog
  refuses them at deploy (``syntax_hint`` explains the FEEL);
- ``true``, ``false``, ``null`` fail (NameError), as do FEEL functions (``duration("P1D")``, ``count(x)``) and
  ``date("2024-01-01")`` (Python's ``date`` takes numbers);
- ``"a","b"`` is a tuple the input never equals, ``not("a")`` is ``False``, ``"a" or "b"`` is ``"a"``: they compile
  and never match what FEEL would;
- a bare word (``Y``) is a variable, not the text ``"Y"``; ``[5, 6]`` matches only an input that is that very list.

:func:`cell_issue` and :func:`syntax_hint` judge one cell; :func:`dmn_findings` lints whole DMN files for
engine.definitions.lint (codes ``dmn-feel``, ``dmn-hit-policy``, ``dmn-required-decision``). This module imports
nothing of the catalog, so the catalog can use it for the cells it refuses.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from phoihop.engine.execution.sandbox_limits import HOOKS
from phoihop.engine.execution.script_functions import FUNCTIONS

if TYPE_CHECKING:
    from phoihop.engine.model import Finding

__all__ = [
    "FEEL_CODE",
    "PYTHON_NOT_FEEL",
    "CellKind",
    "FeelIssue",
    "cell_issue",
    "dmn_findings",
    "expression_names",
    "syntax_hint",
]

FEEL_CODE = "dmn-feel"
PYTHON_NOT_FEEL = ("DMN expressions here are Python, not FEEL", "biểu thức DMN ở đây là Python, không phải FEEL")
CellKind = Literal["input entry", "output entry", "input expression"]
_KIND_VI: dict[str, str] = {
    "input entry": "ô đầu vào",
    "output entry": "ô đầu ra",
    "input expression": "biểu thức đầu vào",
}
Severity = Literal["warning", "error"]

PLACEHOLDER = "dmninputexpr"  # what SpiffWorkflow binds the input value to for a cell with "?"
# SpiffWorkflow's DMNEngine replaces a "?" outside quotes by the input value (same pattern).
_QUESTION = re.compile(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""")
CALLABLE_NAMES = frozenset(HOOKS["__builtins__"]) | frozenset(FUNCTIONS)
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


# SpiffWorkflow 3.2.0 turns a cell holding ? outside quotes into an expression of the input value
_DMN_QUESTION = re.compile(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def dmn_entry_source(input_expression: str, entry: str) -> tuple[str, bool]:
    """The Python SpiffWorkflow 3.2.0's DMNEngine.evaluate builds from an input entry, and whether it glued the entry
    onto the input expression (``> 500`` → ``kinh_phi> 500``). SyntaxError when the engine could not build it."""
    if _DMN_QUESTION.search(entry):
        return _DMN_QUESTION.sub("dmninputexpr", entry), False
    try:
        ast.parse(entry)
    except SyntaxError:
        ast.parse(f"v {entry}")  # a comparison fragment such as "> 500"; SyntaxError propagates
        return input_expression + entry, True
    return f"({input_expression}) == ({entry})", False


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
def _parse(text: str) -> tuple[ast.expr, bool] | None:
    """The expression of a cell as SpiffWorkflow builds it (``?`` → the placeholder) and whether it is a fragment to be
    glued after the input expression (``> 5``); None when it is no Python at all."""
    source = _QUESTION.sub(PLACEHOLDER, text)
    try:
        return ast.parse(source.strip(), mode="eval").body, False
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    try:
        glued = ast.parse(f"v {source.strip()}", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return glued, True


def expression_names(text: str | None) -> set[str]:
    """Variables an expression reads (free names that are not sandbox functions); empty for what does not parse."""
    if not text or not text.strip():
        return set()
    try:
        tree = ast.parse(_QUESTION.sub(PLACEHOLDER, text).strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound - CALLABLE_NAMES - {PLACEHOLDER}


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
    parsed = _parse_plain(text) if text else None
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
    parsed = _parse(text) if kind == "input entry" else _parse_plain(text)
    if parsed is None:
        return syntax_hint(text)
    tree, glued = parsed
    found = _names_and_calls(tree, names)
    if found is not None:
        return found
    if kind == "input entry" and not glued and not _QUESTION.search(text):
        return _shape(tree, text, input_expression, names)
    if kind == "output entry" and isinstance(tree, ast.Name) and tree.id not in names:
        return _bare_name(tree.id)
    return None


def _parse_plain(text: str) -> tuple[ast.expr, bool] | None:
    try:
        return ast.parse(text.strip(), mode="eval").body, False
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# --- whole files ----------------------------------------------------------------------------------------------------
_UNSUPPORTED_POLICIES = {
    "RULE ORDER": (
        "returns only the first matching rule's outputs, not the list of every match DMN defines; use "
        "COLLECT for a list",
        "chỉ trả về kết quả của quy tắc khớp đầu tiên, không phải danh sách mọi quy tắc khớp như DMN quy "
        "định; dùng COLLECT nếu cần danh sách",
    ),
    "OUTPUT ORDER": (
        "returns only the first matching rule in table order, not every match sorted by output "
        "priority; use COLLECT for a list",
        "chỉ trả về quy tắc khớp đầu tiên theo thứ tự bảng, không sắp theo độ ưu tiên đầu ra; dùng "
        "COLLECT nếu cần danh sách",
    ),
    "PRIORITY": (
        "takes the first matching rule in table order, not the one with the highest output priority: order "
        "the rules by priority (or use FIRST)",
        "lấy quy tắc khớp đầu tiên theo thứ tự bảng, không theo độ ưu tiên của đầu ra: hãy sắp các quy tắc "
        "theo độ ưu tiên (hoặc dùng FIRST)",
    ),
}


def _finding(
    code: str,
    severity: Severity,
    file: str,
    element: Any,
    element_id: str | None,
    en: str,
    vi: str,
) -> Finding:
    return {
        "code": code,
        "severity": severity,
        "file": file,
        "element_id": element_id,
        "element_name": (element.get("name") or None) if element is not None else None,
        "message_en": en,
        "message_vi": vi,
        "line": element.sourceline if element is not None else None,
    }


def _column(input_element: Any, index: int, ns: dict[str, str]) -> str:
    return (
        (
            input_element.get("label")
            or input_element.findtext("dmn:inputExpression/dmn:text", "", ns).strip()
            or input_element.get("id")
            or str(index + 1)
        )
        if input_element is not None
        else str(index + 1)
    )


def _table_findings(file: str, decision: Any, table: Any, ns: dict[str, str]) -> Iterator[Finding]:
    decision_id = decision.get("id")
    inputs = table.findall("dmn:input", ns)
    expressions = [element.findtext("dmn:inputExpression/dmn:text", None, ns) for element in inputs]
    known = frozenset(name for text in expressions for name in expression_names(text))
    for index, (element, expression) in enumerate(zip(inputs, expressions, strict=True)):
        issue = cell_issue(expression, "input expression", known=known - expression_names(expression))
        if issue is not None:
            column = _column(element, index, ns)
            yield _finding(
                FEEL_CODE,
                issue.severity,
                file,
                element,
                element.get("id"),
                f"decision {decision_id}, column {column!r}: input expression {expression!r}: {issue.en}",
                f"bảng quyết định {decision_id}, cột {column!r}: biểu thức đầu vào {expression!r}: {issue.vi}",
            )
    outputs = table.findall("dmn:output", ns)
    for rule in table.iterfind("dmn:rule", ns):
        cells: list[tuple[Any, CellKind, int]] = [
            (entry, "input entry", index) for index, entry in enumerate(rule.findall("dmn:inputEntry", ns))
        ]
        cells += [(entry, "output entry", index) for index, entry in enumerate(rule.findall("dmn:outputEntry", ns))]
        for entry, kind, index in cells:
            text_element = entry.find("dmn:text", ns)
            text = text_element.text if text_element is not None else None
            is_input = kind == "input entry"
            issue = cell_issue(
                text,
                kind,
                input_expression=expressions[index] if is_input and index < len(expressions) else None,
                known=known,
            )
            if issue is None:
                continue
            columns = inputs if is_input else outputs
            element = columns[index] if index < len(columns) else None
            column = (
                _column(element, index, ns)
                if is_input
                else (
                    (element.get("name") or element.get("label") or element.get("id"))
                    if element is not None
                    else str(index + 1)
                )
            )
            yield {
                **_finding(
                    FEEL_CODE,
                    issue.severity,
                    file,
                    text_element if text_element is not None else entry,
                    rule.get("id"),
                    f"decision {decision_id}, rule {rule.get('id')}, column {column!r}: {kind} {text!r}: {issue.en}",
                    f"bảng quyết định {decision_id}, quy tắc {rule.get('id')}, cột {column!r}: "
                    f"{_KIND_VI[kind]} {text!r}: {issue.vi}",
                ),
                "element_name": rule.get("name") or None,
            }
    policy = " ".join((table.get("hitPolicy") or "UNIQUE").upper().replace("_", " ").split())
    if policy in _UNSUPPORTED_POLICIES:
        en, vi = _UNSUPPORTED_POLICIES[policy]
        yield _finding(
            "dmn-hit-policy",
            "warning",
            file,
            table,
            decision_id,
            f"decision {decision_id}: hit policy {policy}: SpiffWorkflow {en}",
            f"bảng quyết định {decision_id}: hit policy {policy}: SpiffWorkflow {vi}",
        )
    if policy == "COLLECT" and table.get("aggregation"):
        aggregation = table.get("aggregation")
        yield _finding(
            "dmn-hit-policy",
            "warning",
            file,
            table,
            decision_id,
            f"decision {decision_id}: COLLECT aggregation {aggregation} is ignored by SpiffWorkflow: each "
            "output is the list of the matching rules' values",
            f"bảng quyết định {decision_id}: phép gộp {aggregation} của COLLECT bị SpiffWorkflow bỏ qua: "
            "mỗi đầu ra là danh sách giá trị của các quy tắc khớp",
        )


def dmn_findings(file: str, root: Any) -> Iterator[Finding]:
    """``dmn-feel`` (cells whose FEEL reading differs from what runs), ``dmn-hit-policy`` (policies SpiffWorkflow runs
    differently) and ``dmn-required-decision`` (decision requirement graphs: not supported) findings of a DMN file."""
    tag = root.tag if isinstance(root.tag, str) else ""
    ns = {"dmn": tag[1:].split("}", 1)[0] if tag.startswith("{") else ""}
    for decision in root.iterfind(".//dmn:decision", ns):
        decision_id = decision.get("id")
        required = [
            (requirement.get("href") or "").lstrip("#")
            for requirement in decision.iterfind("dmn:informationRequirement/dmn:requiredDecision", ns)
        ]
        if required:
            listed = ", ".join(required)
            yield _finding(
                "dmn-required-decision",
                "error",
                file,
                decision,
                decision_id,
                f"decision {decision_id} requires decision(s) {listed} (a decision requirement graph), "
                "which this engine does not evaluate: only the table of the called decision runs. Call "
                f"{listed} from its own business rule task before this one",
                f"bảng quyết định {decision_id} cần kết quả của {listed} (đồ thị yêu cầu quyết định), "
                "máy quy trình này không tự đánh giá: chỉ bảng được gọi mới chạy. Hãy gọi "
                f"{listed} bằng một công việc quy tắc nghiệp vụ riêng trước đó",
            )
        table = decision.find("dmn:decisionTable", ns)
        if table is not None:
            yield from _table_findings(file, decision, table, ns)
