"""The edits the Camunda dialect makes to a parsed BPMN tree: an extension element added where the BPMN schema wants
it, a spiffworkflow pre- or post-script (or a script task's own script) extended, a script replaced. Generated
elements carry the line of the element they came from, so problems about them point at what the owner wrote."""

from __future__ import annotations

from typing import Any

from lxml import etree

from phoihop.engine.definitions.structure import BPMN_NS, NSMAP, SPIFF_NS, local_name

__all__ = ["add_script", "extension_elements", "replace_script", "sub_element"]


def sub_element(parent: Any, tag: str, origin: Any, **attributes: str) -> Any:
    """A new last child of ``parent``, at the line of ``origin``."""
    child = etree.SubElement(parent, tag, **attributes)
    child.sourceline = origin.sourceline  # problems about generated elements point at the element they came from
    return child


def extension_elements(element: Any) -> Any:
    """The element's bpmn:extensionElements, added as its first child when it has none."""
    found = element.find("bpmn:extensionElements", NSMAP)
    if found is None:
        found = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        found.sourceline = element.sourceline
        element.insert(0, found)  # first child, as the BPMN schema orders it
    return found


def add_script(element: Any, kind: str, script: str, *, first: bool) -> None:
    """Add ``script`` to the element's spiffworkflow pre- or post-script (a script task's own script for a script
    task, which has neither): before what is there for inputs, after it for outputs."""
    if local_name(element) == "scriptTask":
        current = element.findtext("bpmn:script", "", NSMAP) or ""
        replace_script(element, f"{script}\n{current}" if kind == "preScript" else f"{current}\n{script}")
        return
    existing = element.find(f"bpmn:extensionElements/spiffworkflow:{kind}", NSMAP)
    if existing is None:
        existing = sub_element(extension_elements(element), f"{{{SPIFF_NS}}}{kind}", element)
        existing.text = script
        return
    current = existing.text or ""
    existing.text = f"{script}\n{current}" if first else f"{current}\n{script}"


def replace_script(task: Any, text: str) -> None:
    """Set a script task's bpmn:script (added when missing) to ``text``."""
    script = task.find("bpmn:script", NSMAP)
    if script is None:
        script = sub_element(task, f"{{{BPMN_NS}}}script", task)
    script.text = text
