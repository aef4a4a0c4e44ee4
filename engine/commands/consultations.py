"""The audit event of a consultation ended by tacit consent (issue 10): when an interrupting boundary timer named
``<task>_tacit_consent`` fires (engine.definitions.consultations), the command that fired it writes
``consultation_tacit_consent`` {element_id, agency} in its own transaction, so every process gets the record from the
naming convention alone. The event's row names the consultation task it ended (the case page shows that task and its
agency); ``data.element_id`` is the timer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.execution.outcomes import StepRecord

__all__ = ["TACIT_CONSENT_EVENT", "TACIT_CONSENT_VI", "tacit_consent_events"]

TACIT_CONSENT_EVENT = "consultation_tacit_consent"
TACIT_CONSENT_VI = "Quá thời hạn không có ý kiến: coi như đồng ý"


def tacit_consent_events(
    model: ProcessModel, steps: Sequence[StepRecord], instance_id: str, now: datetime
) -> list[dict[str, Any]]:
    """An audit event for each tacit-consent timer among the ``steps`` a command finished."""
    events: list[dict[str, Any]] = []
    for step in steps:
        consent = model.tacit_consents.get(step.element_id)
        if consent is None:
            continue
        events.append(
            {
                "instance_id": instance_id,
                "at": now,
                "actor": "system",
                "kind": TACIT_CONSENT_EVENT,
                "element_id": consent.task_element_id,
                "task_id": None,
                "data": {
                    "element_id": consent.element_id,
                    "agency": consent.agency,
                    "agency_name_vi": consent.agency_name_vi,
                    "task_element_id": consent.task_element_id,
                    "summary_vi": TACIT_CONSENT_VI,
                },
            }
        )
    return events
