"""The ``escalation`` process (xử lý vướng mắc, processes/escalation) walked end to end over the REST API, on SQLite
and PostgreSQL: every case beyond intake passes Sở KH&CN, Sở Tư pháp and Ban HTKC (substantive opinions where the
routing rules give the agency a role, a short consultation ending by tacit consent otherwise); guidance; the policy
path with Sở Tư pháp's mandatory appraisal after the proposal (Điều 12.1); UBND approving, rejecting, returning for
more information; the branch where UBND submits to HĐND and waits for its resolution; late peer agencies urged by
Sở KH&CN and then escalated to Văn phòng UBND (Điều 10.1); the reporting agency's time limit; who may act.

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
from phoihop.web.demo_users import DEMO_USERS
from tests.api.calls import (
    ADMIN,
    DEFINITIONS,
    INSTANCES,
    MESSAGES,
    PORTAL,
    TASKS,
    assert_problem,
    instance,
    task_list,
)
from tests.conftest import auth

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
    appraise,
    classify,
    close,
    completed_steps,
    consult_htkc,
    consult_stp,
    decide,
    deploy_escalation,
    get_task,
    give_finance_opinion,
    give_legal_opinion,
    give_opinions,
    hanoi,
    history,
    main_path,
    moment,
    open_by_element,
    open_task,
    propose,
    propose_to_decision,
    record_outcome,
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
STP_LANE = "Sở Tư pháp"
HTKC_LANE = "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội"
VP_LANE = "Văn phòng UBND Thành phố"
TACIT = "Quá thời hạn không có ý kiến: coi như đồng ý"


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


def lanes_reached(client: TestClient, instance_id: str) -> set[str]:
    """The lanes of the human tasks completed, plus the agencies that consented by silence."""
    events = history(client, instance_id)
    done = {e["task_id"] for e in events if e["kind"] == "task_completed"}
    lanes = {get_task(client, task_id)["lane"] for task_id in done}
    silent = {e["data"]["agency_name_vi"] for e in events if e["kind"] == "consultation_tacit_consent"}
    return lanes | silent


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
    assert len(documented) > 100
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
    user_tasks = {t.get("id"): t for t in process.iter(f"{BPMN}userTask")}
    for task in user_tasks.values():  # "6 rõ": work, time and product written on every human task
        assert task.get(f"{CAMUNDA}dueDate", "").startswith("working_days("), task.get("id")
        assert (PROCESS_DIR / task.get(f"{CAMUNDA}formKey", "")).is_file(), task.get("id")
    leads = {
        tid
        for tid, t in user_tasks.items()
        if t.find(f".//{CAMUNDA}property[@name='requiredRole'][@value='lead']") is not None
    }
    # "6 rõ" authority: every step that decides, refuses, issues a document or urges is the lead's; only the reporting
    # agency's acknowledgement is not
    assert set(user_tasks) - leads == {"inform_agency"}
    assert {"classify", "record_outcome", "legal_appraisal", "submit_to_hdnd"} <= leads
    assert {t for t in user_tasks if t.startswith("urge_")} <= leads and len([t for t in leads if "urge_" in t]) == 11
    assert user_tasks["legal_opinion"].get("name") == "Sở Tư pháp cho ý kiến pháp lý"  # not "thẩm định"

    # each consultation ends by tacit consent under the shared convention
    boundaries = {b.get("id"): b for b in process.iter(f"{BPMN}boundaryEvent")}
    for consultation in ("consult_stp", "consult_htkc"):
        task = user_tasks[consultation]
        assert task.get(f"{CAMUNDA}dueDate") == "working_days(consultation_days())"
        timer = boundaries[f"{consultation}_tacit_consent"]
        assert (timer.get("name"), timer.get("attachedToRef"), timer.get("cancelActivity")) == (
            TACIT,
            consultation,
            None,  # interrupting
        )
        assert timer.findtext(f".//{BPMN}timeDate") == "working_days(consultation_days())"

    response = client.get(f"{DEFINITIONS}/{KEY}/start-form", headers=REPORTER)
    assert response.status_code == 200, response.text
    schema = response.json()["form"]
    assert [o["const"] for o in schema["properties"]["reporting_agency"]["oneOf"]] == list(agencies.codes)
    for name, field in schema["properties"].items():
        assert field.get("title"), name


def test_start_form_is_enforced(deployed: TestClient) -> None:
    client = deployed
    without_urgent = {k: v for k, v in REPORT.items() if k != "urgent"}  # the form's default (Thường) fills it in
    response = client.post(INSTANCES, json={"process_key": KEY, "variables": without_urgent}, headers=REPORTER)
    assert response.status_code == 201, response.text
    started = response.json()["id"]
    assert client.get(f"{INSTANCES}/{started}", headers=ADMIN).json()["variables"]["urgent"] == 0
    client.post(f"{INSTANCES}/{started}/cancel", json={"reason": "kiểm thử"}, headers=ADMIN)
    bad = dict(REPORT, reporting_agency="so-khong-co", funding_amount=-5, ghi_chu="x", urgent="có")
    response = client.post(INSTANCES, json={"process_key": KEY, "variables": bad}, headers=REPORTER)
    errors = {e["field"]: e["rule"] for e in assert_problem(response, 422, "form-invalid")["errors"]}
    assert errors == {
        "reporting_agency": "oneOf",
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


# --- every case through Sở KH&CN, Sở Tư pháp and Ban HTKC ------------------------------------------------------------
def test_guidance_still_hears_so_tu_phap_and_ban_htkc(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)

    task = open_task(client, instance_id, "classify")
    assert (task["name"], task["lane"], task["candidate_groups"], task["required_role"], task["form_key"]) == (
        "Tiếp nhận, phân loại vướng mắc",
        SKHCN_LANE,
        ["skhcn"],
        "lead",
        "classify.form.json",
    )
    assert moment(task["due_at"]) == hanoi(2026, 3, 9)  # 5 working days
    data = variables(client, instance_id)
    assert data["received_at"] == "2026-03-02T09:00:00+07:00"
    # the rules' proposal, shown at classify: no substantive role for anyone in a plain policy difficulty
    assert (data["rule_stp_substantive"], data["rule_htkc_substantive"], data["rule_stc_substantive"]) == (
        False,
        False,
        False,
    )
    assert "thời hạn ngắn" in data["routing_basis"]
    form = get_task(client, task["id"], SKHCN_LEAD)["form"]  # what the lead fills in
    assert form["title"] == "Phân loại vướng mắc"
    assert [o["title"] for o in form["properties"]["resolution_path"]["oneOf"]] == [
        "Sở KH&CN hướng dẫn tháo gỡ",
        "Tổng hợp, lấy ý kiến, trình UBND Thành phố",
    ]
    assert "routing_basis" in form["x-show-earlier"]
    response = client.post(
        f"{TASKS}/{task['id']}/complete",
        json={"variables": {"resolution_path": "guidance", "routing_decision": "confirm"}},
        headers=SKHCN,
    )
    assert_problem(response, 403, "role-required")  # an officer does not classify

    classify(client, instance_id, "guidance")
    opened = open_by_element(client, instance_id)
    assert set(opened) == {"consult_stp", "consult_htkc"}
    for element_id, lane in (("consult_stp", STP_LANE), ("consult_htkc", HTKC_LANE)):
        consultation = opened[element_id]
        assert (consultation["lane"], consultation["required_role"]) == (lane, "lead")
        assert moment(consultation["due_at"]) == hanoi(2026, 3, 9)  # consultation_days(): 5 working days
        assert consultation["name"].split()[0] in ("Sở", "Ban") and "cho ý kiến" in consultation["name"]
    consult_stp(client, instance_id)
    consult_htkc(client, instance_id)

    guide = open_task(client, instance_id, "guide")
    assert (guide["lane"], guide["candidate_groups"], guide["required_role"]) == (SKHCN_LANE, ["skhcn"], "lead")
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
    assert (data["stp_consent"], data["htkc_consent"]) == ("given", "given")
    assert completed_steps(client, instance_id) == [
        "classify",
        "consult_stp",
        "consult_htkc",
        "guide",
        "inform_agency",
    ]
    assert {SKHCN_LANE, STP_LANE, HTKC_LANE} <= lanes_reached(client, instance_id)
    assert history(client, instance_id)[-1]["kind"] == "instance_completed"


@pytest.mark.parametrize(
    ("start", "opened"),
    [
        ({}, {"consult_stp", "consult_htkc"}),
        ({"legal_conflict": True}, {"legal_opinion", "consult_htkc"}),
        ({"category": "legal"}, {"legal_opinion", "consult_htkc"}),
        ({"involves_hitech_park": True}, {"consult_stp", "htkc_opinion"}),
        ({"needs_funding": True, "funding_amount": 600_000_000}, {"consult_stp", "consult_htkc", "finance_opinion"}),
        (
            {"legal_conflict": True, "involves_hitech_park": True, "needs_funding": True, "funding_amount": 1},
            {"legal_opinion", "htkc_opinion", "finance_opinion"},
        ),
    ],
    ids=["none", "legal-conflict", "legal-category", "hitech-park", "funding", "all"],
)
def test_the_routing_rules_pick_the_substantive_opinions_from_the_case_data(
    deployed: TestClient, start: dict[str, Any], opened: set[str]
) -> None:
    """The start form's flags (once collected and used by nothing) feed escalation_routing.dmn; Sở Tư pháp and Ban
    HTKC are consulted in every case, Sở Tài chính only where money is at stake."""
    client = deployed
    instance_id = report(client, **start)
    classify(client, instance_id)
    found = open_by_element(client, instance_id)
    assert set(found) == opened
    for element_id in opened:
        assert found[element_id]["required_role"] == "lead"
    assert give_opinions(client, instance_id) == sorted(opened)
    assert main_path(client, instance_id) == {"propose"}
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert {SKHCN_LANE, STP_LANE, HTKC_LANE} <= lanes_reached(client, instance_id)
    assert variables(client, instance_id)["outcome"] == "approved"


def test_a_lead_overrides_the_routing_only_with_a_reason(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)
    task = open_task(client, instance_id, "classify")
    body = {"resolution_path": "escalate", "routing_decision": "override", "stp_substantive": True}
    response = client.post(f"{TASKS}/{task['id']}/complete", json={"variables": body}, headers=SKHCN_LEAD)
    missing = {e["field"] for e in assert_problem(response, 422, "form-invalid")["errors"]}
    assert missing == {"htkc_substantive", "stc_substantive", "routing_override_reason"}

    classify(client, instance_id, override={"stp": True, "stc": True})
    assert set(open_by_element(client, instance_id)) == {"legal_opinion", "consult_htkc", "finance_opinion"}
    data = variables(client, instance_id)
    assert (data["rule_stp_substantive"], data["stp_substantive"], data["stc_substantive"]) == (False, True, True)
    assert data["routing_override_reason"] == "Vướng mắc có nội dung pháp lý chưa được quy tắc nhận ra"


def test_a_recommendation_from_sandbox_review_starts_an_escalation(deployed: TestClient) -> None:
    """The hand-off of sandbox_review (its escalation_request, started by the integrated system): Sở KH&CN itself is
    the reporting agency, and the source case is kept for tracing."""
    client = deployed
    request = {
        "reporting_agency": "skhcn",
        "title": "Kiến nghị sửa đổi quy định sau thử nghiệm có kiểm soát: AI",
        "description": "Thử nghiệm đã kết thúc. Kiến nghị: bổ sung quy định về dữ liệu huấn luyện.",
        "category": "policy",
        "urgent": 0,
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
    classify(client, instance_id)
    assert give_opinions(client, instance_id) == ["consult_htkc", "legal_opinion"]
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    record_outcome(client, instance_id)
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


# --- order and authority: appraisal, UBND, HĐND ---------------------------------------------------------------------
def test_a_policy_proposal_is_appraised_by_so_tu_phap_before_it_goes_up(deployed: TestClient) -> None:
    """Điều 12.1: Sở Tư pháp appraises every proposed mechanism or policy; a "revise" conclusion sends it back."""
    client = deployed
    instance_id = report(client)
    classify(client, instance_id)
    give_opinions(client, instance_id)
    propose(client, instance_id, proposal_type="new_mechanism")

    appraisal = open_task(client, instance_id, "legal_appraisal")
    assert (appraisal["name"], appraisal["lane"], appraisal["candidate_groups"], appraisal["required_role"]) == (
        "Sở Tư pháp thẩm định đề xuất cơ chế, chính sách",
        STP_LANE,
        ["stp"],
        "lead",
    )
    assert moment(appraisal["due_at"]) == hanoi(2026, 3, 16)  # 10 working days
    body = {"appraisal_opinion": "x", "appraisal_conclusion": "pass"}
    response = client.post(f"{TASKS}/{appraisal['id']}/complete", json={"variables": body}, headers=STP)
    assert_problem(response, 403, "role-required")
    appraise(client, instance_id, "revise")

    assert main_path(client, instance_id) == {"propose"}  # back to Sở KH&CN
    propose(client, instance_id, "Thí điểm kê đơn điện tử trong phạm vi 3 bệnh viện", "new_mechanism")
    appraise(client, instance_id)
    assert main_path(client, instance_id) == {"vp_review"}
    vp_review(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert completed_steps(client, instance_id) == [
        "classify",
        "consult_htkc",
        "consult_stp",
        "propose",
        "legal_appraisal",
        "propose",
        "legal_appraisal",
        "vp_review",
        "ubnd_decide",
        "record_outcome",
        "inform_agency",
    ]
    data = variables(client, instance_id)
    assert (data["outcome"], data["appraisal_conclusion"]) == ("approved", "pass")


@pytest.mark.parametrize(("hdnd_outcome", "outcome"), [("passed", "hdnd_passed"), ("rejected", "hdnd_rejected")])
def test_an_amendment_of_an_hdnd_resolution_goes_to_hdnd_and_waits_for_its_resolution(
    deployed: TestClient, hdnd_outcome: str, outcome: str
) -> None:
    client = deployed
    instance_id = report(client, legal_conflict=True)
    classify(client, instance_id)
    give_opinions(client, instance_id)
    propose(client, instance_id, "Sửa đổi Điều 5 Nghị quyết 29/2025/NQ-HĐND", "amend_policy", hdnd=True)
    appraise(client, instance_id)
    vp_review(client, instance_id)
    decide(client, instance_id, "approve")  # UBND agrees: it cannot amend the resolution itself

    submit = open_task(client, instance_id, "submit_to_hdnd")
    assert (submit["name"], submit["lane"], submit["candidate_groups"], submit["required_role"]) == (
        "Trình HĐND Thành phố dự thảo nghị quyết",
        "UBND Thành phố",
        ["ubnd"],
        "lead",
    )
    assert main_path(client, instance_id) == {"submit_to_hdnd"}
    act(
        client,
        instance_id,
        "submit_to_hdnd",
        UBND_LEAD,
        hdnd_submission_number="95/TTr-UBND",
        hdnd_submission_date="2026-03-04",
        hdnd_submission_summary="Dự thảo nghị quyết sửa đổi Nghị quyết 29/2025/NQ-HĐND",
    )
    assert open_by_element(client, instance_id) == {}  # waiting for HĐND
    assert status(client, instance_id) == "running"

    message = {
        "name": "hdnd_resolution",
        "correlation_keys": {"hdnd_submission_number": "95/TTr-UBND"},
        "variables": {
            "hdnd_outcome": hdnd_outcome,
            "hdnd_resolution_number": "12/2026/NQ-HĐND",
            "hdnd_resolution_date": "2026-03-20",
        },
    }
    wrong = dict(message, correlation_keys={"hdnd_submission_number": "96/TTr-UBND"})
    assert_problem(client.post(MESSAGES, json=wrong, headers=PORTAL), 404, "message-not-correlated")
    assert open_by_element(client, instance_id) == {}
    response = client.post(MESSAGES, json=message, headers=PORTAL)
    assert response.status_code == 200, response.text

    assert main_path(client, instance_id) == {"record_outcome"}
    close(client, instance_id)
    data = variables(client, instance_id)
    assert data["outcome"] == outcome
    resolution = data["hdnd_resolution"]
    assert (resolution["outcome"], resolution["number"], resolution["date"]) == (
        hdnd_outcome,
        "12/2026/NQ-HĐND",
        "2026-03-20",
    )
    assert completed_steps(client, instance_id)[-4:] == [
        "ubnd_decide",
        "submit_to_hdnd",
        "record_outcome",
        "inform_agency",
    ]
    assert "hdnd_resolution_received" in [e["element_id"] for e in history(client, instance_id)]


def test_ubnd_decides_within_its_own_authority_without_hdnd(deployed: TestClient) -> None:
    """A policy proposal that is not an HĐND matter is approved by UBND itself after the appraisal."""
    client = deployed
    instance_id = report(client)
    classify(client, instance_id)
    give_opinions(client, instance_id)
    propose(client, instance_id, proposal_type="amend_policy", hdnd=False)
    appraise(client, instance_id)
    vp_review(client, instance_id)
    decide(client, instance_id, "approve")
    assert main_path(client, instance_id) == {"record_outcome"}
    close(client, instance_id)
    assert variables(client, instance_id)["outcome"] == "approved"


def test_ubnd_returns_for_more_information_then_approves(deployed: TestClient, clock: FakeClock) -> None:
    client = deployed
    instance_id = report(client, legal_conflict=True)
    classify(client, instance_id)
    give_opinions(client, instance_id)
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
        "consult_htkc",
        "legal_opinion",
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
    give_opinions(client, instance_id)
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


# --- time limits: tacit consent, the ladder of a late peer agency, the reporting agency ----------------------------
def test_a_silent_consulted_agency_is_deemed_to_agree_and_the_history_says_so(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id)
    consult_htkc(client, instance_id)  # the board answers, Sở Tư pháp stays silent
    consultation = open_task(client, instance_id, "consult_stp")
    due = hanoi(2026, 3, 9)
    assert moment(consultation["due_at"]) == due

    clock.set(due - SECOND)
    assert fire_due_timers(app_container) == 0
    clock.set(due + SECOND)
    assert fire_due_timers(app_container) == 1

    assert get_task(client, consultation["id"], STP_LEAD)["status"] == "cancelled"
    assert main_path(client, instance_id) == {"propose"}  # the case goes on without waiting
    data = variables(client, instance_id)
    assert (data["stp_consent"], data["htkc_consent"]) == ("tacit", "given")
    (event,) = [e for e in history(client, instance_id) if e["kind"] == "consultation_tacit_consent"]
    assert (event["actor"], event["element_id"]) == ("system", "consult_stp")
    assert (event["data"]["element_id"], event["data"]["agency"], event["data"]["summary_vi"]) == (
        "consult_stp_tacit_consent",
        "stp",
        TACIT,
    )
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert {SKHCN_LANE, STP_LANE, HTKC_LANE} <= lanes_reached(client, instance_id)


def test_a_late_peer_agency_is_urged_by_so_khcn_then_escalated_to_van_phong_ubnd(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client, legal_conflict=True)
    classify(client, instance_id)
    consult_htkc(client, instance_id)
    review = open_task(client, instance_id, "legal_opinion")
    due = hanoi(2026, 3, 11)  # 7 working days
    assert moment(review["due_at"]) == due

    clock.set(due + SECOND)
    assert fire_due_timers(app_container) == 1
    opened = open_by_element(client, instance_id)
    assert set(opened) == {"legal_opinion", "urge_legal_opinion"}  # non-interrupting: the opinion goes on
    urge = opened["urge_legal_opinion"]
    assert (urge["lane"], urge["candidate_groups"], urge["required_role"], urge["form_key"]) == (
        SKHCN_LANE,
        ["skhcn"],
        "lead",
        "urge.form.json",
    )
    response = client.post(f"{TASKS}/{urge['id']}/complete", json={"variables": {"urge_note": "x"}}, headers=SKHCN)
    assert_problem(response, 403, "role-required")
    act(client, instance_id, "urge_legal_opinion", SKHCN_LEAD, urge_note="Đã có văn bản đôn đốc Sở Tư pháp")
    assert fire_due_timers(app_container) == 0

    clock.set(hanoi(2026, 3, 16) + SECOND)  # still late 3 working days later: the next rung
    assert fire_due_timers(app_container) == 1
    opened = open_by_element(client, instance_id)
    assert set(opened) == {"legal_opinion", "urge_legal_opinion_vp"}
    escalated = opened["urge_legal_opinion_vp"]
    assert (escalated["lane"], escalated["candidate_groups"], escalated["required_role"]) == (
        VP_LANE,
        ["vp-ubnd"],
        "lead",
    )
    act(client, instance_id, "urge_legal_opinion_vp", VP_LEAD, urge_note="Báo cáo Chủ tịch UBND chỉ đạo Sở Tư pháp")

    give_legal_opinion(client, instance_id)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert escalation_steps(client, instance_id) == [
        ("legal_opinion", "stp", "skhcn"),
        ("legal_opinion", "stp", "vp-ubnd"),
    ]


def test_an_opinion_given_after_the_first_reminder_stops_the_ladder(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client, needs_funding=True, funding_amount=500_000_000)
    classify(client, instance_id)
    consult_stp(client, instance_id)
    consult_htkc(client, instance_id)
    clock.set(hanoi(2026, 3, 11) + SECOND)
    assert fire_due_timers(app_container) == 1
    assert open_task(client, instance_id, "urge_finance_opinion")["candidate_groups"] == ["skhcn"]
    give_finance_opinion(client, instance_id)
    clock.set(hanoi(2026, 3, 16) + 2 * SECOND)  # past the second rung (the proposal is due on 18/3)
    assert fire_due_timers(app_container) == 0  # answered: no escalation to Văn phòng UBND
    assert "urge_finance_opinion_vp" not in open_by_element(client, instance_id)
    propose_to_decision(client, instance_id)
    decide(client, instance_id, "approve")
    close(client, instance_id)
    assert escalation_steps(client, instance_id) == [("finance_opinion", "stc", "skhcn")]


def test_the_reporting_agency_has_a_time_limit_and_the_case_closes_when_it_passes(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id, "guidance")
    give_opinions(client, instance_id)
    act(client, instance_id, "guide", SKHCN_LEAD, guidance="Thực hiện theo Nghị quyết 29/2025/NQ-HĐND")
    inform = open_task(client, instance_id, "inform_agency")
    assert moment(inform["due_at"]) == hanoi(2026, 3, 9)

    clock.set(hanoi(2026, 3, 9) + SECOND)
    assert fire_due_timers(app_container) == 1
    assert status(client, instance_id) == "completed"
    assert get_task(client, inform["id"], REPORTER)["status"] == "cancelled"
    data = variables(client, instance_id)
    assert data["acknowledgement"] == "deemed"
    assert escalation_steps(client, instance_id) == [("inform_agency", "syt", "skhcn")]


def test_late_so_khcn_and_van_phong_steps_go_up_to_van_phong_and_ubnd(
    deployed: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    client = deployed
    instance_id = report(client, urgent=1)  # Khẩn: shorter limits
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

    classify(client, instance_id)
    give_opinions(client, instance_id)
    proposal = open_task(client, instance_id, "propose")
    assert moment(proposal["due_at"]) == hanoi(2026, 3, 5)  # 2 working days after 3/3 17:00:01
    clock.set(hanoi(2026, 3, 5) + SECOND)
    assert fire_due_timers(app_container) == 1
    assert open_task(client, instance_id, "urge_propose")["candidate_groups"] == ["vp-ubnd"]
    act(client, instance_id, "urge_propose", VP_LEAD, urge_note="Đã nhắc Sở KH&CN trình trong ngày")
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


# --- who may act ----------------------------------------------------------------------------------------------------
def test_another_agency_can_neither_see_nor_complete_so_khcn_task(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)
    task = open_task(client, instance_id, "classify")
    outsiders: list[dict[str, str]] = [STP, STP_LEAD, REPORTER, HTKC_LEAD, STC_LEAD]
    for headers in outsiders:
        assert_problem(client.get(f"{TASKS}/{task['id']}", headers=headers), 403, "not-candidate")
        assert task["id"] not in [t["id"] for t in task_list(client, headers, status="open")["items"]]
        assert_problem(client.post(f"{TASKS}/{task['id']}/claim", headers=headers), 403, "not-candidate")
        body: dict[str, Any] = {"variables": {"resolution_path": "guidance", "routing_decision": "confirm"}}
        assert_problem(client.post(f"{TASKS}/{task['id']}/complete", json=body, headers=headers), 403, "not-candidate")
    assert get_task(client, task["id"], SKHCN)["status"] == "open"
    assert [t["id"] for t in task_list(client, SKHCN_LEAD, status="open")["items"]] == [task["id"]]
    classify(client, instance_id, "guidance")
    assert completed_steps(client, instance_id) == ["classify"]


def test_an_officer_cannot_take_the_ubnd_decision(deployed: TestClient) -> None:
    client = deployed
    instance_id = report(client)
    classify(client, instance_id)
    give_opinions(client, instance_id)
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
            assert "enum" not in field, (path.name, name)  # Vietnamese labels: oneOf of {const, title}
            assert all(o["title"] for o in field.get("oneOf", [])), (path.name, name)
        for earlier in schema.get("x-show-earlier", []):
            assert isinstance(earlier, str) and earlier.isascii(), (path.name, earlier)


def test_a_policy_escalation_finishes_with_the_demo_users_alone(deployed: TestClient) -> None:
    """Every lead-only step has a demo lead of its agency (web/demo_users.py): no admin is needed to the end, along
    the longest common path (all three substantive opinions, appraisal, UBND)."""
    client = deployed
    demo = {
        user.sub: auth(user.sub, groups=",".join(user.groups), roles=",".join(user.roles), name=user.name)
        for user in DEMO_USERS
    }
    started = client.post(
        INSTANCES,
        json={
            "process_key": KEY,
            "variables": dict(
                REPORT, legal_conflict=True, involves_hitech_park=True, needs_funding=True, funding_amount=600_000_000
            ),
        },
        headers=demo["syt.quang"],
    )
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    act(client, instance_id, "classify", demo["skhcn.cuong"], resolution_path="escalate", routing_decision="confirm")
    act(client, instance_id, "legal_opinion", demo["stp.minh"], legal_opinion="Có cơ sở pháp lý", legal_risk="low")
    act(client, instance_id, "htkc_opinion", demo["htkc.lan"], htkc_opinion="Bố trí được mặt bằng", htkc_agrees=True)
    act(
        client,
        instance_id,
        "finance_opinion",
        demo["stc.thanh"],
        finance_opinion="Bố trí từ ngân sách Thành phố",
        funding_source="city_budget",
    )
    act(
        client,
        instance_id,
        "propose",
        demo["skhcn.cuong"],
        proposal="Bổ sung cơ chế hỗ trợ thử nghiệm",
        proposal_type="new_mechanism",
        needs_hdnd_resolution=False,
    )
    act(
        client,
        instance_id,
        "legal_appraisal",
        demo["stp.minh"],
        appraisal_opinion="Hợp hiến, hợp pháp",
        appraisal_conclusion="pass",
    )
    act(client, instance_id, "vp_review", demo["vpubnd.tuan"], vp_opinion="Đủ điều kiện", vp_recommendation="approve")
    act(client, instance_id, "ubnd_decide", demo["ubnd.hoa"], decision="approve")
    act(
        client,
        instance_id,
        "record_outcome",
        demo["skhcn.cuong"],
        outcome_summary="UBND chấp thuận",
        implementation_guidance="Triển khai từ quý II/2026",
        dashboard_updated=True,
    )
    act(client, instance_id, "inform_agency", demo["syt.quang"], acknowledged=True)
    assert (status(client, instance_id), variables(client, instance_id)["outcome"]) == ("completed", "approved")
