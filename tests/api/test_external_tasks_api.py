"""/api/v1/external-tasks: a worker's round trip over HTTP (fetch-and-lock, complete, failure, incident on the
instance, retries, BPMN error, extend-lock, unlock), problem+json for every refusal, roles. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from phoihop.engine.clock import FakeClock
from tests.conftest import FIXTURES, auth

from .calls import ADMIN, INSTANCES, OWNER, PORTAL, SKHCN, assert_problem, complete, instance, start, upload

EXTERNAL = "/api/v1/external-tasks"
TOPIC = "gui_van_ban"
PROCESS = "gui_van_ban_lien_thong"
WORKER = auth("he-thong-van-ban", roles="integrator")  # another integrated system
LEAD = auth("cuong", groups="skhcn", roles="lead,officer")


def deploy_external(client: TestClient, name: str = "gui_van_ban.bpmn") -> None:
    response = upload(client, (name, (FIXTURES / "external" / name).read_bytes()), headers=OWNER)
    assert response.status_code == 201, response.text


def fetch(
    client: TestClient, worker_id: str, *, headers: dict[str, str] = WORKER, status: int = 200, **extra: Any
) -> Any:
    body = {"worker_id": worker_id, "topics": [{"topic": TOPIC, "lock_duration": 60_000}], **extra}
    response = client.post(f"{EXTERNAL}/fetch-and-lock", json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def post(client: TestClient, task_id: str, action: str, headers: dict[str, str] = WORKER, **body: Any) -> Response:
    return client.post(f"{EXTERNAL}/{task_id}/{action}", json=body, headers=headers)


def begin(client: TestClient, business_key: str = "VB-001") -> str:
    deploy_external(client)
    started = start(
        client,
        PROCESS,
        business_key=business_key,
        variables={"trich_yeu": "Xin ý kiến dự thảo", "noi_nhan": "Sở Tư pháp"},
    )
    assert started["open_tasks"] == [] and started["incidents"] == []
    instance_id: str = started["id"]
    return instance_id


def test_a_completion_followed_by_a_message_end_event_answers_200_and_starts_the_follow_up(client: TestClient) -> None:
    """Regression: this answered 500 and left the task locked (the external-task commands could not publish)."""
    deploy_external(client, "theo_doi_ket_qua.bpmn")
    deploy_external(client, "gui_va_bao_ket_qua.bpmn")
    started = start(client, "gui_va_bao_ket_qua", business_key="VB-778", variables={})
    (locked,) = fetch(client, "van-thu-1")

    response = post(client, locked["id"], "complete", worker_id="van-thu-1", variables={"so_van_ban": "78/SKHCN"})

    assert response.status_code == 200, response.text
    assert instance(client, started["id"])["status"] == "completed"
    follow_ups = client.get(INSTANCES, params={"process_key": "theo_doi_ket_qua"}, headers=ADMIN).json()["items"]
    assert [(i["business_key"], i["status"]) for i in follow_ups] == [("VB-778", "running")]


def test_a_worker_fetches_locks_and_completes_over_http(client: TestClient, clock: FakeClock) -> None:
    instance_id = begin(client)
    listed = client.get(EXTERNAL, params={"topic": TOPIC, "status": "open"}, headers=WORKER)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 1
    (row,) = page["items"]
    assert (row["instance_id"], row["business_key"], row["element_id"], row["status"], row["priority"]) == (
        instance_id,
        "VB-001",
        "Task_GuiVanBan",
        "open",
        10,
    )

    (task,) = fetch(
        client,
        "vb-1",
        topics=[{"topic": TOPIC, "lock_duration": 30_000, "variables": ["noi_nhan"]}],
        max_tasks=5,
        use_priority=True,
    )
    assert task["id"] == row["id"] and task["worker_id"] == "vb-1" and task["status"] == "locked"
    assert task["variables"] == {"noi_nhan": "Sở Tư pháp"}
    assert fetch(client, "vb-2") == []
    assert client.get(EXTERNAL, params={"status": "locked", "worker_id": "vb-1"}, headers=WORKER).json()["total"] == 1

    wrong = post(client, task["id"], "complete", worker_id="vb-2", variables={})
    assert_problem(wrong, 409, "external-task-not-locked")
    body = post(client, task["id"], "complete", worker_id="vb-1", variables={"so_van_ban": "125/SKHCN-VP"})
    assert body.status_code == 200, body.text
    assert body.json()["status"] == "completed"
    again = post(client, task["id"], "complete", worker_id="vb-1", variables={})
    assert_problem(again, 409, "external-task-not-active")

    moved = instance(client, instance_id)
    assert [t["element_id"] for t in moved["open_tasks"]] == ["Task_XacNhan"]
    assert moved["variables"]["so_van_ban"] == "125/SKHCN-VP"
    history = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    (done,) = [e for e in history if e["kind"] == "external_task_completed"]
    assert done["actor"] == "he-thong-van-ban" and done["data"]["worker_id"] == "vb-1"
    complete(client, moved["open_tasks"][0]["id"], SKHCN)
    assert instance(client, instance_id)["status"] == "completed"


def test_lock_expiry_extend_and_unlock(client: TestClient, clock: FakeClock) -> None:
    begin(client)
    (task,) = fetch(client, "vb-1", topics=[{"topic": TOPIC, "lock_duration": 1_000}])
    extended = post(client, task["id"], "extend-lock", worker_id="vb-1", new_duration=120_000)
    assert extended.status_code == 200, extended.text
    clock.advance(60)
    assert fetch(client, "vb-2") == []
    clock.advance(61)
    expired = post(client, task["id"], "complete", worker_id="vb-1", variables={})
    body = assert_problem(expired, 409, "external-task-lock-expired")
    assert body["task_id"] == task["id"] and body["detail_vi"]
    assert client.get(f"{EXTERNAL}/{task['id']}", headers=WORKER).json()["status"] == "open"

    (taken,) = fetch(client, "vb-2")
    freed = post(client, taken["id"], "unlock", headers=PORTAL)
    assert freed.status_code == 200, freed.text
    assert (freed.json()["status"], freed.json()["worker_id"]) == ("open", None)
    assert [t["id"] for t in fetch(client, "vb-3")] == [task["id"]]


def test_failures_make_an_incident_shown_on_the_instance_and_retries_resolve_it(
    client: TestClient, clock: FakeClock
) -> None:
    instance_id = begin(client)
    (task,) = fetch(client, "vb-1")
    failed = post(
        client,
        task["id"],
        "failure",
        worker_id="vb-1",
        error_message="Trục liên thông không phản hồi",
        error_details="Traceback ...\nConnectTimeout",
        retries=1,
        retry_timeout=30_000,
    )
    assert failed.status_code == 200, failed.text
    assert (failed.json()["status"], failed.json()["retries"]) == ("open", 1)
    assert fetch(client, "vb-1") == []
    clock.advance(30)
    fetch(client, "vb-1")
    incident = post(client, task["id"], "failure", worker_id="vb-1", error_message="Nơi nhận không tồn tại", retries=0)
    assert incident.json()["status"] == "incident"
    detail = client.get(f"{EXTERNAL}/{task['id']}", headers=WORKER).json()
    assert detail["error_details"] is None and detail["error_message"] == "Nơi nhận không tồn tại"

    shown = instance(client, instance_id)
    assert shown["status"] == "incident"  # as an instance with a failed step reads, until the retries are set
    listed = client.get(INSTANCES, params={"status": "incident"}, headers=ADMIN).json()["items"]
    assert [i["id"] for i in listed] == [instance_id]
    assert [(i["external_task_id"], i["topic"], i["error_message"]) for i in shown["incidents"]] == [
        (task["id"], TOPIC, "Nơi nhận không tồn tại")
    ]
    kinds = [e["kind"] for e in client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()]
    assert kinds.count("external_task_failed") == 2 and "incident_created" in kinds
    assert client.get(EXTERNAL, params={"status": "incident"}, headers=ADMIN).json()["total"] == 1

    refused = client.put(f"{EXTERNAL}/{task['id']}/retries", json={"retries": -1}, headers=ADMIN)
    assert_problem(refused, 422, "invalid-request")
    resolved = client.put(f"{EXTERNAL}/{task['id']}/retries", json={"retries": 2}, headers=ADMIN)
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["retries"]) == ("open", 2)
    assert (instance(client, instance_id)["status"], instance(client, instance_id)["incidents"]) == ("running", [])
    (again,) = fetch(client, "vb-2")
    assert post(client, again["id"], "complete", worker_id="vb-2", variables={}).status_code == 200


def test_a_bpmn_error_follows_the_error_boundary(client: TestClient) -> None:
    instance_id = begin(client)
    (task,) = fetch(client, "vb-1")
    uncaught = post(client, task["id"], "bpmn-error", worker_id="vb-1", error_code="KHONG_CO")
    assert assert_problem(uncaught, 422, "bpmn-error-not-caught")["error_code"] == "KHONG_CO"
    caught = post(
        client,
        task["id"],
        "bpmn-error",
        worker_id="vb-1",
        error_code="VAN_BAN_BI_TU_CHOI",
        error_message="Sai thể thức",
        variables={"ly_do": "Sai thể thức"},
    )
    assert caught.status_code == 200, caught.text
    moved = instance(client, instance_id)
    assert [t["element_id"] for t in moved["open_tasks"]] == ["Task_XuLyTuChoi"]
    assert moved["variables"]["ly_do"] == "Sai thể thức"


def test_cancelling_the_instance_closes_the_task(client: TestClient) -> None:
    instance_id = begin(client)
    (task,) = fetch(client, "vb-1")
    cancelled = client.post(f"{INSTANCES}/{instance_id}/cancel", json={"reason": "Rút văn bản"}, headers=ADMIN)
    assert cancelled.status_code == 200, cancelled.text
    assert client.get(f"{EXTERNAL}/{task['id']}", headers=WORKER).json()["status"] == "cancelled"
    assert fetch(client, "vb-2") == []
    assert_problem(
        post(client, task["id"], "complete", worker_id="vb-1", variables={}), 409, "external-task-not-active"
    )


def test_officers_and_leads_are_refused(client: TestClient) -> None:
    begin(client)
    (task,) = fetch(client, "vb-1")
    for headers in (SKHCN, LEAD):
        assert_problem(fetch_response(client, headers), 403, "forbidden")
        assert_problem(client.get(EXTERNAL, headers=headers), 403, "forbidden")
        assert_problem(client.get(f"{EXTERNAL}/{task['id']}", headers=headers), 403, "forbidden")
        assert_problem(post(client, task["id"], "complete", headers, worker_id="vb-1", variables={}), 403, "forbidden")
        assert_problem(
            client.put(f"{EXTERNAL}/{task['id']}/retries", json={"retries": 1}, headers=headers), 403, "forbidden"
        )
    assert_problem(client.post(f"{EXTERNAL}/fetch-and-lock", json={}), 401, "unauthenticated")
    assert post(client, task["id"], "complete", ADMIN, worker_id="vb-1", variables={}).status_code == 200


def fetch_response(client: TestClient, headers: dict[str, str]) -> Response:
    return client.post(
        f"{EXTERNAL}/fetch-and-lock",
        json={"worker_id": "w", "topics": [{"topic": TOPIC, "lock_duration": 1000}]},
        headers=headers,
    )


def test_bad_requests_are_problems_not_errors(client: TestClient) -> None:
    begin(client)
    for body in (
        {"worker_id": "w", "topics": []},
        {"worker_id": "", "topics": [{"topic": TOPIC, "lock_duration": 1000}]},
        {"worker_id": "w", "topics": [{"topic": TOPIC, "lock_duration": 0}]},
        {"worker_id": "w", "max_tasks": 1000, "topics": [{"topic": TOPIC, "lock_duration": 1000}]},
        {"workerId": "w", "topics": [{"topicName": TOPIC, "lockDuration": 1000}]},
    ):
        assert_problem(client.post(f"{EXTERNAL}/fetch-and-lock", json=body, headers=WORKER), 422, "invalid-request")
    twice = {"worker_id": "w", "topics": [{"topic": TOPIC, "lock_duration": 1000}] * 2}
    assert_problem(client.post(f"{EXTERNAL}/fetch-and-lock", json=twice, headers=WORKER), 422, "invalid-input")
    for task_id in ("khong-co", "00000000-0000-0000-0000-000000000000", "a" * 300):
        assert_problem(client.get(f"{EXTERNAL}/{task_id}", headers=WORKER), 404, "external-task-not-found")
        assert_problem(post(client, task_id, "complete", worker_id="w", variables={}), 404, "external-task-not-found")
    (task,) = fetch(client, "vb-1")
    assert_problem(
        post(client, task["id"], "complete", worker_id="vb-1", variables={"_x": 1}), 422, "invalid-variables"
    )
    assert_problem(client.get(EXTERNAL, params={"status": "paused"}, headers=WORKER), 422, "invalid-request")
