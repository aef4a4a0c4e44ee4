"""Agency isolation over HTTP: an officer of another agency can neither see nor act on a task, nor read its case,
through any of the task and instance routes. The whole matrix (each agency, a person without one, the assignee and
whoever completed a task, admins, integrators, leads cancelling) is tested where the rules live, on both databases:
tests/engine/test_authorization.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .calls import (
    INSTANCES,
    SKHCN,
    STP,
    TASKS,
    assert_problem,
    deploy,
    instance,
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
