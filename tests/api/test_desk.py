"""Phân công and ủy quyền through /api/v1 on SQLite and PostgreSQL: a lead assigns and reassigns a task within the
agency (officers and other agencies' leads may not), the agency's workload, and a delegation that lets its delegate
act for the delegator's agency while in force, recorded "ký thay", and no longer once it has ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.conftest import auth

from .calls import ADMIN, INSTANCES, PORTAL, SKHCN, SKHCN_2, SKHCN_LEAD, STP, TASKS, assert_problem, deploy, start

STP_LEAD = auth("minh", groups="stp", roles="lead")
DELEGATIONS = "/api/v1/delegations"


def seen(client: TestClient, *people: dict[str, str]) -> None:
    """Each person uses their token once: the directory of people knows them from then on."""
    for headers in people:
        assert client.get(TASKS, headers=headers).status_code == 200


def first_task(client: TestClient) -> tuple[str, str]:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    return started["id"], started["open_tasks"][0]["id"]


def assign(client: TestClient, task_id: str, user_id: str, headers: dict[str, str]) -> Any:
    return client.post(f"{TASKS}/{task_id}/assign", json={"user_id": user_id}, headers=headers)


def history(client: TestClient, instance_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


def test_a_lead_assigns_and_reassigns_within_the_agency(client: TestClient) -> None:
    instance_id, task_id = first_task(client)
    seen(client, SKHCN, SKHCN_2, SKHCN_LEAD, STP, STP_LEAD)

    assert_problem(assign(client, task_id, "an", SKHCN), 403, "forbidden")  # an officer
    assert_problem(assign(client, task_id, "an", STP_LEAD), 403, "forbidden")  # a lead of another agency
    refused = assert_problem(assign(client, task_id, "dung", SKHCN_LEAD), 422, "assignee-not-eligible")
    assert refused["user_id"] == "dung" and "dung" in refused["detail"]
    assert_problem(assign(client, task_id, "nobody", SKHCN_LEAD), 422, "assignee-not-eligible")

    assigned = assign(client, task_id, "an", SKHCN_LEAD)
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["assignee"], assigned.json()["status"]) == ("an", "claimed")
    listed = client.get(TASKS, params={"assignee": "an"}, headers=SKHCN_LEAD).json()
    assert [t["id"] for t in listed["items"]] == [task_id]

    reassigned = assign(client, task_id, "binh", SKHCN_LEAD)
    assert reassigned.status_code == 200, reassigned.text
    assert client.get(TASKS, params={"assignee": "an"}, headers=SKHCN_LEAD).json()["total"] == 0
    assert [t["id"] for t in client.get(TASKS, params={"assignee": "me"}, headers=SKHCN_2).json()["items"]] == [task_id]
    events = [e for e in history(client, instance_id) if e["kind"] == "task_assigned"]
    assert [(e["actor"], e["data"]["user_id"], e["data"].get("previous_user_id")) for e in events] == [
        ("cuong", "an", None),
        ("cuong", "binh", "an"),
    ]
    assert events[0]["data"]["task_id"] == task_id and events[0]["data"]["element_id"] == "t1"

    load = client.get("/api/v1/agencies/skhcn/workload", headers=SKHCN_LEAD)
    assert load.status_code == 200, load.text
    by_id = {o["user_id"]: o for o in load.json()["officers"]}
    assert set(by_id) == {"an", "binh", "cuong"}
    assert (by_id["binh"]["open_tasks"], by_id["an"]["open_tasks"]) == (1, 0)
    assert by_id["binh"]["tasks"][0]["id"] == task_id and load.json()["agency_name"] == "Sở Khoa học và Công nghệ"
    assert_problem(client.get("/api/v1/agencies/skhcn/workload", headers=SKHCN), 403, "forbidden")
    assert_problem(client.get("/api/v1/agencies/skhcn/workload", headers=STP_LEAD), 403, "forbidden")

    people = client.get("/api/v1/people", params={"agency": "skhcn"}, headers=SKHCN)
    assert people.status_code == 200, people.text
    assert {p["id"]: p["groups"] for p in people.json()} == {"an": ["skhcn"], "binh": ["skhcn"], "cuong": ["skhcn"]}
    assert_problem(client.get("/api/v1/people", headers=PORTAL), 403, "forbidden")  # an integrated system


def test_a_delegate_acts_for_the_delegators_agency_until_the_delegation_ends(
    client: TestClient, clock: FakeClock
) -> None:
    instance_id, task_id = first_task(client)
    seen(client, SKHCN_LEAD, STP, SKHCN_2)
    now = clock.now()
    created = client.post(
        DELEGATIONS,
        json={
            "to_user_id": "dung",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
            "reason": "Đi công tác",
        },
        headers=SKHCN_LEAD,
    )
    assert created.status_code == 201, created.text
    delegation = created.json()
    assert (delegation["signing"], delegation["status"], delegation["to_user_id"]) == ("ký thay", "active", "dung")
    assert [d["id"] for d in client.get(DELEGATIONS, headers=STP).json()] == [delegation["id"]]  # received
    assert [d["id"] for d in client.get(DELEGATIONS, headers=SKHCN_LEAD).json()] == [delegation["id"]]  # given

    # dung (Sở Tư pháp) sees and completes the Sở KH&CN task while the delegation is in force
    assert task_id in [t["id"] for t in client.get(TASKS, headers=STP).json()["items"]]
    done = client.post(f"{TASKS}/{task_id}/complete", json={"variables": {}}, headers=STP)
    assert done.status_code == 200, done.text
    [completed] = [e for e in history(client, instance_id) if e["kind"] == "task_completed"]
    assert completed["actor"] == "dung"
    assert (completed["data"]["on_behalf_of"], completed["data"]["signing"]) == ("cuong", "ký thay")
    audit = client.get("/api/v1/audit", params={"kind": "delegation_created"}, headers=ADMIN)
    assert audit.status_code == 200, audit.text
    [event] = audit.json()["items"]
    assert (event["actor"], event["data"]["delegation_id"], event["data"]["to_user_id"]) == (
        "cuong",
        delegation["id"],
        "dung",
    )

    # the delegation ends by itself: the next task of the case is out of dung's reach
    clock.advance(timedelta(days=2, seconds=1))
    next_task = client.get(TASKS, params={"instance_id": instance_id}, headers=SKHCN_2).json()["items"][0]["id"]
    assert_problem(client.post(f"{TASKS}/{next_task}/claim", headers=STP), 403, "not-candidate")
    assert client.get(DELEGATIONS, headers=STP).json()[0]["status"] == "ended"


def test_delegations_are_revoked_by_their_people_and_officers_sign_thua_uy_quyen(
    client: TestClient, clock: FakeClock
) -> None:
    seen(client, SKHCN_2, STP, SKHCN_LEAD)
    now = clock.now()
    body = {"to_user_id": "dung", "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=8)).isoformat()}
    created = client.post(DELEGATIONS, json={**body, "reason": "Nghỉ phép"}, headers=SKHCN_2)
    assert created.status_code == 201, created.text
    assert created.json()["signing"] == "thừa ủy quyền"
    delegation_id = created.json()["id"]
    assert_problem(client.delete(f"{DELEGATIONS}/{delegation_id}", headers=SKHCN_LEAD), 404, "delegation-not-found")
    assert client.delete(f"{DELEGATIONS}/{delegation_id}", headers=SKHCN_2).status_code == 204
    assert client.get(DELEGATIONS, headers=STP).json()[0]["status"] == "revoked"
    revoked = client.get("/api/v1/audit", params={"kind": "delegation_revoked"}, headers=ADMIN).json()["items"]
    assert [(e["actor"], e["data"]) for e in revoked] == [("binh", {"delegation_id": delegation_id})]

    refused = client.post(DELEGATIONS, json={**body, "to_user_id": "nobody", "reason": "x"}, headers=SKHCN_2)
    assert assert_problem(refused, 422, "invalid-input")["field"] == "to_user_id"
    backwards = {**body, "ends_at": now.isoformat(), "starts_at": (now + timedelta(hours=1)).isoformat()}
    assert (
        assert_problem(client.post(DELEGATIONS, json={**backwards, "reason": "x"}, headers=SKHCN_2), 422)["field"]
        == "ends_at"
    )
