"""The green-lane process (processes/green_lane, làn xanh thủ tục hành chính) walked through the REST API on SQLite
and PostgreSQL: every path from the portal's submission to the returned result.

The clock starts on Thursday 12/2/2026 at 09:00 in Hanoi, the last working days before Tết 2026 (16–20/2 off), so
working-day deadlines visibly skip the holiday. Every command first empties the live-workflow cache, so each step
loads the instance from the database (a serializer round trip per step). Timers fire through the engine's scheduler
call, as ``phoihop worker`` fires them.

The procedure catalogue (eligibility.dmn) gives each procedure its time limit and its routing: KHCN-01 7 days →
⌈7 × 0.4⌉ = 3 with the default cut (60%), Sở KH&CN; KHCN-02 15 → 6, Sở KH&CN, joint (Sở Tư pháp's legal opinion);
KHCN-03 20 → 8, in the hi-tech park (the HTKC board); KHCN-05 15 days, not green. Every accepted dossier passes through
Sở KH&CN, Sở Tư pháp and the HTKC board: the agency the catalogue names appraises, the others give an opinion within
a time limit, their silence counting as consent.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.api.calls import (
    ADMIN,
    DEFINITIONS,
    HTKC,
    INSTANCES,
    MESSAGES,
    MOT_CUA,
    OWNER,
    PORTAL,
    SKHCN,
    SKHCN_LEAD,
    STP,
    TASKS,
    assert_problem,
)
from tests.conftest import auth

PROCESS_DIR = Path(__file__).parents[2] / "processes" / "green_lane"
RECEIVED = datetime(2026, 2, 12, 2, 0, tzinfo=UTC)  # Thursday 12/2/2026 09:00 in Hanoi
HTKC_LEAD = auth("lan", groups="htkc", roles="lead")
STP_LEAD = auth("minh", groups="stp", roles="lead")
VP_UBND = auth("nga", groups="vp-ubnd")
CONSULTED = {"skhcn": SKHCN, "htkc": HTKC, "stp": STP}
DOSSIER_CODE = re.compile(r"^000\.00\.25\.H26-(\d{6})-(\d{4})$")


def hanoi(text: str) -> datetime:
    """A Hanoi wall-clock time ``YYYY-MM-DD HH:MM`` as an aware UTC datetime."""
    return datetime.fromisoformat(f"{text}+07:00").astimezone(UTC)


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def applicant_dossier(procedure_code: str = "KHCN-01", **fields: Any) -> dict[str, Any]:
    """What the public-service portal sends (start.form.json)."""
    return {
        "applicant": {
            "name": "Công ty Cổ phần Công nghệ Sông Hồng",
            "id_number": "0109876543",
            "email": "phaply@songhong.vn",
            "phone": "0912 345 678",
        },
        "procedure_code": procedure_code,
        "documents": [
            {"name": "Đơn đề nghị", "url": "https://dichvucong.hanoi.gov.vn/tep/1"},
            {"name": "Giấy chứng nhận đăng ký doanh nghiệp"},
        ],
        **fields,
    }


@dataclass
class GreenLane:
    """The green-lane process deployed behind ``client``, with the clock and the engine that serve it."""

    client: TestClient
    container: EngineContainer
    clock: FakeClock

    def submit(self, procedure_code: str = "KHCN-01", **fields: Any) -> str:
        self.container.executor.cache.clear()
        response = self.client.post(
            INSTANCES,
            headers=PORTAL,
            json={"process_key": "green_lane", "variables": applicant_dossier(procedure_code, **fields)},
        )
        assert response.status_code == 201, response.text
        instance_id: str = response.json()["id"]
        return instance_id

    def view(self, instance_id: str, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
        response = self.client.get(f"{INSTANCES}/{instance_id}", headers=headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def variables(self, instance_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.view(instance_id)["variables"]
        return found

    def open_tasks(self, instance_id: str) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = self.view(instance_id)["open_tasks"]
        return tasks

    def open_elements(self, instance_id: str) -> list[str]:
        return sorted(t["element_id"] for t in self.open_tasks(instance_id))

    def task(self, instance_id: str, element_id: str) -> dict[str, Any]:
        """The one open task of ``element_id``."""
        [found] = [t for t in self.open_tasks(instance_id) if t["element_id"] == element_id]
        return found

    def complete(
        self, instance_id: str, element_id: str, headers: dict[str, str], *, status: int = 200, **variables: Any
    ) -> Response:
        task_id = self.task(instance_id, element_id)["id"]
        return self.complete_id(task_id, headers, status=status, **variables)

    def complete_id(self, task_id: str, headers: dict[str, str], *, status: int = 200, **variables: Any) -> Response:
        self.container.executor.cache.clear()
        response = self.client.post(f"{TASKS}/{task_id}/complete", json={"variables": variables}, headers=headers)
        assert response.status_code == status, response.text
        return response

    def fire_at(self, at: datetime) -> int:
        """Move the clock to ``at`` and fire every timer due by then."""
        self.clock.set(at)
        self.container.executor.cache.clear()
        fired: int = self.container.timers.fire_due_timers()
        return fired

    def supplement(self, dossier_code: str, **variables: Any) -> Response:
        self.container.executor.cache.clear()
        return self.client.post(
            MESSAGES,
            headers=PORTAL,
            json={
                "name": "dossier_supplement",
                "correlation_keys": {"dossier_code": dossier_code},
                "variables": variables,
            },
        )

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()
        return events

    def working_days(self, start: str, add: int) -> datetime:
        """The calendar API's deadline: ``add`` working days after a receipt at ``start``."""
        response = self.client.get("/api/v1/calendar/working-days", params={"start": start, "add": add}, headers=SKHCN)
        assert response.status_code == 200, response.text
        return moment(response.json()["due_at"])

    # --- the usual steps ------------------------------------------------------------------------------------------
    def accept(self, instance_id: str, **routing: Any) -> None:
        self.complete(
            instance_id, "check_completeness", MOT_CUA, outcome="complete", **(routing or {"routing": "confirm"})
        )

    def consult_all(self, instance_id: str) -> None:
        """Every open consultation answered by its agency."""
        for element in self.open_elements(instance_id):
            if element.startswith("consult_"):
                agency = element.removeprefix("consult_")
                self.complete(instance_id, element, CONSULTED[agency], **{f"{agency}_opinion": "Thống nhất"})

    def appraise(self, instance_id: str, element_id: str = "appraise_skhcn", headers: dict[str, str] = SKHCN) -> None:
        self.complete(
            instance_id,
            element_id,
            headers,
            appraisal_recommendation="approve",
            appraisal_opinion="Hồ sơ đáp ứng điều kiện cấp giấy chứng nhận.",
        )

    def decide(self, instance_id: str, headers: dict[str, str] = SKHCN_LEAD) -> None:
        self.complete(
            instance_id,
            "decide",
            headers,
            decision="approve",
            result_summary="Cấp Giấy chứng nhận",
            result_document_number="125/GCN-SKHCN",
        )

    def return_result(self, instance_id: str) -> None:
        self.complete(instance_id, "return_result", MOT_CUA, return_channel="online")


@pytest.fixture
def lane(client: TestClient, app_container: EngineContainer, clock: FakeClock) -> GreenLane:
    clock.set(RECEIVED)
    files = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream"))
        for p in sorted(PROCESS_DIR.iterdir())
        if p.is_file()
    ]
    response = client.post(DEFINITIONS, params={"strict": "true"}, files=files, headers=OWNER)
    assert response.status_code == 201, response.text
    [deployed] = response.json()
    assert (deployed["key"], deployed["warnings"]) == ("green_lane", [])  # "6 rõ" clean even in strict mode
    return GreenLane(client, app_container, clock)


def dossier(view: dict[str, Any]) -> tuple[int, str]:
    block = view["dossier"]
    return block["status"], block["status_name_vi"]


# --- the main path -------------------------------------------------------------------------------------------------
def test_accepted_dossier_goes_through_the_three_agencies_and_is_decided_before_its_return(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    view = lane.view(instance_id)
    assert dossier(view) == (1, "Mới đăng ký")
    code = view["dossier"]["code"]
    assert DOSSIER_CODE.fullmatch(code) and code == "000.00.25.H26-260212-0001"
    variables = view["variables"]
    assert variables["dossier_code"] == code
    assert (variables["green_lane"], variables["standard_days"], variables["deadline_days"]) == (True, 7, 3)
    # name and routing come from the procedure catalogue, not from the applicant
    assert variables["procedure_name"] == "Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ"
    assert variables["catalogue_routing"] == {"in_hitech_park": False, "joint_processing": False}
    check = lane.task(instance_id, "check_completeness")
    assert (check["candidate_groups"], check["form_key"]) == (["ttpvhcc"], "check_completeness.form.json")
    assert moment(check["due_at"]) == hanoi("2026-02-13 17:00")  # one working day
    # accepting needs the routing confirmed (or overridden with a reason)
    assert_problem(lane.complete(instance_id, "check_completeness", MOT_CUA, status=422, outcome="complete"), 422)

    lane.accept(instance_id)

    view = lane.view(instance_id)
    assert dossier(view) == (4, "Đang xử lý")
    appointment = hanoi("2026-02-24 17:00")  # 13/2, then Tết 16–20/2 and the weekend, 23/2, 24/2
    assert moment(view["variables"]["appointment_at"]) == appointment == moment(view["due_at"])
    assert view["deadline_state"] == "on_time"
    assert (view["variables"]["processing_agency"], view["variables"]["routing_overridden"]) == ("skhcn", False)
    # Sở KH&CN appraises; the HTKC board and Sở Tư pháp give their opinion within the appraisal's time
    assert lane.open_elements(instance_id) == ["appraise_skhcn", "consult_htkc", "consult_stp"]
    appraisal = lane.task(instance_id, "appraise_skhcn")
    assert (appraisal["candidate_groups"], appraisal["lane"]) == (["skhcn"], "Sở Khoa học và Công nghệ")
    assert moment(appraisal["due_at"]) == hanoi("2026-02-23 17:00")  # ⌈60% × 3⌉ = 2 working days
    for agency, lane_name in (
        ("htkc", "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội"),
        ("stp", "Sở Tư pháp"),
    ):
        consultation = lane.task(instance_id, f"consult_{agency}")
        assert (consultation["candidate_groups"], consultation["lane"]) == ([agency], lane_name)
        assert moment(consultation["due_at"]) == moment(appraisal["due_at"])  # min(5 days, the appraisal's 2)

    lane.appraise(instance_id)
    assert lane.open_elements(instance_id) == ["consult_htkc", "consult_stp"]  # the decision waits for the opinions
    lane.consult_all(instance_id)
    decision = lane.task(instance_id, "decide")
    assert (decision["candidate_groups"], decision["required_role"]) == (["skhcn"], "lead")
    decision_due = moment(decision["due_at"])
    assert decision_due == hanoi("2026-02-23 17:00")  # a working day before the appointment
    lane.decide(instance_id)

    view = lane.view(instance_id)
    assert dossier(view) == (9, "Đã xử lý xong")
    returning = lane.task(instance_id, "return_result")
    assert (returning["candidate_groups"], moment(returning["due_at"])) == (["ttpvhcc"], appointment)
    assert decision_due < appointment  # deciding and returning do not share one deadline
    lane.return_result(instance_id)

    view = lane.view(instance_id)
    assert view["status"] == "completed"
    assert dossier(view) == (10, "Đã trả kết quả")
    assert view["deadline_state"] == "early"  # returned on 12/2, before the appointment day
    variables = view["variables"]
    assert variables["decision"] == "approve"
    assert (variables["htkc_consent"], variables["stp_consent"]) == ("given", "given")
    assert variables["apology_issued"] is False and variables["warned"] is False
    completed = [
        e["element_id"] for e in lane.history(instance_id) if e["kind"] in ("element_completed", "task_completed")
    ]
    for before, after in [
        ("eligibility", "register_dossier"),
        ("check_completeness", "accept_dossier"),
        ("accept_dossier", "route_dossier"),
        ("appraise_skhcn", "decide"),
        ("consult_stp", "decide"),
        ("decide", "record_result"),
        ("return_result", "close_dossier"),
    ]:
        assert completed.index(before) < completed.index(after)


def test_the_catalogue_sends_a_hitech_park_project_to_the_htkc_board_and_silence_is_consent(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-03")
    assert lane.variables(instance_id)["catalogue_routing"]["in_hitech_park"] is True
    lane.accept(instance_id)

    assert lane.variables(instance_id)["processing_agency"] == "htkc"
    assert lane.open_elements(instance_id) == ["appraise_htkc", "consult_skhcn", "consult_stp"]
    appraisal = lane.task(instance_id, "appraise_htkc")
    assert (appraisal["candidate_groups"], appraisal["lane"]) == (
        ["htkc"],
        "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội",
    )
    lane.complete(instance_id, "appraise_htkc", SKHCN, status=403)  # Sở KH&CN does not appraise park projects
    consultation = lane.task(instance_id, "consult_skhcn")
    assert consultation["name"] == "Sở KH&CN cho ý kiến về hồ sơ dự án tại Khu công nghệ cao"
    lane.appraise(instance_id, "appraise_htkc", HTKC)
    lane.complete(instance_id, "consult_stp", STP, stp_opinion="Không có rủi ro pháp lý")

    # Sở KH&CN says nothing: when its time is up, its silence counts as consent and the dossier goes on
    tacit_at = moment(consultation["due_at"])  # ⌈60% × 8⌉ = 5 working days: 13/2, 23–26/2
    assert tacit_at == hanoi("2026-02-26 17:00")
    assert lane.fire_at(tacit_at - timedelta(minutes=1)) == 0
    assert lane.fire_at(tacit_at + timedelta(minutes=1)) == 1
    assert lane.open_elements(instance_id) == ["decide"]
    ended = [e["element_id"] for e in lane.history(instance_id) if e["kind"] == "element_completed"]
    assert "consult_skhcn_tacit_consent" in ended and "record_skhcn_tacit_consent" in ended

    decision = lane.task(instance_id, "decide")
    assert (decision["candidate_groups"], decision["required_role"]) == (["htkc"], "lead")
    body = assert_problem(
        lane.complete(instance_id, "decide", SKHCN_LEAD, status=403, decision="approve", result_summary="Cấp"),
        403,
        "not-candidate",
    )
    assert body["detail_vi"]
    lane.decide(instance_id, HTKC_LEAD)
    variables = lane.variables(instance_id)  # the processing step's data, once it is done
    assert (variables["skhcn_consent"], variables["stp_consent"]) == ("tacit", "given")
    lane.return_result(instance_id)
    view = lane.view(instance_id)
    assert (view["status"], dossier(view)[0]) == ("completed", 10)


def test_a_joint_procedure_gets_the_legal_opinion_of_a_lead_of_so_tu_phap(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-02")
    lane.accept(instance_id)

    assert lane.open_elements(instance_id) == ["appraise_skhcn", "consult_htkc", "legal_risk_opinion"]
    legal = lane.task(instance_id, "legal_risk_opinion")
    assert (legal["candidate_groups"], legal["lane"], legal["form_key"], legal["required_role"]) == (
        ["stp"],
        "Sở Tư pháp",
        "legal_risk_opinion.form.json",
        "lead",
    )
    assert legal["name"] == "Cho ý kiến pháp lý về hồ sơ liên thông"  # an opinion, not a "thẩm định" of the dossier
    # KHCN-02: 15 days → 6; both branches get ⌈60% × 6⌉ = 4 working days
    appraisal = lane.task(instance_id, "appraise_skhcn")
    assert appraisal["due_at"] == legal["due_at"]
    assert moment(legal["due_at"]) == lane.working_days("2026-02-12T09:00:00+07:00", 4)

    opinion = {"legal_compliant": True, "legal_opinion": "Phù hợp Luật Thủ đô 2024 và Nghị quyết 29/2025/NQ-HĐND."}
    assert_problem(lane.complete(instance_id, "legal_risk_opinion", STP, status=403, **opinion), 403, "role-required")
    lane.complete(instance_id, "legal_risk_opinion", STP_LEAD, **opinion)
    lane.consult_all(instance_id)
    assert lane.open_elements(instance_id) == ["appraise_skhcn"]  # the decision waits for the appraisal
    lane.appraise(instance_id)
    assert lane.open_elements(instance_id) == ["decide"]
    lane.decide(instance_id)
    lane.return_result(instance_id)

    variables = lane.variables(instance_id)
    assert variables["legal_compliant"] is True and variables["appraisal_recommendation"] == "approve"
    assert variables["dossier_status"] == 10


def test_the_one_stop_desk_overrides_the_catalogue_routing_only_with_a_reason(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    override = {"routing": "override", "override_in_hitech_park": True, "override_joint_processing": True}
    body = assert_problem(
        lane.complete(instance_id, "check_completeness", MOT_CUA, status=422, outcome="complete", **override),
        422,
        "form-invalid",
    )
    assert "routing_override_reason" in str(body)
    reason = "Dự án đặt tại Khu công nghệ cao Hòa Lạc theo giấy chứng nhận đầu tư kèm hồ sơ"
    lane.accept(instance_id, **override, routing_override_reason=reason)

    variables = lane.variables(instance_id)
    assert (variables["processing_agency"], variables["joint_processing"], variables["routing_overridden"]) == (
        "htkc",
        True,
        True,
    )
    assert variables["catalogue_routing"] == {"in_hitech_park": False, "joint_processing": False}  # kept
    assert lane.open_elements(instance_id) == ["appraise_htkc", "consult_skhcn", "legal_risk_opinion"]


# --- the one-stop desk ---------------------------------------------------------------------------------------------
def test_a_supplement_is_requested_once_then_the_dossier_is_accepted(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    code = lane.view(instance_id)["dossier"]["code"]
    body = assert_problem(
        lane.complete(instance_id, "check_completeness", MOT_CUA, status=422, outcome="supplement"), 422, "form-invalid"
    )  # which documents are missing must be said
    assert "missing_documents" in str(body)
    lane.complete(
        instance_id,
        "check_completeness",
        MOT_CUA,
        outcome="supplement",
        missing_documents=["Báo cáo tài chính năm gần nhất"],
    )

    view = lane.view(instance_id)
    assert dossier(view) == (5, "Yêu cầu bổ sung giấy tờ") and view["open_tasks"] == []
    assert moment(view["variables"]["supplement_due_at"]) == lane.working_days("2026-02-12T09:00:00+07:00", 10)

    lane.clock.set(hanoi("2026-02-13 10:00"))
    response = lane.supplement(code, supplement_documents=["Báo cáo tài chính 2025"])
    assert response.status_code == 200, response.text
    assert response.json() == {"delivered": [{"instance_id": instance_id, "started": False}]}
    assert lane.open_elements(instance_id) == ["recheck_completeness"]
    assert lane.variables(instance_id)["supplement_documents"] == ["Báo cáo tài chính 2025"]
    # a second supplement request is not an option any more
    assert_problem(
        lane.complete(
            instance_id,
            "recheck_completeness",
            MOT_CUA,
            status=422,
            outcome="supplement",
            missing_documents=["Bản sao điều lệ"],
        ),
        422,
        "form-invalid",
    )
    assert_problem(lane.supplement(code, supplement_documents=["Bản sao điều lệ"]), 404, "message-not-correlated")

    lane.clock.set(hanoi("2026-02-13 10:30"))
    lane.complete(instance_id, "recheck_completeness", MOT_CUA, outcome="complete", routing="confirm")
    view = lane.view(instance_id)
    assert dossier(view) == (4, "Đang xử lý")
    # the time limit runs from the acceptance of the complete dossier, not from the first submission
    assert moment(view["due_at"]) == lane.working_days("2026-02-13T10:30:00+07:00", 3) == hanoi("2026-02-25 17:00")
    assert lane.open_elements(instance_id) == ["appraise_skhcn", "consult_htkc", "consult_stp"]


def test_a_dossier_still_incomplete_after_its_supplement_is_refused(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    code = lane.view(instance_id)["dossier"]["code"]
    lane.complete(
        instance_id,
        "check_completeness",
        MOT_CUA,
        outcome="supplement",
        missing_documents=["Báo cáo tài chính năm gần nhất"],
    )
    assert lane.supplement(code, supplement_documents=["Bảng cân đối kế toán"]).status_code == 200
    assert_problem(
        lane.complete(instance_id, "recheck_completeness", MOT_CUA, status=422, outcome="refuse"), 422, "form-invalid"
    )  # a refusal states its reason
    lane.complete(
        instance_id,
        "recheck_completeness",
        MOT_CUA,
        outcome="refuse",
        refusal_reason="Vẫn thiếu báo cáo tài chính năm gần nhất",
    )

    view = lane.view(instance_id)
    assert view["status"] == "completed" and view["open_tasks"] == []
    assert dossier(view) == (3, "Không được tiếp nhận")
    assert view["variables"]["refusal_reason"] == "Vẫn thiếu báo cáo tài chính năm gần nhất"
    assert "appointment_at" not in view["variables"] and view["due_at"] is None
    ended = [e["element_id"] for e in lane.history(instance_id) if e["kind"] == "element_completed"]
    assert "dossier_refused" in ended and "accept_dossier" not in ended


def test_a_dossier_refused_at_the_first_check_goes_to_no_agency(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    lane.complete(
        instance_id,
        "check_completeness",
        MOT_CUA,
        outcome="refuse",
        refusal_reason="Thủ tục không thuộc thẩm quyền giải quyết của Thành phố",
    )
    view = lane.view(instance_id)
    assert (view["status"], dossier(view)) == ("completed", (3, "Không được tiếp nhận"))
    assert lane.history(instance_id)[-1]["kind"] == "instance_completed"
    touched = {e["element_id"] for e in lane.history(instance_id)}
    assert "check_completeness" in touched  # exempt: refused at intake, no agency beyond the desk is involved
    assert not {e for e in touched if e and e.startswith(("appraise_", "consult_", "legal_"))}


def test_a_supplement_not_sent_in_time_ends_in_refusal(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    code = lane.view(instance_id)["dossier"]["code"]
    lane.complete(
        instance_id,
        "check_completeness",
        MOT_CUA,
        outcome="supplement",
        missing_documents=["Báo cáo tài chính năm gần nhất"],
    )
    due = moment(lane.variables(instance_id)["supplement_due_at"])
    assert due == hanoi("2026-03-05 17:00")  # ten working days across Tết

    assert lane.fire_at(due - timedelta(minutes=1)) == 0
    assert dossier(lane.view(instance_id))[0] == 5
    assert lane.fire_at(due + timedelta(minutes=1)) == 1

    view = lane.view(instance_id)
    assert (view["status"], dossier(view)) == ("completed", (3, "Không được tiếp nhận"))
    assert view["variables"]["refusal_reason"].startswith("Quá hạn bổ sung hồ sơ")
    assert_problem(
        lane.supplement(code, supplement_documents=["Báo cáo tài chính 2025"]), 404, "message-not-correlated"
    )


# --- time limits ---------------------------------------------------------------------------------------------------
def test_a_procedure_outside_the_green_lane_keeps_its_standard_time_limit(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-05")
    variables = lane.variables(instance_id)
    assert (variables["green_lane"], variables["standard_days"], variables["deadline_days"]) == (False, 15, 15)
    lane.accept(instance_id)
    assert moment(lane.view(instance_id)["due_at"]) == lane.working_days("2026-02-12T09:00:00+07:00", 15)
    assert moment(lane.view(instance_id)["due_at"]) == hanoi("2026-03-12 17:00")


def test_every_cut_rate_of_the_catalogue_is_at_least_60_percent(lane: GreenLane) -> None:
    """Văn bản 991/UBND-TH: green-lane times cut by at least 60% (rule_khcn_03 had 50%, rule_khcn_04 40%)."""
    for code, standard, shortened in (("KHCN-01", 7, 3), ("KHCN-02", 15, 6), ("KHCN-03", 20, 8), ("KHCN-04", 5, 2)):
        variables = lane.variables(lane.submit(code))
        assert (variables["standard_days"], variables["deadline_days"]) == (standard, shortened)
        assert variables["cut_rate"] is None  # the setting's default: 60%
        assert variables["deadline_days"] == math.ceil(round(standard * 0.4, 9))


def test_the_appointment_date_skips_tet_and_dossier_codes_count_per_day(lane: GreenLane) -> None:
    first = lane.submit("KHCN-03")
    second = lane.submit("KHCN-03")
    codes = [lane.view(i)["dossier"]["code"] for i in (first, second)]
    assert codes == ["000.00.25.H26-260212-0001", "000.00.25.H26-260212-0002"]
    variables = lane.variables(first)
    assert (variables["standard_days"], variables["cut_rate"], variables["deadline_days"]) == (20, None, 8)

    lane.accept(first)

    view = lane.view(first)
    # accepted 12/2/2026 with 8 working days: 13/2, (Tết 16–20/2), 23–27/2, 2–3/3
    assert moment(view["due_at"]) == hanoi("2026-03-03 17:00")
    assert moment(view["due_at"]) == lane.working_days("2026-02-12T09:00:00+07:00", 8)
    variables = view["variables"]
    # 75% of 12/2 09:00 → 3/3 17:00 is Thursday 26/2 21:00: the warning waits for Friday's opening
    assert moment(variables["warn_at_case"]) == hanoi("2026-02-27 08:00")
    assert moment(variables["near_miss_at"]) == hanoi("2026-03-02 08:00")  # 90%: Sunday 1/3 18:36 → Monday 08:00
    assert moment(variables["standard_appointment_at"]) == lane.working_days("2026-02-12T09:00:00+07:00", 20)
    lane.clock.set(hanoi("2026-02-16 08:00"))  # a dossier received during Tết is numbered on its own day
    assert lane.view(lane.submit("KHCN-01"))["dossier"]["code"] == "000.00.25.H26-260216-0001"


def test_the_warning_fires_at_75_percent_of_the_time_limit(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-03")
    lane.accept(instance_id)
    lane.consult_all(instance_id)
    warn_at = moment(lane.variables(instance_id)["warn_at_case"])

    assert lane.fire_at(warn_at - timedelta(minutes=1)) == 0
    assert lane.variables(instance_id)["warned"] is False
    assert lane.view(instance_id)["deadline_state"] == "on_time"

    assert lane.fire_at(warn_at + timedelta(minutes=1)) == 1
    view = lane.view(instance_id)
    assert view["variables"]["warned"] is True
    assert moment(view["variables"]["warned_at"]) == warn_at + timedelta(minutes=1)
    assert view["deadline_state"] == "warning"
    assert lane.open_elements(instance_id) == ["appraise_htkc"]  # a warning, not a new task
    assert dossier(view)[0] == 4

    lane.appraise(instance_id, "appraise_htkc", HTKC)
    lane.decide(instance_id, HTKC_LEAD)
    lane.return_result(instance_id)
    view = lane.view(instance_id)
    assert view["variables"]["warned"] is True and view["deadline_state"] == "early"  # returned 26/2, due 3/3


def near_miss(lane: GreenLane, procedure_code: str = "KHCN-03") -> str:
    """A dossier whose opinions are in and whose 90% mark has passed while its appraisal is still open."""
    instance_id = lane.submit(procedure_code)
    lane.accept(instance_id)
    lane.consult_all(instance_id)
    variables = lane.variables(instance_id)
    lane.fire_at(moment(variables["warn_at_case"]) + timedelta(minutes=1))  # the 75% warning
    assert lane.fire_at(moment(variables["near_miss_at"]) + timedelta(minutes=1)) == 1
    return instance_id


def test_before_the_deadline_the_agency_apologises_once_and_skhcn_and_the_centre_follow_up(lane: GreenLane) -> None:
    instance_id = near_miss(lane)
    old_appointment = hanoi("2026-03-03 17:00")
    assert lane.open_elements(instance_id) == ["appraise_htkc", "escalate_skhcn", "issue_apology", "monitor_ttpvhcc"]
    apology = lane.task(instance_id, "issue_apology")
    assert (apology["candidate_groups"], apology["required_role"]) == (["htkc"], "lead")
    assert moment(apology["due_at"]) == old_appointment  # issued before the promised date
    followers = {t["element_id"]: t for t in lane.open_tasks(instance_id) if t["element_id"] != "issue_apology"}
    assert (followers["escalate_skhcn"]["candidate_groups"], followers["escalate_skhcn"]["required_role"]) == (
        ["skhcn"],
        "lead",
    )
    assert (followers["monitor_ttpvhcc"]["candidate_groups"], followers["monitor_ttpvhcc"]["name"]) == (
        ["ttpvhcc"],
        "Theo dõi hồ sơ có nguy cơ trễ hạn",
    )
    # Văn phòng UBND gets no task per late dossier: it works from Sở KH&CN's consolidated reports
    assert lane.client.get(TASKS, params={"status": "open"}, headers=VP_UBND).json()["items"] == []
    assert lane.variables(instance_id)["near_miss_count"] == 1

    assert_problem(
        lane.complete(instance_id, "issue_apology", HTKC, status=403, apology_reason="Chậm", extension_days=3),
        403,
        "role-required",
    )
    assert_problem(
        lane.complete(instance_id, "issue_apology", HTKC_LEAD, status=422, apology_reason="Chậm", extension_days=0),
        422,
        "form-invalid",
    )  # the new date must come after the old
    lane.complete(
        instance_id,
        "issue_apology",
        HTKC_LEAD,
        apology_reason="Cần xác minh thêm thông tin dự án",
        extension_days=3,
        apology_letter_number="12/PXL-BQLKCNC",
    )

    new_appointment = lane.working_days("2026-03-03", 3)
    assert new_appointment == hanoi("2026-03-06 17:00")
    view = lane.view(instance_id)
    variables = view["variables"]
    assert moment(view["due_at"]) == moment(variables["appointment_at"]) == new_appointment
    assert moment(variables["previous_appointment_at"]) == old_appointment
    assert (variables["apology_issued"], variables["apology_capped"]) == (True, False)
    assert_problem(
        lane.complete(instance_id, "escalate_skhcn", SKHCN, status=403, follow_up_action="urged"), 403, "role-required"
    )  # a letter urging the agency is signed by a lead
    lane.complete(
        instance_id,
        "escalate_skhcn",
        SKHCN_LEAD,
        follow_up_action="urged",
        follow_up_note="Đã đề nghị Ban Quản lý hoàn thành thẩm định trước 5/3",
    )
    lane.complete(instance_id, "monitor_ttpvhcc", MOT_CUA, follow_up_action="noted")
    assert moment(lane.view(instance_id)["due_at"]) == new_appointment

    lane.appraise(instance_id, "appraise_htkc", HTKC)
    assert moment(lane.task(instance_id, "decide")["due_at"]) == hanoi("2026-03-05 17:00")  # a day before
    lane.decide(instance_id, HTKC_LEAD)
    assert moment(lane.task(instance_id, "return_result")["due_at"]) == new_appointment
    lane.return_result(instance_id)

    view = lane.view(instance_id)
    assert (view["status"], dossier(view)[0]) == ("completed", 10)
    assert moment(view["due_at"]) == new_appointment and view["variables"]["apology_issued"] is True
    assert view["variables"]["near_miss_count"] == 1


def test_an_apology_cannot_stretch_a_green_lane_time_limit_beyond_the_standard_one(lane: GreenLane) -> None:
    instance_id = near_miss(lane, "KHCN-01")  # 3 working days instead of the standard 7
    variables = lane.variables(instance_id)
    standard = moment(variables["standard_appointment_at"])
    assert standard == lane.working_days("2026-02-12T09:00:00+07:00", 7) == hanoi("2026-03-02 17:00")
    assert lane.working_days("2026-02-24", 10) > standard  # ten more days would pass the standard limit

    lane.complete(instance_id, "issue_apology", SKHCN_LEAD, apology_reason="Chờ xác minh", extension_days=10)

    view = lane.view(instance_id)
    variables = view["variables"]
    assert variables["apology_capped"] is True
    assert moment(variables["appointment_at"]) == moment(view["due_at"]) == standard  # capped, not 10/3
    lane.appraise(instance_id)
    decision_due = moment(lane.task(instance_id, "decide")["due_at"])
    assert decision_due == hanoi("2026-02-27 17:00") < standard  # still a working day before the return
    lane.decide(instance_id)
    assert moment(lane.task(instance_id, "return_result")["due_at"]) == standard


def test_a_second_near_miss_follows_up_again_without_a_second_apology(lane: GreenLane) -> None:
    instance_id = near_miss(lane)
    lane.complete(instance_id, "issue_apology", HTKC_LEAD, apology_reason="Cần xác minh thêm", extension_days=3)
    second_mark = moment(lane.variables(instance_id)["near_miss_at"])
    assert hanoi("2026-03-01 18:37") < second_mark < hanoi("2026-03-06 17:00")

    assert lane.fire_at(second_mark + timedelta(minutes=1)) == 1

    opened = [t["element_id"] for t in lane.open_tasks(instance_id)]
    assert sorted(opened) == [
        "appraise_htkc",
        "escalate_skhcn",
        "escalate_skhcn",
        "monitor_ttpvhcc",
        "monitor_ttpvhcc",
    ]  # the first follow-ups were not done yet; no second apology
    variables = lane.variables(instance_id)
    assert (variables["near_miss_count"], variables["apology_issued"]) == (2, True)
    assert moment(variables["appointment_at"]) == hanoi("2026-03-06 17:00")  # not moved again
    assert lane.fire_at(hanoi("2026-03-20 09:00")) == 0  # nothing else is scheduled

    # the result is returned (late): the open follow-ups close with the dossier
    lane.appraise(instance_id, "appraise_htkc", HTKC)
    lane.decide(instance_id, HTKC_LEAD)
    lane.return_result(instance_id)
    view = lane.view(instance_id)
    assert (view["status"], view["deadline_state"], dossier(view)[0]) == ("completed", "late", 10)
    follow_ups = lane.client.get(
        TASKS, params={"instance_id": instance_id, "status": "cancelled"}, headers=ADMIN
    ).json()["items"]
    assert sorted(t["element_id"] for t in follow_ups) == [
        "escalate_skhcn",
        "escalate_skhcn",
        "monitor_ttpvhcc",
        "monitor_ttpvhcc",
    ]


def test_a_decision_before_the_apology_closes_it_unissued(lane: GreenLane) -> None:
    instance_id = near_miss(lane, "KHCN-02")
    lane.complete(instance_id, "legal_risk_opinion", STP_LEAD, legal_compliant=True, legal_opinion="Phù hợp")
    lane.appraise(instance_id)
    lane.decide(instance_id)
    lane.return_result(instance_id)
    view = lane.view(instance_id)
    appointment = lane.working_days("2026-02-12T09:00:00+07:00", 6)
    assert (view["status"], view["deadline_state"]) == ("completed", "early")
    assert view["variables"]["apology_issued"] is False
    assert moment(view["due_at"]) == appointment


# --- who may act ---------------------------------------------------------------------------------------------------
def test_an_officer_of_so_tu_phap_can_neither_see_nor_act_on_the_task_of_so_khcn(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    lane.accept(instance_id)
    appraisal = lane.task(instance_id, "appraise_skhcn")

    inbox = lane.client.get(TASKS, params={"status": "open"}, headers=STP).json()
    assert [t["element_id"] for t in inbox["items"]] == ["consult_stp"]  # its own consultation only
    assert_problem(lane.client.get(f"{TASKS}/{appraisal['id']}", headers=STP), 403, "not-candidate")
    assert_problem(lane.client.post(f"{TASKS}/{appraisal['id']}/claim", headers=STP), 403, "not-candidate")
    assert_problem(
        lane.complete_id(
            appraisal["id"], STP_LEAD, status=403, appraisal_recommendation="refuse", appraisal_opinion="Không"
        ),
        403,
        "not-candidate",
    )
    assert_problem(
        lane.complete(instance_id, "consult_htkc", STP, status=403, htkc_opinion="Thay lời Ban"), 403, "not-candidate"
    )
    skhcn_inbox = lane.client.get(TASKS, params={"status": "open"}, headers=SKHCN).json()["items"]
    assert [t["id"] for t in skhcn_inbox] == [appraisal["id"]]


def test_only_a_lead_of_the_processing_agency_decides(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    lane.accept(instance_id)
    lane.consult_all(instance_id)
    lane.appraise(instance_id)
    decision = lane.task(instance_id, "decide")

    assert_problem(lane.client.post(f"{TASKS}/{decision['id']}/claim", headers=SKHCN), 403, "role-required")
    body = assert_problem(
        lane.complete_id(decision["id"], SKHCN, status=403, decision="approve", result_summary="Cấp"),
        403,
        "role-required",
    )
    assert body["detail_vi"]
    assert_problem(
        lane.complete_id(decision["id"], HTKC_LEAD, status=403, decision="approve", result_summary="Cấp"),
        403,
        "not-candidate",
    )
    assert_problem(
        lane.complete_id(decision["id"], SKHCN_LEAD, status=422, decision="refuse", result_summary="Từ chối"),
        422,
        "form-invalid",
    )  # a refusal gives its reason
    lane.complete_id(
        decision["id"],
        SKHCN_LEAD,
        decision="refuse",
        result_summary="Từ chối cấp",
        decision_refusal_reason="Doanh nghiệp chưa có kết quả khoa học và công nghệ được ứng dụng",
    )
    lane.return_result(instance_id)
    view = lane.view(instance_id)
    assert (view["variables"]["decision"], dossier(view)[0]) == ("refuse", 10)


def test_the_portal_sends_a_catalogue_procedure_and_no_routing_of_its_own(lane: GreenLane) -> None:
    start_form = lane.client.get(f"{DEFINITIONS}/green_lane/start-form", headers=PORTAL)
    assert start_form.status_code == 200, start_form.text
    # the catalogue's codes are the start form's options, with their names
    assert "KHCN-03 – Cấp Giấy chứng nhận dự án ứng dụng công nghệ cao" in str(start_form.json())
    refused = [
        applicant_dossier("KHCN-99"),  # not in the catalogue
        applicant_dossier(in_hitech_park=True),  # the applicant does not route the dossier
        applicant_dossier(joint_processing=True),
        {k: v for k, v in applicant_dossier().items() if k != "applicant"},
        applicant_dossier(applicant={"name": "A", "id_number": "12", "email": "a@b.vn", "phone": "0912345678"}),
    ]
    for variables in refused:
        response = lane.client.post(
            INSTANCES, headers=PORTAL, json={"process_key": "green_lane", "variables": variables}
        )
        assert_problem(response, 422, "form-invalid")
    listing = lane.client.get(INSTANCES, params={"process_key": "green_lane"}, headers=ADMIN).json()
    assert listing["total"] == 0  # nothing was started, no dossier number was used
    assert lane.view(lane.submit())["dossier"]["code"].endswith("-0001")
