"""What changed between two versions of one process, element by element, read from the deployed BPMN files.

Elements are matched by id: flow nodes (tasks, events, gateways, subprocesses; boundary events included), sequence
flows and lanes. Each is ``added``, ``removed`` or ``changed`` with field-level before/after values (see ``FIELDS``);
the diagram (shapes, waypoints) is not compared, so moving a shape in the modeler changes nothing here.
Documentation texts are long: a changed documentation is flagged (before and after null), not repeated. Process-level
properties and the deployment's files (forms and decision tables are files) are compared too. The output is plain
JSON a UI can draw::

    {"key", "from", "to",
     "added":   [{"element_id", "type", "name", "lane"}],
     "removed": [{"element_id", "type", "name", "lane"}],
     "changed": [{"element_id", "type", "name", "lane", "changes": [{"field", "before", "after"}]}],
     "process": [{"field", "before", "after"}],
     "files":   {"added": [names], "removed": [names], "changed": [names]},
     "summary": {"added", "removed", "changed"}}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from phoihop.engine.definitions.camunda.attributes import camunda_properties
from phoihop.engine.definitions.structure import BPMN_NS, BPMN_SUFFIXES, CAMUNDA_NS, NSMAP, local_name
from phoihop.engine.definitions.xmlsafe import parse_xml

__all__ = ["FIELDS", "diff_versions"]

FIELDS = (  # the compared fields, in the order changes are listed
    "type",
    "name",
    "lane",
    "parent",
    "attached_to",
    "cancel_activity",
    "source",
    "target",
    "condition",
    "default_flow",
    "due_date",
    "form",
    "candidate_groups",
    "candidate_users",
    "assignee",
    "properties",
    "timer",
    "event",
    "script",
    "called_element",
    "decision",
    "external_topic",
    "multi_instance",
    "documentation",
)
FLAG_ONLY = frozenset({"documentation"})  # reported as changed without the texts

_ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
_EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
_GATEWAYS = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
)
_CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
_TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")


@dataclass(frozen=True)
class Element:
    element_id: str
    type: str
    name: str | None
    lane: str | None  # the lane's name (its id when unnamed); compared by lane id
    order: int  # document order, for a stable listing
    fields: dict[str, Any] = field(default_factory=dict)  # every FIELDS value (None when absent)

    def summary(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "type": self.type, "name": self.name, "lane": self.lane}


@dataclass
class ProcessView:
    elements: dict[str, Element]
    properties: dict[str, Any]


def _text(element: Any, path: str) -> str | None:
    found = element.find(path, NSMAP)
    if found is None:
        return None
    return (found.text or "").strip() or None


def _camunda(element: Any, attribute: str) -> str | None:
    value = element.get(f"{{{CAMUNDA_NS}}}{attribute}")
    return (value.strip() or None) if value is not None else None


def _timer(element: Any) -> str | None:
    timer = element.find("bpmn:timerEventDefinition", NSMAP)
    if timer is None:
        return None
    for kind in _TIMER_KINDS:
        text = _text(timer, f"bpmn:{kind}")
        if text is not None:
            return f"{kind}: {text}"
    return "timer"


def _event(element: Any, names: Mapping[str, str]) -> str | None:
    """The event definition other than a timer: ``message: <name>``, ``signal: <name>``, ``error: <code>``..."""
    kinds = []
    for child in element:
        kind = local_name(child) if isinstance(child.tag, str) else ""
        if not kind.endswith("EventDefinition") or kind == "timerEventDefinition":
            continue
        kind = kind.removesuffix("EventDefinition")
        ref = next(
            (child.get(a) for a in ("messageRef", "signalRef", "errorRef", "escalationRef") if child.get(a)), None
        )
        if kind == "conditional":
            ref = _text(child, "bpmn:condition")
        elif kind == "link":
            ref = child.get("name")
        kinds.append(f"{kind}: {names.get(ref, ref)}" if ref else kind)
    return ", ".join(kinds) or None


def _multi_instance(element: Any) -> dict[str, Any] | None:
    loop = element.find("bpmn:multiInstanceLoopCharacteristics", NSMAP)
    if loop is None:
        return {"loop": True} if element.find("bpmn:standardLoopCharacteristics", NSMAP) is not None else None
    return {
        "sequential": loop.get("isSequential") == "true",
        "collection": _camunda(loop, "collection"),
        "element_variable": _camunda(loop, "elementVariable"),
        "cardinality": _text(loop, "bpmn:loopCardinality"),
        "completion": _text(loop, "bpmn:completionCondition"),
    }


def _decision(element: Any) -> str | None:
    return _camunda(element, "decisionRef") or _text(element, "bpmn:extensionElements/spiffworkflow:calledDecisionId")


def _node_fields(element: Any, kind: str, names: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"default_flow": element.get("default")}
    if kind in _ACTIVITIES or kind == "startEvent":
        fields.update(form=_camunda(element, "formKey"))
    if kind in _ACTIVITIES:
        fields.update(
            due_date=_camunda(element, "dueDate"),
            candidate_groups=_camunda(element, "candidateGroups"),
            candidate_users=_camunda(element, "candidateUsers"),
            assignee=_camunda(element, "assignee"),
            properties=camunda_properties(element) or None,
            multi_instance=_multi_instance(element),
            script=_text(element, "bpmn:script"),
            called_element=element.get("calledElement"),
            decision=_decision(element),
            external_topic=_camunda(element, "topic"),
        )
    if kind in _EVENTS:
        fields.update(timer=_timer(element), event=_event(element, names))
    if kind == "boundaryEvent":
        fields.update(
            attached_to=element.get("attachedToRef"), cancel_activity=element.get("cancelActivity", "true") != "false"
        )
    return fields


def _lanes(process: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Every lane element by id (nested lane sets included) and each flow node's innermost lane id."""
    lanes: dict[str, Any] = {}
    lane_of: dict[str, str] = {}
    pending = list(process.iterfind("bpmn:laneSet", NSMAP))
    while pending:
        lane_set = pending.pop(0)
        for lane in lane_set.iterfind("bpmn:lane", NSMAP):
            lane_id = lane.get("id")
            if lane_id:
                lanes[lane_id] = lane
                for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP):
                    if ref.text and ref.text.strip():
                        lane_of[ref.text.strip()] = lane_id  # a child lane, read later, overrides its parent
            pending += lane.iterfind("bpmn:childLaneSet", NSMAP)
    return lanes, lane_of


def _flow_elements(container: Any, parent: str | None) -> Iterator[tuple[Any, str, str | None]]:
    for child in container:
        if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        kind = local_name(child)
        if kind in _ACTIVITIES or kind in _EVENTS or kind in _GATEWAYS or kind == "sequenceFlow":
            yield child, kind, parent
            if kind in _CONTAINERS:
                yield from _flow_elements(child, child.get("id"))


def _view(root: Any, process: Any) -> ProcessView:
    names = {
        e.get("id"): e.get("name") or e.get("errorCode") or e.get("escalationCode") or e.get("id")
        for tag in ("message", "signal", "error", "escalation")
        for e in root.iterfind(f"bpmn:{tag}", NSMAP)
    }
    lanes, lane_of = _lanes(process)

    def lane_label(lane_id: str | None) -> str | None:
        return (lanes[lane_id].get("name") or lane_id) if lane_id in lanes else lane_id

    elements: dict[str, Element] = {}
    order = 0
    for lane_id, lane in lanes.items():
        fields = {"type": "lane", "name": lane.get("name"), "documentation": _text(lane, "bpmn:documentation")}
        elements[lane_id] = Element(lane_id, "lane", lane.get("name"), None, order, fields)
        order += 1
    for element, kind, parent in _flow_elements(process, None):
        element_id = element.get("id")
        if not element_id:
            continue
        fields = {
            "type": kind,
            "name": element.get("name"),
            "parent": parent,
            "documentation": _text(element, "bpmn:documentation"),
        }
        if kind == "sequenceFlow":
            fields.update(
                source=element.get("sourceRef"),
                target=element.get("targetRef"),
                condition=_text(element, "bpmn:conditionExpression"),
            )
        else:
            fields.update(_node_fields(element, kind, names))
            fields["lane"] = lane_of.get(element_id)
        elements[element_id] = Element(
            element_id,
            kind,
            element.get("name"),
            lane_label(fields.get("lane")),
            order,
            {**fields, "lane_label": lane_label(fields.get("lane"))},
        )
        order += 1
    properties = {
        "name": process.get("name"),
        "is_executable": process.get("isExecutable"),
        "candidate_starter_groups": _camunda(process, "candidateStarterGroups"),
        "version_tag": _camunda(process, "versionTag"),
        "properties": camunda_properties(process) or None,
        "documentation": _text(process, "bpmn:documentation"),
    }
    return ProcessView(elements, properties)


def _process_view(key: str, files: Mapping[str, bytes]) -> ProcessView:
    for name, content in sorted(files.items()):
        if not name.lower().endswith(BPMN_SUFFIXES):
            continue
        root = parse_xml(content, filename=name).getroot()
        process = next((p for p in root.iterfind("bpmn:process", NSMAP) if p.get("id") == key), None)
        if process is not None:
            return _view(root, process)
    return ProcessView({}, {})


def _change(name: str, before: Any, after: Any) -> dict[str, Any]:
    if name in FLAG_ONLY:
        return {"field": name, "before": None, "after": None}
    return {"field": name, "before": before, "after": after}


def _element_changes(before: Element, after: Element) -> list[dict[str, Any]]:
    changes = []
    for name in FIELDS:
        old, new = before.fields.get(name), after.fields.get(name)
        if old == new:
            continue
        if name == "lane":  # compared by id, shown by name (by id when both names read the same)
            old_label, new_label = before.fields.get("lane_label"), after.fields.get("lane_label")
            changes.append(_change(name, old_label, new_label) if old_label != new_label else _change(name, old, new))
        else:
            changes.append(_change(name, old, new))
    return changes


def _file_changes(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> dict[str, list[str]]:
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(n for n in set(before) & set(after) if before[n] != after[n]),
    }


def diff_versions(
    key: str, from_version: int, from_files: Mapping[str, bytes], to_version: int, to_files: Mapping[str, bytes]
) -> dict[str, Any]:
    """The differences from version ``from_version`` to ``to_version`` of process ``key``; ``*_files`` are the
    deployments' files by name (the BPMN holding process ``key`` is found among them)."""
    old, new = _process_view(key, from_files), _process_view(key, to_files)
    added = [
        e.summary() for e in sorted(new.elements.values(), key=lambda e: e.order) if e.element_id not in old.elements
    ]
    removed = [
        e.summary() for e in sorted(old.elements.values(), key=lambda e: e.order) if e.element_id not in new.elements
    ]
    changed = []
    for element in sorted(new.elements.values(), key=lambda e: e.order):
        before = old.elements.get(element.element_id)
        changes = _element_changes(before, element) if before is not None else []
        if changes:
            changed.append({**element.summary(), "changes": changes})
    process = [
        _change(name, old.properties.get(name), value)
        for name, value in new.properties.items()
        if old.properties.get(name) != value
    ]
    return {
        "key": key,
        "from": from_version,
        "to": to_version,
        "added": added,
        "removed": removed,
        "changed": changed,
        "process": process,
        "files": _file_changes(from_files, to_files),
        "summary": {"added": len(added), "removed": len(removed), "changed": len(changed)},
    }
