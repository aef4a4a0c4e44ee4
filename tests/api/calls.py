"""HTTP calls shared by the API tests: deploy fixtures, start instances, walk tasks, check problem bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from tests.conftest import auth

ENGINE_FIXTURES = Path(__file__).parent.parent / "fixtures" / "engine"
DEFINITIONS = "/api/v1/process-definitions"
INSTANCES = "/api/v1/process-instances"
TASKS = "/api/v1/tasks"
MESSAGES = "/api/v1/messages"

OWNER = auth("owner", roles="process-owner")
PORTAL = auth("portal", roles="integrator")
ADMIN = auth("root", roles="admin")
SKHCN = auth("an", groups="skhcn")
SKHCN_2 = auth("binh", groups="skhcn")
SKHCN_LEAD = auth("cuong", groups="skhcn", roles="lead")
STP = auth("dung", groups="stp")
HTKC = auth("giang", groups="htkc")
UBND = auth("hoa", groups="ubnd")
MOT_CUA = auth("khanh", groups="ttpvhcc")


def bpmn(name: str) -> bytes:
    return (ENGINE_FIXTURES / name).read_bytes()


def upload(client: TestClient, *files: tuple[str, bytes], headers: dict[str, str] = OWNER) -> Response:
    return client.post(
        DEFINITIONS, files=[("files", (name, content, "application/xml")) for name, content in files], headers=headers
    )


def deploy(client: TestClient, name: str) -> list[dict[str, Any]]:
    response = upload(client, (name, bpmn(name)))
    assert response.status_code == 201, response.text
    deployed: list[dict[str, Any]] = response.json()
    return deployed


def start(
    client: TestClient, process_key: str, *, headers: dict[str, str] = PORTAL, status: int = 201, **body: Any
) -> dict[str, Any]:
    response = client.post(INSTANCES, json={"process_key": process_key, **body}, headers=headers)
    assert response.status_code == status, response.text
    instance: dict[str, Any] = response.json()
    return instance


def instance(client: TestClient, instance_id: str, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    response = client.get(f"{INSTANCES}/{instance_id}", headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def open_tasks(client: TestClient, instance_id: str) -> dict[str, dict[str, Any]]:
    """Open tasks of an instance by element id (read as admin)."""
    return {t["element_id"]: t for t in instance(client, instance_id)["open_tasks"]}


def task_list(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(TASKS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def complete(
    client: TestClient, task_id: str, headers: dict[str, str], *, status: int = 200, **variables: Any
) -> Response:
    response = client.post(f"{TASKS}/{task_id}/complete", json={"variables": variables}, headers=headers)
    assert response.status_code == status, response.text
    return response


def assert_problem(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The body is RFC 9457 problem+json with our type URI, a title, the status and a detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["type"].startswith("/problems/"), body
    if code is not None:
        assert body["type"] == f"/problems/{code}", body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body
