"""A small, strict translator from JUEL (the expression language of Camunda 7) to the Python the sandbox runs.

Camunda Modeler users write ``${approved}`` or ``${amount > 1000 && !urgent}`` in conditions, timers and task
attributes. :func:`translate` turns one such expression into an equivalent Python expression at deploy time; the
Python is what SpiffWorkflow evaluates, through the sandbox. The subset:

- variables (``amount``), property access ``a.b`` → ``a["b"]``, index ``a[0]`` / ``a['b']``;
- literals: strings ``'…'`` and ``"…"`` (escapes ``\\'``, ``\\"``, ``\\\\``), integers, decimals, ``true``,
  ``false``, ``null``;
- comparisons ``== != < > <= >=`` and ``eq ne lt gt le ge``; ``&& || !`` and ``and or not``; ``empty x`` (true for
  null, ``''``, an empty list or object); arithmetic ``+ - * / % div mod`` and unary minus; parentheses;
  the conditional ``a ? b : c``.

``now()`` and ``dateTime()`` with ``plusDays(n)``… and ``toDate()`` are the current time (engine.definitions.camunda.
juel_dates). Everything else is refused with :class:`JuelRefused` (an English and a Vietnamese reason): method calls
(``x.size()``), functions (``fn:contains(…)``), Camunda's context objects (``execution``, ``task``,
``authenticatedUserId``) and multi-instance counters, ``instanceof``, EL 3.0 assignment, lambdas and collection
literals, ``+`` on a string literal (JUEL's ``+`` adds numbers), and composite texts (literal text around
``${…}``). ``#{…}`` is read as ``${…}``.

Where the Python differs from JUEL (documented, not emulated): JUEL coerces operands (``"5" > 3`` compares numbers,
``null + 1`` is 1, the string ``"false"`` is false in ``&&``), Python does not and the instance stops in a clear
error; ``/`` by zero raises instead of giving Infinity; ``%`` follows Python's sign rule for negative numbers.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from phoihop.engine.definitions.camunda import juel_dates as dates

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "JuelRefused", "Translation", "is_juel", "looks_like_juel", "translate"]

MAX_LENGTH = 4000  # characters of one expression
MAX_DEPTH = 40  # nesting of parentheses and operators: the parser is recursive
_MAX_NUMBER = 40  # digits of a numeric literal (Python refuses int literals past 4300 digits; none is that long)

# Camunda's objects in the expression context: Java objects, not variables of the process.
_CONTEXT_OBJECTS = frozenset(
    {"execution", "task", "variableScope", "authenticatedUserId", "processEngine", "externalTask", "caseExecution"}
)
_MI_COUNTERS = frozenset({"nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances", "loopCounter"})
_RESERVED = frozenset(
    {"and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "true", "false", "null", "empty", "div", "mod"}
    | {"instanceof"}
)
_EMPTY_VALUES = "(None, '', [], {})"
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[^\W\d]\w*)
  | (?P<op>==|!=|<=|>=|&&|\|\||->|\+=|[-+*/%<>!()\[\].?:,}])
""",
    re.VERBOSE,
)


_CHARACTERS = {  # characters outside the subset: (English, Vietnamese) descriptions
    "=": ("assignment '='", "phép gán '='"),
    "&": ("'&' (write '&&')", "'&' (hãy viết '&&')"),
    "|": ("'|' (write '||')", "'|' (hãy viết '||')"),
    "{": ("'{' (a set or map literal)", "'{' (tập hợp hay bảng)"),
    ";": ("';' (several expressions)", "';' (nhiều biểu thức)"),
}


class JuelRefused(ValueError):
    """An expression outside the supported subset; ``reason`` / ``reason_vi`` say what and why."""

    def __init__(self, reason: str, reason_vi: str) -> None:
        super().__init__(reason)
        self.reason, self.reason_vi = reason, reason_vi


@dataclass(frozen=True)
class Translation:
    python: str  # the Python expression
    variable: str | None  # the variable name when the expression is one bare identifier (``${reviewer}``)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, op, end
    text: str
    position: int


def looks_like_juel(text: str) -> bool:
    """Whether ``text`` holds a JUEL ``${…}`` or ``#{…}`` anywhere (a whole expression or a composite text)."""
    return "${" in text or "#{" in text


def is_juel(text: str) -> bool:
    """Whether ``text`` (stripped) starts as a JUEL expression: ``${`` or ``#{``."""
    return text.lstrip().startswith(("${", "#{"))


def _tokens(text: str, start: int) -> list[_Token]:
    """Tokens of the expression body starting at ``start``, up to and including the closing ``}``."""
    found: list[_Token] = []
    position = start
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            en, vi = _CHARACTERS.get(char, (repr(char), repr(char)))
            raise JuelRefused(
                f"unsupported {en} at position {position + 1}", f"không hỗ trợ {vi} ở vị trí {position + 1}"
            )
        kind = match.lastgroup or ""
        position = match.end()
        if kind == "space":
            continue
        token = _Token(kind, match.group(), match.start())
        found.append(token)
        if kind == "op" and token.text == "}":
            return found
    raise JuelRefused("the expression has no closing '}'", "biểu thức thiếu dấu đóng '}'")


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.names: list[str] = []

    # --- token helpers ------------------------------------------------------------------------------------------
    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def accept(self, *texts: str) -> str | None:
        token = self.current
        if token.kind in ("op", "name") and token.text in texts:
            self.index += 1
            return token.text
        return None

    def expect(self, text: str) -> None:
        if self.accept(text) is None:
            token = self.current
            shown, shown_vi = _shown(token)
            raise JuelRefused(
                f"expected {text!r} but found {shown} at position {token.position + 1}",
                f"cần {text!r} nhưng gặp {shown_vi} ở vị trí {token.position + 1}",
            )

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise JuelRefused(
                f"the expression nests deeper than {MAX_DEPTH} levels", f"biểu thức lồng nhau quá {MAX_DEPTH} cấp"
            )

    # --- grammar, lowest precedence first --------------------------------------------------------------------------
    def expression(self) -> str:
        self.nested()
        try:
            condition = self.binary(0)
            if self.accept("?") is None:
                return condition
            if_true = self.expression()
            self.expect(":")
            if_false = self.expression()
            return f"({if_true} if {condition} else {if_false})"
        finally:
            self.depth -= 1

    _LEVELS: tuple[dict[str, str], ...] = (
        {"||": "or", "or": "or"},
        {"&&": "and", "and": "and"},
        {"==": "==", "eq": "==", "!=": "!=", "ne": "!="},
        {"<": "<", "lt": "<", ">": ">", "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">="},
        {"+": "+", "-": "-"},
        {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"},
    )

    def binary(self, level: int) -> str:
        if level == len(self._LEVELS):
            return self.unary()
        operators = self._LEVELS[level]
        left_start = self.index
        left = self.binary(level + 1)
        while (operator := self.accept(*operators)) is not None:
            right_start = self.index
            right = self.binary(level + 1)
            if operators[operator] == "+" and (self._string_at(left_start) or self._string_at(right_start)):
                raise JuelRefused(
                    "'+' adds numbers in JUEL; joining texts is not supported",
                    "'+' trong JUEL là phép cộng số; không hỗ trợ nối chuỗi",
                )
            left = f"({left} {operators[operator]} {right})"
            left_start = right_start
        return left

    def _string_at(self, index: int) -> bool:
        return self.tokens[index].kind == "string"

    def unary(self) -> str:
        self.nested()
        try:
            if self.accept("-") is not None:
                return f"(-{self.unary()})"
            if self.accept("!", "not") is not None:
                return f"(not {self.unary()})"
            if self.accept("empty") is not None:
                return f"({self.unary()} in {_EMPTY_VALUES})"
            return self.postfix()
        finally:
            self.depth -= 1

    def postfix(self) -> str:
        value = self.primary()
        while True:
            if self.accept(".") is not None:
                token = self.current
                if token.kind != "name" or token.text in _RESERVED:
                    raise JuelRefused(
                        f"expected a property name after '.' at position {token.position + 1}",
                        f"cần tên thuộc tính sau '.' ở vị trí {token.position + 1}",
                    )
                self.index += 1
                if self.current.text == "(" and value.startswith(dates.MARK):
                    value = dates.method(value, token.text, self.arguments())
                elif self.current.text == "(":
                    raise JuelRefused(
                        f"method call {token.text}(…) is not supported (only variables, properties, "
                        "literals and operators)",
                        f"không hỗ trợ gọi phương thức {token.text}(…) (chỉ dùng biến, thuộc tính, hằng và phép toán)",
                    )
                else:
                    value = f"{value}[{token.text!r}]"
            elif self.accept("[") is not None:
                index = self.expression()
                self.expect("]")
                value = f"{value}[{index}]"
            elif self.current.text == "(":
                raise JuelRefused(
                    "calling the result of an expression is not supported",
                    "không hỗ trợ gọi kết quả của biểu thức như hàm",
                )
            else:
                return value

    def arguments(self) -> str | None:
        """The one argument of a call (None: none), its parentheses consumed."""
        self.expect("(")
        if self.accept(")") is not None:
            return None
        argument = self.expression()
        self.expect(")")
        return argument

    def primary(self) -> str:
        token = self.current
        if token.kind == "number":
            self.index += 1
            return _number(token)
        if token.kind == "string":
            self.index += 1
            return repr(_string(token.text))
        if token.kind == "name":
            return self.name(token)
        if self.accept("(") is not None:
            inner = self.expression()
            self.expect(")")
            return inner
        shown, shown_vi = _shown(token)
        raise JuelRefused(
            f"expected a value but found {shown} at position {token.position + 1}",
            f"cần một giá trị nhưng gặp {shown_vi} ở vị trí {token.position + 1}",
        )

    def name(self, token: _Token) -> str:
        text = token.text
        self.index += 1
        literal = {"true": "True", "false": "False", "null": "None"}.get(text)
        if literal is not None:
            return literal
        if text == "instanceof":
            raise JuelRefused("instanceof is not supported", "không hỗ trợ instanceof")
        if text in _RESERVED:
            raise JuelRefused(
                f"{text!r} is an operator, not a value (position {token.position + 1})",
                f"{text!r} là toán tử, không phải giá trị (vị trí {token.position + 1})",
            )
        following = self.current.text
        if following == "(" and text in dates.FUNCTIONS:
            return dates.call(text, self.arguments() is not None)
        if following == "(" or (
            following == ":"
            and (after := self.peek()) is not None
            and after.kind == "name"
            and (call := self.peek(2)) is not None
            and call.text == "("
        ):
            called = text if following == "(" else f"{text}:{self.peek().text}"  # type: ignore[union-attr]
            raise JuelRefused(
                f"function call {called}(…) is not supported (only variables, properties, literals and operators)",
                f"không hỗ trợ gọi hàm {called}(…) (chỉ dùng biến, thuộc tính, hằng và phép toán)",
            )
        if following == "->":
            raise JuelRefused("lambda expressions are not supported", "không hỗ trợ biểu thức lambda")
        if text in _CONTEXT_OBJECTS:
            raise JuelRefused(
                f"{text!r} is a Camunda Java object, not a process variable: use the variable itself",
                f"{text!r} là đối tượng Java của Camunda, không phải biến của quy trình: hãy dùng trực tiếp biến",
            )
        if text in _MI_COUNTERS:
            raise JuelRefused(
                f"{text!r} is a Camunda multi-instance counter, which this engine does not provide",
                f"{text!r} là biến đếm đa thực thể của Camunda, máy chủ này không cung cấp",
            )
        if keyword.iskeyword(text) or not text.isidentifier():
            raise JuelRefused(
                f"variable name {text!r} cannot be used: it is a Python keyword",
                f"không dùng được tên biến {text!r}: đó là từ khóa của Python",
            )
        self.names.append(text)
        return text


def _shown(token: _Token) -> tuple[str, str]:
    if token.text == "}":
        return "the end of the expression", "chỗ kết thúc biểu thức"
    return repr(token.text), repr(token.text)


def _number(token: _Token) -> str:
    text = token.text
    if len(text) > _MAX_NUMBER:
        raise JuelRefused(
            f"the number at position {token.position + 1} is too long", f"số ở vị trí {token.position + 1} quá dài"
        )
    if re.fullmatch(r"\d+", text):
        return str(int(text))  # "007" is 7 in JUEL and a syntax error in Python
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JuelRefused(f"the number {text} is out of range", f"số {text} vượt quá phạm vi")
    return repr(value)


def _string(quoted: str) -> str:
    body = quoted[1:-1]
    return re.sub(r"\\(.)", lambda m: m.group(1) if m.group(1) in "'\"\\" else m.group(0), body)


def translate(text: str) -> Translation:
    """The Python form of the JUEL expression ``text`` (``${…}`` or ``#{…}``, surrounding blanks allowed).

    Raises :class:`JuelRefused` for a text that is not one whole expression of the subset."""
    stripped = text.strip()
    if len(stripped) > MAX_LENGTH:
        raise JuelRefused(
            f"the expression is longer than {MAX_LENGTH} characters", f"biểu thức dài quá {MAX_LENGTH} ký tự"
        )
    if not is_juel(stripped):
        if looks_like_juel(stripped):
            raise JuelRefused(
                "text around ${…} (a composite expression) is not supported: write one ${…} expression",
                "không hỗ trợ văn bản xen biểu thức ${…} (biểu thức ghép): hãy viết một biểu thức ${…} duy nhất",
            )
        raise JuelRefused(
            "not a JUEL expression: it must start with ${ or #{",
            "không phải biểu thức JUEL: phải bắt đầu bằng ${ hoặc #{",
        )
    tokens = _tokens(stripped, 2)
    end = tokens[-1].position + 1
    if stripped[end:].strip():
        raise JuelRefused(
            "text around ${…} (a composite expression) is not supported: write one ${…} expression",
            "không hỗ trợ văn bản xen biểu thức ${…} (biểu thức ghép): hãy viết một biểu thức ${…} duy nhất",
        )
    if len(tokens) == 1:
        raise JuelRefused("the expression is empty", "biểu thức rỗng")
    parser = _Parser(tokens)
    try:
        python = parser.expression()
        if parser.current.text == "}":
            python = dates.finish(python)
    except dates.DateRefused as exc:
        raise JuelRefused(exc.reason, exc.reason_vi) from exc
    if parser.current.text != "}":
        token = parser.current
        if token.text == "instanceof":
            raise JuelRefused("instanceof is not supported", "không hỗ trợ instanceof")
        raise JuelRefused(
            f"unexpected {token.text!r} at position {token.position + 1}",
            f"không mong đợi {token.text!r} ở vị trí {token.position + 1}",
        )
    bare = len(tokens) == 2 and tokens[0].kind == "name" and parser.names == [tokens[0].text]
    return Translation(python, tokens[0].text if bare else None)
