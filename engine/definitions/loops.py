"""Loops SpiffWorkflow 3.2 cannot run: a cycle of sequence flows that passes no decision.

SpiffWorkflow predicts the future of a workflow by walking definite successors; it only stops where a successor is
uncertain: after an exclusive, inclusive or event-based gateway, or at a boundary event. A cycle with none of them
(task → task → back, or through a parallel gateway or a catch event) makes that walk recurse without end and the
instance start crash with RecursionError. Such a file is refused at deploy, naming the elements of the loop.
"""

from __future__ import annotations

from collections import defaultdict

from phoihop.engine.definitions.structure import NSMAP, Document, local_name, problem
from phoihop.engine.model import Problem

_SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")
_DECISIONS = frozenset({"exclusiveGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway", "boundaryEvent"})


def _cyclic_nodes(edges: dict[str, set[str]]) -> set[str]:
    """The nodes left after peeling every node without a predecessor or a successor: the cycles and what joins them."""
    nodes = set(edges) | {target for targets in edges.values() for target in targets}
    incoming: dict[str, set[str]] = defaultdict(set)
    for source, targets in edges.items():
        for target in targets:
            incoming[target].add(source)
    outgoing = {node: set(edges.get(node, ())) for node in nodes}
    changed = True
    while changed:
        changed = False
        for node in list(nodes):
            if not incoming[node] & nodes or not outgoing[node] & nodes:
                nodes.discard(node)
                changed = True
    return nodes


def check_loops(document: Document) -> list[Problem]:
    problems: list[Problem] = []
    for tag in _SCOPES:
        for scope in document.root.iter(f"{{{NSMAP['bpmn']}}}{tag}"):
            edges: dict[str, set[str]] = defaultdict(set)
            for flow in scope.iterfind("bpmn:sequenceFlow", NSMAP):
                source, target = flow.get("sourceRef"), flow.get("targetRef")
                if not source or not target:
                    continue
                kinds = [local_name(document.ids[ref]) if ref in document.ids else "" for ref in (source, target)]
                if kinds[0] in _DECISIONS or kinds[1] in _DECISIONS:
                    continue  # a decision breaks the prediction: the loop through it is fine
                edges[source].add(target)
            looping = _cyclic_nodes(edges)
            if not looping:
                continue
            ordered = [e.get("id") for e in scope if e.get("id") in looping]
            first = document.ids.get(ordered[0]) if ordered else None
            names = ", ".join(str(i) for i in ordered)
            problems.append(
                problem(
                    document.name,
                    f"the loop through {names} has no exclusive, inclusive or event-based gateway and no "
                    "boundary event: SpiffWorkflow would predict it without end; put a gateway that decides "
                    "whether to go round again",
                    f"vòng lặp qua {names} không có cổng rẽ nhánh (exclusive, inclusive, event-based) hay sự "
                    "kiện biên: SpiffWorkflow sẽ dự đoán vô hạn; hãy đặt một cổng quyết định có lặp lại hay không",
                    element=first,
                    element_id=ordered[0] if ordered else None,
                )
            )
    return problems
