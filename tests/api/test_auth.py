"""Authentication: HS256 bearer tokens with exp and sub required, algorithm pinned; API keys for integrators."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from phoihop.auth import issue_token
from phoihop.engine.commands.api_keys import ApiKeys
from phoihop.engine.container import EngineContainer
from tests.conftest import TEST_SECRET, auth

from .calls import INSTANCES, SKHCN, TASKS, assert_problem, complete, deploy, instance, start

# refused before the engine is asked: no person recorded, no SQL (checked by the client fixture)
SQLITE_ONLY = pytest.mark.sqlite_only("the token is refused before any SQL runs")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join((b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "an", "name": "An", "groups": ["skhcn"], "roles": ["officer"], "iat": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: Any) -> dict[str, Any]:
    body = assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["detail_vi"]
    return body


def test_a_valid_token_is_accepted(client: TestClient) -> None:
    response = client.get(TASKS, headers=bearer(jwt.encode(claims(), TEST_SECRET, algorithm="HS256")))
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", TASKS),
        ("GET", INSTANCES),
        ("POST", INSTANCES),
        ("GET", "/api/v1/process-definitions"),
        ("POST", "/api/v1/messages"),
        ("POST", f"{TASKS}/x/claim"),
        ("GET", f"{INSTANCES}/x/history"),
    ],
)
def test_missing_credentials_are_401_with_www_authenticate(client: TestClient, method: str, path: str) -> None:
    body = assert_unauthenticated(client.request(method, path, json={}))
    assert "X-API-Key" in body["detail"]


@SQLITE_ONLY
@pytest.mark.parametrize("value", ["Basic YW46cGFzcw==", "Bearer", "Bearer ", "Token abc", "bearer", "Bearer a.b.c"])
def test_malformed_authorization_is_401(client: TestClient, value: str) -> None:
    assert_unauthenticated(client.get(TASKS, headers={"Authorization": value}))


@SQLITE_ONLY
def test_expired_token_is_401(client: TestClient) -> None:
    token = issue_token(TEST_SECRET, sub="an", groups=["skhcn"], roles=["officer"], ttl=timedelta(seconds=-10))
    assert "expired" in assert_unauthenticated(client.get(TASKS, headers=bearer(token)))["detail"]


@SQLITE_ONLY
def test_token_signed_with_another_secret_is_401(client: TestClient) -> None:
    token = issue_token("another-secret-of-sufficient-length-0123456789", sub="an", groups=["skhcn"], roles=["admin"])
    assert_unauthenticated(client.get(TASKS, headers=bearer(token)))


@SQLITE_ONLY
def test_unsigned_alg_none_token_is_401(client: TestClient) -> None:
    for token in (
        jwt.encode(claims(roles=["admin"]), None, algorithm="none"),
        hand_made({"alg": "none", "typ": "JWT"}, claims(roles=["admin"])),
        hand_made({"alg": "None"}, claims(roles=["admin"])),
    ):
        assert_unauthenticated(client.get(INSTANCES, headers=bearer(token)))


@SQLITE_ONLY
def test_other_algorithms_are_refused_even_with_the_right_secret(client: TestClient) -> None:
    hs512 = jwt.encode(claims(), TEST_SECRET, algorithm="HS512")
    hs384 = jwt.encode(claims(), TEST_SECRET, algorithm="HS384")
    rs256 = hand_made({"alg": "RS256", "typ": "JWT"}, claims(), b"\x01" * 256)
    for token in (hs512, hs384, rs256):
        assert_unauthenticated(client.get(TASKS, headers=bearer(token)))


@SQLITE_ONLY
@pytest.mark.parametrize("missing", ["exp", "sub"])
def test_token_without_required_claim_is_401(client: TestClient, missing: str) -> None:
    token = jwt.encode(claims(**{missing: None}), TEST_SECRET, algorithm="HS256")
    assert missing in assert_unauthenticated(client.get(TASKS, headers=bearer(token)))["detail"]


@SQLITE_ONLY
@pytest.mark.parametrize(
    "bad", [{"groups": "skhcn"}, {"roles": "admin"}, {"sub": 42}, {"nbf": int(time.time()) + 3600}, {"exp": "tomorrow"}]
)
def test_token_with_malformed_claims_is_401(client: TestClient, bad: dict[str, Any]) -> None:
    token = jwt.encode(claims(**bad), TEST_SECRET, algorithm="HS256")
    assert_unauthenticated(client.get(TASKS, headers=bearer(token)))


@SQLITE_ONLY
def test_tampered_payload_is_401(client: TestClient) -> None:
    header, _, signature = jwt.encode(claims(), TEST_SECRET, algorithm="HS256").split(".")
    forged = ".".join((header, b64(json.dumps(claims(roles=["admin"])).encode()), signature))
    assert_unauthenticated(client.get(TASKS, headers=bearer(forged)))


def test_unknown_roles_in_a_token_grant_nothing(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    token = jwt.encode(claims(roles=["superuser", "root"]), TEST_SECRET, algorithm="HS256")

    assert_problem(client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=bearer(token)), 403, "forbidden")


def test_an_invalid_bearer_is_not_rescued_by_a_valid_api_key(
    client: TestClient, app_container: EngineContainer
) -> None:
    key = ApiKeys(app_container.db, app_container.clock).create("portal", roles=["integrator"])
    assert_unauthenticated(client.get(INSTANCES, headers={"Authorization": "Bearer nonsense", "X-API-Key": key}))


def test_api_key_starts_an_instance(client: TestClient, app_container: EngineContainer) -> None:
    deploy(client, "four_tasks.bpmn")
    key = ApiKeys(app_container.db, app_container.clock).create("portal", roles=["integrator"])

    response = client.post(
        INSTANCES, json={"process_key": "four_tasks", "business_key": "DVC-1"}, headers={"X-API-Key": key}
    )

    assert response.status_code == 201, response.text
    assert response.json()["started_by"] == "apikey:portal"
    listed = client.get(INSTANCES, headers={"X-API-Key": key}).json()
    assert [i["business_key"] for i in listed["items"]] == ["DVC-1"]


def test_wrong_or_revoked_api_key_is_401(client: TestClient, app_container: EngineContainer) -> None:
    deploy(client, "four_tasks.bpmn")
    keys = ApiKeys(app_container.db, app_container.clock)
    key = keys.create("portal", roles=["integrator"])
    body = {"process_key": "four_tasks"}

    for wrong in ("phk_" + "A" * 43, key[:-1], key + "x", "not-a-key", "phk_" + "x" * 300, key.upper()):
        assert_unauthenticated(client.post(INSTANCES, json=body, headers={"X-API-Key": wrong}))
    assert keys.revoke("portal") is True
    assert_unauthenticated(client.post(INSTANCES, json=body, headers={"X-API-Key": key}))
    assert client.get(INSTANCES, headers=SKHCN).json()["total"] == 0


def test_api_key_roles_are_enforced(client: TestClient, app_container: EngineContainer) -> None:
    deploy(client, "four_tasks.bpmn")
    key = ApiKeys(app_container.db, app_container.clock).create("bao-cao", roles=["officer"], groups=["stp"])
    started = start(client, "four_tasks")

    assert_problem(client.post("/api/v1/messages", json={"name": "x"}, headers={"X-API-Key": key}), 403, "forbidden")
    assert_problem(client.get(f"{INSTANCES}/{started['id']}", headers={"X-API-Key": key}), 403, "forbidden")


def test_task_work_needs_officer_or_lead_not_just_the_agency(
    client: TestClient, app_container: EngineContainer
) -> None:
    deploy(client, "four_tasks.bpmn")
    key = ApiKeys(app_container.db, app_container.clock).create("cong", roles=["integrator"], groups=["skhcn"])
    no_roles = auth("khach", groups="skhcn", roles="")
    started = start(client, "four_tasks", headers={"X-API-Key": key})  # integrators start processes
    [task] = started["open_tasks"]

    for headers in ({"X-API-Key": key}, no_roles):
        assert client.get(f"{TASKS}/{task['id']}", headers=headers).status_code == 200  # the agency reads its task
        for action in ("claim", "unclaim", "complete"):
            body = assert_problem(
                client.post(f"{TASKS}/{task['id']}/{action}", json={"variables": {}}, headers=headers),
                403,
                "role-required",
            )
            assert body["required_roles"] == ["officer", "lead"]
            assert "chuyên viên" in body["detail_vi"]
    assert instance(client, started["id"])["open_tasks"][0]["status"] == "open"
    complete(client, task["id"], SKHCN)  # an officer's token (roles: officer) still completes it
