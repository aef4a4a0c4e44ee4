"""The shape of each process and subprocess, read from the XML (linear in its size): what no start reaches
(``unreachable``), where a path stops without an end (``dead-end``, ``implicit-end``), sequence flows that name no
element (``flow-into-nothing``), exclusive and inclusive gateways whose only way out is conditional
(``gateway-one-way``) and parallel branches that end before the join waiting for them (``end-with-open-branches``).

A scope is a ``process`` or a ``subProcess``/``transaction`` (an ``adHocSubProcess`` has no order and is not read).
Its entries are its start events, its event subprocesses and its compensation handlers; boundary events are reached
through the activity they are attached to, a link catch event through the link throw events of the same name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from phoihop.engine.definitions.lint.branches import open_branch_findings
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.definitions.lint.scopes import (
    GATEWAYS,
    Scope,
    closure,
    definition,
    is_event_subprocess,
    is_terminate,
    link_name,
    scopes,
)
from phoihop.engine.definitions.structure import BPMN_SUFFIXES, local_name
from phoihop.engine.model import Finding

__all__ = ["graph_findings", "tree_graph_findings"]

_CHOICES = frozenset({"exclusiveGateway", "inclusiveGateway"})


def _flow_findings(scope: Scope) -> Iterator[Finding]:
    for flow in scope.broken:
        flow_id = flow.get("id")
        missing = [
            f"{attribute} {flow.get(attribute)!r}" if flow.get(attribute) else f"no {attribute}"
            for attribute in ("sourceRef", "targetRef")
            if flow.get(attribute) not in scope.nodes
        ]
        en = " and ".join(missing)
        vi = (
            en.replace(" and ", " và ")
            .replace("no sourceRef", "thiếu sourceRef")
            .replace("no targetRef", "thiếu targetRef")
        )
        yield finding_at(
            "flow-into-nothing",
            "error",
            scope.file,
            flow,
            flow_id,
            f"sequence flow {flow_id}: {en} names no task, event or gateway of this process or subprocess: the "
            "flow leads nowhere",
            f"luồng {flow_id}: {vi} không trỏ tới công việc, sự kiện hay cổng nào của quy trình (con) này: luồng "
            "không dẫn tới đâu",
        )


def _end_findings(scope: Scope, reached: set[str]) -> Iterator[Finding]:
    """Nodes without a way out: gateways and start events are errors, other nodes end their path implicitly."""
    for node_id, node in scope.nodes.items():
        kind = local_name(node)
        if scope.outgoing[node_id] or node_id not in reached:
            continue
        if kind == "intermediateThrowEvent" and scope.edges[node_id]:
            continue  # a link throw: its catch events go on
        if kind == "endEvent" or is_event_subprocess(node) or node.get("isForCompensation") == "true":
            continue
        if kind == "boundaryEvent" and (
            node.get("cancelActivity") == "false" or definition(node, "compensateEventDefinition") is not None
        ):
            continue  # a non-interrupting event that only marks a moment; a compensation handler's association
        if (
            kind in GATEWAYS
            or kind == "startEvent"
            or (kind == "intermediateThrowEvent" and link_name(node) is not None)
        ):
            yield finding_at(
                "dead-end",
                "error",
                scope.file,
                node,
                node_id,
                f"{kind} {node_id} has no outgoing sequence flow: the path stops there and the process cannot finish",
                f"{node_id} ({kind}) không có luồng đi ra: đường xử lý dừng tại đây, quy trình không thể kết thúc",
            )
        else:
            yield finding_at(
                "implicit-end",
                "warning",
                scope.file,
                node,
                node_id,
                f"{kind} {node_id} has no outgoing sequence flow: its path ends there without an end event; "
                "connect it to the next step or to an end event",
                f"{node_id} ({kind}) không có luồng đi ra: nhánh xử lý kết thúc tại đây mà không có sự kiện kết "
                "thúc; hãy nối tới bước tiếp theo hoặc tới sự kiện kết thúc",
            )


def _unreached_findings(scope: Scope, reached: set[str]) -> Iterator[Finding]:
    """One finding where an unreachable part begins (nothing leads to it), and one for each element of an
    unreachable loop nothing leads into; boundary events of an unreachable activity go with the activity."""
    unreached = [node for node in scope.nodes if node not in reached]
    heads = [
        node_id
        for node_id in unreached
        if not scope.incoming[node_id]
        and node_id not in scope.linked
        and scope.nodes[node_id].get("attachedToRef") not in scope.nodes
    ]
    behind = closure(heads, scope.edges)
    for node_id in unreached:
        if node_id in behind and node_id not in heads:
            continue
        node = scope.nodes[node_id]
        head = node_id in heads
        en = "no sequence flow leads to it" if head else "only a loop that nothing enters leads to it"
        vi = "không có luồng nào dẫn tới" if head else "chỉ có một vòng lặp không có lối vào dẫn tới"
        after_en = ", nor to what comes after it" if head and scope.edges[node_id] else ""
        after_vi = ", các bước sau đó cũng vậy" if head and scope.edges[node_id] else ""
        yield finding_at(
            "unreachable",
            "error",
            scope.file,
            node,
            node_id,
            f"{local_name(node)} {node_id} is unreachable from every start event: {en}{after_en}",
            f"{node_id} ({local_name(node)}) không thể tới được từ sự kiện bắt đầu nào: {vi}{after_vi}",
        )


def _loop_findings(scope: Scope, reached: set[str]) -> Iterator[Finding]:
    """Reached nodes from which no path leads out of a loop (to an end or any node without a way out). Skipped
    where something else can end the loop: a terminate end, an event subprocess."""
    if any(is_terminate(node) or is_event_subprocess(node) for node in scope.nodes.values()):
        return
    backwards: dict[str, list[str]] = {}
    for source, targets in scope.edges.items():
        for target in targets:
            backwards.setdefault(target, []).append(source)
    finishing = closure([node for node in scope.nodes if not scope.edges[node]], backwards)
    for node_id in sorted(reached - finishing):
        node = scope.nodes[node_id]
        if not scope.is_entry(node) and not any(source in finishing for source in backwards.get(node_id, ())):
            continue  # one finding per trap: where a path enters it
        yield finding_at(
            "dead-end",
            "error",
            scope.file,
            node,
            node_id,
            f"{local_name(node)} {node_id}: every path from here loops without reaching an end event: the process "
            "cannot finish",
            f"{node_id} ({local_name(node)}): mọi đường từ đây đều lặp lại mà không tới sự kiện kết thúc: quy trình "
            "không thể kết thúc",
        )


def _gateway_findings(scope: Scope, reached: set[str]) -> Iterator[Finding]:
    for node_id, node in scope.nodes.items():
        if local_name(node) not in _CHOICES or node_id not in reached or node.get("default"):
            continue
        flows = scope.outgoing[node_id]
        if len(flows) != 1:
            continue
        condition = definition(flows[0], "conditionExpression")
        if condition is None or not (condition.text or "").strip():
            continue
        yield finding_at(
            "gateway-one-way",
            "warning",
            scope.file,
            node,
            node_id,
            f"gateway {node_id} has one way out, flow {flows[0].get('id')}, with a condition and no default flow: "
            "when the condition is false the process stops there with an error",
            f"cổng {node_id} chỉ có một luồng đi ra ({flows[0].get('id')}) có điều kiện và không có luồng mặc "
            "định: khi điều kiện sai, quy trình dừng tại đây do lỗi",
        )


def graph_findings(file: str, root: Any) -> list[Finding]:
    """Every finding on the shape of the processes and subprocesses of one BPMN file."""
    findings: list[Finding] = []
    for scope in scopes(file, root):
        if not scope.nodes and not scope.flows:
            continue
        reached = scope.reached()
        findings += _flow_findings(scope)
        findings += _unreached_findings(scope, reached)
        findings += _end_findings(scope, reached)
        findings += _loop_findings(scope, reached)
        findings += _gateway_findings(scope, reached)
        findings += open_branch_findings(scope, reached)
    return findings


def tree_graph_findings(trees: Mapping[str, Any]) -> list[Finding]:
    """:func:`graph_findings` of every BPMN file of parsed ``trees`` (file name → lxml tree)."""
    findings: list[Finding] = []
    for name, tree in trees.items():
        if name.lower().endswith(BPMN_SUFFIXES):
            findings += graph_findings(name, tree.getroot())
    return findings
