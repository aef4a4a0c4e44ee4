"""The ``sandbox_review`` process (thẩm định hồ sơ thử nghiệm có kiểm soát) walked over the REST API on SQLite and
PostgreSQL: intake at the public-service centre (Điều 20.1), the Sở KH&CN lead's completeness check with one
supplementation and the confirmation (or override) of the routing two DMNs propose, parallel consultation (Sở Tư
pháp always; the HTKC board appraising in the hi-tech park, else giving an opinion that its silence turns into tacit
consent; the sector Sở), timeouts that make Sở KH&CN urge the late agency, the optional council with the applicant's
explanation, Văn phòng UBND's review and the UBND decision, and the monitoring of an approved test (periodic
reports, incidents and adjustments decided by UBND, expiry) up to the final evaluation that may start an
``escalation``. Every step is taken by the agency and role that own it; timers fire through the scheduler on the
injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.api.calls import ADMIN, DEFINITIONS, INSTANCES, MESSAGES, OWNER, TASKS, assert_problem, complete, instance
from tests.conftest import auth

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
KEY = "sandbox_review"
HANOI = timezone(timedelta(hours=7))

PORTAL = auth("cong-dvc", roles="integrator", name="Cổng dịch vụ công Hà Nội")
DESK = auth("khanh", groups="ttpvhcc", name="Lê Minh Khánh")
SKHCN = auth("an", groups="skhcn", name="Trần Văn An")
SKHCN_LEAD = auth("cuong", groups="skhcn", roles="lead", name="Lê Mạnh Cường")
STP = auth("dung", groups="stp", name="Phạm Thị Dung")
STP_LEAD = auth("duc", groups="stp", roles="lead", name="Hoàng Minh Đức")
HTKC_LEAD = auth("giang", groups="htkc", roles="lead", name="Vũ Hương Giang")
UBND = auth("minh", groups="ubnd", name="Đặng Nhật Minh")
UBND_LEAD = auth("nam", groups="ubnd", roles="lead", name="Trương Hoài Nam")
VP_LEAD = auth("tuan", groups="vp-ubnd", roles="lead", name="Phan Anh Tuấn")
SECTOR_LEADS = {code: auth(f"lead-{code}", groups=code, roles="lead") for code in ("syt", "sgddt", "snnmt")}

APPLICATION: dict[str, Any] = {
    "applicant": {
        "name": "Công ty Cổ phần Y tế số An Khang",
        "tax_code": "0109876543",
        "representative": "Nguyễn Văn Khang",
        "email": "lienhe@ankhang.vn",
    },
    "technology_name": "Nền tảng khám bệnh từ xa có kê đơn điện tử",
    "technology_description": "Khám, tư vấn qua video và kê đơn điện tử liên thông với nhà thuốc.",
    "scope": "Khám từ xa các bệnh mạn tính ổn định cho người bệnh đã khám trực tiếp trước đó.",
    "test_space": {"in_hitech_park": True, "location": "Trung tâm Đổi mới sáng tạo Hà Nội, Khu CNC Hòa Lạc"},
    "sector": "y_te",
    "duration_months": 7,
    "max_users": 5000,
    "risk_plan": "Giới hạn nhóm bệnh, bác sĩ trực, quy trình chuyển khám trực tiếp khi cần.",
    "user_protection_plan": "Người bệnh đồng ý tham gia, bảo hiểm trách nhiệm, đường dây khiếu nại 24/7.",
    "legal_gaps": [{"rule": "Thông tư 49/2017/TT-BYT, Điều 6", "reason": "Chưa cho phép kê đơn sau khám từ xa"}],
    "exit_plan": "Chuyển người bệnh về cơ sở khám trực tiếp, bàn giao hồ sơ bệnh án trong 30 ngày.",
}

CONDITIONS: dict[str, Any] = {
    "scope": "Khám từ xa bệnh mạn tính ổn định; kê đơn tối đa 30 ngày",
    "space": "Khu CNC Hòa Lạc và 3 bệnh viện liên kết",
    "duration_months": 7,
    "max_users": 3000,
    "reporting_duties": ["Báo cáo hằng quý về số người dùng, sự cố, khiếu nại"],
}


# --- calls ----------------------------------------------------------------------------------------------------------
def deploy(client: TestClient, folder: str = KEY) -> None:
    """Every file of the process folder in one request, strict: any "6 rõ" finding would refuse it."""
    parts = [
        ("files", (path.name, path.read_bytes(), "application/json" if path.suffix == ".json" else "application/xml"))
        for path in sorted((PROCESSES / folder).iterdir())
        if path.is_file()
    ]
    response = client.post(DEFINITIONS, files=parts, params={"strict": "true"}, headers=OWNER)
    assert response.status_code == 201, response.text


def apply(client: TestClient, business_key: str = "SB-2026-0001", **changes: Any) -> str:
    """The portal files an application; ``changes`` replace fields of APPLICATION."""
    response = client.post(
        INSTANCES,
        json={"process_key": KEY, "business_key": business_key, "variables": {**APPLICATION, **changes}},
        headers=PORTAL,
    )
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    receive(client, instance_id)
    return instance_id


def receive(client: TestClient, instance_id: str) -> None:
    """The public-service centre receives the dossier filed online and forwards it to Sở KH&CN (Điều 20.1)."""
    task = open_tasks(client, instance_id)["receive_application"]
    assert (task["candidate_groups"], task["lane"]) == (["ttpvhcc"], "Trung tâm Phục vụ hành chính công")
    done = complete(client, task["id"], DESK, receipt_number="000.20.01.H26-260105-0001").json()
    assert done["status"] == "completed"


def open_tasks(client: TestClient, instance_id: str) -> dict[str, dict[str, Any]]:
    found = instance(client, instance_id)["open_tasks"]
    by_element = {task["element_id"]: task for task in found}
    assert len(by_element) == len(found), f"two open tasks of one element: {found}"
    return by_element


def act(client: TestClient, instance_id: str, element_id: str, headers: dict[str, str], **fields: Any) -> None:
    """Complete the open task of ``element_id`` as ``headers``."""
    tasks = open_tasks(client, instance_id)
    assert element_id in tasks, f"{element_id} is not open; open: {sorted(tasks)}"
    done = complete(client, tasks[element_id]["id"], headers, **fields).json()
    assert (done["status"], done["element_id"]) == ("completed", element_id)


def send(
    client: TestClient, name: str, business_key: str = "SB-2026-0001", *, status: int = 200, **payload: Any
) -> None:
    """The applicant's system sends a message through the integration API, correlated by the business key."""
    response = client.post(
        MESSAGES, json={"name": name, "business_key": business_key, "variables": payload}, headers=PORTAL
    )
    assert response.status_code == status, response.text


def variables(client: TestClient, instance_id: str) -> dict[str, Any]:
    found: dict[str, Any] = instance(client, instance_id)["variables"]
    return found


def status(client: TestClient, instance_id: str) -> str:
    found: str = instance(client, instance_id)["status"]
    return found


def history(client: TestClient, instance_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


def passed(client: TestClient, instance_id: str) -> list[str]:
    """Element ids the instance went through (engine steps and human tasks), in order."""
    return [
        e["element_id"]
        for e in history(client, instance_id)
        if e["kind"] in ("element_completed", "task_completed") and e["element_id"]
    ]


def agencies_reached(client: TestClient, instance_id: str) -> set[str]:
    """The agencies whose lanes had a task of the instance, whatever became of it (issue 10 §1)."""
    found: set[str] = set()
    for state in ("open", "claimed", "completed", "cancelled"):
        response = client.get(TASKS, params={"instance_id": instance_id, "status": state, "limit": 100}, headers=ADMIN)
        assert response.status_code == 200, response.text
        found |= {group for task in response.json()["items"] for group in task["candidate_groups"]}
    return found


def fire(container: EngineContainer, clock: FakeClock, until: datetime) -> int:
    """Move the clock to ``until`` (plus a second: a timer fires once its due time is past) and run the scheduler."""
    clock.set(until + timedelta(seconds=1))
    return container.scheduler.run_once()


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def hanoi(year: int, month: int, day: int, hour: int = 17) -> datetime:
    return datetime(year, month, day, hour, tzinfo=HANOI).astimezone(UTC)


# --- the steps, each by the agency and role that own it ---------------------------------------------------------------
def check(client: TestClient, instance_id: str, *missing: str) -> None:
    if missing:
        act(client, instance_id, "check_completeness", SKHCN_LEAD, dossier_complete=False, missing_items=list(missing))
    else:
        act(client, instance_id, "check_completeness", SKHCN_LEAD, dossier_complete=True, routing_confirmed=True)


def legal_opinion(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "legal_opinion",
        STP_LEAD,
        legal_opinion="Có thể miễn trừ trong phạm vi thử nghiệm",
        waived_rules=["Thông tư 49/2017/TT-BYT, Điều 6"],
        legal_risk="trung_binh",
        legal_conditions=["Lưu vết toàn bộ đơn thuốc điện tử"],
        legal_opinion_document="45/STP-VBPQ",
    )


def htkc_opinion(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "htkc_opinion",
        HTKC_LEAD,
        htkc_opinion="Bố trí được phòng thử nghiệm tại Hòa Lạc",
        space_available=True,
        infrastructure_notes="Kết nối 10 Gbps, trung tâm dữ liệu đạt chuẩn",
    )


def consult_htkc(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "consult_htkc",
        HTKC_LEAD,
        htkc_consult_agrees=True,
        htkc_consult_opinion="Thống nhất; sẵn sàng kết nối với Trung tâm Đổi mới sáng tạo",
    )


def sector_opinion(client: TestClient, instance_id: str, agency: str) -> None:
    act(
        client,
        instance_id,
        "sector_opinion",
        SECTOR_LEADS[agency],
        sector_opinion="Đồng ý có điều kiện",
        sector_supports=True,
        sector_conditions=["Bác sĩ có chứng chỉ hành nghề"],
    )


def consult(client: TestClient, instance_id: str, sector_agency: str | None = "syt", in_park: bool = True) -> None:
    legal_opinion(client, instance_id)
    if in_park:
        htkc_opinion(client, instance_id)
    if sector_agency is not None:
        sector_opinion(client, instance_id, sector_agency)


def synthesize(client: TestClient, instance_id: str, *, council: bool) -> None:
    act(
        client,
        instance_id,
        "synthesize",
        SKHCN_LEAD,
        synthesis="Các cơ quan thống nhất cho thử nghiệm có điều kiện",
        needs_council=council,
    )


def propose(client: TestClient, instance_id: str) -> None:
    act(
        client,
        instance_id,
        "draft_proposal",
        SKHCN_LEAD,
        recommendation="cho_phep",
        proposal="Đề nghị cho phép thử nghiệm 7 tháng",
        proposed_conditions=CONDITIONS,
        proposal_document="310/TTr-SKHCN",
    )


def vp_review(client: TestClient, instance_id: str, recommendation: str = "cho_phep") -> None:
    """Văn phòng UBND reviews Sở KH&CN's submission and reports to UBND (Điều 10.1)."""
    act(
        client,
        instance_id,
        "vp_review",
        VP_LEAD,
        vp_opinion="Hồ sơ đủ cơ sở trình",
        vp_recommendation=recommendation,
        vp_document="215/PT-VP",
    )


def approve(client: TestClient, instance_id: str, **conditions: Any) -> None:
    act(
        client,
        instance_id,
        "decide",
        UBND_LEAD,
        approved=True,
        conditions={**CONDITIONS, **conditions},
        decision_document="1234/QĐ-UBND",
    )


def to_decision(client: TestClient, instance_id: str) -> None:
    """Complete intake and consultation (Sở Y tế, in the park) and submit to UBND without a council."""
    check(client, instance_id)
    consult(client, instance_id)
    synthesize(client, instance_id, council=False)
    propose(client, instance_id)
    vp_review(client, instance_id)
    assert set(open_tasks(client, instance_id)) == {"decide"}


def approved_test(client: TestClient, **conditions: Any) -> str:
    """An application approved today: the test is being monitored."""
    deploy(client)
    instance_id = apply(client)
    to_decision(client, instance_id)
    approve(client, instance_id, **conditions)
    assert variables(client, instance_id)["sandbox_status"] == "dang_thu_nghiem"
    return instance_id


# --- intake ---------------------------------------------------------------------------------------------------------
def test_incomplete_application_is_supplemented_once_then_consulted(client: TestClient) -> None:
    deploy(client)
    instance_id = apply(client)
    task = open_tasks(client, instance_id)["check_completeness"]
    assert (task["candidate_groups"], task["lane"]) == (["skhcn"], "Sở Khoa học và Công nghệ")
    # 5 working days after Monday 5/1/2026, the day of receipt not counted: processes/calendar.toml makes Saturday
    # 10/1/2026 a working day (swapped for Friday 2/1), so the fifth working day is that Saturday
    assert moment(task["due_at"]) == hanoi(2026, 1, 10)

    check(client, instance_id, "Thiếu phương án bồi thường người dùng")
    assert open_tasks(client, instance_id) == {}
    found = variables(client, instance_id)
    assert (found["sandbox_status"], found["supplement_requests"]) == ("cho_bo_sung", 1)
    assert moment(found["supplement_due_at"]) == hanoi(2026, 1, 16)  # 10 working days

    send(client, "Bổ sung hồ sơ thử nghiệm", documents=["Phương án bồi thường"], note="Đã bổ sung")
    assert set(open_tasks(client, instance_id)) == {"check_completeness"}
    assert variables(client, instance_id)["supplement"] == {"documents": ["Phương án bồi thường"], "note": "Đã bổ sung"}
    check(client, instance_id)
    assert set(open_tasks(client, instance_id)) == {"legal_opinion", "htkc_opinion", "sector_opinion"}
    assert passed(client, instance_id)[:9] == [
        "application_received",
        "receive_application",
        "register_application",
        "route_sector",
        "route_htkc",
        "check_completeness",
        "completeness_gateway",
        "request_supplement",
        "await_supplement",
    ]


def test_second_incompleteness_refuses_the_application(client: TestClient) -> None:
    deploy(client)
    instance_id = apply(client)
    check(client, instance_id, "Thiếu phương án bồi thường người dùng")
    send(client, "Bổ sung hồ sơ thử nghiệm", documents=["Phương án bồi thường (bản nháp)"])
    check(client, instance_id, "Phương án bồi thường chưa có chữ ký người đại diện")

    assert status(client, instance_id) == "completed"
    found = variables(client, instance_id)
    assert (found["outcome"], found["sandbox_status"], found["supplement_requests"]) == (
        "tu_choi_tiep_nhan",
        "tu_choi",
        1,
    )
    assert found["outcome_reasons"] == [
        "Hồ sơ đã bổ sung nhưng vẫn chưa đầy đủ",
        "Phương án bồi thường chưa có chữ ký người đại diện",
    ]
    assert passed(client, instance_id)[-2:] == ["reject_incomplete", "rejected_at_intake"]
    send(client, "Bổ sung hồ sơ thử nghiệm", status=404)  # nothing waits any more


def test_no_supplement_before_the_deadline_refuses_the_application(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    deploy(client)
    instance_id = apply(client)
    check(client, instance_id, "Thiếu phương án kết thúc thử nghiệm")
    deadline = moment(variables(client, instance_id)["supplement_due_at"])
    clock.set(deadline - timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 0
    assert fire(app_container, clock, deadline) == 1

    assert status(client, instance_id) == "completed"
    found = variables(client, instance_id)
    assert found["outcome"] == "tu_choi_tiep_nhan"
    assert found["outcome_reasons"] == [
        "Không bổ sung hồ sơ trong thời hạn 2026-01-16",
        "Thiếu phương án kết thúc thử nghiệm",
    ]
    assert passed(client, instance_id)[-3:] == ["supplement_overdue", "reject_not_supplemented", "rejected_at_intake"]


# --- consultation ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sector", "in_park", "agency", "basis"),
    [
        ("y_te", True, "syt", "Điều 17.2"),
        ("giao_duc", False, "sgddt", "Điều 18.2"),
        ("nong_nghiep_moi_truong", True, "snnmt", "Điều 16.2"),
        ("khac", True, None, ""),
        ("khac", False, None, ""),
    ],
)
def test_consultation_goes_to_the_agencies_the_application_concerns(
    client: TestClient, sector: str, in_park: bool, agency: str | None, basis: str
) -> None:
    deploy(client)
    instance_id = apply(client, sector=sector, test_space={"in_hitech_park": in_park, "location": "Hòa Lạc"})
    check(client, instance_id)
    found = variables(client, instance_id)
    assert (found["sector_agency"], found["sector_basis"]) == (agency or "none", basis)

    assert (found["htkc_role"], found.get("htkc_consent")) == (
        "tham_dinh" if in_park else "cho_y_kien",
        None,
    )
    htkc_task = "htkc_opinion" if in_park else "consult_htkc"
    expected = {"legal_opinion", htkc_task} | ({"sector_opinion"} if agency else set())
    tasks = open_tasks(client, instance_id)
    assert set(tasks) == expected
    assert tasks["legal_opinion"]["candidate_groups"] == ["stp"]
    assert (tasks[htkc_task]["candidate_groups"], tasks[htkc_task]["required_role"]) == (["htkc"], "lead")
    if agency is not None:
        sector_task = tasks["sector_opinion"]
        assert (sector_task["candidate_groups"], sector_task["lane"]) == ([agency], "Sở chuyên ngành")
        other = next(code for code in SECTOR_LEADS if code != agency)
        assert_problem(complete(client, sector_task["id"], SECTOR_LEADS[other], status=403), 403, "not-candidate")
        assert_problem(client.get(f"{TASKS}/{sector_task['id']}", headers=SECTOR_LEADS[other]), 403)

    # the inclusive join waits for every consultation that was sent, and for those only
    legal_opinion(client, instance_id)
    if agency is not None:
        assert "synthesize" not in open_tasks(client, instance_id)
        sector_opinion(client, instance_id, agency)
    assert "synthesize" not in open_tasks(client, instance_id)
    if in_park:
        htkc_opinion(client, instance_id)
    else:
        consult_htkc(client, instance_id)
    assert set(open_tasks(client, instance_id)) == {"synthesize"}
    found = variables(client, instance_id)
    assert found["waived_rules"] == ["Thông tư 49/2017/TT-BYT, Điều 6"]
    assert found.get("space_available") is (True if in_park else None)
    assert found.get("htkc_consent") == (None if in_park else "given")
    assert found.get("sector_supports") is (True if agency else None)


def test_the_lead_confirms_or_overrides_the_routing_the_rules_propose(client: TestClient) -> None:
    """The DMNs propose (sector_routing: the sector Sở; htkc_routing: the HTKC board's role); only a Sở KH&CN lead
    checks the dossier, and an override needs a reason (issue 10 §1: rules confirmed by a lead, not a checkbox)."""
    deploy(client)
    instance_id = apply(client, sector="khac", test_space={"in_hitech_park": False, "location": "Quận Cầu Giấy"})
    found = variables(client, instance_id)
    assert (found["sector_agency"], found["htkc_role"], found["htkc_basis"]) == (
        "none",
        "cho_y_kien",
        "Điều 5.3, Điều 9.3",
    )
    task = open_tasks(client, instance_id)["check_completeness"]
    assert task["required_role"] == "lead"
    assert_problem(
        complete(client, task["id"], SKHCN, status=403, dossier_complete=True, routing_confirmed=True),
        403,
        "role-required",
    )
    body = assert_problem(
        complete(client, task["id"], SKHCN_LEAD, status=422, dossier_complete=True, routing_confirmed=False),
        422,
        "form-invalid",
    )
    assert "routing_override_reason" in str(body)
    assert_problem(complete(client, task["id"], SKHCN_LEAD, status=422, dossier_complete=True), 422, "form-invalid")
    act(
        client,
        instance_id,
        "check_completeness",
        SKHCN_LEAD,
        dossier_complete=True,
        routing_confirmed=False,
        sector_agency_decided="syt",
        htkc_role_decided="tham_dinh",
        routing_override_reason="Dịch vụ khám bệnh từ xa; máy chủ đặt tại Khu công nghệ cao Hòa Lạc",
    )
    found = variables(client, instance_id)
    assert found["routing"] == {
        "proposed": {"sector_agency": "none", "htkc_role": "cho_y_kien"},
        "sector_agency": "syt",
        "htkc_role": "tham_dinh",
        "confirmed": False,
    }
    assert found["sector_basis"].startswith("Điều chỉnh của lãnh đạo Sở KH&CN: Dịch vụ khám bệnh từ xa")
    assert set(open_tasks(client, instance_id)) == {"legal_opinion", "htkc_opinion", "sector_opinion"}


def test_silence_of_the_htkc_board_outside_the_park_is_tacit_consent(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    """Outside the hi-tech park the HTKC board has no substantive role: it is consulted ("cho ý kiến") and, when the
    consultation days (PHOIHOP_CONSULTATION_DAYS, 5) pass without an opinion, deemed to agree; the case goes on."""
    deploy(client)
    instance_id = apply(client, test_space={"in_hitech_park": False, "location": "Quận Hoàn Kiếm"})
    check(client, instance_id)
    consult = open_tasks(client, instance_id)["consult_htkc"]
    assert consult["name"] == "Ban Quản lý các Khu CNC và KCN cho ý kiến về hồ sơ thử nghiệm"
    due = moment(consult["due_at"])
    assert due == hanoi(2026, 1, 10)  # 5 working days after Monday 5/1 (Saturday 10/1 is a swapped working day)
    legal_opinion(client, instance_id)
    sector_opinion(client, instance_id, "syt")
    assert "synthesize" not in open_tasks(client, instance_id)

    clock.set(due - timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 0
    assert fire(app_container, clock, due) == 1
    assert set(open_tasks(client, instance_id)) == {"synthesize"}
    assert client.get(f"{TASKS}/{consult['id']}", headers=ADMIN).json()["status"] == "cancelled"
    assert variables(client, instance_id)["htkc_consent"] == "tacit"
    steps = passed(client, instance_id)
    assert steps[-3:] == ["consult_htkc_tacit_consent", "record_htkc_tacit_consent", "consult_join"]
    assert {"skhcn", "stp", "htkc"} <= agencies_reached(client, instance_id)


@pytest.mark.parametrize("in_time", [None, "legal_opinion", "htkc_opinion"])
def test_late_consultations_are_urged_by_skhcn(
    client: TestClient, clock: FakeClock, app_container: EngineContainer, in_time: str | None
) -> None:
    deploy(client)
    instance_id = apply(client)
    check(client, instance_id)
    tasks = open_tasks(client, instance_id)
    due = moment(tasks["htkc_opinion"]["due_at"])
    assert due == hanoi(2026, 1, 16)  # 10 working days
    assert {moment(t["due_at"]) for t in tasks.values()} == {due}
    answer: dict[str, Callable[[TestClient, str], None]] = {
        "legal_opinion": legal_opinion,
        "htkc_opinion": htkc_opinion,
        "sector_opinion": lambda c, i: sector_opinion(c, i, "syt"),
    }
    if in_time is not None:
        answer.pop(in_time)(client, instance_id)  # answered in time: that agency is not urged

    clock.set(due - timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 0
    assert fire(app_container, clock, due) >= 1
    urges = {"legal_opinion": "urge_stp", "htkc_opinion": "urge_htkc", "sector_opinion": "urge_sector"}
    tasks = open_tasks(client, instance_id)
    assert set(tasks) == set(answer) | {urges[late] for late in answer}  # the late opinions are still awaited
    assert all(tasks[urges[late]]["candidate_groups"] == ["skhcn"] for late in answer)
    assert moment(tasks[urges[next(iter(answer))]]["due_at"]) == hanoi(2026, 1, 19)  # one working day

    for late, give in answer.items():
        act(client, instance_id, urges[late], SKHCN_LEAD, urge_note="Đã gửi công văn đôn đốc", urge_document="88/SKHCN")
        assert "synthesize" not in open_tasks(client, instance_id)
        give(client, instance_id)
    assert set(open_tasks(client, instance_id)) == {"synthesize"}
    timers = {"legal_opinion_overdue", "htkc_opinion_overdue", "sector_opinion_overdue"}
    assert timers & set(passed(client, instance_id)) == {f"{late}_overdue" for late in answer}


# --- council and decision -------------------------------------------------------------------------------------------
def test_without_council_ubnd_refuses_with_reasons(client: TestClient) -> None:
    deploy(client)
    instance_id = apply(client)
    check(client, instance_id)
    consult(client, instance_id)
    synthesize(client, instance_id, council=False)
    proposal = open_tasks(client, instance_id)["draft_proposal"]
    assert proposal["required_role"] == "lead"
    assert_problem(complete(client, proposal["id"], SKHCN, status=403, recommendation="tu_choi"), 403, "role-required")
    act(
        client,
        instance_id,
        "draft_proposal",
        SKHCN_LEAD,
        recommendation="tu_choi",
        proposal="Rủi ro cho người bệnh chưa được kiểm soát",
        proposed_refusal_reasons=["Chưa có bảo hiểm"],
        proposal_document="311/TTr-SKHCN",
    )
    review = open_tasks(client, instance_id)["vp_review"]
    assert (review["candidate_groups"], review["required_role"], review["lane"]) == (
        ["vp-ubnd"],
        "lead",
        "Văn phòng UBND Thành phố",
    )
    assert "decide" not in open_tasks(client, instance_id)  # UBND decides only on Văn phòng UBND's report
    vp_review(client, instance_id, "tu_choi")

    decision = open_tasks(client, instance_id)["decide"]
    assert (decision["candidate_groups"], decision["required_role"]) == (["ubnd"], "lead")
    assert_problem(complete(client, decision["id"], UBND, status=403, approved=False), 403, "role-required")
    reasons = ["Chưa có phương án bảo hiểm trách nhiệm nghề nghiệp", "Chưa có cơ chế xử lý sai sót kê đơn"]
    act(
        client,
        instance_id,
        "decide",
        UBND_LEAD,
        approved=False,
        refusal_reasons=reasons,
        decision_document="1235/QĐ-UBND",
    )

    assert status(client, instance_id) == "completed"
    found = variables(client, instance_id)
    assert (found["outcome"], found["outcome_reasons"], found["sandbox_status"]) == ("tu_choi", reasons, "tu_choi")
    steps = passed(client, instance_id)
    assert "council_review" not in steps and steps[-2:] == ["record_refusal", "refused"]
    assert steps.index("draft_proposal") < steps.index("vp_review") < steps.index("decide")


def test_a_late_review_by_van_phong_ubnd_is_directed_by_the_ubnd_lead(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    """As in escalation (Điều 10.1): Văn phòng UBND's review past its 3 working days goes to the UBND lead, who
    directs; the review itself goes on and UBND still decides only on its report."""
    deploy(client)
    instance_id = apply(client)
    check(client, instance_id)
    consult(client, instance_id)
    synthesize(client, instance_id, council=False)
    propose(client, instance_id)
    review = open_tasks(client, instance_id)["vp_review"]
    due = moment(review["due_at"])
    clock.set(due - timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 0
    assert fire(app_container, clock, due) == 1
    tasks = open_tasks(client, instance_id)
    assert set(tasks) == {"vp_review", "direct_vp_review"}
    direct = tasks["direct_vp_review"]
    assert (direct["candidate_groups"], direct["required_role"]) == (["ubnd"], "lead")
    assert_problem(complete(client, direct["id"], UBND, status=403, direction="x"), 403, "role-required")
    act(client, instance_id, "direct_vp_review", UBND_LEAD, direction="Văn phòng hoàn thành phiếu trình trong ngày")
    assert set(open_tasks(client, instance_id)) == {"vp_review"}
    vp_review(client, instance_id)
    assert set(open_tasks(client, instance_id)) == {"decide"}


def test_approval_needs_the_conditions_of_the_test(client: TestClient) -> None:
    deploy(client)
    instance_id = apply(client)
    to_decision(client, instance_id)
    decision = open_tasks(client, instance_id)["decide"]
    body = assert_problem(
        complete(client, decision["id"], UBND_LEAD, status=422, approved=True, decision_document="1234/QĐ-UBND"),
        422,
        "form-invalid",
    )
    assert "conditions" in str(body)
    assert set(open_tasks(client, instance_id)) == {"decide"}


def test_council_asks_for_an_explanation_then_recommends(client: TestClient) -> None:
    deploy(client)
    instance_id = apply(client)
    check(client, instance_id)
    consult(client, instance_id)
    synthesize(client, instance_id, council=True)
    act(
        client,
        instance_id,
        "council_review",
        SKHCN_LEAD,
        council_conclusion="Cần làm rõ cơ chế bồi thường",
        explanation_required=True,
        explanation_questions=["Mức bồi thường tối đa cho mỗi người bệnh?"],
    )
    assert open_tasks(client, instance_id) == {}

    send(client, "Giải trình hồ sơ thử nghiệm", answers=["Tối đa 500 triệu đồng mỗi người bệnh"])
    assert set(open_tasks(client, instance_id)) == {"council_review"}
    assert variables(client, instance_id)["explanation"] == {"answers": ["Tối đa 500 triệu đồng mỗi người bệnh"]}
    act(
        client,
        instance_id,
        "council_review",
        SKHCN_LEAD,
        council_conclusion="Đề nghị cho phép có điều kiện",
        council_recommendation="cho_phep",
        explanation_required=False,
    )
    propose(client, instance_id)
    vp_review(client, instance_id)
    approve(client, instance_id)
    steps = passed(client, instance_id)
    assert steps.count("council_review") == 2 and "await_explanation" in steps
    assert variables(client, instance_id)["sandbox_status"] == "dang_thu_nghiem"


def test_council_concludes_on_the_file_when_no_explanation_arrives(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    deploy(client)
    instance_id = apply(client)
    check(client, instance_id)
    consult(client, instance_id)
    synthesize(client, instance_id, council=True)
    act(
        client,
        instance_id,
        "council_review",
        SKHCN_LEAD,
        council_conclusion="Cần làm rõ cơ chế bồi thường",
        explanation_required=True,
        explanation_questions=["Mức bồi thường?"],
    )
    assert fire(app_container, clock, hanoi(2026, 1, 16)) == 1  # 10 working days after Monday 5/1

    assert set(open_tasks(client, instance_id)) == {"council_review"}
    assert variables(client, instance_id)["explanation"] == {
        "received": False,
        "note": "Tổ chức không giải trình trong thời hạn",
    }
    act(
        client,
        instance_id,
        "council_review",
        SKHCN_LEAD,
        council_conclusion="Hồ sơ không đủ cơ sở",
        council_recommendation="tu_choi",
        explanation_required=False,
    )
    assert set(open_tasks(client, instance_id)) == {"draft_proposal"}
    send(client, "Giải trình hồ sơ thử nghiệm", status=404)  # too late: nothing waits for it


# --- monitoring -----------------------------------------------------------------------------------------------------
def test_periodic_reports_are_reviewed_and_late_reports_reminded(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    instance_id = approved_test(client)
    found = variables(client, instance_id)
    assert (found["test_started_on"], found["test_months"], found["reports_received"]) == ("2026-01-05", 7, 0)
    assert (found["test_end_at"], found["next_report_due"]) == (
        "2026-08-05T17:00:00+07:00",
        "2026-04-05T17:00:00+07:00",
    )
    assert found["report_reminder_at"] == found["next_report_due"]

    send(client, "Báo cáo định kỳ thử nghiệm", period="Quý I/2026", active_users=1200, incidents=0)
    review = open_tasks(client, instance_id)["review_report"]
    assert review["candidate_groups"] == ["skhcn"]
    found = variables(client, instance_id)
    assert found["reports_received"] == 1
    assert found["latest_report"] == {"period": "Quý I/2026", "active_users": 1200, "incidents": 0}
    assert [(entry["period"], entry["report"]["period"]) for entry in found["report_log"]] == [(1, "Quý I/2026")]
    act(client, instance_id, "review_report", SKHCN, report_compliant=True, report_review="Tuân thủ điều kiện")
    assert open_tasks(client, instance_id) == {}
    assert variables(client, instance_id)["next_report_due"] == "2026-07-05T17:00:00+07:00"

    # the second report is late: the tester is reminded at once, again 10 working days later, until it arrives
    assert fire(app_container, clock, hanoi(2026, 7, 5)) == 1
    assert open_tasks(client, instance_id) == {}
    found = variables(client, instance_id)
    assert found["report_reminders"] == [
        {"period": 2, "due": "2026-07-05T17:00:00+07:00", "reminded_at": "2026-07-05T17:00:01+07:00"}
    ]
    # reminded on Sunday 5/7, deemed Monday 6/7 (not counted): ten working days later
    assert found["report_reminder_at"] == "2026-07-20T17:00:00+07:00"
    clock.set(hanoi(2026, 7, 20) - timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 0
    assert fire(app_container, clock, hanoi(2026, 7, 20)) == 1
    found = variables(client, instance_id)
    assert [r["reminded_at"] for r in found["report_reminders"]] == [
        "2026-07-05T17:00:01+07:00",
        "2026-07-20T17:00:01+07:00",
    ]
    assert found["report_reminder_at"] == "2026-08-03T17:00:00+07:00"
    send(client, "Báo cáo định kỳ thử nghiệm", period="Quý II/2026", active_users=2500, incidents=1)
    assert set(open_tasks(client, instance_id)) == {"review_report"}
    act(
        client,
        instance_id,
        "review_report",
        SKHCN,
        report_compliant=False,
        report_review="Vượt số người dùng",
        report_follow_up=["Giảm số người dùng về dưới 3.000"],
    )
    found = variables(client, instance_id)
    assert (found["reports_received"], found["next_report_due"]) == (2, "2026-10-05T17:00:00+07:00")
    assert found["report_reminder_at"] == found["next_report_due"]
    assert status(client, instance_id) == "running"


def suspend(client: TestClient, instance_id: str, resolution: str) -> None:
    """Sở KH&CN suspends, Sở Tư pháp gives its opinion, Sở KH&CN proposes, the UBND lead decides."""
    act(
        client,
        instance_id,
        "handle_incident",
        SKHCN_LEAD,
        incident_severity="cao",
        users_affected=12,
        suspension_measures="Ngừng kê đơn mới, liên hệ từng người bệnh",
        suspension_document="95/SKHCN-QLKH",
    )
    opinion = open_tasks(client, instance_id)["incident_legal_opinion"]
    assert (opinion["candidate_groups"], opinion["lane"]) == (["stp"], "Sở Tư pháp")
    assert_problem(complete(client, opinion["id"], STP, status=403, incident_legal_opinion="x"), 403, "role-required")
    act(
        client,
        instance_id,
        "incident_legal_opinion",
        STP_LEAD,
        incident_legal_opinion="Chưa có dấu hiệu vi phạm",
        incident_violation=False,
        incident_legal_recommendation=resolution,
    )
    act(
        client,
        instance_id,
        "propose_incident",
        SKHCN_LEAD,
        incident_recommendation=resolution,
        incident_proposal="Đề xuất theo ý kiến Sở Tư pháp",
        incident_proposal_document="97/TTr-SKHCN",
    )
    decision = open_tasks(client, instance_id)["decide_incident"]
    assert (decision["candidate_groups"], decision["required_role"], decision["lane"]) == (
        ["ubnd"],
        "lead",
        "UBND Thành phố",
    )  # not Sở KH&CN's: no article delegates it (Điều 7.3 only runs the mechanism)
    assert_problem(complete(client, decision["id"], SKHCN_LEAD, status=403), 403, "not-candidate")
    assert_problem(complete(client, decision["id"], UBND, status=403), 403, "role-required")
    act(
        client,
        instance_id,
        "decide_incident",
        UBND_LEAD,
        incident_resolution=resolution,
        incident_decision_reasons="Theo tờ trình của Sở KH&CN và ý kiến Sở Tư pháp",
        incident_decision_document="1301/QĐ-UBND",
    )


def test_incident_suspends_the_test_until_it_may_resume(client: TestClient) -> None:
    instance_id = approved_test(client)
    send(client, "Sự cố thử nghiệm", summary="Sai liều trong 12 đơn thuốc", occurred_at="2026-01-05T10:00:00+07:00")

    assert set(open_tasks(client, instance_id)) == {"handle_incident"}
    found = variables(client, instance_id)
    assert (found["sandbox_status"], found["incident_count"]) == ("tam_dung", 1)
    assert found["incident"]["summary"] == "Sai liều trong 12 đơn thuốc"
    send(client, "Báo cáo định kỳ thử nghiệm", status=404)  # a suspended test waits for no report
    suspend(client, instance_id, "tiep_tuc")

    found = variables(client, instance_id)
    assert (found["sandbox_status"], found["incident_resolution"]) == ("dang_thu_nghiem", "tiep_tuc")
    assert open_tasks(client, instance_id) == {}
    send(client, "Báo cáo định kỳ thử nghiệm", period="Quý I/2026")  # monitoring goes on
    assert variables(client, instance_id)["reports_received"] == 1
    assert set(open_tasks(client, instance_id)) == {"review_report"}
    assert status(client, instance_id) == "running"


def test_a_test_that_expires_while_suspended_ends_as_soon_as_it_would_resume(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    instance_id = approved_test(client, duration_months=2)
    send(client, "Sự cố thử nghiệm", summary="Gián đoạn dịch vụ kê đơn")
    assert fire(app_container, clock, hanoi(2026, 3, 5)) == 0  # suspended: the end date has no timer of its own
    suspend(client, instance_id, "tiep_tuc")

    found = variables(client, instance_id)
    assert (found["end_reason"], found["sandbox_status"]) == ("het_han", "da_ket_thuc")
    assert passed(client, instance_id)[-6:] == [
        "resume_test",
        "plan_monitoring",
        "still_running",
        "expire_test",
        "close_test",
        "final_split",
    ]
    assert set(open_tasks(client, instance_id)) == {"evaluate_test", "legal_evaluation"}


def test_incident_terminates_the_test_which_ends_without_a_legal_change(client: TestClient) -> None:
    instance_id = approved_test(client)
    send(client, "Báo cáo định kỳ thử nghiệm", period="Quý I/2026")
    review_id = open_tasks(client, instance_id)["review_report"]["id"]
    send(client, "Sự cố thử nghiệm", summary="Lộ dữ liệu của 300 người bệnh")  # interrupts the review at once
    assert set(open_tasks(client, instance_id)) == {"handle_incident"}
    assert client.get(f"{TASKS}/{review_id}", headers=ADMIN).json()["status"] == "cancelled"
    assert variables(client, instance_id)["sandbox_status"] == "tam_dung"
    suspend(client, instance_id, "cham_dut")

    found = variables(client, instance_id)
    assert (found["end_reason"], found["sandbox_status"], found["outcome"]) == ("cham_dut", "da_ket_thuc", "ket_thuc")
    tasks = open_tasks(client, instance_id)
    assert set(tasks) == {"evaluate_test", "legal_evaluation"}
    assert (tasks["legal_evaluation"]["candidate_groups"], tasks["legal_evaluation"]["required_role"]) == (
        ["stp"],
        "lead",
    )

    act(
        client,
        instance_id,
        "evaluate_test",
        SKHCN_LEAD,
        evaluation="Không đạt do sự cố an toàn dữ liệu",
        test_effective=False,
        policy_change_proposed=False,
    )
    assert set(open_tasks(client, instance_id)) == {"legal_evaluation"}
    act(
        client,
        instance_id,
        "legal_evaluation",
        STP_LEAD,
        legal_evaluation="Quy định hiện hành vẫn phù hợp",
        legal_change_recommended=False,
    )
    assert status(client, instance_id) == "completed"
    assert "escalation_request" not in variables(client, instance_id)
    assert passed(client, instance_id)[-3:] == ["final_join", "legal_change_gateway", "test_completed"]
    send(client, "Sự cố thử nghiệm", status=404)


def test_extension_request_is_reappraised_and_moves_the_end_date(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    instance_id = approved_test(client)
    assert variables(client, instance_id)["test_end_at"] == "2026-08-05T17:00:00+07:00"

    def request_and_decide(approved: bool, **decision: Any) -> None:
        send(
            client,
            "Đề nghị điều chỉnh, gia hạn thử nghiệm",
            extension_months=3,
            max_users=4000,
            reason="Cần thêm dữ liệu mùa đông",
        )
        tasks = open_tasks(client, instance_id)
        assert set(tasks) == {"adjustment_legal_opinion"} and tasks["adjustment_legal_opinion"]["lane"] == "Sở Tư pháp"
        act(
            client,
            instance_id,
            "adjustment_legal_opinion",
            STP_LEAD,
            adjustment_legal_opinion="Rủi ro chấp nhận được",
            adjustment_legal_risk="thap",
        )
        act(
            client,
            instance_id,
            "propose_adjustment",
            SKHCN_LEAD,
            adjustment_recommended=approved,
            adjustment_proposal="Thẩm định lại theo ý kiến Sở Tư pháp",
            adjustment_proposal_document="121/TTr-SKHCN",
        )
        decision_task = open_tasks(client, instance_id)["decide_adjustment"]
        assert (decision_task["candidate_groups"], decision_task["required_role"]) == (["ubnd"], "lead")
        act(
            client,
            instance_id,
            "decide_adjustment",
            UBND_LEAD,
            adjustment_approved=approved,
            adjustment_reasons="Theo tờ trình của Sở KH&CN",
            adjustment_document="1302/QĐ-UBND",
            **decision,
        )

    request_and_decide(False)
    found = variables(client, instance_id)
    assert (found["test_end_at"], found["adjustment_count"]) == ("2026-08-05T17:00:00+07:00", 1)
    assert found["adjustment_request"]["extension_months"] == 3
    request_and_decide(True, extension_months=3, adjusted_conditions={"max_users": 4000})
    found = variables(client, instance_id)
    assert (found["test_months"], found["test_end_at"], found["adjustment_count"]) == (
        10,
        "2026-11-05T17:00:00+07:00",
        2,
    )
    assert (found["conditions"]["max_users"], found["conditions"]["duration_months"]) == (4000, 10)

    assert fire(app_container, clock, hanoi(2026, 8, 5)) == 1  # the old end passes (a reminder fires): it goes on
    found = variables(client, instance_id)
    assert (found["sandbox_status"], len(found["report_reminders"])) == ("dang_thu_nghiem", 1)
    assert open_tasks(client, instance_id) == {}
    fire(app_container, clock, hanoi(2026, 11, 5))
    found = variables(client, instance_id)
    assert (found["end_reason"], found["sandbox_status"]) == ("het_han", "da_ket_thuc")
    assert set(open_tasks(client, instance_id)) == {"evaluate_test", "legal_evaluation"}


def test_expiry_ends_the_test_and_a_legal_change_starts_an_escalation(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    instance_id = approved_test(client, duration_months=2)
    deploy(client, "escalation")  # its message start event "Kiến nghị xử lý vướng mắc" receives the request
    end = variables(client, instance_id)["test_end_at"]
    assert end == "2026-03-05T17:00:00+07:00"
    clock.set(moment(end) - timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 0
    assert fire(app_container, clock, moment(end)) == 1

    found = variables(client, instance_id)
    assert (found["end_reason"], found["sandbox_status"]) == ("het_han", "da_ket_thuc")
    assert passed(client, instance_id)[-4:] == ["test_expired", "expire_test", "close_test", "final_split"]
    act(
        client,
        instance_id,
        "legal_evaluation",
        STP_LEAD,
        legal_evaluation="Quy định về kê đơn cần cập nhật",
        legal_change_recommended=True,
        legal_change_proposal="Sửa Thông tư 49/2017/TT-BYT cho phép kê đơn sau khám từ xa",
    )
    act(
        client,
        instance_id,
        "evaluate_test",
        SKHCN_LEAD,
        evaluation="Đạt mục tiêu, có thể nhân rộng",
        test_effective=True,
        policy_change_proposed=True,
        policy_change_proposal="Cho phép khám từ xa toàn Thành phố",
    )

    assert status(client, instance_id) == "completed"
    found = variables(client, instance_id)
    assert found["outcome"] == "kien_nghi_sua_doi"
    request = found["escalation_request"]
    assert request["reporting_agency"] == "skhcn" and request["source_process"] == KEY
    assert "Thông tư 49/2017/TT-BYT, Điều 6" in request["description"]
    assert "Cho phép khám từ xa toàn Thành phố" in request["description"]
    assert passed(client, instance_id)[-2:] == ["prepare_escalation", "policy_change_recommended"]

    # the end event threw "Kiến nghị xử lý vướng mắc": in the same transaction it started escalation (Điều 12.4 → 1)
    (sent,) = [e for e in history(client, instance_id) if e["kind"] == "message_sent"]
    assert sent["data"]["message"] == "Kiến nghị xử lý vướng mắc"
    (delivered,) = sent["data"]["delivered"]
    assert delivered["started"] is True
    escalation = instance(client, delivered["instance_id"])
    assert (escalation["process_key"], escalation["business_key"]) == ("escalation", "SB-2026-0001")
    assert escalation["variables"]["title"] == request["title"]
    assert escalation["variables"]["needs_funding"] is False  # the start form's default fills what the message lacks
    assert [(t["element_id"], t["candidate_groups"]) for t in escalation["open_tasks"]] == [("classify", ["skhcn"])]


def test_a_legal_change_without_an_escalation_process_is_recorded_as_undelivered(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    instance_id = approved_test(client, duration_months=2)
    fire(app_container, clock, moment(variables(client, instance_id)["test_end_at"]))
    act(
        client,
        instance_id,
        "legal_evaluation",
        STP_LEAD,
        legal_evaluation="Cần sửa quy định",
        legal_change_recommended=True,
        legal_change_proposal="Sửa quy định về kê đơn",
    )
    act(
        client,
        instance_id,
        "evaluate_test",
        SKHCN_LEAD,
        evaluation="Đạt",
        test_effective=True,
        policy_change_proposed=False,
    )
    assert status(client, instance_id) == "completed"
    (sent,) = [e for e in history(client, instance_id) if e["kind"] == "message_sent"]
    assert sent["data"]["delivered"] == [] and "no instance or process" in sent["data"]["note"]


# --- access ---------------------------------------------------------------------------------------------------------
def test_other_agencies_cannot_see_or_act_on_the_tasks_of_skhcn(client: TestClient) -> None:
    deploy(client)
    instance_id = apply(client)
    task_id = open_tasks(client, instance_id)["check_completeness"]["id"]
    # the public-service centre took part (it received the dossier) and sees the case, but not Sở KH&CN's task
    assert_problem(complete(client, task_id, DESK, status=403, dossier_complete=True), 403, "not-candidate")
    assert instance(client, instance_id, DESK)["id"] == instance_id
    for outsider in (STP, STP_LEAD, HTKC_LEAD, UBND_LEAD):
        assert_problem(client.get(f"{TASKS}/{task_id}", headers=outsider), 403, "not-candidate")
        assert_problem(client.post(f"{TASKS}/{task_id}/claim", headers=outsider), 403, "not-candidate")
        assert_problem(complete(client, task_id, outsider, status=403, dossier_complete=True), 403, "not-candidate")
        assert client.get(TASKS, headers=outsider).json()["total"] == 0
        assert_problem(client.get(f"{INSTANCES}/{instance_id}", headers=outsider), 403)
    assert [t["id"] for t in client.get(TASKS, headers=SKHCN).json()["items"]] == [task_id]

    check(client, instance_id)  # Sở Tư pháp now takes part: it sees the instance and its own task only
    assert instance(client, instance_id, STP)["id"] == instance_id
    assert [t["element_id"] for t in client.get(TASKS, headers=STP).json()["items"]] == ["legal_opinion"]
