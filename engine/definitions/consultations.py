"""Consultation steps that end by tacit consent (issue 10, "cho ý kiến"): an agency consulted on a case has a
working-day limit, and an interrupting boundary timer on its task whose id ends in ``_tacit_consent`` ("Quá thời hạn
không có ý kiến: coi như đồng ý") ends the consultation when the limit passes. The naming convention alone is enough:
the catalog finds such timers here, and the command executor writes the audit event ``consultation_tacit_consent``
{element_id, agency} in the transaction that fires one (engine.commands.consultations)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.definitions.human_tasks import UserTaskModel, lanes_by_node
from phoihop.engine.definitions.structure import NSMAP, Document

__all__ = ["TACIT_CONSENT_SUFFIX", "TacitConsent", "tacit_consents"]

TACIT_CONSENT_SUFFIX = "_tacit_consent"


@dataclass(frozen=True)
class TacitConsent:
    """An interrupting boundary timer ending a consultation by tacit consent."""

    element_id: str  # the boundary timer
    task_element_id: str  # the consultation task it interrupts
    agency: str | None  # the agency code of that task's lane (None: the lane names no agency)
    agency_name_vi: str | None  # its Vietnamese name, as officers read it in the case history


def tacit_consents(
    specs: Sequence[Any],
    documents: Mapping[str, Document],
    tasks: Mapping[str, UserTaskModel],
    agencies: AgencyRegistry,
) -> dict[str, TacitConsent]:
    """Every interrupting boundary timer named ``<task>_tacit_consent`` of the process ``specs``, by element id."""
    found: dict[str, TacitConsent] = {}
    for spec in specs:
        document = documents.get(spec.file)
        if document is None:
            continue
        lanes: dict[str, str] | None = None
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if not isinstance(bpmn_id, str) or not bpmn_id.endswith(TACIT_CONSENT_SUFFIX):
                continue
            element = document.ids.get(bpmn_id)
            if element is None or element.tag != f"{{{NSMAP['bpmn']}}}boundaryEvent":
                continue
            if element.get("cancelActivity", "true").strip() == "false":
                continue  # a non-interrupting timer leaves the consultation open: no consent
            if element.find("bpmn:timerEventDefinition", NSMAP) is None:
                continue
            attached = (element.get("attachedToRef") or "").strip()
            task = tasks.get(attached)
            if task is not None:
                resolved = agencies.get(task.agency) if task.agency else None
            else:
                lanes = lanes if lanes is not None else lanes_by_node(document.root)
                resolved = agencies.resolve(lanes.get(attached))
            found[bpmn_id] = TacitConsent(
                bpmn_id, attached, resolved.code if resolved else None, resolved.name_vi if resolved else None
            )
    return found
