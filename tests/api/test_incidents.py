"""The incident calls (issue 14, item 7): list with counts, retry with variables, skip with a reason; another
agency's lead is refused, an officer too."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.calls import ADMIN, INSTANCES, PORTAL, SKHCN, SKHCN_LEAD, assert_problem, auth, instance, upload
from tests.engine.test_incidents import XML

INCIDENTS = "/api/v1/incidents"
STP_LEAD = auth("lan", groups="stp", roles="lead")


def _failed(client: TestClient) -> tuple[str, dict[str, Any]]:
    assert upload(client, ("le_phi.bpmn", XML.encode())).status_code == 201
    started = client.post(INSTANCES, json={"process_key": "le_phi"}, headers=PORTAL).json()
    assert started["status"] == "incident" and [t["element_id"] for t in started["open_tasks"]] == ["tham_dinh"]
    page = client.get(INCIDENTS, params={"process_key": "le_phi"}, headers=SKHCN_LEAD)
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["counts"]) == (1, {"le_phi": 1})
    return started["id"], body["items"][0]


def test_list_and_retry_with_the_variable_fixed(client: TestClient) -> None:
    instance_id, incident = _failed(client)
    assert (incident["element_id"], incident["kind"], incident["retries_left"]) == ("tinh_phi", "task", 0)
    assert client.get(INCIDENTS, headers=STP_LEAD).json()["total"] == 0
    assert_problem(client.get(INCIDENTS, headers=SKHCN), 403, "forbidden")

    retried = client.post(f"{INCIDENTS}/{incident['id']}/retry", json={"variables": {"so_trang": 2}}, headers=ADMIN)

    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["incident"]["resolved_at"] is not None and body["instance"]["status"] == "running"
    assert instance(client, instance_id)["variables"]["phi"] == 4000


def test_skip_with_a_reason_and_who_may(client: TestClient) -> None:
    _, incident = _failed(client)
    skip = f"{INCIDENTS}/{incident['id']}/skip"
    assert_problem(client.post(skip, json={"reason": "x"}, headers=STP_LEAD), 403, "forbidden")
    assert_problem(client.post(skip, json={"reason": "x"}, headers=SKHCN), 403, "forbidden")
    assert_problem(client.post(f"{INCIDENTS}/{incident['id']}/retry", headers=SKHCN), 403, "forbidden")
    assert client.post(skip, json={}, headers=SKHCN_LEAD).status_code == 422

    skipped = client.post(skip, json={"reason": "Miễn phí"}, headers=SKHCN_LEAD)

    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["incident"]["resolved_at"] is not None
    assert_problem(client.post(skip, json={"reason": "lần nữa"}, headers=SKHCN_LEAD), 409, "incident-not-open")
    assert_problem(client.post(f"{INCIDENTS}/999999/retry", headers=ADMIN), 404, "incident-not-found")


def test_an_instance_reads_as_incident_while_one_is_open_and_running_after_retry_or_skip(client: TestClient) -> None:
    """Not ``error`` (kept for a failure nothing can resume, such as the step limit): the GET, the list and its
    status filter say ``incident`` until the incident is retried or skipped, then ``running`` again."""
    first, incident = _failed(client)
    assert instance(client, first)["status"] == "incident"
    assert instance(client, first)["error"]["incident_id"] == incident["id"]

    def listed(status: str) -> list[str]:
        page = client.get(INSTANCES, params={"process_key": "le_phi", "status": status}, headers=ADMIN)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    assert listed("incident") == [first] and listed("error") == [] and listed("running") == []
    items = client.get(INSTANCES, params={"process_key": "le_phi"}, headers=ADMIN).json()["items"]
    assert [item["status"] for item in items] == ["incident"]

    retried = client.post(f"{INCIDENTS}/{incident['id']}/retry", json={"variables": {"so_trang": 2}}, headers=ADMIN)
    assert retried.status_code == 200, retried.text
    assert instance(client, first)["status"] == "running" and instance(client, first)["error"] is None
    assert listed("incident") == [] and listed("running") == [first]

    second = client.post(INSTANCES, json={"process_key": "le_phi"}, headers=PORTAL).json()
    assert second["status"] == "incident"
    (open_one,) = [i for i in client.get(INCIDENTS, headers=ADMIN).json()["items"] if i["instance_id"] == second["id"]]
    skipped = client.post(f"{INCIDENTS}/{open_one['id']}/skip", json={"reason": "Miễn phí"}, headers=SKHCN_LEAD)
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["instance"]["status"] == instance(client, second["id"])["status"] == "running"
    assert sorted(listed("running")) == sorted([first, second["id"]])
