"""The incident calls (issue 14, item 7): list with counts, retry with variables, skip with a reason; another
agency's lead is refused, an officer too."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.calls import ADMIN, PORTAL, SKHCN, SKHCN_LEAD, assert_problem, auth, instance, upload
from tests.engine.test_incidents import XML

INCIDENTS = "/api/v1/incidents"
STP_LEAD = auth("lan", groups="stp", roles="lead")


def _failed(client: TestClient) -> tuple[str, dict[str, Any]]:
    assert upload(client, ("le_phi.bpmn", XML.encode())).status_code == 201
    started = client.post("/api/v1/process-instances", json={"process_key": "le_phi"}, headers=PORTAL).json()
    assert started["status"] == "error" and [t["element_id"] for t in started["open_tasks"]] == ["tham_dinh"]
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
