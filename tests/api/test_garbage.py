"""Garbage in, never a 500 out: odd ids, query values, headers and bodies across every endpoint get a 4xx problem."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from .calls import ADMIN, DEFINITIONS, INSTANCES, MESSAGES, OWNER, PORTAL, SKHCN, SKHCN_LEAD, TASKS, deploy, start

IDS = [
    "khong-phai-uuid",
    "0",
    "-1",
    "00000000-0000-0000-0000-000000000000",
    "hồ sơ/../../etc",
    "' OR '1'='1",
    "x" * 5_000,
    "%",
    "\u202e",
    "🙂" * 50,
    "null",
    "None",
    " ",
    "a;b",
    "a\tb",
]
TEXTS = ["", " ", "x" * 10_000, "hồ sơ số 1", "' OR 1=1 --", "\ud7ff\ue000", "🙂", "%", "_", "\\", "*", "\n"]
NUMBERS = {
    "-1": 422,
    "-100000": 422,
    "abc": 422,
    "NaN": 422,
    "": 422,
    "2.5": 422,
    "1e3": 422,
    "0": None,
    "7": None,
    "1000000": None,
}
ODD_VALUES: list[Any] = [
    None,
    "",
    "x" * 100_000,
    "🙂" * 1000,
    -1,
    2**31 - 1,
    1.5e308,
    -0.0,
    True,
    [],
    {},
    {"a": None},
    [None] * 100,
    "\u202e",
    "' OR 1=1 --",
]


def assert_not_server_error(response: Response) -> None:
    assert response.status_code < 500, (response.request.method, str(response.request.url)[:200], response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        assert response.json()["type"].startswith("/problems/")


@pytest.fixture
def live(client: TestClient) -> dict[str, str]:
    deploy(client, "four_tasks.bpmn")
    deploy(client, "messages.bpmn")
    started = start(client, "four_tasks", business_key="HS-1")
    return {"instance": started["id"], "task": started["open_tasks"][0]["id"]}


def test_odd_ids_in_paths(client: TestClient, live: dict[str, str]) -> None:
    for raw in IDS:
        path_id = quote(raw, safe="")
        for method, path in (
            ("GET", f"{INSTANCES}/{path_id}"),
            ("GET", f"{INSTANCES}/{path_id}/history"),
            ("POST", f"{INSTANCES}/{path_id}/cancel"),
            ("GET", f"{TASKS}/{path_id}"),
            ("POST", f"{TASKS}/{path_id}/claim"),
            ("POST", f"{TASKS}/{path_id}/unclaim"),
            ("POST", f"{TASKS}/{path_id}/complete"),
        ):
            response = client.request(method, path, headers=SKHCN_LEAD)
            assert_not_server_error(response)
            assert response.status_code in (404, 405), (raw, response.text)
    assert client.get(f"{TASKS}/{live['task']}", headers=SKHCN).json()["status"] == "open"
    assert client.get(f"{INSTANCES}/{live['instance']}", headers=ADMIN).json()["status"] == "running"


def test_odd_query_values(client: TestClient, live: dict[str, str]) -> None:
    for text in TEXTS:
        for params in (
            {"process_key": text},
            {"business_key": text},
            {"status": text},
            {"instance_id": text},
            {"candidate_group": text},
            {"assignee": text},
        ):
            for path in (INSTANCES, TASKS):
                for headers in (SKHCN, ADMIN):
                    assert_not_server_error(client.get(path, params=params, headers=headers))
    for number, expected in NUMBERS.items():
        for name in ("limit", "offset"):
            for path in (INSTANCES, TASKS):
                response = client.get(path, params={name: number}, headers=SKHCN)
                assert_not_server_error(response)
                if expected is not None or (name == "limit" and number in ("0", "1000000")):
                    assert response.status_code == 422, (name, number, response.text)
                else:
                    assert response.status_code == 200, (name, number, response.text)


def test_odd_start_bodies(client: TestClient, live: dict[str, str]) -> None:
    for value in ODD_VALUES:
        for body in (
            {"process_key": value},
            {"process_key": "four_tasks", "business_key": value},
            {"process_key": "four_tasks", "version": value},
            {"process_key": "four_tasks", "variables": value},
            {"process_key": "four_tasks", "variables": {"v": value, "w": [2**62, -(2**63)]}},
            {"process_key": "four_tasks", "variables": {str(value)[:50] or "k": 1}},
        ):
            assert_not_server_error(client.post(INSTANCES, json=body, headers=PORTAL))
    for raw in (b"", b"{", b"[]", b"\x00", b'{"process_key": "four_tasks"' + b" " * 10_000 + b"}", "🙂".encode()):
        assert_not_server_error(
            client.post(INSTANCES, content=raw, headers={**PORTAL, "Content-Type": "application/json"})
        )
    for content_type in ("text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; x"):
        assert_not_server_error(
            client.post(
                INSTANCES, content=b'{"process_key": "four_tasks"}', headers={**PORTAL, "Content-Type": content_type}
            )
        )


def test_odd_headers(client: TestClient, live: dict[str, str]) -> None:
    for key in ("", "x" * 300, "🙂", "kéy", "a" * 200, " "):
        headers = {b"Authorization": PORTAL["Authorization"].encode(), b"Idempotency-Key": key.encode("utf-8")}
        assert_not_server_error(client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=headers))
    for value in ("x" * 10_000, "phk_🙂", "phk_", "phk_" + "a" * 196):
        response = client.get(TASKS, headers={b"X-API-Key": value.encode("utf-8")})
        assert_not_server_error(response)
        assert response.status_code == 401
    for value in ("Bearer " + "a" * 10_000, "Bearer a.b", "Bearer ...", "Bearer e30.e30.", "Bearer \t", "Bearer 🙂"):
        response = client.get(TASKS, headers={b"Authorization": value.encode("utf-8")})
        assert_not_server_error(response)
        assert response.status_code == 401


def test_odd_task_completions_and_messages(client: TestClient, live: dict[str, str]) -> None:
    task = live["task"]
    for value in ODD_VALUES:
        for body in ({"variables": {"v": value}}, {"variables": value}, value):
            assert_not_server_error(client.post(f"{TASKS}/{task}/complete", json=body, headers=SKHCN))
            assert_not_server_error(
                client.post(
                    MESSAGES,
                    json={"name": "bo_sung_ho_so", "business_key": value, "variables": {"v": value}},
                    headers=PORTAL,
                )
            )
            assert_not_server_error(
                client.post(MESSAGES, json={"name": value, "correlation_keys": {"k": value}}, headers=PORTAL)
            )
    for reason in ("x" * 5_000, None, 5, ["a"]):
        assert_not_server_error(
            client.post(f"{INSTANCES}/{live['instance']}/cancel", json={"reason": reason}, headers=ADMIN)
        )


def test_odd_uploads(client: TestClient) -> None:
    for name, content in (
        ("", b""),
        ("a.bpmn", b""),
        ("a.bpmn", b"\x00" * 100),
        ("a.bpmn", "🙂".encode() * 100),
        ("../../../etc/passwd", b"<x/>"),
        ("a.bpmn", b"<?xml version='1.0'?><a>" * 300),
        ("a.dmn", b"<definitions xmlns='https://www.omg.org/spec/DMN/20191111/MODEL/'/>"),
        ("a.bpmn", b'<?xml version="1.0" encoding="UTF-16"?><a/>'),
        ("x" * 1000, b"<a/>"),
        ("a.bpmn", b"<a>" * 10_000),
    ):
        response = client.post(DEFINITIONS, files=[("files", (name, content))], headers=OWNER)
        assert_not_server_error(response)
        assert 400 <= response.status_code < 500, (name, response.text)
    assert client.get(DEFINITIONS, headers=OWNER).json() == []


# --- inputs that once reached the database or orjson unchecked --------------------------------------------------------
NUL_REQUESTS = {
    "instance-path": ("GET", f"{INSTANCES}/%00", None),
    "task-path": ("POST", f"{TASKS}/%00/claim", None),
    "instances-filter": ("GET", f"{INSTANCES}?business_key=a%00b", None),
    "tasks-filter": ("GET", f"{TASKS}?candidate_group=a%00b", None),
    "process-key": ("POST", INSTANCES, {"process_key": "a\u0000b"}),
    "business-key": ("POST", INSTANCES, {"process_key": "four_tasks", "business_key": "a\u0000b"}),
    "variable-name": ("POST", INSTANCES, {"process_key": "four_tasks", "variables": {"a\u0000b": 1}}),
    "variable-value": ("POST", INSTANCES, {"process_key": "four_tasks", "variables": {"v": "a\u0000b"}}),
    "message-name": ("POST", MESSAGES, {"name": "a\u0000b"}),
}


@pytest.mark.parametrize("case", list(NUL_REQUESTS))
def test_nul_characters_are_refused_with_a_problem(client: TestClient, case: str) -> None:
    deploy(client, "four_tasks.bpmn")
    method, path, body = NUL_REQUESTS[case]

    response = client.request(method, path, json=body, headers=ADMIN if method == "GET" else PORTAL)

    assert_not_server_error(response)
    assert response.status_code == 422, response.text
    assert client.get(INSTANCES, headers=ADMIN).json()["total"] == 0


BIG = 2**70
BIG_INT_REQUESTS = {
    "instances-offset": ("GET", f"{INSTANCES}?offset={BIG}", None),
    "tasks-offset": ("GET", f"{TASKS}?offset={BIG}", None),
    "version": ("POST", INSTANCES, {"process_key": "four_tasks", "version": BIG}),
    "version-over-int32": ("POST", INSTANCES, {"process_key": "four_tasks", "version": 2**31}),
    "variable-value": ("POST", INSTANCES, {"process_key": "four_tasks", "variables": {"v": BIG}}),
}


@pytest.mark.parametrize("case", list(BIG_INT_REQUESTS))
def test_out_of_range_integers_are_422(client: TestClient, case: str) -> None:
    deploy(client, "four_tasks.bpmn")
    method, path, body = BIG_INT_REQUESTS[case]

    response = client.request(method, path, json=body, headers=PORTAL)

    assert_not_server_error(response)
    assert response.status_code == 422
