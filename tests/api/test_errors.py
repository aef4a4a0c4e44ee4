"""Every error is application/problem+json; bad requests name the field; bodies over the limit are 413."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.app import create_app
from phoihop.engine.clock import FakeClock
from phoihop.settings import Settings
from tests.conftest import TEST_SECRET

from .calls import ADMIN, INSTANCES, PORTAL, SKHCN, TASKS, assert_problem, deploy, start

SQLITE_ONLY = pytest.mark.sqlite_only("routing answers before any dependency or SQL runs")
JSON = {"Content-Type": "application/json"}


def fields_of(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body["errors"]}


def instance_count(client: TestClient) -> int:
    total: int = client.get(INSTANCES, headers=ADMIN).json()["total"]
    return total


@SQLITE_ONLY
def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    for path in ("/khong-co", "/api/v1/khong-co", "/api/v2/tasks"):
        body = assert_problem(client.get(path, headers=SKHCN), 404, "not-found")
        assert body["instance"] == path


@SQLITE_ONLY
def test_wrong_method_is_a_405_problem(client: TestClient) -> None:
    for method, path in (
        ("DELETE", TASKS),
        ("PUT", INSTANCES),
        ("GET", "/api/v1/messages"),
        ("GET", f"{TASKS}/x/claim"),
        ("PATCH", "/api/v1/process-definitions"),
    ):
        assert_problem(client.request(method, path, headers=SKHCN), 405, "method-not-allowed")


def test_malformed_json_is_422(client: TestClient) -> None:
    for raw in (b'{"process_key": ', b"not json", b"\xff\xfe", b"[1, 2]", b'"four_tasks"', b"null"):
        response = client.post(INSTANCES, content=raw, headers={**PORTAL, **JSON})
        body = assert_problem(response, 422, "invalid-request")
        assert body["errors"] and body["detail_vi"]
    assert instance_count(client) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "process_key"),
        ({"process_key": 5}, "process_key"),
        ({"process_key": ""}, "process_key"),
        ({"process_key": "k" * 201}, "process_key"),
        ({"process_key": "four_tasks", "version": "mới nhất"}, "version"),
        ({"process_key": "four_tasks", "version": 0}, "version"),
        ({"process_key": "four_tasks", "version": -3}, "version"),
        ({"process_key": "four_tasks", "business_key": ""}, "business_key"),
        ({"process_key": "four_tasks", "business_key": ["HS-1"]}, "business_key"),
        ({"process_key": "four_tasks", "variables": [1, 2]}, "variables"),
        ({"process_key": "four_tasks", "variables": "a=1"}, "variables"),
        ({"process_key": "four_tasks", "variables": None}, "variables"),
        ({"process_key": "four_tasks", "owner": "me"}, "owner"),
        ({"process_key": "four_tasks", "variables": {}, "status": "completed"}, "status"),
    ],
)
def test_start_body_errors_name_the_field(client: TestClient, payload: dict[str, Any], field: str) -> None:
    deploy(client, "four_tasks.bpmn")

    body = assert_problem(client.post(INSTANCES, json=payload, headers=PORTAL), 422, "invalid-request")

    assert field in fields_of(body), body
    assert field in body["detail"] and field in body["detail_vi"]
    assert instance_count(client) == 0


@pytest.mark.parametrize("name", ["_private", "__builtins__", "", "_"])
def test_variable_names_starting_with_underscore_or_empty_are_422(client: TestClient, name: str) -> None:
    deploy(client, "four_tasks.bpmn")

    body = assert_problem(
        client.post(INSTANCES, json={"process_key": "four_tasks", "variables": {"ok": 1, name: 2}}, headers=PORTAL),
        422,
        "invalid-variables",
    )

    assert body["field"] == f"variables.{name}"
    assert body["detail_vi"]
    assert instance_count(client) == 0


def test_task_completion_checks_variables_too(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    t1 = started["open_tasks"][0]["id"]

    bad_name = client.post(f"{TASKS}/{t1}/complete", json={"variables": {"__class__": 1}}, headers=SKHCN)
    assert assert_problem(bad_name, 422, "invalid-variables")["field"] == "variables.__class__"
    not_object = client.post(f"{TASKS}/{t1}/complete", json={"variables": [1]}, headers=SKHCN)
    assert "variables" in fields_of(assert_problem(not_object, 422, "invalid-request"))
    extra = client.post(f"{TASKS}/{t1}/complete", json={"variables": {}, "assignee": "x"}, headers=SKHCN)
    assert "assignee" in fields_of(assert_problem(extra, 422, "invalid-request"))
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(30):
        deep = {"a": deep}
    too_deep = client.post(f"{TASKS}/{t1}/complete", json={"variables": deep}, headers=SKHCN)
    assert assert_problem(too_deep, 422, "invalid-variables")["field"].startswith("variables")

    task = client.get(f"{TASKS}/{t1}", headers=SKHCN).json()
    assert (task["status"], task["assignee"]) == ("open", None)


def test_message_body_errors_name_the_field(client: TestClient) -> None:
    for payload, field in (
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "m", "correlation_keys": [1]}, "correlation_keys"),
        ({"name": "m", "variables": {"_x": 1}}, None),
        ({"name": "m", "extra": 1}, "extra"),
    ):
        body = assert_problem(client.post("/api/v1/messages", json=payload, headers=PORTAL), 422)
        if field is None:
            assert body["field"] == "variables._x"
        else:
            assert field in fields_of(body)


@pytest.fixture
def small_json_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"max_json_bytes": 2_000})
    with TestClient(create_app(limited, clock=clock, upgrade_schema=False), raise_server_exceptions=False) as client:
        yield client


def test_json_body_over_the_limit_is_413(small_json_client: TestClient) -> None:
    deploy(small_json_client, "four_tasks.bpmn")
    big = {"process_key": "four_tasks", "variables": {"ghi_chu": "x" * 5_000}}

    body = assert_problem(small_json_client.post(INSTANCES, json=big, headers=PORTAL), 413, "payload-too-large")

    assert body["limit"] == 2_000
    assert instance_count(small_json_client) == 0
    start(small_json_client, "four_tasks", variables={"ghi_chu": "ngắn"})


def test_streamed_body_without_length_is_refused_without_effect(small_json_client: TestClient) -> None:
    deploy(small_json_client, "four_tasks.bpmn")
    chunks = [b'{"process_key": "four_tasks", "variables": {"a": "', *([b"x" * 500] * 10), b'"}}']

    response = small_json_client.post(INSTANCES, content=iter(chunks), headers={**PORTAL, **JSON})

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload-too-large")
    assert instance_count(small_json_client) == 0


def test_streamed_body_over_the_limit_is_413(small_json_client: TestClient) -> None:
    deploy(small_json_client, "four_tasks.bpmn")
    chunks = [b'{"process_key": "four_tasks", "variables": {"a": "', *([b"x" * 500] * 10), b'"}}']

    response = small_json_client.post(INSTANCES, content=iter(chunks), headers={**PORTAL, **JSON})

    assert_problem(response, 413, "payload-too-large")


def test_a_lying_content_length_does_not_help(small_json_client: TestClient) -> None:
    deploy(small_json_client, "four_tasks.bpmn")
    big = b'{"process_key": "four_tasks", "variables": {"a": "' + b"x" * 5_000 + b'"}}'

    response = small_json_client.post(INSTANCES, content=big, headers={**PORTAL, **JSON, "Content-Length": "100"})

    assert response.request.headers["content-length"] == "100", response.text
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert instance_count(small_json_client) == 0


def test_create_app_without_settings_honours_the_env_limits(
    monkeypatch: pytest.MonkeyPatch, db_url: str, clock: FakeClock
) -> None:
    for name, value in {
        "ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": db_url,
        "DEPLOY_ON_START": "false",
        "RUN_SCHEDULER": "false",
        "MAX_JSON_BYTES": "2000",
    }.items():
        monkeypatch.setenv(f"PHOIHOP_{name}", value)
    with TestClient(create_app(clock=clock, upgrade_schema=False), raise_server_exceptions=False) as client:
        big = {"process_key": "four_tasks", "variables": {"ghi_chu": "x" * 5_000}}
        assert_problem(client.post(INSTANCES, json=big, headers=PORTAL), 413, "payload-too-large")
