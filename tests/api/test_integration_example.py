"""docs/integration-example.md, run as written on SQLite and PostgreSQL: the public-service portal subscribes a
webhook, starts a green-lane dossier with an Idempotency-Key (and retries the call: the same dossier, 200), receives
the signed webhook of its receipt on a real HTTP receiver on loopback, reads what the dossier waits for when the
one-stop desk asks for a supplement, sends the supplement message, and receives the result when the agencies are done.
Webhooks go out through the scheduler's delivery call (what ``phoihop worker`` runs), fired here directly."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.processes.test_green_lane import (
    PROCESS_DIR,
    RECEIVED,
    GreenLane,
    applicant_dossier,
    hanoi,
    moment,
)
from tests.webhook_receiver import Receiver, receiver

from .calls import ADMIN, DEFINITIONS, INSTANCES, MESSAGES, MOT_CUA, OWNER, PORTAL

IDEMPOTENCY_KEY = "DVC-2026-000123"


@pytest.fixture
def portal_receiver() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def verify(secret: str, signature_header: str, body: bytes) -> bool:
    """docs/api.md "Verifying the signature", less the timestamp check (the engine runs on a fake clock here)."""
    parts = dict(p.split("=", 1) for p in signature_header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def received(portal: Receiver, secret: str, seen: set[str]) -> list[dict[str, Any]]:
    """The events not seen before, signature checked, de-duplicated by event id as a receiver must."""
    events = []
    for request in portal.requests:
        event_id = request.headers["X-Phoihop-Event-Id"]
        if event_id in seen:
            continue
        assert verify(secret, request.headers["X-Phoihop-Signature"], request.body)
        seen.add(event_id)
        events.append(request.event)
    return events


def has_offset(value: str) -> bool:
    return datetime.fromisoformat(value).utcoffset() is not None


def test_the_portal_starts_a_dossier_gets_its_receipt_sends_the_supplement_and_gets_the_result(
    client: TestClient, app_container: EngineContainer, clock: FakeClock, portal_receiver: Receiver
) -> None:
    clock.set(RECEIVED)
    lane = GreenLane(client, app_container, clock)
    files = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in PROCESS_DIR.iterdir() if p.is_file()
    ]
    assert client.post(DEFINITIONS, files=files, headers=OWNER).status_code == 201
    deliver = app_container.webhook_delivery.deliver_due
    seen: set[str] = set()

    # 1. an admin subscribes the portal's URL to the green lane's status changes and ends
    response = client.post(
        "/api/v1/webhooks",
        json={
            "url": portal_receiver.url,
            "events": ["dossier.status_changed", "instance.ended"],
            "process_key": "green_lane",
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    secret = response.json()["secret"]

    # 2. the portal starts the dossier with an Idempotency-Key; its retry (a lost answer) starts nothing new
    start = {"process_key": "green_lane", "business_key": IDEMPOTENCY_KEY, "variables": applicant_dossier("KHCN-01")}
    first = client.post(INSTANCES, json=start, headers={**PORTAL, "Idempotency-Key": IDEMPOTENCY_KEY})
    assert first.status_code == 201, first.text
    retry = client.post(INSTANCES, json=start, headers={**PORTAL, "Idempotency-Key": IDEMPOTENCY_KEY})
    assert retry.status_code == 200, retry.text
    instance_id = first.json()["id"]
    assert retry.json()["id"] == instance_id and first.headers["Location"] == f"{INSTANCES}/{instance_id}"
    code = first.json()["dossier"]["code"]
    assert code == "000.00.25.H26-260212-0001"

    # 3. the webhook of its receipt: status 1 (Mới đăng ký) with the dossier code, signed
    assert deliver() == 1
    [receipt] = received(portal_receiver, secret, seen)
    assert (receipt["type"], receipt["instance_id"]) == ("dossier.status_changed", instance_id)
    assert (receipt["data"]["dossier_code"], receipt["data"]["status"]) == (code, 1)
    assert has_offset(receipt["occurred_at"])

    # 4. the one-stop desk finds a document missing: the portal is told (status 5) and the dossier says what it awaits
    lane.complete(
        instance_id, "check_completeness", MOT_CUA, outcome="supplement", missing_documents=["Báo cáo tài chính 2025"]
    )
    assert deliver() == 1
    [asked] = received(portal_receiver, secret, seen)
    assert (asked["data"]["status"], asked["data"]["portal_status"]) == (5, "Yêu cầu bổ sung")
    view = client.get(f"{INSTANCES}/{instance_id}", headers=PORTAL).json()
    message, timer = view["waiting_for"]
    assert message == {
        "kind": "message",
        "name": "dossier_supplement",
        "element_id": None,
        "correlation": {"business_key": IDEMPOTENCY_KEY, "dossier_code": code},
        "due_at": None,
    }
    assert (timer["kind"], timer["element_id"]) == ("timer", "supplement_expired")
    assert moment(timer["due_at"]) == moment(view["variables"]["supplement_due_at"])
    assert all(has_offset(v) for v in (timer["due_at"], view["started_at"]))

    # 5. the portal sends the supplement, correlated by the dossier code
    clock.set(hanoi("2026-02-13 10:00"))
    response = client.post(
        MESSAGES,
        json={
            "name": "dossier_supplement",
            "correlation_keys": {"dossier_code": code},
            "variables": {"supplement_documents": ["Báo cáo tài chính 2025"]},
        },
        headers=PORTAL,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"delivered": [{"instance_id": instance_id, "started": False}]}
    assert client.get(f"{INSTANCES}/{instance_id}", headers=PORTAL).json()["waiting_for"] == []

    # 6. the agencies accept, appraise, give their opinions, decide and return the result
    lane.complete(instance_id, "recheck_completeness", MOT_CUA, outcome="complete", routing="confirm")
    lane.consult_all(instance_id)
    lane.appraise(instance_id)
    lane.decide(instance_id)
    lane.return_result(instance_id)

    # 7. the portal receives the result: processing (4), settled (9), returned (10), then the end of the instance
    deliver()
    events = received(portal_receiver, secret, seen)
    statuses = [e["data"]["status"] for e in events if e["type"] == "dossier.status_changed"]
    assert statuses[0] == 4 and statuses[-1] == 10 and 9 in statuses, statuses
    result = next(e for e in events if e["type"] == "dossier.status_changed" and e["data"]["status"] == 9)
    assert (result["data"]["dossier_code"], result["data"]["portal_status"]) == (code, "Đã có kết quả")
    assert has_offset(result["data"]["appointment_at"])
    [ended] = [e for e in events if e["type"] == "instance.ended"]
    assert ended["data"]["outcome"] == "completed"
    final = client.get(f"{INSTANCES}/{instance_id}", headers=PORTAL).json()
    assert final["status"] == "completed" and final["dossier"]["status"] == 10 and final["waiting_for"] == []
    assert final["variables"]["result_document_number"] == "125/GCN-SKHCN"
