"""Link events (BPMN's "go to" inside one process level) rewritten into the sequence flow they stand for: SpiffWorkflow
3.2 has no link events, so a process using them validated, deployed and then waited for ever at the throw. Each link
throw event and the link catch event of the same name in the same process or sub-process become plain (none)
intermediate events joined by a generated sequence flow ``<throw id>__link__<catch id>``; the diagram is untouched.
A throw whose name no catch of its level carries is left as it is: the graph lint reports it (a dead end)."""

from __future__ import annotations

from typing import Any

from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.structure import local_name

__all__ = ["rewrite_links"]

_SCOPES = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})


def _link(event: Any) -> Any:
    return next(
        (c for c in event if isinstance(c.tag, str) and local_name(c) == "linkEventDefinition"),
        None,
    )


def rewrite_links(rewrite: Rewrite) -> None:
    root = rewrite.document.root
    for scope in root.iter():
        if not isinstance(scope.tag, str) or local_name(scope) not in _SCOPES:
            continue
        namespace = scope.tag.split("}")[0][1:]
        throws: list[tuple[Any, str]] = []
        catches: dict[str, Any] = {}
        for element in scope:
            if not isinstance(element.tag, str):
                continue
            definition = _link(element)
            if definition is None:
                continue
            name = definition.get("name") or element.get("name") or ""
            if local_name(element) == "intermediateThrowEvent":
                throws.append((element, name))
            elif local_name(element) == "intermediateCatchEvent":
                catches.setdefault(name, element)
        for throw, name in throws:
            catch = catches.get(name)
            if catch is None or not name:
                continue
            flow_id = f"{throw.get('id')}__link__{catch.get('id')}"
            flow = scope.makeelement(
                f"{{{namespace}}}sequenceFlow",
                {"id": flow_id, "sourceRef": throw.get("id"), "targetRef": catch.get("id")},
            )
            scope.append(flow)
            throw.remove(_link(throw))
            outgoing = throw.makeelement(f"{{{namespace}}}outgoing", {})
            outgoing.text = flow_id
            _insert_flow_ref(throw, outgoing)
            incoming = catch.makeelement(f"{{{namespace}}}incoming", {})
            incoming.text = flow_id
            _insert_flow_ref(catch, incoming)
        for catch in catches.values():
            definition = _link(catch)
            if definition is not None and any(
                local_name(c) == "incoming" and "__link__" in (c.text or "") for c in catch if isinstance(c.tag, str)
            ):
                catch.remove(definition)
                catch.tag = f"{{{namespace}}}intermediateThrowEvent"  # a none event: passes straight through


def _insert_flow_ref(event: Any, ref: Any) -> None:
    """``incoming``/``outgoing`` come after documentation and extension elements, before event definitions."""
    position = 0
    for index, child in enumerate(event):
        if isinstance(child.tag, str) and local_name(child) in (
            "documentation",
            "extensionElements",
            "incoming",
            "outgoing",
        ):
            position = index + 1
    event.insert(position, ref)
