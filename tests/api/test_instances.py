"""POST/GET /api/v1/process-instances: start, read, list with filters and paging, history, cancel, idempotency."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.conftest import auth

from .calls import (
    ADMIN,
    INSTANCES,
    OWNER,
    PORTAL,
    SKHCN,
    SKHCN_LEAD,
    STP,
    TASKS,
    assert_problem,
    bpmn,
    complete,
    deploy,
    instance,
    start,
    upload,
)


def instance_page(client: TestClient, headers: dict[str, str] = ADMIN, **params: Any) -> dict[str, Any]:
    response = client.get(INSTANCES, params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_start_returns_the_instance_with_its_first_task_and_location(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")

    response = client.post(
        INSTANCES,
        json={
            "process_key": "four_tasks",
            "business_key": "HS-001",
            "variables": {"ho_ten": "Nguyễn Văn A", "so_trang": 12},
        },
        headers=PORTAL,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{INSTANCES}/{body['id']}"
    assert body["process_key"] == "four_tasks"
    assert body["process_version"] == 1
    assert body["business_key"] == "HS-001"
    assert body["status"] == "running"
    assert body["started_by"] == "portal"
    assert body["started_at"] == "2026-01-05T08:00:00Z"
    assert body["ended_at"] is None and body["error"] is None
    assert body["variables"] == {"ho_ten": "Nguyễn Văn A", "so_trang": 12}
    [task] = body["open_tasks"]
    assert (task["element_id"], task["name"], task["status"]) == ("t1", "Tiếp nhận", "open")
    assert task["candidate_groups"] == ["skhcn"]
    assert task["instance_id"] == body["id"]

    assert instance(client, body["id"]) == body
    assert client.get(response.headers["location"], headers=PORTAL).json() == body


def test_an_officer_may_start_and_then_sees_his_instance(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")

    started = start(client, "four_tasks", headers=STP)

    assert started["started_by"] == "dung"
    assert instance(client, started["id"], headers=STP)["id"] == started["id"]
    assert [i["id"] for i in instance_page(client, headers=STP)["items"]] == [started["id"]]


def test_a_process_owner_alone_may_not_start(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")

    body = assert_problem(client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=OWNER), 403, "forbidden")

    assert set(body["required_roles"]) == {"integrator", "officer", "lead"}
    assert instance_page(client)["total"] == 0


def test_unknown_process_is_404(client: TestClient) -> None:
    body = assert_problem(
        client.post(INSTANCES, json={"process_key": "khong_co"}, headers=PORTAL), 404, "definition-not-found"
    )
    assert body["process_key"] == "khong_co"
    assert body["detail_vi"]


def test_start_a_chosen_version_or_the_latest(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    renamed = bpmn("four_tasks.bpmn").replace('name="Tiếp nhận"'.encode(), 'name="Nhận hồ sơ"'.encode())
    upload(client, ("four_tasks.bpmn", renamed))

    latest = start(client, "four_tasks")
    first = start(client, "four_tasks", version=1)

    assert (latest["process_version"], latest["open_tasks"][0]["name"]) == (2, "Nhận hồ sơ")
    assert (first["process_version"], first["open_tasks"][0]["name"]) == (1, "Tiếp nhận")
    assert_problem(
        client.post(INSTANCES, json={"process_key": "four_tasks", "version": 9}, headers=PORTAL),
        404,
        "definition-not-found",
    )


def test_unknown_instance_is_404(client: TestClient) -> None:
    for path in ("", "/history"):
        body = assert_problem(
            client.get(f"{INSTANCES}/00000000-0000-0000-0000-000000000000{path}", headers=ADMIN),
            404,
            "instance-not-found",
        )
        assert body["instance_id"] == "00000000-0000-0000-0000-000000000000"


def test_list_filters_by_process_business_key_and_status(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    deploy(client, "parallel.bpmn")
    ids = {}
    for key in ("HS-1", "HS-2", "HS-3"):
        ids[key] = start(client, "four_tasks", business_key=key)["id"]
        clock.advance(timedelta(minutes=1))
    other = start(client, "parallel_review", business_key="HS-1")["id"]
    client.post(f"{INSTANCES}/{ids['HS-2']}/cancel", headers=ADMIN).raise_for_status()

    everything = instance_page(client)
    assert everything["total"] == 4
    assert [i["id"] for i in everything["items"]] == [other, ids["HS-3"], ids["HS-2"], ids["HS-1"]]
    assert set(everything["items"][0]) >= {"id", "process_key", "business_key", "status", "started_at"}
    assert "variables" not in everything["items"][0]

    by_key = instance_page(client, process_key="four_tasks")
    assert (by_key["total"], {i["process_key"] for i in by_key["items"]}) == (3, {"four_tasks"})
    by_business = instance_page(client, business_key="HS-1")
    assert {i["id"] for i in by_business["items"]} == {ids["HS-1"], other}
    both = instance_page(client, process_key="four_tasks", business_key="HS-1")
    assert [i["id"] for i in both["items"]] == [ids["HS-1"]]
    cancelled = instance_page(client, status="cancelled")
    assert [(i["id"], i["status"]) for i in cancelled["items"]] == [(ids["HS-2"], "cancelled")]
    assert instance_page(client, status="running")["total"] == 3
    assert instance_page(client, process_key="khong_co") == {"total": 0, "limit": 50, "offset": 0, "items": []}


def test_list_pages_with_limit_and_offset(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    ids = []
    for n in range(5):
        ids.append(start(client, "four_tasks", business_key=f"HS-{n}")["id"])
        clock.advance(timedelta(seconds=30))
    newest_first = list(reversed(ids))

    pages = [instance_page(client, limit=2, offset=offset) for offset in (0, 2, 4, 6)]

    assert [(p["total"], p["limit"], p["offset"]) for p in pages] == [(5, 2, 0), (5, 2, 2), (5, 2, 4), (5, 2, 6)]
    assert [[i["id"] for i in p["items"]] for p in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:],
        [],
    ]


def test_history_records_who_did_what_when_in_order(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks", business_key="HS-9", variables={"so_trang": 3})
    t1 = started["open_tasks"][0]["id"]
    clock.advance(timedelta(hours=1))
    client.post(f"{TASKS}/{t1}/claim", headers=SKHCN).raise_for_status()
    clock.advance(timedelta(hours=1))
    complete(client, t1, SKHCN, y_kien="đủ hồ sơ")

    response = client.get(f"{INSTANCES}/{started['id']}/history", headers=SKHCN)

    assert response.status_code == 200, response.text
    events = [e for e in response.json() if e["kind"] != "element_completed"]
    assert [(e["kind"], e["actor"], e["at"]) for e in events] == [
        ("instance_started", "portal", "2026-01-05T08:00:00Z"),
        ("task_claimed", "an", "2026-01-05T09:00:00Z"),
        ("task_completed", "an", "2026-01-05T10:00:00Z"),
    ]
    assert events[0]["data"] == {"variables": {"so_trang": 3}, "business_key": "HS-9", "version": 1}
    assert (events[1]["element_id"], events[1]["task_id"]) == ("t1", t1)
    assert events[2]["data"] == {"variables": {"y_kien": "đủ hồ sơ"}, "name": "Tiếp nhận"}
    ids = [e["id"] for e in response.json()]
    assert ids == sorted(ids)
    assert "start" in [e["element_id"] for e in response.json() if e["kind"] == "element_completed"]


def test_cancel_closes_the_instance_and_its_open_tasks(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    t1 = started["open_tasks"][0]["id"]
    clock.advance(timedelta(minutes=5))

    response = client.post(
        f"{INSTANCES}/{started['id']}/cancel", json={"reason": "Công dân rút hồ sơ"}, headers=SKHCN_LEAD
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["ended_at"], body["open_tasks"]) == ("cancelled", "2026-01-05T08:05:00Z", [])
    task = client.get(f"{TASKS}/{t1}", headers=ADMIN).json()
    assert (task["status"], task["completed_at"]) == ("cancelled", "2026-01-05T08:05:00Z")
    assert client.get(TASKS, headers=SKHCN).json()["total"] == 0
    last = client.get(f"{INSTANCES}/{started['id']}/history", headers=ADMIN).json()[-1]
    assert (last["kind"], last["data"]) == ("instance_cancelled", {"reason": "Công dân rút hồ sơ"})


def test_a_cancelled_instance_refuses_a_second_cancel_and_task_completion(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    client.post(f"{INSTANCES}/{started['id']}/cancel", headers=ADMIN).raise_for_status()

    again = assert_problem(
        client.post(f"{INSTANCES}/{started['id']}/cancel", headers=ADMIN), 409, "instance-not-running"
    )
    assert again["detail_vi"]
    assert_problem(
        client.post(f"{TASKS}/{started['open_tasks'][0]['id']}/complete", headers=SKHCN), 409, "task-not-open"
    )


def test_cancel_needs_lead_or_admin(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")

    body = assert_problem(client.post(f"{INSTANCES}/{started['id']}/cancel", headers=SKHCN), 403, "forbidden")

    assert "lead" in body["required_roles"]
    after = instance(client, started["id"])
    assert (after["status"], len(after["open_tasks"])) == ("running", 1)


def test_a_lead_of_an_uninvolved_agency_may_not_cancel(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")

    assert_problem(
        client.post(f"{INSTANCES}/{started['id']}/cancel", headers=auth("lan", groups="stp", roles="lead")),
        403,
        "forbidden",
    )
    assert instance(client, started["id"])["status"] == "running"


def test_cancel_unknown_instance_is_404(client: TestClient) -> None:
    assert_problem(client.post(f"{INSTANCES}/khong-ton-tai/cancel", headers=ADMIN), 404, "instance-not-found")


def test_idempotency_key_retry_returns_the_same_instance(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    body = {"process_key": "four_tasks", "business_key": "HS-7", "variables": {"a": [1, 2]}}
    headers = {**PORTAL, "Idempotency-Key": "portal-req-7"}

    first = client.post(INSTANCES, json=body, headers=headers)
    retry = client.post(INSTANCES, json=body, headers=headers)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers["location"] == first.headers["location"]
    assert instance_page(client)["total"] == 1
    assert client.get(TASKS, headers=SKHCN).json()["total"] == 1


def test_idempotency_key_with_another_body_is_422(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    headers = {**PORTAL, "Idempotency-Key": "portal-req-8"}
    client.post(INSTANCES, json={"process_key": "four_tasks", "business_key": "HS-8"}, headers=headers)

    response = client.post(INSTANCES, json={"process_key": "four_tasks", "business_key": "HS-9"}, headers=headers)

    body = assert_problem(response, 422, "idempotency-conflict")
    assert body["idempotency_key"] == "portal-req-8"
    assert [i["business_key"] for i in instance_page(client)["items"]] == ["HS-8"]


def test_idempotency_keys_belong_to_their_caller(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    body = {"process_key": "four_tasks"}

    one = client.post(INSTANCES, json=body, headers={**PORTAL, "Idempotency-Key": "k"})
    other = client.post(INSTANCES, json=body, headers={**SKHCN, "Idempotency-Key": "k"})

    assert (one.status_code, other.status_code) == (201, 201)
    assert one.json()["id"] != other.json()["id"]
    assert instance_page(client)["total"] == 2


def test_a_failed_start_does_not_burn_the_idempotency_key(client: TestClient) -> None:
    headers = {**PORTAL, "Idempotency-Key": "early"}
    assert_problem(client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=headers), 404)
    deploy(client, "four_tasks.bpmn")

    response = client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=headers)

    assert response.status_code == 201, response.text
    assert instance_page(client)["total"] == 1


def test_overlong_idempotency_key_is_422(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")

    response = client.post(
        INSTANCES, json={"process_key": "four_tasks"}, headers={**PORTAL, "Idempotency-Key": "k" * 201}
    )

    body = assert_problem(response, 422, "invalid-request")
    assert "idempotency-key" in body["detail"].lower()
    assert instance_page(client)["total"] == 0
