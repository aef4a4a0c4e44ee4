"""Walking the ``escalation`` process (xử lý vướng mắc) over the REST API: the tokens of the agencies taking part,
deploying ``processes/escalation`` as one folder, reporting a difficulty, and completing each step as the agency and
role that own it. Every call asserts its status, so a test reads as the sequence of steps it walks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.calls import ADMIN, DEFINITIONS, INSTANCES, OWNER, TASKS, complete, instance
from tests.conftest import auth

PROCESS_DIR = Path(__file__).resolve().parents[2] / "processes" / "escalation"
KEY = "escalation"
HANOI = timezone(timedelta(hours=7))

# The reporting agency is Sở Y tế (syt); each agency has an officer (chuyên viên) and a lead (lãnh đạo).
REPORTER = auth("lan", groups="syt", name="Nguyễn Thị Lan")
SKHCN = auth("an", groups="skhcn", name="Trần Văn An")
SKHCN_LEAD = auth("cuong", groups="skhcn", roles="lead", name="Lê Mạnh Cường")
STP = auth("dung", groups="stp", name="Phạm Thị Dung")
STP_LEAD = auth("duc", groups="stp", roles="lead", name="Hoàng Minh Đức")
HTKC_LEAD = auth("giang", groups="htkc", roles="lead", name="Vũ Hương Giang")
STC_LEAD = auth("hai", groups="stc", roles="lead", name="Đỗ Văn Hải")
VP = auth("khoa", groups="vp-ubnd", name="Bùi Đăng Khoa")
VP_LEAD = auth("long", groups="vp-ubnd", roles="lead", name="Ngô Thành Long")
UBND = auth("minh", groups="ubnd", name="Đặng Nhật Minh")
UBND_LEAD = auth("nam", groups="ubnd", roles="lead", name="Trương Hoài Nam")

REPORT: dict[str, Any] = {
    "reporting_agency": "syt",
    "title": "Vướng mắc khi thử nghiệm nền tảng khám bệnh từ xa",
    "description": "Quy định hiện hành chưa cho phép kê đơn điện tử sau khám từ xa; đơn vị đã rà soát nhưng chưa "
    "tháo gỡ được trong phạm vi thẩm quyền.",
    "category": "policy",
    "urgent": 0,
    "related_resolution": "29/2025/NQ-HĐND",
    "attachments": [{"name": "Báo cáo vướng mắc", "document_number": "120/BC-SYT"}],
}


def hanoi(year: int, month: int, day: int, hour: int = 17, minute: int = 0, second: int = 0) -> datetime:
    """A Hanoi wall-clock time as an aware UTC datetime (17:00: the end of office hours, when deadlines fall)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=HANOI).astimezone(UTC)


def moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def deploy_escalation(client: TestClient) -> list[dict[str, Any]]:
    """Every file of the folder in one request, in strict mode: any "6 rõ" finding would refuse it."""
    parts = [
        ("files", (path.name, path.read_bytes(), "application/json" if path.suffix == ".json" else "application/xml"))
        for path in sorted(PROCESS_DIR.iterdir())
        if path.is_file()
    ]
    response = client.post(DEFINITIONS, files=parts, params={"strict": "true"}, headers=OWNER)
    assert response.status_code == 201, response.text
    deployed: list[dict[str, Any]] = response.json()
    return deployed


def report(client: TestClient, headers: dict[str, str] = REPORTER, **changes: Any) -> str:
    """Start an instance as the reporting agency's officer; ``changes`` replace fields of REPORT."""
    response = client.post(INSTANCES, json={"process_key": KEY, "variables": {**REPORT, **changes}}, headers=headers)
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def open_by_element(client: TestClient, instance_id: str) -> dict[str, dict[str, Any]]:
    found = instance(client, instance_id)["open_tasks"]
    by_element = {task["element_id"]: task for task in found}
    assert len(by_element) == len(found), f"two open tasks of one element: {found}"
    return by_element


def open_task(client: TestClient, instance_id: str, element_id: str) -> dict[str, Any]:
    tasks = open_by_element(client, instance_id)
    assert element_id in tasks, f"{element_id} is not open; open: {sorted(tasks)}"
    return tasks[element_id]


def main_path(client: TestClient, instance_id: str) -> set[str]:
    """The open steps, urging and directing tasks of overdue steps left out."""
    return {e for e in open_by_element(client, instance_id) if not e.startswith(("urge_", "direct_"))}


def act(
    client: TestClient, instance_id: str, element_id: str, headers: dict[str, str], **variables: Any
) -> dict[str, Any]:
    """Complete the open task of ``element_id`` as ``headers``; returns the completed task."""
    task = open_task(client, instance_id, element_id)
    completed: dict[str, Any] = complete(client, task["id"], headers, **variables).json()
    assert completed["status"] == "completed" and completed["element_id"] == element_id
    return completed


def variables(client: TestClient, instance_id: str) -> dict[str, Any]:
    found: dict[str, Any] = instance(client, instance_id)["variables"]
    return found


def status(client: TestClient, instance_id: str) -> str:
    found: str = instance(client, instance_id)["status"]
    return found


def get_task(client: TestClient, task_id: str, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    response = client.get(f"{TASKS}/{task_id}", headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def history(client: TestClient, instance_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


def completed_steps(client: TestClient, instance_id: str) -> list[str]:
    """Element ids of the human tasks completed, in order."""
    return [e["element_id"] for e in history(client, instance_id) if e["kind"] == "task_completed"]


# --- the steps, each by its agency ----------------------------------------------------------------------------------
def classify(
    client: TestClient,
    instance_id: str,
    path: str = "escalate",
    *,
    override: dict[str, bool] | None = None,
    reason: str = "Vướng mắc có nội dung pháp lý chưa được quy tắc nhận ra",
) -> None:
    """The Sở KH&CN lead classifies and keeps the routing the rules propose, or overrides it (``override``: the
    agencies giving a substantive opinion, stp/htkc/stc) with a reason."""
    fields: dict[str, Any] = {"resolution_path": path, "classification_note": "Vướng mắc liên ngành"}
    if override is None:
        fields["routing_decision"] = "confirm"
    else:
        fields.update(
            routing_decision="override",
            stp_substantive=override.get("stp", False),
            htkc_substantive=override.get("htkc", False),
            stc_substantive=override.get("stc", False),
            routing_override_reason=reason,
        )
    act(client, instance_id, "classify", SKHCN_LEAD, **fields)


def consult_stp(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "consult_stp",
        STP_LEAD,
        stp_agrees=True,
        stp_consultation_opinion="Không có ý kiến khác",
        stp_consultation_document="46/STP-VBPQ",
    )


def consult_htkc(client: TestClient, instance_id: str) -> None:
    act(client, instance_id, "consult_htkc", HTKC_LEAD, htkc_agrees=True, htkc_consultation_opinion="Thống nhất")


def give_legal_opinion(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "legal_opinion",
        STP_LEAD,
        legal_opinion="Phương án phù hợp Luật Thủ đô 2024",
        legal_risk="medium",
        recommends_legal_change=True,
        legal_document="45/STP-VBPQ",
    )


def give_htkc_opinion(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "htkc_opinion",
        HTKC_LEAD,
        htkc_opinion="Bố trí được không gian thử nghiệm tại Hòa Lạc",
        htkc_agrees=True,
    )


def give_finance_opinion(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "finance_opinion",
        STC_LEAD,
        finance_opinion="Bố trí từ ngân sách Thành phố năm 2026",
        funding_source="city_budget",
        recommended_amount=1_500_000_000,
    )


GIVE = {
    "consult_stp": consult_stp,
    "consult_htkc": consult_htkc,
    "legal_opinion": give_legal_opinion,
    "htkc_opinion": give_htkc_opinion,
    "finance_opinion": give_finance_opinion,
}


def give_opinions(client: TestClient, instance_id: str) -> list[str]:
    """Every open consultation and opinion answered by its agency's lead; returns their element ids, sorted."""
    opened = sorted(e for e in open_by_element(client, instance_id) if e in GIVE)
    for element_id in opened:
        GIVE[element_id](client, instance_id)
    return opened


def propose(
    client: TestClient,
    instance_id: str,
    proposal: str = "Trình UBND cho phép thí điểm kê đơn điện tử",
    proposal_type: str = "apply_current_rules",
    *,
    hdnd: bool = False,
) -> None:
    fields: dict[str, Any] = {
        "proposal": proposal,
        "proposal_type": proposal_type,
        "submission_document": "310/TTr-SKHCN",
    }
    if proposal_type in ("amend_policy", "new_mechanism"):
        fields["needs_hdnd_resolution"] = hdnd
    act(client, instance_id, "propose", SKHCN_LEAD, **fields)


def appraise(client: TestClient, instance_id: str, conclusion: str = "pass") -> None:
    act(
        client,
        instance_id,
        "legal_appraisal",
        STP_LEAD,
        appraisal_opinion="Đề xuất bảo đảm tính hợp hiến, hợp pháp, thống nhất"
        if conclusion == "pass"
        else "Cần làm rõ phạm vi áp dụng cơ chế",
        appraisal_conclusion=conclusion,
        appraisal_document="52/BC-STP",
    )


def vp_review(client: TestClient, instance_id: str) -> None:
    act(client, instance_id, "vp_review", VP_LEAD, vp_opinion="Đủ điều kiện trình", vp_recommendation="approve")


def decide(client: TestClient, instance_id: str, decision: str, note: str | None = None) -> None:
    fields: dict[str, Any] = {"decision": decision}
    if note is not None:
        fields["decision_note"] = note
    act(client, instance_id, "ubnd_decide", UBND_LEAD, **fields)


def propose_to_decision(client: TestClient, instance_id: str) -> None:
    """Sở KH&CN proposes a measure under the current rules (no appraisal) and Văn phòng UBND reviews: the UBND
    decision is the main path's open step afterwards."""
    propose(client, instance_id)
    vp_review(client, instance_id)
    assert main_path(client, instance_id) == {"ubnd_decide"}


def record_outcome(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "record_outcome",
        SKHCN_LEAD,
        outcome_summary="UBND đã quyết định",
        implementation_guidance="Sở Y tế triển khai theo văn bản chỉ đạo",
        dashboard_updated=True,
    )


def close(client: TestClient, instance_id: str) -> None:
    """After the decision: the Sở KH&CN lead records the outcome, the reporting agency acknowledges it."""
    record_outcome(client, instance_id)
    acknowledge(client, instance_id)


def acknowledge(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "inform_agency",
        REPORTER,
        acknowledged=True,
        implementation_plan="Triển khai trong quý I/2026",
    )
    assert status(client, instance_id) == "completed"
