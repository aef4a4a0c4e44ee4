"""POST /api/v1/messages: delivery by business key and correlation keys, message start events, role and 404."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .calls import (
    ADMIN,
    INSTANCES,
    MESSAGES,
    MOT_CUA,
    PORTAL,
    SKHCN,
    assert_problem,
    complete,
    deploy,
    instance,
    open_tasks,
    start,
    task_list,
)


def waiting_case(client: TestClient, *, business_key: str | None = None, **variables: Any) -> str:
    """A supplement_flow instance past `check`, waiting for bo_sung_ho_so."""
    started = start(client, "supplement_flow", business_key=business_key, variables=variables)
    [check] = started["open_tasks"]
    assert (check["element_id"], check["candidate_groups"]) == ("check", ["ttpvhcc"])
    complete(client, check["id"], MOT_CUA, du_ho_so=False)
    assert open_tasks(client, started["id"]) == {}
    instance_id: str = started["id"]
    return instance_id


def send(client: TestClient, headers: dict[str, str] = PORTAL, **body: Any) -> Any:
    return client.post(MESSAGES, json=body, headers=headers)


def test_message_by_business_key_moves_the_waiting_instance(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    waiting = waiting_case(client, business_key="HS-1")
    other = waiting_case(client, business_key="HS-2")

    response = send(
        client,
        name="bo_sung_ho_so",
        business_key="HS-1",
        variables={"tai_lieu": ["giấy phép", "bản vẽ"], "so_trang": 7},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"delivered": [{"instance_id": waiting, "started": False}]}
    moved = instance(client, waiting)
    assert [t["element_id"] for t in moved["open_tasks"]] == ["recheck"]
    assert moved["variables"] == {"du_ho_so": False, "tai_lieu": ["giấy phép", "bản vẽ"], "so_trang": 7}
    assert [t["instance_id"] for t in task_list(client, MOT_CUA)["items"]] == [waiting]
    assert open_tasks(client, other) == {}
    received = [
        e for e in client.get(f"{INSTANCES}/{waiting}/history", headers=ADMIN).json() if e["kind"] == "message_received"
    ]
    assert [(e["actor"], e["data"]["message"]) for e in received] == [("portal", "bo_sung_ho_so")]


def test_message_by_correlation_keys_matches_instance_variables(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    first = waiting_case(client, ma_ho_so="A-1")
    second = waiting_case(client, ma_ho_so="A-2")

    response = send(client, name="bo_sung_ho_so", correlation_keys={"ma_ho_so": "A-2"}, variables={"bo_sung": True})

    assert response.status_code == 200, response.text
    assert response.json()["delivered"] == [{"instance_id": second, "started": False}]
    assert set(open_tasks(client, second)) == {"recheck"}
    assert instance(client, second)["variables"]["bo_sung"] is True
    assert open_tasks(client, first) == {}
    assert "bo_sung" not in instance(client, first)["variables"]


def test_the_instance_finishes_after_the_message(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    waiting = waiting_case(client, business_key="HS-3")
    send(client, name="bo_sung_ho_so", business_key="HS-3").raise_for_status()

    complete(client, open_tasks(client, waiting)["recheck"]["id"], MOT_CUA, dat=True)

    assert instance(client, waiting)["status"] == "completed"


def test_a_message_is_consumed_once(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    waiting_case(client, business_key="HS-4")
    send(client, name="bo_sung_ho_so", business_key="HS-4").raise_for_status()

    body = assert_problem(send(client, name="bo_sung_ho_so", business_key="HS-4"), 404, "message-not-correlated")

    assert body["message_name"] == "bo_sung_ho_so"


def test_a_cancelled_instance_no_longer_waits(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    waiting = waiting_case(client, business_key="HS-9")
    client.post(f"{INSTANCES}/{waiting}/cancel", headers=ADMIN).raise_for_status()

    assert_problem(send(client, name="bo_sung_ho_so", business_key="HS-9"), 404, "message-not-correlated")

    assert instance(client, waiting)["status"] == "cancelled"


def test_a_message_nobody_waits_for_is_404(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    not_yet = start(client, "supplement_flow", business_key="HS-5")["id"]  # still at `check`
    waiting_case(client, business_key="HS-6", ma_ho_so="A-6")

    cases: list[dict[str, Any]] = [
        {"name": "bo_sung_ho_so", "business_key": "HS-5"},
        {"name": "bo_sung_ho_so", "business_key": "HS-X"},
        {"name": "khong_ai_cho", "business_key": "HS-6"},
        {"name": "bo_sung_ho_so", "correlation_keys": {"ma_ho_so": "A-7"}},
        {"name": "bo_sung_ho_so", "business_key": "HS-6", "correlation_keys": {"ma_ho_so": "A-7"}},
        {"name": "bao_cao_vuong_mac", "correlation_keys": {"x": 1}},
    ]
    for body in cases:
        problem = assert_problem(send(client, **body), 404, "message-not-correlated")
        assert problem["message_name"] == body["name"]
        assert problem["detail_vi"]
    assert set(open_tasks(client, not_yet)) == {"check"}
    assert client.get(INSTANCES, headers=ADMIN).json()["total"] == 2


def test_a_start_message_starts_a_report_intake_instance(client: TestClient) -> None:
    deploy(client, "messages.bpmn")

    response = send(
        client,
        name="bao_cao_vuong_mac",
        business_key="VM-1",
        variables={"noi_dung": "Vướng mắc thủ tục cấp phép", "muc_do": 2},
    )

    assert response.status_code == 200, response.text
    [delivery] = response.json()["delivered"]
    assert delivery["started"] is True
    started = instance(client, delivery["instance_id"])
    assert (started["process_key"], started["business_key"], started["status"]) == ("report_intake", "VM-1", "running")
    assert started["started_by"] == "portal"
    assert started["variables"] == {"noi_dung": "Vướng mắc thủ tục cấp phép", "muc_do": 2}
    [classify] = started["open_tasks"]
    assert (classify["element_id"], classify["candidate_groups"]) == ("classify", ["skhcn"])
    assert [t["id"] for t in task_list(client, SKHCN)["items"]] == [classify["id"]]

    second = send(client, name="bao_cao_vuong_mac", variables={"noi_dung": "khác"}).json()["delivered"]
    assert second[0]["started"] is True and second[0]["instance_id"] != delivery["instance_id"]
    assert client.get(INSTANCES, params={"process_key": "report_intake"}, headers=ADMIN).json()["total"] == 2


def test_sending_messages_needs_the_integrator_role(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    waiting = waiting_case(client, business_key="HS-8")

    for headers in (MOT_CUA, SKHCN):
        body = assert_problem(send(client, headers, name="bo_sung_ho_so", business_key="HS-8"), 403, "forbidden")
        assert body["required_roles"] == ["integrator"]
    assert_problem(send(client, SKHCN, name="bao_cao_vuong_mac"), 403, "forbidden")

    assert open_tasks(client, waiting) == {}
    assert client.get(INSTANCES, params={"process_key": "report_intake"}, headers=ADMIN).json()["total"] == 0
    assert send(client, ADMIN, name="bo_sung_ho_so", business_key="HS-8").status_code == 200


def test_a_message_several_instances_match_is_refused_unless_all(client: TestClient) -> None:
    deploy(client, "messages.bpmn")
    first = waiting_case(client, business_key="HS-A1", nhom="A")
    second = waiting_case(client, business_key="HS-A2", nhom="A")

    problem = assert_problem(
        send(client, name="bo_sung_ho_so", correlation_keys={"nhom": "A"}), 409, "message-ambiguous"
    )
    assert problem["matches"] == 2 and problem["detail_vi"]
    assert set(open_tasks(client, first)) == set(open_tasks(client, second)) == set()  # nothing moved

    response = send(
        client, name="bo_sung_ho_so", correlation_keys={"nhom": "A"}, all=True, variables={"da_bo_sung": True}
    )
    assert response.status_code == 200, response.text
    assert sorted(d["instance_id"] for d in response.json()["delivered"]) == sorted([first, second])
    assert set(open_tasks(client, first)) == set(open_tasks(client, second)) == {"recheck"}
