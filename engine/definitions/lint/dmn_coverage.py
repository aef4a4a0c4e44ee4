"""The "6 rõ" rule for DMN decision tables (``dmn-no-default``): a single-hit table without a catch-all rule must match
every value of its inputs that have a finite domain, or the decision would give no result.

A domain is finite where it is decidable: typeRef boolean, a list of allowed values (``<inputValues>``), a variable
whose values a form of the deployment enumerates (:func:`form_domains`), or a column whose every cell is True/False.
Each cell is evaluated exactly as SpiffWorkflow would (engine.definitions.dmn.cells), as far as it is literals and
comparisons of the input value; a cell that is more than that counts as matching anything.
"""

from __future__ import annotations

import ast
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from phoihop.engine.definitions.dmn.cells import PLACEHOLDER, dmn_entry_source
from phoihop.engine.definitions.forms.files import Form
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.model import Finding

__all__ = ["MAX_COMBINATIONS", "coverage_findings", "form_domains"]

SINGLE_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "ANY", "PRIORITY"})  # one rule's output is the result
MAX_COMBINATIONS = 4096  # input combinations enumerated per decision table; beyond it each column is checked alone
MAX_LISTED = 5  # uncovered combinations named in one finding


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class _Undecidable(Exception):
    """The cell is more than literals and comparisons of the input value: it may match anything."""


def _value(node: ast.AST, value: Any) -> Any:
    """Evaluate literals, containers of literals, the input placeholder, comparisons, and/or/not; nothing else."""
    if isinstance(node, ast.Expression):
        return _value(node.body, value)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id == PLACEHOLDER:
        return value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_value(element, value) for element in node.elts]
        return set(items) if isinstance(node, ast.Set) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _value(node.operand, value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _value(node.operand, value)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand
    if isinstance(node, ast.BoolOp):  # Python's and/or: the deciding operand, not a bool
        result = None
        for part in node.values:
            result = _value(part, value)
            if bool(result) != isinstance(node.op, ast.And):
                break
        return result
    if isinstance(node, ast.Compare):
        left = _value(node.left, value)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _value(comparator, value)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise _Undecidable


def _cell(text: str | None) -> Callable[[Any], bool] | None:
    """A predicate telling whether the cell matches an input value, exactly as SpiffWorkflow would evaluate it;
    None for a wildcard ("-", empty) or a cell this check cannot decide."""
    if text is None or text.strip() in ("", "-"):
        return None
    try:
        tree = ast.parse(dmn_entry_source(PLACEHOLDER, text)[0].strip(), mode="eval")
        _value(tree, object())  # refuses early what is not a plain comparison (names, calls, arithmetic)
    except (SyntaxError, _Undecidable, ValueError, RecursionError):
        return None
    except TypeError:  # e.g. object() < 5: still a plain comparison
        pass

    def matches(value: Any) -> bool:
        try:
            return bool(_value(tree, value))
        except (_Undecidable, TypeError):
            return True  # SpiffWorkflow would fail rather than fall through: not a coverage gap

    return matches


def _literals(text: str) -> tuple[Any, ...] | None:
    try:
        found = ast.literal_eval(f"[{text}]")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    values = tuple(dict.fromkeys(v for v in found if isinstance(v, (str, bool, int, float))))
    return values or None


def form_domains(forms: Iterable[Form]) -> dict[str, tuple[Any, ...]]:
    """Variable → the values the deployment's forms allow for it (a property's ``enum``, or True/False for a boolean
    property); a variable several forms constrain may take any of their values."""
    domains: dict[str, tuple[Any, ...]] = {}
    for form in forms:
        properties = form.schema.get("properties")
        for name, schema in properties.items() if isinstance(properties, dict) else ():
            if not isinstance(schema, dict):
                continue
            values = schema.get("enum")
            if schema.get("type") == "boolean":
                allowed: tuple[Any, ...] = (True, False)
            elif isinstance(values, list) and all(isinstance(v, (str, bool, int, float)) for v in values):
                allowed = tuple(values)
            else:
                continue
            if allowed:
                domains[name] = tuple(dict.fromkeys((*domains.get(name, ()), *allowed)))
    return domains


def _domain(
    input_element: Any, cells: Sequence[str | None], ns: dict[str, str], variables: Mapping[str, tuple[Any, ...]]
) -> tuple[Any, ...] | None:
    """The finite set of values an input can take, where that is decidable: typeRef boolean, a list of allowed
    values (``<inputValues>``), a variable whose values a form of the deployment enumerates, or a column whose every
    cell is True/False."""
    expression = input_element.find("dmn:inputExpression", ns)
    if expression is not None and (expression.get("typeRef") or "").lower() == "boolean":
        return (True, False)
    allowed = input_element.findtext("dmn:inputValues/dmn:text", None, ns)
    if allowed and allowed.strip():
        return _literals(allowed)
    source = (input_element.findtext("dmn:inputExpression/dmn:text", "", ns) or "").strip()
    if source in variables:
        return variables[source]
    used = [text.strip() for text in cells if text is not None and text.strip() not in ("", "-")]
    if used and all(text in ("True", "False") for text in used):
        return (True, False)
    return None


def _render(values: dict[str, Any]) -> str:
    return ", ".join(f"{label} = {value!r}" for label, value in values.items())


def coverage_findings(file: str, root: Any, variables: Mapping[str, tuple[Any, ...]]) -> Iterator[Finding]:
    ns = {"dmn": root.tag[1:].split("}", 1)[0] if isinstance(root.tag, str) and root.tag.startswith("{") else ""}
    for decision in root.iterfind(".//dmn:decision", ns):
        table = decision.find("dmn:decisionTable", ns)
        if table is None or (table.get("hitPolicy") or "UNIQUE").upper() not in SINGLE_HIT_POLICIES:
            continue
        inputs = table.findall("dmn:input", ns)
        rules = [
            [entry.findtext("dmn:text", None, ns) for entry in rule.findall("dmn:inputEntry", ns)]
            for rule in table.iterfind("dmn:rule", ns)
        ]
        rules = [cells + [None] * (len(inputs) - len(cells)) for cells in rules]
        if any(all(cell is None or cell.strip() in ("", "-") for cell in cells) for cells in rules):
            continue  # a catch-all rule
        columns: list[tuple[int, str, tuple[Any, ...]]] = []
        for index, input_element in enumerate(inputs):
            domain = _domain(input_element, [cells[index] for cells in rules], ns, variables)
            if domain:
                label = (
                    input_element.get("label")
                    or input_element.findtext("dmn:inputExpression/dmn:text", "", ns)
                    or input_element.get("id")
                    or str(index + 1)
                ).strip()
                columns.append((index, label, domain))
        gaps = _uncovered(columns, [[_cell(cell) for cell in cells] for cells in rules])
        if gaps:
            listed = "; ".join(_render(gap) for gap in gaps[:MAX_LISTED])
            more_en = f" and {len(gaps) - MAX_LISTED} more" if len(gaps) > MAX_LISTED else ""
            more_vi = f" và {len(gaps) - MAX_LISTED} trường hợp khác" if len(gaps) > MAX_LISTED else ""
            policy = (table.get("hitPolicy") or "UNIQUE").upper()
            yield finding_at(
                "dmn-no-default",
                "warning",
                file,
                decision,
                decision.get("id"),
                f"decision table {decision.get('id')} (hit policy {policy}) has no default rule (all "
                f"inputs '-') and no rule matches {listed}{more_en}: the decision would give no result",
                f"bảng quyết định {decision.get('id')} (hit policy {policy}) không có quy tắc mặc định (mọi "
                f"ô đầu vào '-') và không quy tắc nào khớp {listed}{more_vi}: quyết định sẽ không có kết "
                "quả",
            )


def _uncovered(
    columns: Sequence[tuple[int, str, tuple[Any, ...]]],
    rules: Sequence[Sequence[Any]],
) -> list[dict[str, Any]]:
    """Combinations of finite-domain input values that no rule matches. Cells of other inputs, and cells this check
    cannot decide, count as matching anything (so nothing is reported that a rule might cover)."""
    if not columns:
        return []

    def covered(assignment: Iterable[tuple[int, Any]]) -> bool:
        pairs = list(assignment)
        return any(all(cells[i] is None or cells[i](v) for i, v in pairs) for cells in rules)

    size = 1
    for _, _, domain in columns:
        size *= len(domain)
    if size <= MAX_COMBINATIONS:
        gaps = []
        for combination in itertools.product(*(domain for _, _, domain in columns)):
            if not covered(zip((i for i, _, _ in columns), combination, strict=True)):
                gaps.append({label: v for (_, label, _), v in zip(columns, combination, strict=True)})
        return gaps
    return [{label: v} for index, label, domain in columns for v in domain if not covered([(index, v)])]
