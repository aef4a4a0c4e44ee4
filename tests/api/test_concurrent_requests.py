"""Racing requests through the HTTP stack: one claim wins, one completion wins, one idempotent start creates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth

from .calls import ADMIN, INSTANCES, PORTAL, TASKS, deploy, open_tasks, start

OFFICERS = [auth(f"can_bo_{n}", groups="skhcn") for n in range(8)]


def race(call: Callable[[Any], Any], arguments: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(call, arguments))


def test_one_of_many_concurrent_claims_wins(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    task = started["open_tasks"][0]["id"]

    responses = race(lambda headers: client.post(f"{TASKS}/{task}/claim", headers=headers), OFFICERS)

    assert Counter(r.status_code for r in responses) == {200: 1, 409: 7}
    winner = next(r.json()["assignee"] for r in responses if r.status_code == 200)
    assert client.get(f"{TASKS}/{task}", headers=ADMIN).json()["assignee"] == winner
    events = client.get(f"{INSTANCES}/{started['id']}/history", headers=ADMIN).json()
    assert [e["kind"] for e in events].count("task_claimed") == 1


def test_one_of_many_concurrent_completions_wins(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    task = started["open_tasks"][0]["id"]

    responses = race(
        lambda headers: client.post(f"{TASKS}/{task}/complete", json={"variables": {"lan": 1}}, headers=headers),
        OFFICERS,
    )

    codes = Counter(r.status_code for r in responses)
    assert codes[200] == 1 and set(codes) <= {200, 403, 409}, codes
    assert list(open_tasks(client, started["id"])) == ["t2"]
    events = client.get(f"{INSTANCES}/{started['id']}/history", headers=ADMIN).json()
    assert [e["kind"] for e in events].count("task_completed") == 1


def test_concurrent_retries_with_one_idempotency_key_create_one_instance(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    headers = {**PORTAL, "Idempotency-Key": "dvc-2026-000123"}

    responses = race(
        lambda _: client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=headers), list(range(8))
    )

    assert Counter(r.status_code for r in responses) == {201: 1, 200: 7}
    assert len({r.json()["id"] for r in responses}) == 1
    assert client.get(INSTANCES, headers=ADMIN).json()["total"] == 1
