"""Reading the Camunda 7 extensions of a BPMN element: a ``camunda:`` attribute, and the ``camunda:properties`` under
its extension elements. Used by the dialect's rewriting, the human-task models and the diff between versions."""

from __future__ import annotations

from typing import Any

from phoihop.engine.definitions.structure import CAMUNDA_NS, NSMAP

__all__ = ["camunda_attribute", "camunda_properties"]


def camunda_attribute(element: Any, name: str) -> str | None:
    """The element's ``camunda:<name>`` stripped, or None when it is missing or blank."""
    value = element.get(f"{{{CAMUNDA_NS}}}{name}")
    return value.strip() if value is not None and value.strip() else None


def camunda_properties(element: Any) -> dict[str, str]:
    """``<camunda:properties><camunda:property name= value=/>`` directly under the element's extensionElements."""
    if element is None:
        return {}
    found: dict[str, str] = {}
    for prop in element.iterfind(f"bpmn:extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property", NSMAP):
        name, value = prop.get("name"), prop.get("value")
        if name and value is not None:
            found[name.strip()] = value.strip()
    return found
