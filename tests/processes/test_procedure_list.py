"""The procedure-list process (processes/procedure_list): Sở KH&CN proposes a change of the green-lane procedure
catalogue, Sở Tư pháp reviews it (legal review, a lead signs), the HTKC board gives its opinion (or consents by
silence), Sở KH&CN's lead submits it and the Chairman decides. On approval the end event's engine command makes the
approved list the next version of green_lane's eligibility.dmn in the approving step's transaction: a dossier submitted
afterwards routes by the new rule. A rejection changes nothing. Walked over REST on SQLite and PostgreSQL."""

from __future__ import annotations

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
    MOT_CUA,
    OWNER,
    PORTAL,
    SKHCN,
    SKHCN_LEAD,
    STP,
    TASKS,
    UBND,
    assert_problem,
)
from tests.conftest import auth

PROCESSES = Path(__file__).parents[2] / "processes"
STP_LEAD = auth("minh", groups="stp", roles="lead")
UBND_LEAD = auth("nam", groups="ubnd", roles="lead", name="Trương Hoài Nam")
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2/3/2026 09:00 in Hanoi

ADD_KHCN_06 = {
    "action": "add",
    "procedure_code": "KHCN-06",
    "procedure_name": "Thẩm định công nghệ dự án đầu tư tại Khu công nghệ cao",
    "green_lane": True,
    "standard_days": 10,
    "in_hitech_park": True,
    "joint_processing": False,
}
PROPOSAL = {
    "proposal_summary": "Bổ sung thủ tục thẩm định công nghệ tại Khu công nghệ cao; sửa thời hạn KHCN-01; bỏ KHCN-05.",
    "procedure_changes": [
        ADD_KHCN_06,
        {"action": "change", "procedure_code": "KHCN-01", "standard_days": 10, "joint_processing": True},
        {"action": "remove", "procedure_code": "KHCN-05"},
    ],
}


@dataclass
class Walk:
    client: TestClient
    container: EngineContainer
    clock: FakeClock

    def start(self, variables: dict[str, Any] | None = None, *, status: int = 201) -> Response:
        self.container.executor.cache.clear()
        response = self.client.post(
            INSTANCES, headers=SKHCN, json={"process_key": "procedure_list", "variables": variables or PROPOSAL}
        )
        assert response.status_code == status, response.text
        return response

    def open_tasks(self, instance_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"{INSTANCES}/{instance_id}", headers=ADMIN)
        assert response.status_code == 200, response.text
        tasks: list[dict[str, Any]] = response.json()["open_tasks"]
        return tasks

    def task(self, instance_id: str, element_id: str) -> dict[str, Any]:
        [found] = [t for t in self.open_tasks(instance_id) if t["element_id"] == element_id]
        return found

    def complete(
        self, instance_id: str, element_id: str, headers: dict[str, str], *, status: int = 200, **variables: Any
    ) -> Response:
        task_id = self.task(instance_id, element_id)["id"]
        self.container.executor.cache.clear()
        response = self.client.post(f"{TASKS}/{task_id}/complete", json={"variables": variables}, headers=headers)
        assert response.status_code == status, response.text
        return response

    def green_lane_version(self) -> int:
        found = [d for d in self.client.get(DEFINITIONS, headers=ADMIN).json() if d["key"] == "green_lane"]
        version: int = found[0]["latest_version"]
        return version

    def reviewed_and_submitted(self, instance_id: str) -> None:
        self.complete(
            instance_id,
            "legal_review",
            STP_LEAD,
            review_conclusion="agree",
            review_opinion="Phù hợp quy định về kiểm soát thủ tục hành chính.",
            review_document_number="215/STP-KTVB",
        )
        self.complete(instance_id, "consult_htkc", HTKC, htkc_opinion="Thống nhất phân luồng KHCN-06 về Ban.")
        self.complete(
            instance_id,
            "submit_proposal",
            SKHCN_LEAD,
            submission="submit",
            response_to_review="Tiếp thu toàn bộ ý kiến.",
            submission_document_number="88/TTr-SKHCN",
        )

    def dossier(self, procedure_code: str, *, status: int = 201) -> Response:
        self.container.executor.cache.clear()
        variables = {
            "applicant": {
                "name": "Công ty TNHH Công nghệ Hòa Lạc",
                "id_number": "0101234567",
                "email": "lienhe@hoalac.vn",
                "phone": "0243 123 4567",
            },
            "procedure_code": procedure_code,
            "documents": [{"name": "Đơn đề nghị"}],
        }
        response = self.client.post(
            INSTANCES, headers=PORTAL, json={"process_key": "green_lane", "variables": variables}
        )
        assert response.status_code == status, response.text
        return response


def _deploy(client: TestClient, folder: str) -> None:
    files = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream"))
        for p in sorted((PROCESSES / folder).iterdir())
        if p.is_file()
    ]
    response = client.post(DEFINITIONS, params={"strict": "true"}, files=files, headers=OWNER)
    assert response.status_code == 201, response.text
    assert [(d["key"], d["warnings"]) for d in response.json()] == [(folder, [])]


@pytest.fixture
def walk(client: TestClient, app_container: EngineContainer, clock: FakeClock) -> Walk:
    clock.set(MONDAY)
    _deploy(client, "green_lane")
    _deploy(client, "procedure_list")
    return Walk(client, app_container, clock)


def test_an_approved_change_becomes_the_next_green_lane_catalogue(walk: Walk) -> None:
    before = walk.dossier("KHCN-01").json()["id"]  # a dossier of the old catalogue keeps its version
    instance_id = walk.start().json()["id"]
    assert sorted(t["element_id"] for t in walk.open_tasks(instance_id)) == ["consult_htkc", "legal_review"]
    review = walk.task(instance_id, "legal_review")
    assert (review["candidate_groups"], review["required_role"], review["lane"]) == (["stp"], "lead", "Sở Tư pháp")
    assert review["name"] == "Rà soát pháp lý danh mục thủ tục làn xanh"
    assert_problem(
        walk.complete(instance_id, "legal_review", STP, status=403, review_conclusion="agree", review_opinion="Ổn"),
        403,
        "role-required",
    )
    assert_problem(
        walk.complete(instance_id, "consult_htkc", SKHCN, status=403, htkc_opinion="Thay lời Ban"), 403, "not-candidate"
    )
    walk.reviewed_and_submitted(instance_id)

    approval = walk.task(instance_id, "approve_list")
    assert (approval["candidate_groups"], approval["required_role"]) == (["ubnd"], "lead")
    assert_problem(
        walk.complete(instance_id, "approve_list", UBND, status=403, approval="approve", approval_document_number="1"),
        403,
        "role-required",
    )
    assert walk.green_lane_version() == 1
    walk.complete(instance_id, "approve_list", UBND_LEAD, approval="approve", approval_document_number="612/QĐ-UBND")

    # the approved list is green_lane's next version, deployed in the approval's transaction
    assert walk.green_lane_version() == 2
    view = walk.client.get(f"{INSTANCES}/{instance_id}", headers=ADMIN).json()
    assert view["status"] == "completed" and view["variables"]["htkc_consent"] == "given"
    [revised] = [
        e
        for e in walk.client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
        if e["kind"] == "decision_revised"
    ]
    assert (revised["element_id"], revised["actor"]) == ("list_approved", "nam")
    assert (revised["data"]["decision_id"], revised["data"]["version"], revised["data"]["previous_version"]) == (
        "green_lane_eligibility",
        2,
        1,
    )
    assert revised["data"]["codes"] == ["KHCN-01", "KHCN-02", "KHCN-03", "KHCN-04", "KHCN-06"]
    table = walk.client.get("/api/v1/decisions/green_lane_eligibility", headers=OWNER).json()
    assert table["version"] == 2 and table["processes"] == [{"key": "green_lane", "version": 2}]
    [added] = [r for r in table["rules"] if r["id"] == "rule_khcn_06"]
    assert added["annotation"].startswith("KHCN-06 Thẩm định công nghệ dự án đầu tư tại Khu công nghệ cao: 10 ngày")
    deployed = walk.client.get("/api/v1/audit", params={"process_key": "green_lane"}, headers=ADMIN).json()
    assert any(instance_id in str(e["data"].get("change_note")) for e in deployed["items"] if e["kind"] == "deployed")

    # a new dossier uses the new rule: KHCN-06 goes to the HTKC board with ⌈10 × 0.4⌉ = 4 days
    start_form = walk.client.get(f"{DEFINITIONS}/green_lane/start-form", headers=PORTAL).json()
    assert start_form["version"] == 2
    assert "KHCN-06 – Thẩm định công nghệ dự án đầu tư tại Khu công nghệ cao" in str(start_form["form"])
    new = walk.dossier("KHCN-06").json()["id"]
    walk.complete(new, "check_completeness", MOT_CUA, outcome="complete", routing="confirm")
    variables = walk.client.get(f"{INSTANCES}/{new}", headers=ADMIN).json()["variables"]
    assert (variables["procedure_name"], variables["deadline_days"], variables["processing_agency"]) == (
        ADD_KHCN_06["procedure_name"],
        4,
        "htkc",
    )
    changed = walk.client.get(f"{INSTANCES}/{walk.dossier('KHCN-01').json()['id']}", headers=ADMIN).json()
    assert (changed["variables"]["standard_days"], changed["variables"]["catalogue_routing"]["joint_processing"]) == (
        10,
        True,
    )
    assert_problem(walk.dossier("KHCN-05", status=422), 422, "form-invalid")  # removed from the list
    old = walk.client.get(f"{INSTANCES}/{before}", headers=ADMIN).json()["variables"]
    assert old["standard_days"] == 7  # started before the change


def test_a_rejection_or_a_withdrawal_changes_nothing(walk: Walk) -> None:
    rejected = walk.start().json()["id"]
    walk.reviewed_and_submitted(rejected)
    assert_problem(walk.complete(rejected, "approve_list", UBND_LEAD, status=422, approval="reject"), 422)
    walk.complete(
        rejected, "approve_list", UBND_LEAD, approval="reject", rejection_reason="Chưa đánh giá tác động của KHCN-06"
    )
    withdrawn = walk.start().json()["id"]
    walk.complete(
        withdrawn,
        "legal_review",
        STP_LEAD,
        review_conclusion="disagree",
        review_opinion="KHCN-05 đang được Bộ sửa đổi, chưa nên bỏ.",
    )
    walk.complete(withdrawn, "consult_htkc", HTKC, htkc_opinion="Thống nhất")
    walk.complete(withdrawn, "submit_proposal", SKHCN_LEAD, submission="withdraw", withdrawal_reason="Chờ Bộ sửa đổi")

    for instance_id in (rejected, withdrawn):
        view = walk.client.get(f"{INSTANCES}/{instance_id}", headers=ADMIN).json()
        assert view["status"] == "completed"
        history = walk.client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
        assert not [e for e in history if e["kind"] == "decision_revised"]
    assert walk.green_lane_version() == 1
    assert_problem(walk.dossier("KHCN-06", status=422), 422, "form-invalid")
    assert walk.dossier("KHCN-05").status_code == 201


def test_the_htkc_boards_silence_counts_as_consent(walk: Walk) -> None:
    instance_id = walk.start().json()["id"]
    consultation = walk.task(instance_id, "consult_htkc")
    due = datetime.fromisoformat(consultation["due_at"]).astimezone(UTC)
    assert due == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # five working days: 3–6/3, 9/3 17:00 in Hanoi
    walk.complete(instance_id, "legal_review", STP_LEAD, review_conclusion="agree", review_opinion="Phù hợp")
    walk.clock.set(due + timedelta(minutes=1))
    walk.container.executor.cache.clear()
    assert walk.container.timers.fire_due_timers() == 1
    assert [t["element_id"] for t in walk.open_tasks(instance_id)] == ["submit_proposal"]
    assert walk.client.get(f"{INSTANCES}/{instance_id}", headers=ADMIN).json()["variables"]["htkc_consent"] == "tacit"


def test_a_change_that_does_not_fit_the_catalogue_is_refused_and_nothing_is_deployed(walk: Walk) -> None:
    low_cut = {**ADD_KHCN_06, "cut_rate": 0.3}
    body = assert_problem(
        walk.start({"proposal_summary": "Tỉ lệ thấp", "procedure_changes": [low_cut]}, status=422), 422, "form-invalid"
    )
    assert "cut_rate_basis" in str(body)  # a cut below 60% states its basis
    unknown = {
        "proposal_summary": "Sửa thủ tục không có",
        "procedure_changes": [{"action": "remove", "procedure_code": "KHCN-77"}],
    }
    instance_id = walk.start(unknown).json()["id"]
    walk.reviewed_and_submitted(instance_id)
    body = assert_problem(
        walk.complete(
            instance_id, "approve_list", UBND_LEAD, status=422, approval="approve", approval_document_number="1"
        ),
        422,
        "decision-revision-invalid",
    )
    assert "KHCN-77" in body["detail_vi"]
    assert walk.green_lane_version() == 1
    assert [t["element_id"] for t in walk.open_tasks(instance_id)] == ["approve_list"]  # the approval did not happen
