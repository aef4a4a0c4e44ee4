"""The ``annual_review`` process (tổng kết năm, khen thưởng và giao chỉ tiêu năm sau; processes/annual_review) walked
over the REST API on SQLite and PostgreSQL: the yearly timer opens the review on 1 December; the Sở KH&CN lead
summarises the year; Sở Nội vụ proposes commendations (Điều 25, 24.4) while Sở Tư pháp and the HTKC board comment,
their silence counting as consent when the consultation days pass; the Sở KH&CN lead submits, the UBND lead
decides the commendations, the Sở KH&CN lead assigns next year's targets (Điều 7.2) and the conference ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.api.calls import ADMIN, DEFINITIONS, INSTANCES, OWNER, TASKS, assert_problem, complete, instance
from tests.conftest import auth

PROCESS_DIR = Path(__file__).resolve().parents[2] / "processes" / "annual_review"
KEY = "annual_review"
HANOI = timezone(timedelta(hours=7))
SKHCN = auth("an", groups="skhcn", name="Trần Văn An")
SKHCN_LEAD = auth("cuong", groups="skhcn", roles="lead", name="Phạm Quốc Cường")
SNV_LEAD = auth("hung", groups="snv", roles="lead", name="Cao Văn Hùng")
STP_LEAD = auth("minh", groups="stp", roles="lead", name="Đỗ Văn Minh")
HTKC_LEAD = auth("lan", groups="htkc", roles="lead", name="Hoàng Thị Lan")
UBND = auth("hoa", groups="ubnd", name="Ngô Văn Hòa")
UBND_LEAD = auth("nam", groups="ubnd", roles="lead", name="Trương Hoài Nam")


def hanoi(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HANOI).astimezone(UTC)


def deploy(client: TestClient) -> None:
    """Every file of the folder in one request, strict: any "6 rõ" finding would refuse it."""
    parts = [
        ("files", (path.name, path.read_bytes(), "application/json" if path.suffix == ".json" else "application/xml"))
        for path in sorted(PROCESS_DIR.iterdir())
        if path.is_file()
    ]
    response = client.post(DEFINITIONS, files=parts, params={"strict": "true"}, headers=OWNER)
    assert response.status_code == 201, response.text


def open_tasks(client: TestClient, instance_id: str) -> dict[str, dict[str, Any]]:
    return {task["element_id"]: task for task in instance(client, instance_id)["open_tasks"]}


def act(client: TestClient, instance_id: str, element_id: str, headers: dict[str, str], **fields: Any) -> None:
    tasks = open_tasks(client, instance_id)
    assert element_id in tasks, f"{element_id} is not open; open: {sorted(tasks)}"
    assert complete(client, tasks[element_id]["id"], headers, **fields).json()["status"] == "completed"


def agencies_reached(client: TestClient, instance_id: str) -> set[str]:
    found: set[str] = set()
    for state in ("open", "completed", "cancelled"):
        response = client.get(TASKS, params={"instance_id": instance_id, "status": state, "limit": 100}, headers=ADMIN)
        assert response.status_code == 200, response.text
        found |= {group for task in response.json()["items"] for group in task["candidate_groups"]}
    return found


def test_the_year_is_reviewed_commended_and_next_years_targets_assigned(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    clock.set(hanoi(2026, 11, 20))
    deploy(client)
    assert app_container.timers.next_start_due() == hanoi(2026, 12, 1, 8)
    clock.set(hanoi(2026, 12, 1, 8) + timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 1
    response = client.get(INSTANCES, params={"process_key": KEY}, headers=ADMIN)
    (item,) = response.json()["items"]
    instance_id: str = item["id"]
    found = instance(client, instance_id)["variables"]
    assert (found["year"], found["plan_year"]) == ("2026", "2027")

    summary = open_tasks(client, instance_id)["summarize_year"]
    assert (summary["candidate_groups"], summary["required_role"]) == (["skhcn"], "lead")
    assert_problem(complete(client, summary["id"], SKHCN, status=403, year_summary="x"), 403, "role-required")
    act(
        client,
        instance_id,
        "summarize_year",
        SKHCN_LEAD,
        year_summary="Hoàn thành 28/30 chỉ tiêu; Trung tâm Đổi mới sáng tạo đi vào hoạt động",
        agency_results=[{"agency": "htkc", "rating": "xuat_sac"}, {"agency": "stp", "rating": "tot"}],
        summary_document="980/BC-SKHCN",
    )
    tasks = open_tasks(client, instance_id)
    assert set(tasks) == {"propose_commendation", "consult_stp", "consult_htkc"}
    assert [tasks[t]["candidate_groups"] for t in ("propose_commendation", "consult_stp", "consult_htkc")] == [
        ["snv"],
        ["stp"],
        ["htkc"],
    ]
    due = datetime.fromisoformat(tasks["consult_htkc"]["due_at"])
    assert due == hanoi(2026, 12, 8, 17)  # consultation_days(): 5 working days after Tuesday 1/12
    assert_problem(complete(client, tasks["consult_stp"]["id"], SNV_LEAD, status=403), 403, "not-candidate")

    act(client, instance_id, "consult_stp", STP_LEAD, stp_agrees=True, stp_comments="Thống nhất với báo cáo")
    act(
        client,
        instance_id,
        "propose_commendation",
        SNV_LEAD,
        commendation_proposals=[
            {
                "nominee": "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội",
                "agency": "htkc",
                "award": "co_thi_dua",
                "achievement": "Đưa Trung tâm Đổi mới sáng tạo vào hoạt động trước hạn",
            }
        ],
        snv_opinion="Đủ tiêu chuẩn theo tiêu chí thi đua",
        snv_document="75/BTĐKT-NV",
    )
    assert set(open_tasks(client, instance_id)) == {"consult_htkc"}  # the join waits for the board
    clock.set(due - timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 0
    clock.set(due + timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 1  # silence: tacit consent
    found = instance(client, instance_id)["variables"]
    assert (found["stp_consent"], found["htkc_consent"]) == ("given", "tacit")
    assert set(open_tasks(client, instance_id)) == {"submit_commendation"}

    act(
        client,
        instance_id,
        "submit_commendation",
        SKHCN_LEAD,
        commendation_submission="Đề nghị tặng Cờ thi đua cho Ban Quản lý",
        submission_document="1012/TTr-SKHCN",
    )
    decision = open_tasks(client, instance_id)["decide_commendation"]
    assert (decision["candidate_groups"], decision["required_role"], decision["lane"]) == (
        ["ubnd"],
        "lead",
        "UBND Thành phố",
    )
    assert_problem(complete(client, decision["id"], UBND, status=403, commendation_approved=True), 403, "role-required")
    assert_problem(  # approving names who is commended
        complete(
            client,
            decision["id"],
            UBND_LEAD,
            status=422,
            commendation_approved=True,
            commendation_document="6210/QĐ-UBND",
        ),
        422,
        "form-invalid",
    )
    act(
        client,
        instance_id,
        "decide_commendation",
        UBND_LEAD,
        commendation_approved=True,
        awarded=["Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội"],
        commendation_document="6210/QĐ-UBND",
    )
    targets = open_tasks(client, instance_id)["assign_targets"]
    assert (targets["candidate_groups"], targets["required_role"]) == (["skhcn"], "lead")
    act(
        client,
        instance_id,
        "assign_targets",
        SKHCN_LEAD,
        plan_document="1520/KH-SKHCN",
        targets=[
            {"agency": "ttpvhcc", "indicator": "Tỷ lệ hồ sơ trực tuyến toàn trình", "unit": "%", "target": 100},
            {"agency": "htkc", "indicator": "Doanh nghiệp khởi nghiệp được ươm tạo", "target": 50},
        ],
    )
    act(client, instance_id, "hold_conference", SKHCN, conference_date="2027-01-15", conference_note="Đã biểu dương")

    assert instance(client, instance_id)["status"] == "completed"
    assert {"skhcn", "stp", "htkc", "snv", "ubnd"} <= agencies_reached(client, instance_id)
    steps = [
        event["element_id"]
        for event in client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
        if event["kind"] in ("element_completed", "task_completed")
    ]
    assert "consult_htkc_tacit_consent" in steps and "record_stp_consent" in steps
