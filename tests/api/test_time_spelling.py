"""One spelling of time (issue 14, item 5; docs/api.md "Times"): every time the API answers, a webhook carries or the
live stream sends is RFC 3339 in UTC with ``Z`` (``2026-01-05T08:00:00Z``, microseconds when not zero), the dossier's
appointment (sent in Hanoi time, ``+07:00``) included. The test walks the JSON of the instance (GET and list), its
history, the public lookup, the incidents, the webhook and its deliveries, the webhook payloads themselves and a
live-stream event, and checks every time-like string; the variables are the caller's own text and are not walked.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.reads.inbox_events import InboxEventReads
from phoihop.event_stream import sse_event
from tests.api.calls import ADMIN, INSTANCES, PORTAL, SKHCN, complete, open_tasks, upload
from tests.api.test_public_lookup_api import MOT_CUA, NEW_APPOINTMENT, received
from tests.conftest import officer
from tests.engine.test_incidents import XML as FAILING_STEP
from tests.webhook_receiver import Receiver, receiver

TIME_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
MOT_CUA_ACTOR = officer("le.motcua", "ttpvhcc")  # MOT_CUA's token, as the stream reads for it
ONE_SPELLING = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")


def times_in(node: Any, path: str = "$") -> list[tuple[str, str]]:
    """(path, text) of every time-like string in ``node``, the variables left out (the caller's own values)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "variables":
                found += times_in(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += times_in(value, f"{path}[{index}]")
    elif isinstance(node, str) and TIME_LIKE.match(node):
        found.append((path, node))
    return found


def assert_one_spelling(name: str, document: Any) -> int:
    found = times_in(document)
    wrong = [(path, text) for path, text in found if not ONE_SPELLING.fullmatch(text)]
    assert wrong == [], f"{name}: {wrong}"
    return len(found)


@pytest.fixture
def hook_receiver() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_every_time_out_is_utc_with_z(
    client: TestClient, app_container: EngineContainer, clock: FakeClock, hook_receiver: Receiver
) -> None:
    hook = client.post("/api/v1/webhooks", json={"url": hook_receiver.url}, headers=ADMIN).json()
    stream = InboxEventReads(app_container.db)
    cursor = stream.cursor()
    clock.advance(timedelta(microseconds=123456))  # a time with microseconds too
    started = received(client)  # appointment 2026-01-09T17:00:00+07:00
    complete(client, open_tasks(client, started["id"])["check"]["id"], MOT_CUA)
    clock.advance(timedelta(hours=2))
    complete(client, open_tasks(client, started["id"])["issue_apology"]["id"], SKHCN, new_appointment=NEW_APPOINTMENT)
    assert upload(client, ("le_phi.bpmn", FAILING_STEP.encode())).status_code == 201
    assert client.post(INSTANCES, json={"process_key": "le_phi"}, headers=PORTAL).status_code == 201  # an incident
    assert app_container.webhook_delivery.deliver_due() > 0
    dossier = started["dossier"]

    counted = {
        "instance": assert_one_spelling("instance", ok(client.get(f"{INSTANCES}/{started['id']}", headers=ADMIN))),
        "list": assert_one_spelling("list", ok(client.get(INSTANCES, headers=ADMIN))),
        "history": assert_one_spelling(
            "history", ok(client.get(f"{INSTANCES}/{started['id']}/history", headers=ADMIN))
        ),
        "public lookup": assert_one_spelling(
            "public lookup",
            ok(client.get(f"/api/v1/public/dossiers/{dossier['code']}", params={"secret": dossier["lookup_secret"]})),
        ),
        "incidents": assert_one_spelling("incidents", ok(client.get("/api/v1/incidents", headers=ADMIN))),
        "webhooks": assert_one_spelling("webhooks", ok(client.get("/api/v1/webhooks", headers=ADMIN))),
        "deliveries": assert_one_spelling(
            "deliveries", ok(client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN))
        ),
        "webhook payloads": assert_one_spelling(
            "webhook payloads", [orjson.loads(r.body) for r in hook_receiver.requests]
        ),
        "live stream": assert_one_spelling(
            "live stream",
            [orjson.loads(sse_event(e).split("data: ", 1)[1]) for e in stream.read(MOT_CUA_ACTOR, cursor)],
        ),
    }
    assert all(n > 0 for n in counted.values()), counted  # each document had times to check
    status_changes = [r.event for r in hook_receiver.requests if r.event["type"] == "dossier.status_changed"]
    assert status_changes[0]["data"]["appointment_at"] == "2026-01-09T10:00:00Z"  # 17:00 in Hanoi
    assert any(r.event["occurred_at"].endswith(".123456Z") for r in hook_receiver.requests)
