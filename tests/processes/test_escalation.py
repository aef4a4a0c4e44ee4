"""The ``escalation`` process (xử lý vướng mắc, processes/escalation) walked end to end over the REST API, on SQLite
and PostgreSQL: every path (guidance; escalation with each consultation, with several in parallel, with none; UBND
approving, rejecting, returning for more information), the overdue timers moving each late step up the lanes with
the injected clock, and who may see and complete which step.

Each test sets the clock to Monday 2/3/2026, 09:00 in Hanoi: a plain working week. Deadlines are working days (the
day of receipt not counted, the deadline at 17:00 of the last day): 5 working days from then is Monday 9/3, 17:00.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from phoihop.engine.agencies import default_registry
from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.api.calls import ADMIN, DEFINITIONS, INSTANCES, PORTAL, TASKS, assert_problem, instance, task_list

from .escalation_steps import (
    HTKC_LEAD,
    KEY,
    PROCESS_DIR,
    REPORT,
    REPORTER,
    SKHCN,
    SKHCN_LEAD,
    STC_LEAD,
    STP,
    STP_LEAD,
    UBND,
    UBND_LEAD,
    VP,
    VP_LEAD,
    acknowledge,
    act,
    classify,
    close,
    completed_steps,
    decide,
    deploy_escalation,
    get_task,
    give_finance_opinion,
    give_htkc_opinion,
    give_legal_review,
    hanoi,
    history,
    moment,
    open_by_element,
    open_task,
    propose,
    propose_to_decision,
    report,
    status,
    variables,
    vp_review,
)

SECOND = timedelta(seconds=1)
START = hanoi(2026, 3, 2, 9)  # Monday
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
SKHCN_LANE = "Sở Khoa học và Công nghệ"
VP_LANE = "Văn phòng UBND Thành phố"
CONSULTATIONS = {  # element id → (lane, agency, give the opinion as its lead)
    "legal_review": ("Sở Tư pháp", "stp", give_legal_review),
    "htkc_opinion": ("Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội", "htkc", give_htkc_opinion),
    "finance_opinion": ("Sở Tài chính", "stc", give_finance_opinion),
}


@pytest.fixture
def deployed(client: TestClient, clock: FakeClock) -> TestClient:
    deploy_escalation(client)
    clock.set(START)
    return client


def fire_due_timers(container: EngineContainer) -> int:
    fired: int = container.scheduler.run_once()
    return fired


def escalation_steps(client: TestClient, instance_id: str) -> list[tuple[str, str, str]]:
    return [(e["step"], e["late_agency"], e["escalated_to"]) for e in variables(client, instance_id)["escalations"]]


# --- the definition -------------------------------------------------------------------------------------------------
def test_deploys_in_strict_mode_with_every_element_traceable_to_the_decision(client: TestClient) -> None:
    (deployed,) = deploy_escalation(client)
    assert (deployed["key"], deployed["version"], deployed["warnings"]) == (KEY, 1, [])

    root = etree.parse(str(PROCESS_DIR / "escalation.bpmn")).getroot()
    process = root.find(f"{BPMN}process")
    assert process is not None and process.get("id") == KEY
    assert root.find(".//{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram") is not None, "diagram missing"
    skipped = (f"{BPMN}laneSet", f"{BPMN}sequenceFlow", f"{BPMN}dataObjectReference")
    documented = [process, *process.iter(f"{BPMN}lane")]
    documented += [e for e in process if isinstance(e.tag, str) and e.get("id") and e.tag not in skipped]
    documented += [
        f
        for f in process.iter(f"{BPMN}sequenceFlow")
        if f.find(f"{BPMN}conditionExpression") is not None or process.find(f"*[@default='{f.get('id')}']") is not None
    ]
    assert len(documented) > 60
    for element in documented:
        text = element.findtext(f"{BPMN}documentation") or ""
        assert "Căn cứ: Điều" in text or "Giả định:" in text, f"{element.get('id')}: {text!r}"

    agencies = default_registry()
    for lane in process.iter(f"{BPMN}lane"):
        assert lane.get("name") == "Cơ quan báo cáo" or agencies.resolve(lane.get("name")) is not None
    in_lanes = [ref.text for ref in process.iter(f"{BPMN}flowNodeRef")]
    flow_nodes = [
        e.get("id")
        for e in process
        if isinstance(e.tag, str)
        and e.get("id")
        and e.tag not in skipped
        and e.tag not in (f"{BPMN}dataObject", f"{BPMN}documentation")
    ]
    assert sorted(in_lanes) == sorted(flow_nodes)  # every flow node in exactly one lane
    user_tasks = list(process.iter(f"{BPMN}userTask"))
    for task in user_tasks:  # "6 rõ": work, time and product written on every human task
        assert task.get(f"{CAMUNDA}dueDate", "").startswith("working_days("), task.get("id")
        assert (PROCESS_DIR / task.get(f"{CAMUNDA}formKey", "")).is_file(), task.get("id")
    leads = {
        t.get("id")
        for t in user_tasks
        if t.find(f".//{CAMUNDA}property[@name='requiredRole'][@value='lead']") is not None
    }
    assert leads == {
        "guide",
        "legal_review",
        "htkc_opinion",
        "finance_opinion",
        "propose",
        "vp_review",
        "ubnd_decide",
        "direct_vp_review",
    }

    response = client.get(f"{DEFINITIONS}/{KEY}/start-form", headers=REPORTER)
    assert response.status_code == 200, response.text
    schema = response.json()["form"]
    assert schema["properties"]["reporting_agency"]["enum"] == list(agencies.codes)
    for name, field in schema["properties"].items():
        assert field.get("title"), name


def test_start_form_is_enforced(deployed: TestClient) -> None:
    client = deployed
    without_urgent = {k: v for k, v in REPORT.items() if k != "urgent"}  # the form's default (false) fills it in
    response = client.post(INSTANCES, json={"process_key": KEY, "variables": without_urgent}, headers=REPORTER)
    assert response.status_code == 201, response.text
    started = response.json()["id"]
    assert client.get(f"{INSTANCES}/{started}", headers=ADMIN).json()["variables"]["urgent"] is False
    client.post(f"{INSTANCES}/{started}/cancel", json={"reason": "kiểm thử"}, headers=ADMIN)
    bad = dict(REPORT, reporting_agency="so-khong-co", funding_amount=-5, ghi_chu="x", urgent="có")
    response = client.post(INSTANCES, json={"process_key": KEY, "variables": bad}, headers=REPORTER)
    errors = {e["field"]: e["rule"] for e in assert_problem(response, 422, "form-invalid")["errors"]}
    assert errors == {
        "reporting_agency": "enum",
        "urgent": "type",
        "funding_amount": "exclusiveMinimum",
        "ghi_chu": "additionalProperties",
    }
    response = client.post(
        INSTANCES, json={"process_key": KEY, "variables": dict(REPORT, needs_funding=True)}, headers=REPORTER
    )
    errors = {e["field"]: e["rule"] for e in assert_problem(response, 422, "form-invalid")["errors"]}
    assert errors == {"funding_amount": "required"}
    listed = client.get(INSTANCES, params={"process_key": KEY}, headers=ADMIN).json()
    assert [item["id"] for item in listed["items"]] == [started]  # the refused starts wrote nothing


# --- paths ----------------------------------------------------------------------------------------------------------
def test_guidance_path_closes_with_the_reporting_agency_informed(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)

    task = open_task(client, instance_id, "classify")
    assert (task["name"], task["lane"], task["candidate_groups"], task["required_role"], task["form_key"]) == (
        "Tiếp nhận, phân loại vướng mắc",
        SKHCN_LANE,
        ["skhcn"],
        None,
        "classify.form.json",
    )
    assert moment(task["due_at"]) == hanoi(2026, 3, 9)  # 5 working days
    assert set(open_by_element(client, instance_id)) == {"classify"}
    assert variables(client, instance_id)["received_at"] == "2026-03-02T09:00:00+07:00"
    form = get_task(client, task["id"], SKHCN)["form"]  # what the officer fills in
    assert (form["title"], form["properties"]["resolution_path"]["enum"]) == (
        "Phân loại vướng mắc",
        ["guidance", "escalate"],
    )

    classify(client, instance_id, "guidance")
    guide = open_task(client, instance_id, "guide")
    assert (guide["lane"], guide["candidate_groups"], guide["required_role"]) == (SKHCN_LANE, ["skhcn"], "lead")
    response = client.post(f"{TASKS}/{guide['id']}/complete", json={"variables": {"guidance": "x"}}, headers=SKHCN)
    assert_problem(response, 403, "role-required")
    act(
        client,
        instance_id,
        "guide",
        SKHCN_LEAD,
        guidance="Áp dụng Điều 25 Luật Thủ đô, không cần trình UBND",
        guidance_document="88/SKHCN-QLKH",
    )

    inform = open_task(client, instance_id, "inform_agency")
    assert (inform["name"], inform["lane"], inform["candidate_groups"]) == (
        "Nhận kết quả tháo gỡ vướng mắc",
        "Cơ quan báo cáo",
        ["syt"],
    )
    assert [t["id"] for t in task_list(client, REPORTER, status="open")["items"]] == [inform["id"]]
    response = client.post(f"{TASKS}/{inform['id']}/complete", json={"variables": {}}, headers=REPORTER)
    assert {e["field"] for e in assert_problem(response, 422, "form-invalid")["errors"]} == {"acknowledged"}
    acknowledge(client, instance_id)

    data = variables(client, instance_id)
    assert (data["outcome"], data["guidance"], data["escalations"]) == (
        "guided",
        "Áp dụng Điều 25 Luật Thủ đô, không cần trình UBND",
        [],
    )
    assert data["closed_at"] == "2026-03-02T09:00:00+07:00"
    assert completed_steps(client, instance_id) == ["classify", "guide", "inform_agency"]
    assert history(client, instance_id)[-1]["kind"] == "instance_completed"


def test_a_recommendation_from_sandbox_review_starts_an_escalation(deployed: TestClient) -> None:
    """The hand-off of sandbox_review (its escalation_request, started by the integrated system): Sở KH&CN itself is
    the reporting agency, and the source case is kept for tracing."""
    client = deployed
    request = {
        "reporting_agency": "skhcn",
        "title": "Kiến nghị sửa đổi quy định sau thử nghiệm có kiểm soát: AI",
        "description": "Thử nghiệm đã kết thúc. Kiến nghị: bổ sung quy định về dữ liệu huấn luyện.",
        "category": "policy",
        "urgent": False,
        "related_resolution": "29/2025/NQ-HĐND",
        "legal_conflict": True,
        "source_process": "sandbox_review",
        "source_instance_id": "01a2a3b4-0000-7000-8000-000000000001",
    }
    response = client.post(
        INSTANCES, json={"process_key": KEY, "business_key": "VM-2026-0007", "variables": request}, headers=PORTAL
    )
    assert response.status_code == 201, response.text
    instance_id = response.json()["id"]
    classify(client, instance_id, legal=True)
    give_legal_review(client, instance_id)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    act(
        client,
        instance_id,
        "record_outcome",
        SKHCN,
        outcome_summary="UBND chấp thuận kiến nghị",
        implementation_guidance="Sở Tư pháp chủ trì dự thảo sửa đổi",
        dashboard_updated=True,
    )
    inform = open_task(client, instance_id, "inform_agency")
    assert (inform["lane"], inform["candidate_groups"]) == ("Cơ quan báo cáo", ["skhcn"])
    act(client, instance_id, "inform_agency", SKHCN, acknowledged=True)
    data = variables(client, instance_id)
    assert (data["source_process"], data["source_instance_id"], data["outcome"]) == (
        "sandbox_review",
        "01a2a3b4-0000-7000-8000-000000000001",
        "approved",
    )
    assert instance(client, instance_id)["business_key"] == "VM-2026-0007"


@pytest.mark.parametrize(
    ("legal", "htkc", "funding", "consulted"),
    [
        (True, False, False, ["legal_review"]),
        (False, True, False, ["htkc_opinion"]),
        (False, False, True, ["finance_opinion"]),
        (False, False, False, []),
    ],
    ids=["legal-review-only", "htkc-only", "funding-only", "no-consultation"],
)
def test_escalation_consults_exactly_the_agencies_that_apply(
    deployed: TestClient, legal: bool, htkc: bool, funding: bool, consulted: list[str]
) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id, legal=legal, htkc=htkc, funding=funding)

    opened = open_by_element(client, instance_id)
    assert set(opened) == (set(consulted) or {"propose"})  # none: the inclusive gateway's default flow
    for element_id in consulted:
        lane, agency, give = CONSULTATIONS[element_id]
        task = opened[element_id]
        assert (task["lane"], task["candidate_groups"], task["required_role"]) == (lane, [agency], "lead")
        give(client, instance_id)
    assert set(open_by_element(client, instance_id)) == {"propose"}

    propose_to_decision(client, instance_id)
    decision = open_task(client, instance_id, "ubnd_decide")
    assert (decision["lane"], decision["candidate_groups"], decision["required_role"]) == (
        "UBND Thành phố",
        ["ubnd"],
        "lead",
    )
    decide(client, instance_id, "approve")
    close(client, instance_id)

    data = variables(client, instance_id)
    opinions = {"legal_review": "legal_opinion", "htkc_opinion": "htkc_opinion", "finance_opinion": "finance_opinion"}
    assert {step for step, name in opinions.items() if name in data} == set(consulted)
    assert (data["outcome"], data["decision"], data["proposal_type"]) == ("approved", "approve", "new_mechanism")
    assert completed_steps(client, instance_id) == [
        "classify",
        *consulted,
        "propose",
        "vp_review",
        "ubnd_decide",
        "record_outcome",
        "inform_agency",
    ]


def test_legal_review_and_htkc_opinion_run_in_parallel(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id, legal=True, htkc=True)

    opened = open_by_element(client, instance_id)
    assert set(opened) == {"legal_review", "htkc_opinion"}
    assert moment(opened["legal_review"]["due_at"]) == hanoi(2026, 3, 11)  # 7 working days
    assert moment(opened["htkc_opinion"]["due_at"]) == hanoi(2026, 3, 9)  # 5 working days
    assert [t["element_id"] for t in task_list(client, STP_LEAD, status="open")["items"]] == ["legal_review"]
    assert [t["element_id"] for t in task_list(client, HTKC_LEAD, status="open")["items"]] == ["htkc_opinion"]

    give_legal_review(client, instance_id)
    assert set(open_by_element(client, instance_id)) == {"htkc_opinion"}  # the join waits for the other opinion
    give_htkc_opinion(client, instance_id)
    assert set(open_by_element(client, instance_id)) == {"propose"}

    data = variables(client, instance_id)
    assert (data["legal_risk"], data["recommends_legal_change"], data["htkc_agrees"]) == ("medium", True, True)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert variables(client, instance_id)["legal_opinion"] == "Phương án phù hợp Luật Thủ đô 2024"


def test_funding_brings_so_tai_chinh_in_alongside_the_other_opinions(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(
        client, needs_funding=True, funding_amount=2_000_000_000, involves_hitech_park=True, legal_conflict=True
    )
    assert variables(client, instance_id)["funding_amount"] == 2_000_000_000
    classify(client, instance_id, legal=True, htkc=True, funding=True)

    opened = open_by_element(client, instance_id)
    assert set(opened) == {"legal_review", "htkc_opinion", "finance_opinion"}
    finance = opened["finance_opinion"]
    assert (finance["name"], finance["lane"], finance["candidate_groups"]) == (
        "Cho ý kiến về kinh phí",
        "Sở Tài chính",
        ["stc"],
    )
    assert moment(finance["due_at"]) == hanoi(2026, 3, 11)
    response = client.post(
        f"{TASKS}/{finance['id']}/complete", json={"variables": {"finance_opinion": "x"}}, headers=STC_LEAD
    )
    assert {e["field"] for e in assert_problem(response, 422, "form-invalid")["errors"]} == {"funding_source"}

    give_finance_opinion(client, instance_id)
    give_htkc_opinion(client, instance_id)
    assert set(open_by_element(client, instance_id)) == {"legal_review"}
    give_legal_review(client, instance_id)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    data = variables(client, instance_id)
    assert (data["funding_source"], data["recommended_amount"]) == ("city_budget", 1_500_000_000)


def test_ubnd_returns_for_more_information_then_approves(deployed: TestClient, clock: FakeClock) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id, legal=True)
    give_legal_review(client, instance_id)
    propose_to_decision(client, instance_id)

    decision = open_task(client, instance_id, "ubnd_decide")
    response = client.post(
        f"{TASKS}/{decision['id']}/complete", json={"variables": {"decision": "more_info"}}, headers=UBND_LEAD
    )
    assert {e["field"] for e in assert_problem(response, 422, "form-invalid")["errors"]} == {"decision_note"}
    clock.advance(timedelta(hours=1))
    decide(client, instance_id, "more_info", "Bổ sung đánh giá tác động và phương án bảo vệ dữ liệu người bệnh")

    again = open_task(client, instance_id, "propose")  # back to Sở KH&CN, a new task
    assert (again["lane"], again["required_role"]) == (SKHCN_LANE, "lead")
    assert set(open_by_element(client, instance_id)) == {"propose"}
    data = variables(client, instance_id)
    assert data["info_requests"] == [
        {"note": "Bổ sung đánh giá tác động và phương án bảo vệ dữ liệu người bệnh", "at": "2026-03-02T10:00:00+07:00"}
    ]
    assert "decision_note" not in data and "decision" not in data
    propose(client, instance_id, "Phương án đã bổ sung đánh giá tác động")
    vp_review(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)

    data = variables(client, instance_id)
    assert (data["outcome"], data["proposal"], len(data["info_requests"])) == (
        "approved",
        "Phương án đã bổ sung đánh giá tác động",
        1,
    )
    assert "decision_note" not in data
    assert completed_steps(client, instance_id) == [
        "classify",
        "legal_review",
        "propose",
        "vp_review",
        "ubnd_decide",
        "propose",
        "vp_review",
        "ubnd_decide",
        "record_outcome",
        "inform_agency",
    ]


def test_ubnd_rejects_and_the_agency_is_told_why(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "reject", "Chưa đủ cơ sở pháp lý; thực hiện theo quy định hiện hành")
    assert set(open_by_element(client, instance_id)) == {"record_outcome"}
    close(client, instance_id)

    data = variables(client, instance_id)
    assert (data["outcome"], data["decision"], data["decision_note"]) == (
        "rejected",
        "reject",
        "Chưa đủ cơ sở pháp lý; thực hiện theo quy định hiện hành",
    )
    assert status(client, instance_id) == "completed"


# --- overdue steps escalate up the lanes ----------------------------------------------------------------------------
def test_overdue_legal_review_is_urged_by_so_khcn(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id, legal=True)
    review = open_task(client, instance_id, "legal_review")
    due = hanoi(2026, 3, 11)
    assert moment(review["due_at"]) == due

    clock.set(due - SECOND)
    assert fire_due_timers(app_container) == 0
    assert set(open_by_element(client, instance_id)) == {"legal_review"}
    clock.set(due + SECOND)
    assert fire_due_timers(app_container) == 1

    opened = open_by_element(client, instance_id)
    assert set(opened) == {"legal_review", "urge_legal_review"}  # non-interrupting: the review goes on
    assert opened["legal_review"]["id"] == review["id"]
    assert opened["legal_review"]["deadline_state"] == "overdue"
    urge = opened["urge_legal_review"]
    assert (urge["name"], urge["lane"], urge["candidate_groups"], urge["form_key"]) == (
        "Đôn đốc xử lý quá hạn: thẩm định pháp lý (Sở Tư pháp)",
        SKHCN_LANE,
        ["skhcn"],
        "urge.form.json",
    )
    assert moment(urge["due_at"]) == hanoi(2026, 3, 12)
    assert [e for e in history(client, instance_id) if e["kind"] == "timer_fired"]
    assert fire_due_timers(app_container) == 0  # fires once

    act(
        client,
        instance_id,
        "urge_legal_review",
        SKHCN,
        urge_note="Đã có văn bản đôn đốc Sở Tư pháp",
        urge_document="15/SKHCN-VP",
    )
    give_legal_review(client, instance_id)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    (escalation,) = variables(client, instance_id)["escalations"]
    assert escalation == {
        "step": "legal_review",
        "step_name": "Thẩm định pháp lý",
        "late_agency": "stp",
        "escalated_to": "skhcn",
        "at": "2026-03-11T17:00:01+07:00",
    }


def test_opinions_late_together_are_each_urged_and_recorded(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    """Sở Tư pháp and Sở Tài chính share the 7-day limit: their timers fire in one command, and neither record is
    lost (each consultation writes its own data object)."""
    client = deployed
    instance_id = report(client, needs_funding=True, funding_amount=500_000_000)
    classify(client, instance_id, legal=True, htkc=True, funding=True)
    give_htkc_opinion(client, instance_id)
    clock.set(hanoi(2026, 3, 11) + SECOND)
    assert fire_due_timers(app_container) == 1  # one timer row fires every timer due in the instance

    opened = open_by_element(client, instance_id)
    assert set(opened) == {"legal_review", "finance_opinion", "urge_legal_review", "urge_finance_opinion"}
    assert opened["urge_finance_opinion"]["name"] == "Đôn đốc xử lý quá hạn: ý kiến về kinh phí (Sở Tài chính)"
    assert {opened[e]["candidate_groups"][0] for e in ("urge_legal_review", "urge_finance_opinion")} == {"skhcn"}

    give_legal_review(client, instance_id)
    give_finance_opinion(client, instance_id)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)  # the urging tasks left open are closed with the case
    assert sorted(escalation_steps(client, instance_id)) == [
        ("finance_opinion", "stc", "skhcn"),
        ("legal_review", "stp", "skhcn"),
    ]
    for element_id in ("urge_legal_review", "urge_finance_opinion"):
        assert get_task(client, opened[element_id]["id"], SKHCN)["status"] == "cancelled"


def test_late_so_khcn_and_van_phong_steps_go_up_to_van_phong_and_ubnd(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client, urgent=True)  # urgent: shorter limits
    assert moment(open_task(client, instance_id, "classify")["due_at"]) == hanoi(2026, 3, 3)  # 1 working day

    clock.set(hanoi(2026, 3, 3) + SECOND)
    assert fire_due_timers(app_container) == 1
    urge_classify = open_task(client, instance_id, "urge_classify")
    assert (urge_classify["name"], urge_classify["lane"], urge_classify["candidate_groups"]) == (
        "Đôn đốc xử lý quá hạn: phân loại vướng mắc (Sở KH&CN)",
        VP_LANE,
        ["vp-ubnd"],
    )
    response = client.get(f"{TASKS}/{urge_classify['id']}", headers=SKHCN)  # the late agency does not handle it
    assert_problem(response, 403, "not-candidate")

    classify(client, instance_id)  # no consultation: straight to the proposal
    proposal = open_task(client, instance_id, "propose")
    assert moment(proposal["due_at"]) == hanoi(2026, 3, 5)  # 2 working days after 3/3 17:00:01
    clock.set(hanoi(2026, 3, 5) + SECOND)
    assert fire_due_timers(app_container) == 1
    assert open_task(client, instance_id, "urge_propose")["candidate_groups"] == ["vp-ubnd"]
    act(client, instance_id, "urge_propose", VP, urge_note="Đã nhắc Sở KH&CN trình trong ngày")
    propose(client, instance_id)

    review = open_task(client, instance_id, "vp_review")
    assert moment(review["due_at"]) == hanoi(2026, 3, 6)  # 1 working day
    clock.set(hanoi(2026, 3, 6) + SECOND)
    assert fire_due_timers(app_container) == 1
    direct = open_task(client, instance_id, "direct_vp_review")
    assert (direct["name"], direct["lane"], direct["candidate_groups"], direct["required_role"]) == (
        "Chỉ đạo xử lý quá hạn: rà soát, báo cáo (Văn phòng UBND)",
        "UBND Thành phố",
        ["ubnd"],
        "lead",
    )
    assert moment(direct["due_at"]) == hanoi(2026, 3, 10)  # 2 working days after Friday 6/3
    response = client.post(f"{TASKS}/{direct['id']}/complete", json={"variables": {"direction": "x"}}, headers=UBND)
    assert_problem(response, 403, "role-required")
    act(client, instance_id, "direct_vp_review", UBND_LEAD, direction="Văn phòng báo cáo ngay trong sáng 9/3")

    vp_review(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert escalation_steps(client, instance_id) == [
        ("classify", "skhcn", "vp-ubnd"),
        ("propose", "skhcn", "vp-ubnd"),
        ("vp_review", "vp-ubnd", "ubnd"),
    ]
    assert get_task(client, urge_classify["id"], VP)["status"] == "cancelled"  # never done; closed with the case


def test_late_guidance_is_urged_by_van_phong_ubnd(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id, "guidance")
    assert moment(open_task(client, instance_id, "guide")["due_at"]) == hanoi(2026, 3, 9)
    clock.set(hanoi(2026, 3, 9) + SECOND)
    assert fire_due_timers(app_container) == 1
    assert set(open_by_element(client, instance_id)) == {"guide", "urge_guide"}
    act(client, instance_id, "urge_guide", VP_LEAD, urge_note="Đề nghị Sở KH&CN ban hành hướng dẫn")
    act(client, instance_id, "guide", SKHCN_LEAD, guidance="Hướng dẫn thực hiện theo Nghị quyết 29/2025/NQ-HĐND")
    acknowledge(client, instance_id)
    assert escalation_steps(client, instance_id) == [("guide", "skhcn", "vp-ubnd")]


# --- who may act ----------------------------------------------------------------------------------------------------
def test_another_agency_can_neither_see_nor_complete_so_khcn_task(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)
    task = open_task(client, instance_id, "classify")
    outsiders: list[dict[str, str]] = [STP, STP_LEAD, REPORTER]
    for headers in outsiders:
        assert_problem(client.get(f"{TASKS}/{task['id']}", headers=headers), 403, "not-candidate")
        assert task["id"] not in [t["id"] for t in task_list(client, headers, status="open")["items"]]
        assert_problem(client.post(f"{TASKS}/{task['id']}/claim", headers=headers), 403, "not-candidate")
        body: dict[str, Any] = {"variables": {"resolution_path": "guidance"}}
        assert_problem(client.post(f"{TASKS}/{task['id']}/complete", json=body, headers=headers), 403, "not-candidate")
    assert get_task(client, task["id"], SKHCN)["status"] == "open"
    assert [t["id"] for t in task_list(client, SKHCN, status="open")["items"]] == [task["id"]]
    classify(client, instance_id, "guidance")
    assert completed_steps(client, instance_id) == ["classify"]


def test_an_officer_cannot_take_the_ubnd_decision(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id)
    propose_to_decision(client, instance_id)
    decision = open_task(client, instance_id, "ubnd_decide")

    assert get_task(client, decision["id"], UBND)["required_role"] == "lead"  # the office sees it
    assert_problem(client.post(f"{TASKS}/{decision['id']}/claim", headers=UBND), 403, "role-required")
    body = {"variables": {"decision": "approve"}}
    assert_problem(client.post(f"{TASKS}/{decision['id']}/complete", json=body, headers=UBND), 403, "role-required")
    assert_problem(
        client.post(f"{TASKS}/{decision['id']}/complete", json=body, headers=VP_LEAD), 403, "not-candidate"
    )  # a lead of another agency is no candidate either
    assert get_task(client, decision["id"])["status"] == "open"

    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert [
        e["actor"]
        for e in history(client, instance_id)
        if e["kind"] == "task_completed" and e["element_id"] == "ubnd_decide"
    ] == ["nam"]


def test_form_files_are_plain_json_schema_with_vietnamese_labels() -> None:
    for path in sorted(PROCESS_DIR.glob("*.form.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        assert schema["title"] and schema["additionalProperties"] is False, path.name
        for name, field in schema["properties"].items():
            assert field["title"] and name.isascii(), (path.name, name)
