"""Webhooks over REST with a real receiver on loopback: admins subscribe (the secret shown once), others cannot; the
events of a command reach the receiver signed, across a receiver that fails (500) and times out, then recovers —
nothing lost, each try in the delivery log; dead-letter after the last try and replay; delete stops the sending."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.settings import Settings
from tests.webhook_receiver import Receiver, receiver

from .calls import ADMIN, PORTAL, SKHCN, assert_problem, deploy, start

WEBHOOKS = "/api/v1/webhooks"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A short timeout (the slow receiver answers after 0.6 s), 10 s first backoff, dead after 3 tries."""
    return settings.model_copy(
        update={"webhook_timeout_seconds": 0.2, "webhook_backoff_seconds": 10, "webhook_max_attempts": 3}
    )


@pytest.fixture
def hook_receiver() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def subscribe(client: TestClient, url: str, **body: Any) -> dict[str, Any]:
    response = client.post(WEBHOOKS, json={"url": url, **body}, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(client: TestClient, webhook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=ADMIN)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What docs/api.md tells a receiver to do."""
    parts = dict(p.split("=", 1) for p in headers["X-Phoihop-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_only_admins_manage_webhooks(client: TestClient, hook_receiver: Receiver) -> None:
    refused = client.post(WEBHOOKS, json={"url": hook_receiver.url}, headers=PORTAL)
    assert_problem(refused, 403, "forbidden")
    created = subscribe(client, hook_receiver.url, events=["task.created"], process_key="four_tasks")
    assert created["secret"].startswith("whsec_") and created["key_id"].startswith("whk_")
    assert created["events"] == ["task.created"]
    shown = client.get(f"{WEBHOOKS}/{created['id']}", headers=ADMIN).json()
    assert "secret" not in shown and shown["key_id"] == created["key_id"]
    assert client.get(f"{WEBHOOKS}/{created['id']}", headers=SKHCN).status_code == 403
    assert client.get(f"{WEBHOOKS}/{created['id']}/deliveries", headers=PORTAL).status_code == 403
    assert [w["id"] for w in client.get(WEBHOOKS, headers=ADMIN).json()] == [created["id"]]
    bad = client.post(WEBHOOKS, json={"url": "ftp://example.org/x"}, headers=ADMIN)
    assert_problem(bad, 422, "invalid-input")
    assert bad.json()["field"] == "url"
    unknown_event = client.post(WEBHOOKS, json={"url": hook_receiver.url, "events": ["task.eaten"]}, headers=ADMIN)
    assert unknown_event.status_code == 422
    missing = client.get(f"{WEBHOOKS}/00000000-0000-0000-0000-000000000000", headers=ADMIN)
    assert_problem(missing, 404, "webhook-not-found")


def test_events_survive_a_failing_and_slow_receiver(
    client: TestClient, app_container: EngineContainer, clock: FakeClock, hook_receiver: Receiver
) -> None:
    hook = subscribe(client, hook_receiver.url, process_key="four_tasks")
    subscribe(client, hook_receiver.url + "/other-process", process_key="another_process")  # never receives
    deploy(client, "four_tasks.bpmn")
    instance = start(client, "four_tasks")
    worker = app_container.webhook_delivery

    hook_receiver.mode = "fail"
    assert worker.deliver_due() == 2  # instance.started and task.created
    log = deliveries(client, hook["id"])
    assert {d["event_type"] for d in log} == {"instance.started", "task.created"}
    assert all(d["status"] == "pending" and d["attempts"] == 1 and d["last_status_code"] == 500 for d in log)
    assert worker.deliver_due() == 0  # not due before the backoff

    clock.advance(timedelta(seconds=10))
    hook_receiver.mode = "slow"
    assert worker.deliver_due() == 2
    log = deliveries(client, hook["id"])
    assert all(d["attempts"] == 2 and "timeout" in d["last_error"] for d in log)
    clock.advance(timedelta(seconds=10))
    assert worker.deliver_due() == 0  # the second backoff is twice the first
    clock.advance(timedelta(seconds=10))

    hook_receiver.mode = "ok"
    assert worker.deliver_due() == 2
    log = deliveries(client, hook["id"])
    assert all(d["status"] == "delivered" for d in log)
    assert [[(a["status_code"], a["error"] is None) for a in d["log"]] for d in log] == [
        [(500, False), (None, False), (200, True)]
    ] * 2
    # nothing lost: every queued event reached the receiver, answered 200, signed with the secret
    assert sorted(hook_receiver.ok_events()) == sorted(d["event_id"] for d in log)
    for received in (r for r in hook_receiver.requests if r.answered == 200):
        assert verify(hook["secret"], received.headers, received.body)
        assert received.headers["X-Phoihop-Key-Id"] == hook["key_id"]
        event = received.event
        assert event["id"] == received.headers["X-Phoihop-Event-Id"]
        assert event["instance_id"] == instance["id"] and event["process_key"] == "four_tasks"
        assert event["occurred_at"].endswith("Z")
    created = next(r.event for r in hook_receiver.requests if r.answered == 200 and r.event["type"] == "task.created")
    assert created["data"]["element_id"] == "t1"
    tampered = dict(hook_receiver.requests[-1].headers)
    assert not verify(hook["secret"], tampered, hook_receiver.requests[-1].body + b" ")


def test_dead_letter_after_the_last_try_then_replay(
    client: TestClient, app_container: EngineContainer, clock: FakeClock, hook_receiver: Receiver
) -> None:
    hook = subscribe(client, hook_receiver.url, events=["instance.started"])
    deploy(client, "four_tasks.bpmn")
    start(client, "four_tasks")
    worker = app_container.webhook_delivery
    hook_receiver.mode = "fail"
    for wait in (0, 10, 20):
        clock.advance(timedelta(seconds=wait))
        assert worker.deliver_due() == 1
    (dead,) = deliveries(client, hook["id"])
    assert (dead["status"], dead["attempts"], dead["next_attempt_at"]) == ("dead", 3, None)
    clock.advance(timedelta(days=1))
    assert worker.deliver_due() == 0  # dead letters are not tried again

    hook_receiver.mode = "ok"
    assert client.post(f"/api/v1/webhook-deliveries/{dead['id']}/replay", headers=PORTAL).status_code == 403
    assert client.post(f"/api/v1/webhook-deliveries/{dead['id']}/replay", headers=ADMIN).status_code == 202
    assert worker.deliver_due() == 1
    (replayed,) = deliveries(client, hook["id"])
    assert (replayed["status"], replayed["attempts"], len(replayed["log"])) == ("delivered", 1, 4)
    assert hook_receiver.ok_events() == [dead["event_id"]]  # the same event id: receivers de-duplicate by it
    assert_problem(
        client.post("/api/v1/webhook-deliveries/999999/replay", headers=ADMIN), 404, "webhook-delivery-not-found"
    )

    assert client.delete(f"{WEBHOOKS}/{hook['id']}", headers=ADMIN).status_code == 204
    start(client, "four_tasks")
    assert worker.deliver_due() == 0
    assert len(deliveries(client, hook["id"])) == 1  # no new delivery after the delete; the log stays
    assert client.get(WEBHOOKS, headers=ADMIN).json() == []
    body = orjson.loads(hook_receiver.requests[-1].body)
    assert body["type"] == "instance.started"


@pytest.mark.parametrize("odd", ["khong-phai-uuid", "x" * 5_000, "%00", "' OR '1'='1", "🙂"])
def test_odd_ids_are_problems_never_500(client: TestClient, odd: str) -> None:
    for method, path in (
        ("GET", f"{WEBHOOKS}/{odd}"),
        ("DELETE", f"{WEBHOOKS}/{odd}"),
        ("GET", f"{WEBHOOKS}/{odd}/deliveries"),
        ("POST", f"/api/v1/webhook-deliveries/{odd}/replay"),
    ):
        response = client.request(method, path, headers=ADMIN)
        assert response.status_code in (404, 422), (method, path, response.text)


def test_out_of_range_and_nul_input_is_refused(client: TestClient) -> None:
    huge = client.post("/api/v1/webhook-deliveries/99999999999999999999999/replay", headers=ADMIN)
    assert huge.status_code in (404, 422), huge.text
    nul = client.post(WEBHOOKS, json={"url": "http://127.0.0.1/\x00", "process_key": "a\x00"}, headers=ADMIN)
    assert nul.status_code == 422, nul.text


def test_a_webhook_lease_shorter_than_a_send_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOIHOP_WEBHOOK_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("PHOIHOP_WEBHOOK_LEASE_SECONDS", "5")
    with pytest.raises(ValueError, match="PHOIHOP_WEBHOOK_LEASE_SECONDS must exceed"):
        Settings(env="dev")
    monkeypatch.setenv("PHOIHOP_WEBHOOK_LEASE_SECONDS", "6")
    assert Settings(env="dev").engine_options()["webhook_lease_seconds"] == 6
