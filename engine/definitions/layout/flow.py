"""Layered left-to-right layout of the flow nodes of one BPMN process or sub-process (used by
engine.definitions.layout.diagram).

A node's column is its longest-path rank over the sequence flows, back edges excluded (found by a depth-first search
from the start events); its band is given by the caller (a lane); nodes sharing a band and a column are stacked in
rows, ordered by where their predecessors sit. Boundary events sit on their host's bottom edge. Sequence flows get
orthogonal waypoints that avoid the shapes between their ends where one of a few candidate routes can.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from lxml import etree

from phoihop.engine.errors import InvalidDefinition

__all__ = ["BPMN", "SUBPROCESSES", "Box", "FlowLayout", "invalid", "local_name"]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"

_ACTIVITIES = {
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "manualTask",
    "callActivity",
}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}

COLUMN_GAP = 70
SLOT = 120  # height of one row inside a lane: a task (80), the boundary events hanging below it, the edges around
LANE_PAD = 15
MIN_BAND = 150


@dataclass
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


def local_name(element: Any) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) and tag.startswith("{" + BPMN + "}") else ""


def _size(kind: str) -> tuple[int, int] | None:
    """Width and height of a flow node's shape, None for elements drawn without one."""
    if kind in _ACTIVITIES or kind in SUBPROCESSES:
        return 100, 80
    if kind in _EVENTS:
        return 36, 36
    if kind in _GATEWAYS:
        return 50, 50
    return None


def _dimensions(element: Any) -> tuple[int, int]:
    size = _size(local_name(element))
    assert size is not None, "only flow nodes are laid out"
    return size


def invalid(filename: str, element_id: str | None, reason: str, reason_vi: str) -> InvalidDefinition:
    return InvalidDefinition(
        f"{filename}: {reason}",
        detail_vi=f"{filename}: {reason_vi}",
        problems=[{"file": filename, "element_id": element_id, "reason": reason, "reason_vi": reason_vi}],
    )


class FlowLayout:
    """Lays out the flow nodes of one process or sub-process into bands (lanes) and columns (ranks)."""

    def __init__(self, container: Any, filename: str) -> None:
        self.filename = filename
        self.nodes: dict[str, Any] = {}  # id → element, document order; boundary events included
        self.flows: list[tuple[str, str, str]] = []  # (flow id, source, target)
        for child in container:
            kind = local_name(child)
            if _size(kind) is not None and child.get("id"):
                self.nodes[child.get("id")] = child
        for child in container:
            if local_name(child) == "sequenceFlow":
                flow_id, source, target = child.get("id", ""), child.get("sourceRef", ""), child.get("targetRef", "")
                for end in (source, target):
                    if end not in self.nodes:
                        raise invalid(
                            filename,
                            flow_id,
                            f"sequence flow {flow_id!r} refers to unknown node {end!r}",
                            f"luồng {flow_id!r} tham chiếu tới nút không tồn tại {end!r}",
                        )
                self.flows.append((flow_id, source, target))
        self.hosts: dict[str, str] = {}  # boundary event → host
        for node_id, element in self.nodes.items():
            if local_name(element) == "boundaryEvent":
                host = element.get("attachedToRef", "")
                if host not in self.nodes or host in self.hosts:
                    raise invalid(
                        filename,
                        node_id,
                        f"boundary event {node_id!r} is attached to unknown {host!r}",
                        f"sự kiện biên {node_id!r} gắn vào phần tử không tồn tại {host!r}",
                    )
                self.hosts[node_id] = host
        self.placed = [node_id for node_id in self.nodes if node_id not in self.hosts]  # boundary events ride along
        self.back = self._back_edges()
        self.rank, self.reach = self._ranks()

    def _anchor(self, node_id: str) -> str:
        return self.hosts.get(node_id, node_id)

    def _back_edges(self) -> set[str]:
        """Flows closing a loop: depth-first from the start events, then from other sources, in document order."""
        outgoing: dict[str, list[tuple[str, str]]] = {node_id: [] for node_id in self.placed}
        for flow_id, source, target in self.flows:
            outgoing[self._anchor(source)].append((flow_id, self._anchor(target)))
        incoming = {self._anchor(target) for _, _, target in self.flows}
        starts = [n for n in self.placed if local_name(self.nodes[n]) == "startEvent"]
        roots = starts + [n for n in self.placed if n not in incoming and n not in starts] + self.placed
        state: dict[str, int] = {}  # 1 on the stack, 2 done
        back: set[str] = set()
        for root in roots:
            if root in state:
                continue
            state[root] = 1
            stack: list[tuple[str, int]] = [(root, 0)]
            while stack:
                node, index = stack[-1]
                if index == len(outgoing[node]):
                    state[node] = 2
                    stack.pop()
                    continue
                stack[-1] = (node, index + 1)
                flow_id, target = outgoing[node][index]
                if state.get(target) == 1:
                    back.add(flow_id)
                elif target not in state:
                    state[target] = 1
                    stack.append((target, 0))
        return back

    def _ranks(self) -> tuple[dict[str, int], dict[str, int]]:
        """Each node's column (longest path from a source) and reach (longest path on to an end), in flows."""
        successors: dict[str, list[str]] = {node_id: [] for node_id in self.placed}
        indegree = dict.fromkeys(self.placed, 0)
        for flow_id, source, target in self.flows:
            if flow_id not in self.back:
                successors[self._anchor(source)].append(self._anchor(target))
                indegree[self._anchor(target)] += 1
        rank = dict.fromkeys(self.placed, 0)
        ready = [n for n in self.placed if indegree[n] == 0]
        topological: list[str] = []
        while ready:
            node = ready.pop(0)
            topological.append(node)
            for target in successors[node]:
                rank[target] = max(rank[target], rank[node] + 1)
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
        reach = dict.fromkeys(self.placed, 0)
        for node in reversed(topological):
            reach[node] = max((reach[t] + 1 for t in successors[node]), default=0)
        return rank, reach

    def _slots(self, band_of: dict[str, int]) -> dict[str, int]:
        """Row of each node inside its (band, column) cell: ordered by where its predecessors sit, then by document."""
        predecessors: dict[str, list[float]] = {node_id: [] for node_id in self.placed}
        slot: dict[str, int] = {}

        def position(node_id: str) -> float:
            return band_of[node_id] * 1000 + slot[node_id]

        cells: dict[tuple[int, int], list[str]] = {}
        for node_id in self.placed:  # document order
            cells.setdefault((self.rank[node_id], band_of[node_id]), []).append(node_id)
        order = {node_id: index for index, node_id in enumerate(self.placed)}
        incoming: dict[str, list[tuple[str, float]]] = {node_id: [] for node_id in self.placed}
        for flow_id, source, target in self.flows:
            if flow_id not in self.back:  # a boundary's target goes below the host's ordinary successor
                incoming[self._anchor(target)].append((self._anchor(source), 0.5 if source in self.hosts else 0.0))
        for cell in sorted(cells):  # column by column: every predecessor already has its row
            for node_id in cells[cell]:
                predecessors[node_id] = [position(p) + bonus for p, bonus in incoming[node_id]]

            def key(node_id: str) -> tuple[float, int, int]:  # the longer way on (the main path) above a detour
                known = predecessors[node_id]
                return (sum(known) / len(known) if known else float("inf"), -self.reach[node_id], order[node_id])

            for index, node_id in enumerate(sorted(cells[cell], key=key)):
                slot[node_id] = index
        return slot

    def place(self, bands: list[list[str]], left: int, top: int) -> tuple[dict[str, Box], list[tuple[int, int]], int]:
        """Boxes of every node given its band; returns the boxes, each band's (y, height) and the right edge."""
        columns = max(self.rank.values(), default=-1) + 1
        widths = [36] * columns
        for node_id in self.placed:
            column = self.rank[node_id]
            widths[column] = max(widths[column], _dimensions(self.nodes[node_id])[0])
        column_x: list[int] = []
        x = left
        for width in widths:
            column_x.append(x)
            x += width + COLUMN_GAP
        right = x - COLUMN_GAP if columns else left
        slot = self._slots({node_id: index for index, members in enumerate(bands) for node_id in members})
        boxes: dict[str, Box] = {}
        band_extents: list[tuple[int, int]] = []
        y = top
        for members in bands:
            rows = max((slot[node_id] + 1 for node_id in members), default=1)
            height = max(MIN_BAND, rows * SLOT + 2 * LANE_PAD)
            first_row = y + (height - rows * SLOT) // 2
            for node_id in members:
                w, h = _dimensions(self.nodes[node_id])
                column = self.rank[node_id]
                cx = column_x[column] + widths[column] // 2
                cy = first_row + slot[node_id] * SLOT + SLOT // 2 - 10  # room below for boundary events
                boxes[node_id] = Box(cx - w // 2, cy - h // 2, w, h)
            band_extents.append((y, height))
            y += height
        attached: dict[str, list[str]] = {}
        for boundary, host in self.hosts.items():
            attached.setdefault(host, []).append(boundary)
        for host, boundaries in attached.items():
            for index, boundary in enumerate(boundaries):
                hb = boxes[host]
                boxes[boundary] = Box(hb.right - 46 - index * 44, hb.bottom - 18, 36, 36)
        return boxes, band_extents, right

    def edges(self, boxes: dict[str, Box]) -> list[tuple[str, list[tuple[int, int]]]]:
        """Orthogonal waypoints of every sequence flow, avoiding the shapes between its ends where it can."""
        edges = []
        for flow_id, source, target in self.flows:
            s, t = boxes[source], boxes[target]
            ends = {source, target, self.hosts.get(source, source)}
            obstacles = [
                box for node_id, box in boxes.items() if node_id not in ends and self.hosts.get(node_id) not in ends
            ]
            if source in self.hosts:
                candidates = self._from_boundary(source, target, s, t, flow_id in self.back)
            elif flow_id in self.back:
                low = max(s.bottom, t.bottom) + 22
                candidates = [[(s.cx, s.bottom), (s.cx, low), (t.cx, low), (t.cx, t.bottom)]]
            else:
                candidates = self._forward(source, s, t)
            edges.append((flow_id, _first_clear(candidates, obstacles)))
        return edges

    def _forward(self, source: str, s: Box, t: Box) -> list[list[tuple[int, int]]]:
        before = max(t.x - 30, s.right + 10)
        after = min(s.right + COLUMN_GAP // 2, before)
        channel = s.cy + SLOT // 2 + 4  # below the source's row, under any boundary event
        by_target = [(s.right, s.cy), (before, s.cy), (before, t.cy), (t.x, t.cy)]
        by_source = [(s.right, s.cy), (after, s.cy), (after, t.cy), (t.x, t.cy)]
        below = [(s.right, s.cy), (after, s.cy), (after, channel), (before, channel), (before, t.cy), (t.x, t.cy)]
        if s.cy == t.cy:
            return [[(s.right, s.cy), (t.x, t.cy)], below]
        splits = sum(1 for _, origin, _ in self.flows if origin == source) > 1
        if splits and local_name(self.nodes[source]) in _GATEWAYS:
            return [by_source, by_target, below]
        return [by_target, by_source, below]

    def _from_boundary(self, source: str, target: str, s: Box, t: Box, back: bool) -> list[list[tuple[int, int]]]:
        host = self.hosts[source]
        low = s.bottom + 15
        if target == host:  # a loop on its own host: leave below, enter from the left
            return [[(s.cx, s.bottom), (s.cx, low), (t.x - 20, low), (t.x - 20, t.cy), (t.x, t.cy)]]
        if back or t.x <= s.cx:
            low = max(s.bottom, t.bottom) + 22
            return [[(s.cx, s.bottom), (s.cx, low), (t.cx, low), (t.cx, t.bottom)]]
        before = max(t.x - 45, s.right + 10)  # not on the vertical of the host's own flows (t.x - 30)
        detour = [(s.cx, s.bottom), (s.cx, low), (before, low), (before, t.cy), (t.x, t.cy)]
        if t.cy >= s.bottom:
            return [[(s.cx, s.bottom), (s.cx, t.cy), (t.x, t.cy)], detour]
        return [detour]


def _crosses(a: tuple[int, int], b: tuple[int, int], box: Box) -> bool:
    """Whether the axis-parallel segment a–b passes through the inside of ``box``."""
    (x1, y1), (x2, y2) = a, b
    low_x, high_x, low_y, high_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    return low_x < box.right - 1 and high_x > box.x + 1 and low_y < box.bottom - 1 and high_y > box.y + 1


def _first_clear(candidates: list[list[tuple[int, int]]], obstacles: list[Box]) -> list[tuple[int, int]]:
    for points in candidates:
        if not any(_crosses(a, b, box) for a, b in itertools.pairwise(points) for box in obstacles):
            return points
    return candidates[0]
