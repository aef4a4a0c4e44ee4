"""Generate the BPMN diagram interchange (``bpmndi``) of a process file from its semantic model.

``layout_bpmn(content)`` returns the same document with every ``bpmndi:BPMNDiagram`` replaced by a fresh one: a
left-to-right layered layout where a node's column is its longest-path rank over the sequence flows (back edges,
found by a depth-first search from the start events, are ignored) and its row band is its lane (lanes stacked in
laneSet order; nodes sharing a lane and a column are stacked inside the lane). A collaboration's participants get
pool shapes; collapsed sub-processes get a shape with ``isExpanded="false"`` and a diagram of their own (bpmn-js
drill-down). Semantic elements, attributes, namespaces and comments are left untouched, and the output depends on
the input alone, so ``--check`` can regenerate and compare.

Run as ``phoihop layout FILE... [--check]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from phoihop.engine.definitions.layout.flow import BPMN, SUBPROCESSES, Box, FlowLayout, invalid, local_name
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import EngineError

__all__ = ["layout_bpmn", "layout_files", "main"]

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
_DI_PREFIXES = {"bpmndi": BPMNDI, "dc": DC, "di": DI}

ORIGIN_X, ORIGIN_Y = 160, 80
HEADER = 30  # width of a pool's or lane's name band
MARGIN = 40  # space between a band's header and its first column, and after the last one
POOL_GAP = 40


@dataclass
class Diagram:
    """The shapes and edges of one plane, in output order."""

    plane_element: str
    shapes: list[tuple[str, Box, dict[str, str]]] = field(default_factory=list)
    edges: list[tuple[str, list[tuple[int, int]]]] = field(default_factory=list)


def _lane_tree(process: Any) -> list[tuple[Any, int, list[Any]]]:
    """Every lane in document order with its depth (1 = top level) and its leaf lanes."""
    found: list[tuple[Any, int, list[Any]]] = []

    def walk(lane_set: Any, depth: int) -> list[Any]:
        leaves: list[Any] = []
        for lane in lane_set:
            if local_name(lane) != "lane":
                continue
            entry: tuple[Any, int, list[Any]] = (lane, depth, [])
            found.append(entry)
            children = [c for c in lane if local_name(c) == "childLaneSet"]
            lane_leaves = [leaf for c in children for leaf in walk(c, depth + 1)] or [lane]
            entry[2].extend(lane_leaves)
            leaves.extend(lane_leaves)
        return leaves

    for lane_set in process:
        if local_name(lane_set) == "laneSet":
            walk(lane_set, 1)
    return found


def _layout_process(
    process: Any, pool: str | None, top: int, filename: str, diagram: Diagram, sub_diagrams: list[Diagram]
) -> tuple[int, int]:
    """Add the pool, lanes, nodes and flows of ``process`` to ``diagram`` from ``top``; return (right, bottom)."""
    layout = FlowLayout(process, filename)
    lanes = _lane_tree(process)
    leaves = [leaf for lane, _, own in lanes for leaf in own if leaf is lane]
    depth = max((d for _, d, _ in lanes), default=0)
    band_of: dict[str, int] = {}
    for index, leaf in enumerate(leaves):
        for ref in leaf:
            if local_name(ref) == "flowNodeRef" and (ref.text or "").strip() in layout.nodes:
                band_of.setdefault((ref.text or "").strip(), index)
    bands: list[list[str]] = [[] for _ in leaves]
    loose = [node_id for node_id in layout.placed if node_id not in band_of]
    for node_id in layout.placed:
        if node_id in band_of:
            bands[band_of[node_id]].append(node_id)
    if loose or not bands:
        bands.append(loose)
    header = HEADER * (depth + (1 if pool else 0))
    boxes, extents, right = layout.place(bands, ORIGIN_X + header + MARGIN, top)
    right += MARGIN
    bottom = extents[-1][0] + extents[-1][1]
    if pool:
        diagram.shapes.append((pool, Box(ORIGIN_X, top, right - ORIGIN_X, bottom - top), {"isHorizontal": "true"}))
    leaf_index = {id(leaf): index for index, leaf in enumerate(leaves)}
    for lane, lane_depth, own in lanes:
        x = ORIGIN_X + HEADER * (lane_depth - 1 + (1 if pool else 0))
        first, last = extents[leaf_index[id(own[0])]], extents[leaf_index[id(own[-1])]]
        diagram.shapes.append(
            (lane.get("id", ""), Box(x, first[0], right - x, last[0] + last[1] - first[0]), {"isHorizontal": "true"})
        )
    _add_nodes(layout, boxes, diagram, filename, sub_diagrams)
    return right, bottom


def _add_nodes(
    layout: FlowLayout, boxes: dict[str, Box], diagram: Diagram, filename: str, sub_diagrams: list[Diagram]
) -> None:
    for node_id, element in layout.nodes.items():
        attributes: dict[str, str] = {}
        if local_name(element) in SUBPROCESSES:
            attributes["isExpanded"] = "false"
            inner = Diagram(node_id)
            sub_diagrams.append(inner)
            inner_layout = FlowLayout(element, filename)
            inner_boxes, _, _ = inner_layout.place([inner_layout.placed], ORIGIN_X + MARGIN, ORIGIN_Y)
            _add_nodes(inner_layout, inner_boxes, inner, filename, sub_diagrams)
        diagram.shapes.append((node_id, boxes[node_id], attributes))
    diagram.edges.extend(layout.edges(boxes))


def _diagrams(root: Any, filename: str) -> list[Diagram]:
    processes = {p.get("id"): p for p in root if local_name(p) == "process"}
    diagrams: list[Diagram] = []
    sub_diagrams: list[Diagram] = []
    drawn: set[str] = set()
    for collaboration in (c for c in root if local_name(c) == "collaboration"):
        diagram = Diagram(collaboration.get("id", ""))
        top, right = ORIGIN_Y, ORIGIN_X + 600
        black_boxes: list[tuple[str, int]] = []
        for participant in (p for p in collaboration if local_name(p) == "participant"):
            process = processes.get(participant.get("processRef"))
            if process is None or process.get("id") in drawn:
                black_boxes.append((participant.get("id", ""), top))
                top += 100 + POOL_GAP
                continue
            drawn.add(process.get("id"))
            pool_right, bottom = _layout_process(
                process, participant.get("id", ""), top, filename, diagram, sub_diagrams
            )
            right, top = max(right, pool_right), bottom + POOL_GAP
        for participant_id, y in black_boxes:
            diagram.shapes.append((participant_id, Box(ORIGIN_X, y, right - ORIGIN_X, 100), {"isHorizontal": "true"}))
        diagram.edges.extend(_message_flows(collaboration, diagram))
        diagrams.append(diagram)
    for process_id, process in processes.items():
        if process_id not in drawn:
            diagram = Diagram(process_id)
            _layout_process(process, None, ORIGIN_Y, filename, diagram, sub_diagrams)
            diagrams.append(diagram)
    return diagrams + sub_diagrams


def _message_flows(collaboration: Any, diagram: Diagram) -> list[tuple[str, list[tuple[int, int]]]]:
    boxes = {element_id: box for element_id, box, _ in diagram.shapes}
    edges = []
    for flow in (f for f in collaboration if local_name(f) == "messageFlow"):
        s, t = boxes.get(flow.get("sourceRef", "")), boxes.get(flow.get("targetRef", ""))
        if s is None or t is None:
            continue
        down = t.cy >= s.cy
        start, end = (s.cx, s.bottom if down else s.y), (t.cx, t.y if down else t.bottom)
        middle = (start[1] + end[1]) // 2
        edges.append((flow.get("id", ""), [start, (start[0], middle), (end[0], middle), end]))
    return edges


def _unique(wanted: str, taken: set[str]) -> str:
    candidate, counter = wanted, 2
    while candidate in taken:
        candidate, counter = f"{wanted}_{counter}", counter + 1
    taken.add(candidate)
    return candidate


def _render(diagram: Diagram, taken: set[str], nsmap: dict[str, str], indent: str, unit: str) -> Any:
    def tag(uri: str, name: str) -> str:
        return f"{{{uri}}}{name}"

    element = etree.Element(tag(BPMNDI, "BPMNDiagram"), nsmap=nsmap or None)
    element.set("id", _unique(f"Diagram_{diagram.plane_element}", taken))
    plane = etree.SubElement(element, tag(BPMNDI, "BPMNPlane"))
    plane.set("id", _unique(f"Plane_{diagram.plane_element}", taken))
    plane.set("bpmnElement", diagram.plane_element)
    children: list[Any] = []
    for element_id, box, attributes in diagram.shapes:
        shape = etree.SubElement(plane, tag(BPMNDI, "BPMNShape"))
        shape.set("id", _unique(f"{element_id}_di", taken))
        shape.set("bpmnElement", element_id)
        for name, value in attributes.items():
            shape.set(name, value)
        bounds = etree.SubElement(shape, tag(DC, "Bounds"))
        for name, number in (("x", box.x), ("y", box.y), ("width", box.w), ("height", box.h)):
            bounds.set(name, str(number))
        children.append(shape)
    for element_id, points in diagram.edges:
        edge = etree.SubElement(plane, tag(BPMNDI, "BPMNEdge"))
        edge.set("id", _unique(f"{element_id}_di", taken))
        edge.set("bpmnElement", element_id)
        for x, y in _dedupe(points):
            waypoint = etree.SubElement(edge, tag(DI, "waypoint"))
            waypoint.set("x", str(x))
            waypoint.set("y", str(y))
        children.append(edge)
    element.text = "\n" + indent + unit
    plane.text = "\n" + indent + unit * 2
    plane.tail = "\n" + indent
    for index, child in enumerate(children):
        child.tail = "\n" + indent + (unit * 2 if index + 1 < len(children) else unit)
    if not children:
        plane.text = None
    return element


def _dedupe(points: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    kept = [points[0]]
    for point in points[1:]:
        if point != kept[-1]:
            kept.append(point)
    if len(kept) < 2:  # bpmn-js wants two waypoints even for a degenerate edge
        kept.append((kept[0][0] + 1, kept[0][1]))
    return kept


def layout_bpmn(content: bytes, *, filename: str = "process.bpmn") -> bytes:
    """Return ``content`` with its diagram interchange regenerated; the semantic model is kept byte for byte."""
    parse_xml(content, filename=filename)  # the safety checks: size, encoding, DOCTYPE, depth, element counts
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )
    root = etree.fromstring(content, parser)
    if root.tag != f"{{{BPMN}}}definitions":
        raise invalid(
            filename, None, "the root element is not bpmn:definitions", "phần tử gốc không phải bpmn:definitions"
        )
    diagrams = _diagrams(root, filename)
    old = [child for child in root if child.tag == f"{{{BPMNDI}}}BPMNDiagram"]
    first_child = next(iter(root), None)
    indent_text = root.text if root.text and root.text.strip() == "" else "\n  "
    unit = indent_text.rsplit("\n", 1)[-1] or "  "
    position = root.index(old[0]) if old else len(root)
    final_tail = old[-1].tail if old else None
    for element in old:
        root.remove(element)
    if not old and first_child is not None:
        last = root[-1]
        final_tail = last.tail if last.tail is not None else "\n"
        last.tail = "\n" + unit
    taken = {value for value in root.xpath("//@id")}
    nsmap = {
        prefix: uri
        for prefix, uri in _DI_PREFIXES.items()
        if uri not in (root.nsmap or {}).values() and prefix not in (root.nsmap or {})
    }
    rendered = [_render(diagram, taken, nsmap, unit, unit) for diagram in diagrams]
    for offset, element in enumerate(rendered):
        element.tail = "\n" + unit if offset + 1 < len(rendered) else (final_tail or "\n")
        root.insert(position + offset, element)
    body: bytes = etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.rstrip() + b"\n"


def layout_files(paths: Iterable[str | Path], *, check: bool = False) -> int:
    """Rewrite each file's diagram in place (or, with ``check``, report files whose diagram is missing or stale)."""
    status = 0
    for path in map(Path, paths):
        try:
            content = path.read_bytes()
            result = layout_bpmn(content, filename=path.name)
        except (OSError, EngineError) as exc:
            detail = exc.detail if isinstance(exc, EngineError) else str(exc)
            print(f"{path}: {detail}", file=sys.stderr)
            status = 1
            continue
        if result == content:
            print(f"{path}: diagram up to date")
        elif check:
            print(f"{path}: diagram missing or stale (run: phoihop layout {path})", file=sys.stderr)
            status = 1
        else:
            path.write_bytes(result)
            print(f"{path}: diagram written")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phoihop layout", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file's diagram is missing or stale")
    args = parser.parse_args(argv)
    return layout_files(args.files, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
