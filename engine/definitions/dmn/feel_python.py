"""FEEL decision tables (as Camunda Modeler writes them) translated at deploy into the Python SpiffWorkflow 3.2.0 runs.

A DMN file is FEEL when its ``<definitions expressionLanguage>`` (or a cell's own ``expressionLanguage``) names FEEL
(``https://www.omg.org/spec/DMN/20191111/FEEL/``, ``feel``, ...), or when Camunda Modeler wrote it (``exporter``)
without any ``expressionLanguage`` and every cell translates (:func:`is_feel`). Other files keep Python cells,
unchanged: ours (processes/*/*.dmn, ``exporter="phoihop"``) and Camunda Modeler files written in Python.
:func:`translate_root` rewrites the cells of a FEEL document in place into Python, so the sandbox (and its worker
pool) stays the only evaluator:

- input entries (unary tests): ``-`` or empty → anything; ``< 5``, ``>= 10``, ``= 5``, ``!= 5`` → ``? < 5``...;
  ``[5..8]``, ``]5..8[``, ``(5..8)`` → ``5 <= ? <= 8`` (open ends ``<``); ``"a","b"`` → either; ``not("x")``,
  ``not(1, 2)`` → none of them; a value (``5``, ``"a"``, ``amount``) → equality;
- simple expressions (input expressions, output entries, the operands above): strings, numbers, ``true``, ``false``,
  ``null``, variables, ``+ - * /``, parentheses, ``and``/``or``; ``date("2026-01-01")`` → the ISO text
  ``"2026-01-01"`` (dates are ISO texts in phoihop, and ISO texts compare in date order);
- an input expression that is a variable named like a Python keyword or builtin (``continue``, ``input``, ``list``),
  which the sandbox refuses, is read through SpiffWorkflow's label fallback (``task.data[label]``): the input gets
  that name as its label and no expression.

What is not translated (FEEL functions such as ``substring(x, 1, 2)``, lists, ``between``, names with spaces) stays as
written and is returned as :class:`Untranslated`, which the lint reports as an error naming the rule and column.
After translation the definitions say ``expressionLanguage="python"``, so translating twice changes nothing.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import keyword
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["PYTHON_LANGUAGE", "FeelUnsupported", "Untranslated", "is_feel", "translate_root", "unary_tests"]

PYTHON_LANGUAGE = "python"
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>\d+(?:\.\d+)?)|(?P<range>\.\.)|(?P<op><=|>=|!=|<|>|=)"""
    r"""|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[-+*/(),\[\]]))"""
)
_BUILTIN_NAMES = frozenset(dir(builtins))
_CONSTANTS = {"true": "True", "false": "False", "null": "None"}


class FeelUnsupported(ValueError):
    """A FEEL cell the translator does not handle; ``args``: (English, Vietnamese) reason."""


@dataclass(frozen=True)
class Untranslated:
    element: Any  # the inputEntry / outputEntry / inputExpression element
    rule_id: str | None
    column: str  # the input or output label (or id)
    kind: str  # "input entry", "output entry", "input expression"
    text: str
    reason_en: str
    reason_vi: str

    def message(self) -> tuple[str, str]:
        """(English, Vietnamese): the cell, where it is and why it is not translated."""
        kind_vi = {"input entry": "ô đầu vào", "output entry": "ô đầu ra"}.get(self.kind, "biểu thức đầu vào")
        where_en = f"rule {self.rule_id}, " if self.rule_id else ""
        where_vi = f"quy tắc {self.rule_id}, " if self.rule_id else ""
        return (
            f"{where_en}column {self.column!r}: FEEL {self.kind} {self.text!r} is not supported: {self.reason_en} "
            '(supported: unary tests, simple expressions, date("..."); see docs/camunda-and-dmn.md)',
            f"{where_vi}cột {self.column!r}: {kind_vi} FEEL {self.text!r} chưa được hỗ trợ: {self.reason_vi} "
            '(hỗ trợ: phép thử đơn, biểu thức đơn giản, date("..."); xem docs/camunda-and-dmn.md)',
        )


Token = tuple[str, str]


def _reserved(name: str) -> bool:
    """A name the sandbox cannot read as a variable: a Python keyword (``continue``) or builtin (``input``)."""
    return keyword.iskeyword(name) or name in _BUILTIN_NAMES


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    position, end = 0, len(text.rstrip())
    while position < end:
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            bad = text[position:].strip()[:10]
            raise FeelUnsupported(f"cannot read {bad!r}", f"không đọc được {bad!r}")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


def _split(tokens: list[Token]) -> list[list[Token]]:
    """Tokens split at commas outside brackets and parentheses."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token[1] in "([" and token[0] == "punct":
            depth += 1
        elif token[1] in ")]" and token[0] == "punct":
            depth -= 1
        if token == ("punct", ",") and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _date(tokens: list[Token], index: int) -> tuple[str, int]:
    if (
        len(tokens) < index + 4
        or tokens[index + 1] != ("punct", "(")
        or tokens[index + 2][0] != "str"
        or tokens[index + 3] != ("punct", ")")
    ):
        raise FeelUnsupported(
            'date() takes one ISO text: date("2026-01-31")', 'date() nhận một chuỗi ISO: date("2026-01-31")'
        )
    value = _text(tokens[index + 2][1])
    try:
        date.fromisoformat(value)
    except ValueError:
        raise FeelUnsupported(f"{value!r} is not an ISO date", f"{value!r} không phải ngày dạng ISO") from None
    return repr(value), index + 4


def _text(token: str) -> Any:
    """A FEEL string token's value; an escape JSON does not know is unsupported, not a crash."""
    try:
        return json.loads(token)
    except ValueError:
        raise FeelUnsupported(
            f"{token} is not a valid string (unknown escape)", f"{token} không phải chuỗi hợp lệ (ký tự thoát lạ)"
        ) from None


def _expression(tokens: list[Token]) -> str:
    """A simple FEEL expression as Python."""
    if not tokens:
        raise FeelUnsupported("an empty expression", "biểu thức rỗng")
    parts: list[str] = []
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if kind == "str":
            parts.append(repr(_text(value)))
        elif kind == "num":
            parts.append(value)
        elif kind == "name" and value == "date" and following == ("punct", "("):
            python, index = _date(tokens, index)
            parts.append(python)
            continue
        elif kind == "name" and following == ("punct", "("):
            raise FeelUnsupported(
                f"the FEEL function {value}() is not supported", f"hàm FEEL {value}() chưa được hỗ trợ"
            )
        elif kind == "name" and value in _CONSTANTS:
            parts.append(_CONSTANTS[value])
        elif kind == "name" and value in ("and", "or"):
            parts.append(value)
        elif kind == "name" and _reserved(value):
            raise FeelUnsupported(
                f"the variable {value} is named like a Python keyword or builtin: it can only be a whole input "
                "expression",
                f"biến {value} trùng tên từ khóa hoặc hàm sẵn có của Python: chỉ dùng được khi là cả biểu thức đầu vào",
            )
        elif kind == "name":
            parts.append(value)
        elif kind == "op" and value in ("=", "!=", "<", "<=", ">", ">="):
            parts.append("==" if value == "=" else value)
        elif kind == "punct" and value in "+-*/()":
            parts.append(value)
        else:
            raise FeelUnsupported(f"{value!r} is not supported here", f"{value!r} chưa được hỗ trợ ở đây")
        index += 1
    python = " ".join(parts)
    try:
        ast.parse(python, mode="eval")
    except SyntaxError:
        raise FeelUnsupported("not a simple FEEL expression", "không phải biểu thức FEEL đơn giản") from None
    return python


def _test(tokens: list[Token]) -> str:
    """One positive unary test as a Python condition on ``?``."""
    if not tokens:
        raise FeelUnsupported("an empty test between commas", "phép thử rỗng giữa hai dấu phẩy")
    first = tokens[0]
    if first[0] == "op":
        operator = "==" if first[1] == "=" else first[1]
        return f"? {operator} {_expression(tokens[1:])}"
    if first[1] in ("[", "]", "(") and first[0] == "punct" and ("range", "..") in tokens:
        last = tokens[-1]
        if last[0] != "punct" or last[1] not in ("]", "[", ")"):
            raise FeelUnsupported("a range ends with ], [ or )", "khoảng giá trị phải kết thúc bằng ], [ hoặc )")
        middle = tokens[1:-1]
        cut = middle.index(("range", ".."))
        low, high = _expression(middle[:cut]), _expression(middle[cut + 1 :])
        low_op = "<" if first[1] in "](" else "<="
        high_op = "<" if last[1] in "[)" else "<="
        return f"{low} {low_op} ? {high_op} {high}"
    return f"? == ({_expression(tokens)})"


def unary_tests(text: str) -> str | None:
    """FEEL unary tests as a Python input entry (with ``?``); None for ``-`` or an empty cell (anything matches)."""
    if text.strip() in ("", "-"):
        return None
    tokens = _tokens(text)
    negated = len(tokens) >= 3 and tokens[0] == ("name", "not") and tokens[1] == ("punct", "(")
    if negated:
        if tokens[-1] != ("punct", ")"):
            raise FeelUnsupported("not(...) must hold the whole cell", "not(...) phải bao cả ô")
        tokens = tokens[2:-1]
    tests = [f"({_test(part)})" for part in _split(tokens)]
    python = " or ".join(tests)
    return f"not ({python})" if negated else python


def simple_expression(text: str) -> str:
    return _expression(_tokens(text))


def _language(element: Any) -> str | None:
    value = element.get("expressionLanguage")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _is_feel_language(value: str | None) -> bool:
    return value is not None and "feel" in value


def _said_feel(root: Any) -> bool:
    return _is_feel_language(_language(root)) or any(
        _is_feel_language(_language(element)) for element in root.iter() if isinstance(element.tag, str)
    )


def is_feel(root: Any) -> bool:
    """Whether a DMN document holds FEEL cells to translate: its definitions (or a cell) say FEEL, or Camunda Modeler
    wrote it without ``expressionLanguage`` (FEEL is DMN's default) and every cell of it translates; a Camunda Modeler
    file with a cell that is Python only (``True``, ``0 <= ? <= 500``) stays Python, as before."""
    if _said_feel(root):
        return True
    if _language(root) is not None or not (root.get("exporter") or "").startswith("Camunda Modeler"):
        return False
    if any(_language(element) is not None for element in root.iter() if isinstance(element.tag, str)):
        return False
    trial = copy.deepcopy(root)
    return not _translate_all(trial, default=True)


def _cell_is_feel(element: Any, default: bool) -> bool:
    own = _language(element)
    return default if own is None else _is_feel_language(own)


def translate_root(root: Any) -> list[Untranslated]:
    """Rewrite the FEEL cells of a DMN document in place into Python; the cells left as written. No-op on Python."""
    if not is_feel(root):
        return []
    said = _said_feel(root)  # else Camunda Modeler wrote it without expressionLanguage: every cell is FEEL
    return _translate_all(root, default=_is_feel_language(_language(root)) or not said)


def _translate_all(root: Any, *, default: bool) -> list[Untranslated]:
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    ns = {"dmn": namespace}
    left: list[Untranslated] = []
    for table in root.iterfind(".//dmn:decisionTable", ns):
        inputs = table.findall("dmn:input", ns)
        outputs = table.findall("dmn:output", ns)
        for column in inputs:
            expression = column.find("dmn:inputExpression", ns)
            text_element = expression.find("dmn:text", ns) if expression is not None else None
            if text_element is None or not _cell_is_feel(expression, default) or not (text_element.text or "").strip():
                continue
            text = text_element.text.strip()
            if _reserved(text):  # SpiffWorkflow's label fallback reads task.data[label]
                column.set("label", text)
                text_element.text = ""
                continue
            _translate(text_element, simple_expression, left, expression, None, _name(column), "input expression")
        for rule in table.iterfind("dmn:rule", ns):
            for index, entry in enumerate(rule.findall("dmn:inputEntry", ns)):
                column_name = _name(inputs[index]) if index < len(inputs) else str(index + 1)
                cell = entry.find("dmn:text", ns)
                if cell is not None and _cell_is_feel(entry, default):
                    _translate(cell, _entry, left, entry, rule.get("id"), column_name, "input entry")
            for index, entry in enumerate(rule.findall("dmn:outputEntry", ns)):
                column_name = _name(outputs[index]) if index < len(outputs) else str(index + 1)
                cell = entry.find("dmn:text", ns)
                if cell is not None and _cell_is_feel(entry, default) and (cell.text or "").strip():
                    _translate(cell, simple_expression, left, entry, rule.get("id"), column_name, "output entry")
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("expressionLanguage") is not None:
            del element.attrib["expressionLanguage"]
    root.set("expressionLanguage", PYTHON_LANGUAGE)
    return left


def _entry(text: str) -> str:
    return unary_tests(text) or "-"


def _name(column: Any) -> str:
    return str(column.get("label") or column.get("name") or column.get("id") or "?")


def _translate(
    cell: Any, translate: Any, left: list[Untranslated], element: Any, rule_id: str | None, column: str, kind: str
) -> None:
    text = cell.text or ""
    try:
        cell.text = translate(text)
    except FeelUnsupported as exc:
        en, vi = exc.args
        left.append(Untranslated(element, rule_id, column, kind, text.strip(), en, vi))
