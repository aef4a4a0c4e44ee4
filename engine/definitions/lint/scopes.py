"""One process or subprocess of a BPMN file as a graph (:class:`Scope`): its flow nodes, its sequence flows, the edges
between nodes (sequence flows, an activity to its boundary events, a link throw event to the catch events of its
name) and which nodes a start reaches. Read by the graph lint (``graph``, ``branches``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from phoihop.engine.definitions.structure import BPMN_NS, local_name

__all__ = ["GATEWAYS", "Scope", "closure", "definition", "is_event_subprocess", "is_terminate", "link_name", "scopes"]

_EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"})
_SCOPES = frozenset({"subProcess", "transaction"})
_ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "adHocSubProcess",
        *_SCOPES,
    }
)
_FLOW_NODES = _EVENTS | GATEWAYS | _ACTIVITIES


def definition(element: Any, kind: str) -> Any:
    """The event definition (or other child) ``kind`` of ``element``, or None."""
    return element.find(f"{{{BPMN_NS}}}{kind}")


def link_name(element: Any) -> str | None:
    link = definition(element, "linkEventDefinition")
    return None if link is None else (link.get("name") or link.get("id") or "")


def is_event_subprocess(element: Any) -> bool:
    return local_name(element) in _SCOPES and element.get("triggeredByEvent") == "true"


def is_terminate(element: Any) -> bool:
    return local_name(element) == "endEvent" and definition(element, "terminateEventDefinition") is not None


class Scope:
    """One process or subprocess: its flow nodes, its sequence flows and the edges between them."""

    def __init__(self, file: str, element: Any) -> None:
        self.file = file
        self.nodes: dict[str, Any] = {}
        self.flows: list[Any] = []
        for child in element:
            if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{BPMN_NS}}}"):
                continue
            kind = local_name(child)
            if kind in _FLOW_NODES and child.get("id"):
                self.nodes[child.get("id")] = child
            elif kind == "sequenceFlow":
                self.flows.append(child)
        self.outgoing: dict[str, list[Any]] = {node: [] for node in self.nodes}  # sequence flows leaving a node
        self.incoming: dict[str, int] = dict.fromkeys(self.nodes, 0)
        # sequence flows, an activity to its boundary events, a link throw to the catches of its name (through a key
        # that is no node)
        self.edges: dict[str, list[str]] = {node: [] for node in self.nodes}
        self.broken: list[Any] = []
        for flow in self.flows:
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source not in self.nodes or target not in self.nodes:
                self.broken.append(flow)
                continue
            self.outgoing[source].append(flow)
            self.incoming[target] += 1
            self.edges[source].append(target)
        throws: dict[str, list[str]] = {}
        catches: dict[str, list[str]] = {}
        for node_id, node in self.nodes.items():
            kind = local_name(node)
            attached = node.get("attachedToRef")
            if kind == "boundaryEvent" and attached in self.nodes:
                self.edges[attached].append(node_id)
            link = link_name(node)
            if link is not None:
                (throws if kind == "intermediateThrowEvent" else catches).setdefault(link, []).append(node_id)
        for link, sources in throws.items():  # through one edge-only key per name: linear in throws + catches
            if link not in catches:
                continue
            key = f"\0link {link}"
            self.edges[key] = catches.get(link, [])
            for source in sources:
                self.edges[source].append(key)
        # catch events a link throw leads to, not a flow
        self.linked = {node for link, nodes in catches.items() if link in throws for node in nodes}

    def is_entry(self, node: Any) -> bool:
        kind = local_name(node)
        return (
            kind == "startEvent"
            or is_event_subprocess(node)
            or node.get("isForCompensation") == "true"
            or (kind == "boundaryEvent" and node.get("attachedToRef") not in self.nodes)
        )

    def reached(self) -> set[str]:
        """The nodes some entry reaches (a scope without a start event: every node without an incoming flow
        starts, as BPMN reads it)."""
        entries = [node_id for node_id, node in self.nodes.items() if self.is_entry(node)]
        if not any(local_name(self.nodes[node_id]) == "startEvent" for node_id in entries):
            entries += [
                node_id
                for node_id, node in self.nodes.items()
                if not self.incoming[node_id] and node_id not in self.linked and local_name(node) != "boundaryEvent"
            ]
        return closure(entries, self.edges) & self.nodes.keys()


def closure(starts: Iterable[str], edges: Mapping[str, list[str]]) -> set[str]:
    """What ``starts`` reach along ``edges`` (breadth first, each node once)."""
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for target in edges.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def scopes(file: str, root: Any) -> Iterator[Scope]:
    """Each process of ``root`` and each subprocess and transaction in it, at any depth."""
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        yield Scope(file, process)
        for kind in _SCOPES:
            for sub in process.iter(f"{{{BPMN_NS}}}{kind}"):
                yield Scope(file, sub)
