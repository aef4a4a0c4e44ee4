"""Agency isolation: an officer sees and acts on his agency's tasks and the cases he takes part in, nothing else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth

from .calls import (
    ADMIN,
    HTKC,
    INSTANCES,
    PORTAL,
    SKHCN,
    STP,
    TASKS,
    assert_problem,
    complete,
    deploy,
    instance,
    open_tasks,
    start,
    task_list,
)


@pytest.fixture
def skhcn_case(client: TestClient) -> tuple[str, str]:
    """A four_tasks instance (skhcn only) and its open task t1."""
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks", business_key="HS-SKHCN")
    return started["id"], started["open_tasks"][0]["id"]


def test_an_officer_of_another_agency_cannot_see_or_touch_the_task(
    client: TestClient, skhcn_case: tuple[str, str]
) -> None:
    instance_id, t1 = skhcn_case

    assert task_list(client, STP)["total"] == 0
    assert task_list(client, STP, instance_id=instance_id)["total"] == 0
    assert task_list(client, STP, candidate_group="skhcn")["total"] == 0
    assert task_list(client, STP, process_key="four_tasks")["total"] == 0
    assert_problem(client.get(f"{TASKS}/{t1}", headers=STP), 403, "not-candidate")
    assert_problem(client.post(f"{TASKS}/{t1}/claim", headers=STP), 403, "not-candidate")
    assert_problem(
        client.post(f"{TASKS}/{t1}/complete", json={"variables": {"x": 1}}, headers=STP), 403, "not-candidate"
    )

    task = client.get(f"{TASKS}/{t1}", headers=SKHCN).json()
    assert (task["status"], task["assignee"]) == ("open", None)
    assert instance(client, instance_id)["variables"] == {}


def test_an_officer_of_another_agency_cannot_read_the_instance(client: TestClient, skhcn_case: tuple[str, str]) -> None:
    instance_id, _ = skhcn_case

    body = assert_problem(client.get(f"{INSTANCES}/{instance_id}", headers=STP), 403, "forbidden")
    assert body["instance_id"] == instance_id
    assert "HS-SKHCN" not in str(body)
    assert_problem(client.get(f"{INSTANCES}/{instance_id}/history", headers=STP), 403, "forbidden")
    page = client.get(INSTANCES, headers=STP).json()
    assert (page["total"], page["items"]) == (0, [])
    assert client.get(INSTANCES, params={"business_key": "HS-SKHCN"}, headers=STP).json()["total"] == 0

    assert instance(client, instance_id, headers=SKHCN)["business_key"] == "HS-SKHCN"
    assert client.get(f"{INSTANCES}/{instance_id}/history", headers=SKHCN).status_code == 200
    assert [i["id"] for i in client.get(INSTANCES, headers=SKHCN).json()["items"]] == [instance_id]


def test_a_person_without_groups_sees_nothing(client: TestClient, skhcn_case: tuple[str, str]) -> None:
    instance_id, t1 = skhcn_case
    nobody = auth("vo_danh")

    assert task_list(client, nobody)["total"] == 0
    assert client.get(INSTANCES, headers=nobody).json()["total"] == 0
    assert_problem(client.get(f"{INSTANCES}/{instance_id}", headers=nobody), 403, "forbidden")
    assert_problem(client.get(f"{TASKS}/{t1}", headers=nobody), 403, "not-candidate")


def test_admin_and_integrator_see_every_case(client: TestClient, skhcn_case: tuple[str, str]) -> None:
    instance_id, t1 = skhcn_case

    assert [t["id"] for t in task_list(client, ADMIN)["items"]] == [t1]
    assert client.get(f"{TASKS}/{t1}", headers=ADMIN).status_code == 200
    assert instance(client, instance_id, headers=ADMIN)["id"] == instance_id
    assert instance(client, instance_id, headers=PORTAL)["id"] == instance_id
    assert client.get(INSTANCES, headers=ADMIN).json()["total"] == 1


def test_admin_may_complete_any_task(client: TestClient, skhcn_case: tuple[str, str]) -> None:
    instance_id, t1 = skhcn_case

    done = complete(client, t1, ADMIN).json()

    assert (done["status"], done["completed_by"]) == ("completed", "root")
    assert set(open_tasks(client, instance_id)) == {"t2"}


def test_an_agency_joins_the_case_when_its_task_appears(client: TestClient) -> None:
    deploy(client, "parallel.bpmn")
    started = start(client, "parallel_review")
    instance_id = started["id"]
    assert_problem(client.get(f"{INSTANCES}/{instance_id}", headers=STP), 403, "forbidden")

    complete(client, started["open_tasks"][0]["id"], SKHCN)

    assert [t["element_id"] for t in task_list(client, STP)["items"]] == ["legal"]
    assert [t["element_id"] for t in task_list(client, HTKC)["items"]] == ["board"]
    seen_by_stp = instance(client, instance_id, headers=STP)
    assert {t["element_id"] for t in seen_by_stp["open_tasks"]} == {"legal", "board"}
    board = open_tasks(client, instance_id)["board"]["id"]
    assert_problem(client.get(f"{TASKS}/{board}", headers=STP), 403, "not-candidate")
    assert_problem(client.post(f"{TASKS}/{board}/complete", headers=STP), 403, "not-candidate")
    assert set(open_tasks(client, instance_id)) == {"legal", "board"}
    assert_problem(client.get(f"{INSTANCES}/{instance_id}", headers=auth("x", groups="ubnd")), 403, "forbidden")


def test_whoever_completed_a_task_still_sees_it_and_its_case(client: TestClient) -> None:
    deploy(client, "parallel.bpmn")
    started = start(client, "parallel_review")
    receive = started["open_tasks"][0]["id"]
    moved = auth("an", groups="sxd")  # same person, later in an agency with no part in the case
    complete(client, receive, SKHCN)

    assert client.get(f"{TASKS}/{receive}", headers=moved).json()["completed_by"] == "an"
    assert [t["id"] for t in task_list(client, moved, status="completed")["items"]] == [receive]
    assert instance(client, started["id"], headers=moved)["id"] == started["id"]
    assert [i["id"] for i in client.get(INSTANCES, headers=moved).json()["items"]] == [started["id"]]
    assert task_list(client, moved)["total"] == 0
