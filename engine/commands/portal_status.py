"""Webhook events the executor derives from its own state rather than from audit events: ``task.created`` (a new
human task row) and dossier status changes for the national public-service portal (issue 14.2): the webhook event
``dossier.status_changed`` a command emits when it changes a dossier's ``dossier_status`` (1–10, engine/dossier.py)
or issues an apology letter (``apology_issued`` turns true: "phiếu xin lỗi và hẹn lại").

The portal shows its own, shorter status vocabulary; the mapping chosen here (documented in docs/api.md):

=====  ==================================  ==========================
code   national status (engine/dossier.py)  portal status
=====  ==================================  ==========================
1, 2   Mới đăng ký, Được tiếp nhận          Mới tiếp nhận
4, 6   Đang xử lý, Yêu cầu nghĩa vụ tài     Đang xử lý
       chính
5      Yêu cầu bổ sung giấy tờ              Yêu cầu bổ sung
3      Không được tiếp nhận                 Từ chối
7, 8   Công dân rút hồ sơ, Dừng xử lý       Dừng xử lý
9, 10  Đã xử lý xong, Đã trả kết quả        Đã có kết quả
—      an apology letter issued             Xin lỗi và hẹn lại
=====  ==================================  ==========================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from phoihop.engine.clock import utc_text
from phoihop.engine.dossier import CODE_VARIABLE, DOSSIER_STATUSES, STATUS_VARIABLE, status_code
from phoihop.engine.time.deadlines import parse_appointment

PORTAL_STATUSES: Mapping[int, str] = {
    1: "Mới tiếp nhận",
    2: "Mới tiếp nhận",
    3: "Từ chối",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung",
    6: "Đang xử lý",
    7: "Dừng xử lý",
    8: "Dừng xử lý",
    9: "Đã có kết quả",
    10: "Đã có kết quả",
}
APOLOGY_STATUS = "Xin lỗi và hẹn lại"


def _apology(variables: Mapping[str, Any]) -> dict[str, Any] | None:
    if not variables.get("apology_issued"):
        return None
    return {
        "reason": variables.get("apology_reason"),
        "letter_number": variables.get("apology_letter_number"),
        "extension_days": variables.get("extension_days"),
    }


def dossier_status_events(
    instance_id: str,
    process_key: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """The ``dossier.status_changed`` events of one command: none unless the status or the apology changed."""
    old, new = status_code(before.get(STATUS_VARIABLE)), status_code(after.get(STATUS_VARIABLE))
    apologized = bool(after.get("apology_issued")) and not before.get("apology_issued")
    if new is None or (old == new and not apologized):
        return []
    known = DOSSIER_STATUSES.get(new)
    appointment = after.get("appointment_at")
    data = {
        "dossier_code": after.get(CODE_VARIABLE),
        "status": new,
        "status_name": known.name_vi if known else None,
        "previous_status": old,
        "portal_status": APOLOGY_STATUS if apologized else PORTAL_STATUSES.get(new),
        "appointment_at": _instant(appointment),
        "apology": _apology(after),
    }
    return [
        {
            "type": "dossier.status_changed",
            "occurred_at": now,
            "instance_id": instance_id,
            "process_key": process_key,
            "data": data,
        }
    ]


def _instant(value: Any) -> str | None:
    """A moment the process keeps as text (``appointment_at``, Hanoi time), spelled as every time of a webhook is."""
    moment = parse_appointment(value)
    return utc_text(moment) if moment is not None else None


def task_created_event(task: Mapping[str, Any]) -> dict[str, Any]:
    """``task.created`` of a new human task row (engine/commands/executor.py ``task_row``)."""
    due_at = task.get("due_at")
    return {
        "type": "task.created",
        "occurred_at": task["created_at"],
        "instance_id": task["instance_id"],
        "process_key": task.get("process_key"),
        "data": {
            "task_id": task["id"],
            "element_id": task["element_id"],
            "name": task["name"],
            "candidate_groups": list(task["candidate_groups"]),
            "assignee": task.get("assignee"),
            "due_at": utc_text(due_at) if due_at is not None else None,
        },
    }
