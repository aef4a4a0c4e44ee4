"""What a case view needs to know about a deployed BPMN file: which file holds a process, its element names, the lane
(agency) of each element, and which elements catch a given message. Pure functions of the file's bytes, parsed with
the same hardened parser as at deploy (engine.definitions.xmlsafe)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phoihop.engine.definitions.xmlsafe import parse_xml

__all__ = ["DiagramFacts", "diagram_facts", "find_process_file"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_MESSAGE_CATCHERS = frozenset({"intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask"})


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass(frozen=True)
class DiagramFacts:
    """``names``: element id → name; ``lanes``: element id → lane name; ``message_catchers``: message name →
    ids of the events and receive tasks that wait for it; ``parents``: element id → the sub-processes around it,
    innermost first (a collapsed sub-process is drawn as one shape: its state shows there)."""

    process_key: str
    names: Mapping[str, str] = field(default_factory=dict)
    lanes: Mapping[str, str] = field(default_factory=dict)
    message_catchers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    parents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def with_parents(self, element_ids: Iterable[str]) -> set[str]:
        """``element_ids`` and every sub-process around them."""
        found = set(element_ids)
        for element in list(found):
            found.update(self.parents.get(element, ()))
        return found


def _process(root: Any, key: str) -> Any:
    for element in root.iter(f"{{{BPMN_NS}}}process"):
        if element.get("id") == key:
            return element
    return None


def find_process_file(files: Sequence[tuple[str, str]], key: str) -> tuple[str, str] | None:
    """The ``(name, content)`` of the BPMN file among ``files`` that defines process ``key``."""
    for name, content in files:
        if not name.lower().endswith((".bpmn", ".bpmn20.xml")):
            continue
        root = parse_xml(content.encode("utf-8"), filename=name).getroot()
        if _process(root, key) is not None:
            return name, content
    return None


def _lane_members(process: Any) -> Iterable[tuple[str, str]]:
    """(element id, lane name) for every flowNodeRef, nested lane sets included (the innermost lane wins)."""
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        name = (lane.get("name") or lane.get("id") or "").strip()
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text and ref.text.strip():
                yield ref.text.strip(), name


def diagram_facts(content: str, key: str, *, filename: str = "process.bpmn") -> DiagramFacts:
    root = parse_xml(content.encode("utf-8"), filename=filename).getroot()
    process = _process(root, key)
    if process is None:
        return DiagramFacts(key)
    messages = {m.get("id"): (m.get("name") or m.get("id")) for m in root.iter(f"{{{BPMN_NS}}}message")}
    names: dict[str, str] = {}
    catchers: dict[str, list[str]] = {}
    for element in process.iter():
        element_id = element.get("id")
        if not element_id or not isinstance(element.tag, str):
            continue
        if element.get("name"):
            names[element_id] = element.get("name")
        kind = _local(element.tag)
        if kind not in _MESSAGE_CATCHERS:
            continue
        refs = (
            [element.get("messageRef")]
            if kind == "receiveTask"
            else [d.get("messageRef") for d in element.findall(f"{{{BPMN_NS}}}messageEventDefinition")]
        )
        for ref in refs:
            if ref and ref in messages:
                catchers.setdefault(str(messages[ref]), []).append(element_id)
    lanes = dict(_lane_members(process))
    parents: dict[str, tuple[str, ...]] = {}
    for sub in process.iter(f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction", f"{{{BPMN_NS}}}adHocSubProcess"):
        for inner in sub.iterdescendants():
            if inner.get("id") and isinstance(inner.tag, str):
                parents[inner.get("id")] = (*parents.get(inner.get("id"), ()), sub.get("id"))
    # iter() is document order: outer sub-processes come first; innermost first reads better
    parents = {element: tuple(reversed(ids)) for element, ids in parents.items()}
    return DiagramFacts(key, names, lanes, {name: tuple(ids) for name, ids in catchers.items()}, parents)
