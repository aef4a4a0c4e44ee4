"""``tacit-consent``: a boundary event named as a consultation's tacit consent (id ``<task>_tacit_consent``, the
convention of engine.definitions.consultations) that the engine would not record as one: it has no timer, does not
interrupt the consultation (``cancelActivity="false"``), is not on a user task, or the task's lane names no agency.
When such a timer fires, the history would say nothing of the silent agency's consent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phoihop.engine.definitions.catalog import Deployment
from phoihop.engine.definitions.consultations import TACIT_CONSENT_SUFFIX
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.definitions.structure import BPMN_SUFFIXES, NSMAP
from phoihop.engine.model import Finding

__all__ = ["tacit_consent_findings"]


def _reason(event: Any, attached: str, agencies: Mapping[str, str | None]) -> tuple[str, str] | None:
    if event.find("bpmn:timerEventDefinition", NSMAP) is None:
        return "it is not a timer", "nó không phải sự kiện hẹn giờ"
    if (event.get("cancelActivity") or "true").strip() == "false":
        return (
            'it does not interrupt the consultation (cancelActivity="false")',
            'nó không kết thúc bước cho ý kiến (cancelActivity="false")',
        )
    if attached not in agencies:
        return f"it is not on a user task ({attached!r})", f"nó không gắn vào một công việc ({attached!r})"
    if agencies[attached] is None:
        return (
            f"the lane of {attached!r} names no agency",
            f"làn của {attached!r} không phải tên cơ quan",
        )
    return None


def tacit_consent_findings(deployment: Deployment, trees: Mapping[str, Any]) -> list[Finding]:
    agencies = {eid: task.agency for process in deployment.processes for eid, task in process.user_tasks.items()}
    findings: list[Finding] = []
    for name, tree in trees.items():
        if not name.lower().endswith(BPMN_SUFFIXES):
            continue
        for event in tree.getroot().iter(f"{{{NSMAP['bpmn']}}}boundaryEvent"):
            element_id = event.get("id") or ""
            if not element_id.endswith(TACIT_CONSENT_SUFFIX):
                continue
            reason = _reason(event, (event.get("attachedToRef") or "").strip(), agencies)
            if reason is None:
                continue
            en, vi = reason
            findings.append(
                finding_at(
                    "tacit-consent",
                    "warning",
                    name,
                    event,
                    element_id,
                    f"boundary event {element_id} is named as a consultation's tacit consent but {en}: the history "
                    "would not record the agency's consent; make it an interrupting timer on the consultation task in "
                    "the agency's lane, or rename it",
                    f"sự kiện biên {element_id} được đặt tên là đồng ý mặc nhiên của bước cho ý kiến nhưng {vi}: "
                    "lịch sử hồ sơ sẽ không ghi cơ quan coi như đồng ý; hãy dùng hẹn giờ ngắt (interrupting) gắn vào "
                    "công việc cho ý kiến trong làn của cơ quan, hoặc đổi tên",
                )
            )
    return findings
