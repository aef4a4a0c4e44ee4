"""POST /api/v1/tasks/{id}/return and /approve, and what GET /api/v1/tasks/{id} shows of them (returned, draft):
send-back across a parallel gateway, the refusals (a step not on the path, another agency, an officer, no reason),
and an officer's draft approved by a lead after a round of corrections."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.conftest import auth

from .calls import HTKC, SKHCN, STP, TASKS, assert_problem, complete, deploy, instance, open_tasks, start, task_list

UBND_LEAD = auth("lanh_dao_ubnd", groups="ubnd", roles="lead,officer")
STP_LEAD = auth("lanh_dao_stp", groups="stp", roles="lead,officer")
SKHCN_LEAD = auth("lanh_dao_skhcn", groups="skhcn", roles="lead,officer")
UBND = auth("hoa", groups="ubnd")


def _at_decide(client: TestClient, clock: FakeClock) -> str:
    deploy(client, "parallel.bpmn")
    instance_id = start(client, "parallel_review")["id"]
    complete(client, open_tasks(client, instance_id)["receive"]["id"], SKHCN)
    clock.advance(60)
    complete(client, open_tasks(client, instance_id)["legal"]["id"], STP, legal_ok=True)
    clock.advance(60)
    complete(client, open_tasks(client, instance_id)["board"]["id"], HTKC, board_ok=True)
    return instance_id


def _return(client: TestClient, task_id: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"{TASKS}/{task_id}/return", json=body, headers=headers)


def test_return_reopens_the_named_earlier_step_with_the_reason(client: TestClient, clock: FakeClock) -> None:
    instance_id = _at_decide(client, clock)
    decide = open_tasks(client, instance_id)["decide"]["id"]

    response = _return(client, decide, UBND_LEAD, reason="Thiếu ý kiến pháp lý", to_element_id="legal")

    assert response.status_code == 200, response.text
    reopened = response.json()
    assert (reopened["element_id"], reopened["status"]) == ("legal", "open")
    assert set(open_tasks(client, instance_id)) == {"legal"}
    detail = client.get(f"{TASKS}/{reopened['id']}", headers=STP).json()
    assert detail["returned"]["reason"] == "Thiếu ý kiến pháp lý"
    assert detail["returned"]["by"] == "lanh_dao_ubnd" and detail["returned"]["kind"] == "send_back"
    assert detail["returned"]["from_element_id"] == "decide" and detail["returned"]["at"]
    assert client.get(f"{TASKS}/{decide}", headers=UBND_LEAD).json()["status"] == "returned"
    history = client.get(f"/api/v1/process-instances/{instance_id}/history", headers=UBND_LEAD).json()
    kinds = [e["kind"] for e in (history["items"] if isinstance(history, dict) else history)]
    assert "task_returned" in kinds

    complete(client, reopened["id"], STP, legal_ok=True)
    assert set(open_tasks(client, instance_id)) == {"decide"}  # the board's answer was kept by the join


def test_return_refusals_name_the_step_and_change_nothing(client: TestClient, clock: FakeClock) -> None:
    instance_id = _at_decide(client, clock)
    decide = open_tasks(client, instance_id)["decide"]["id"]

    body = assert_problem(
        _return(client, decide, UBND_LEAD, reason="Sai", to_element_id="propose"), 409, "return-target-invalid"
    )
    assert body["element_id"] == "propose" and "propose" in body["detail_vi"]
    assert set(body["targets"]) == {"receive", "legal", "board"}
    assert_problem(_return(client, decide, SKHCN_LEAD, reason="Đơn vị khác"), 403, "not-candidate")
    assert_problem(_return(client, decide, UBND, reason="Chuyên viên"), 403, "role-required")
    assert_problem(_return(client, decide, UBND_LEAD, reason="   "), 422)
    assert set(open_tasks(client, instance_id)) == {"decide"}
    assert instance(client, instance_id)["status"] == "running"


def test_a_draft_is_returned_corrected_and_approved_with_its_data(client: TestClient) -> None:
    deploy(client, "drafted_reply.bpmn")
    instance_id = start(client, "drafted_reply")["id"]
    complete(client, open_tasks(client, instance_id)["receive"]["id"], SKHCN)
    reply = open_tasks(client, instance_id)["reply"]["id"]
    assert client.get(f"{TASKS}/{reply}", headers=STP).json()["approval"] == "lead"

    drafted = complete(client, reply, STP, answer="Bản 1").json()
    assert drafted["status"] == "awaiting_approval" and drafted["assignee"] == "dung"
    # the instance's open task in the officer's inbox is the draft itself, awaiting the leads, as the inbox lists it
    assert drafted["next_tasks"] == task_list(client, STP, instance_id=instance_id)["items"]
    assert [(t["id"], t["status"]) for t in drafted["next_tasks"]] == [(reply, "awaiting_approval")]
    assert [t["id"] for t in task_list(client, STP_LEAD)["items"]] == [reply]
    assert client.get(f"{TASKS}/{reply}", headers=STP_LEAD).json()["draft"]["data"] == {"answer": "Bản 1"}
    assert_problem(client.post(f"{TASKS}/{reply}/approve", json={}, headers=STP), 403, "role-required")

    back = _return(client, reply, STP_LEAD, reason="Sửa căn cứ")
    assert back.status_code == 200, back.text
    assert (back.json()["status"], back.json()["assignee"]) == ("claimed", "dung")
    seen = client.get(f"{TASKS}/{reply}", headers=STP).json()
    assert seen["returned"]["reason"] == "Sửa căn cứ" and seen["returned"]["kind"] == "draft_returned"
    assert seen["values"]["answer"] == "Bản 1"  # the draft to correct

    complete(client, reply, STP, answer="Bản 2")
    approved = client.post(f"{TASKS}/{reply}/approve", json={"comment": "Đồng ý"}, headers=STP_LEAD)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["completed_by"]) == ("completed", "lanh_dao_stp")
    assert instance(client, instance_id)["variables"]["answer"] == "Bản 2"
    assert set(open_tasks(client, instance_id)) == {"check"}
    assert_problem(client.post(f"{TASKS}/{reply}/approve", json={}, headers=STP_LEAD), 409, "task-not-open")
