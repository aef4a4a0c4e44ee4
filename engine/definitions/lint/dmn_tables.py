"""The lint of whole DMN files: cells whose FEEL reading differs from what SpiffWorkflow runs (``dmn-feel``, judged by
engine.definitions.dmn.feel), hit policies SpiffWorkflow runs differently (``dmn-hit-policy``) and decision
requirement graphs, which it does not evaluate (``dmn-required-decision``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phoihop.engine.definitions.dmn.cells import expression_names
from phoihop.engine.definitions.dmn.feel import FEEL_CODE, CellKind, cell_issue
from phoihop.engine.definitions.dmn.feel_python import Untranslated, translate_root
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.model import Finding

__all__ = ["dmn_findings"]

_KIND_VI: dict[str, str] = {
    "input entry": "ô đầu vào",
    "output entry": "ô đầu ra",
    "input expression": "biểu thức đầu vào",
}


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


def _table_findings(
    file: str, decision: Any, table: Any, ns: dict[str, str], skip: frozenset[Any] = frozenset()
) -> Iterator[Finding]:
    decision_id = decision.get("id")
    inputs = table.findall("dmn:input", ns)
    expressions = [element.findtext("dmn:inputExpression/dmn:text", None, ns) for element in inputs]
    known = frozenset(name for text in expressions for name in expression_names(text))
    for index, (element, expression) in enumerate(zip(inputs, expressions, strict=True)):
        if element.find("dmn:inputExpression", ns) in skip:
            continue
        issue = cell_issue(expression, "input expression", known=known - expression_names(expression))
        if issue is not None:
            column = _column(element, index, ns)
            yield finding_at(
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
            if entry in skip:
                continue
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
                **finding_at(
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
        yield finding_at(
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
        yield finding_at(
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
    left = translate_root(root)  # a FEEL file's cells as Python, in place: the lint then sees what runs
    yield from _untranslated_findings(file, left)
    skip = frozenset(cell.element for cell in left)
    for decision in root.iterfind(".//dmn:decision", ns):
        decision_id = decision.get("id")
        required = [
            (requirement.get("href") or "").lstrip("#")
            for requirement in decision.iterfind("dmn:informationRequirement/dmn:requiredDecision", ns)
        ]
        if required:
            listed = ", ".join(required)
            yield finding_at(
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
            yield from _table_findings(file, decision, table, ns, skip)


def _untranslated_findings(file: str, left: list[Untranslated]) -> Iterator[Finding]:
    """``dmn-feel`` errors: FEEL cells of a FEEL file that engine.definitions.dmn.feel_python does not translate."""
    for cell in left:
        en, vi = cell.message()
        yield finding_at(FEEL_CODE, "error", file, cell.element, cell.rule_id or cell.element.get("id"), en, vi)
