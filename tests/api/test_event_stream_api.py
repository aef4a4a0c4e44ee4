"""The live inbox stream (``GET /api/v1/events/stream``) read over a real socket from a uvicorn server running the
app in a thread, on SQLite and PostgreSQL: a task created after the subscription arrives to its agency's officer and
not to another agency's; completing it reaches its agency (task.completed) and the next agency (task.created);
signed-out callers get a 401 problem.

The fixture (tests/fixtures/public/dossier_lookup.bpmn) opens "check" for ttpvhcc; completing it opens
"issue_apology" for skhcn."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from phoihop.app import create_app
from phoihop.engine.clock import FakeClock
from phoihop.settings import Settings
from tests.api.calls import OWNER, PORTAL
from tests.conftest import auth

FIXTURE = Path(__file__).parent.parent / "fixtures" / "public" / "dossier_lookup.bpmn"
STREAM = "/api/v1/events/stream"
MOT_CUA = auth("le.motcua", groups="ttpvhcc")
SKHCN = auth("pham.thamdinh", groups="skhcn")
WAIT = 20.0  # seconds an expected event may take at most (a busy machine); none is expected to take more than ~1 s


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(settings, clock=clock, upgrade_schema=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base) as probe_client:
        for _ in range(400):
            try:
                if probe_client.get("/healthz").status_code == 200 and app.state.startup.done.wait(0):
                    break
            except httpx.TransportError:
                pass
            threading.Event().wait(0.05)
    yield base
    running.should_exit = True
    thread.join(30)
    assert not thread.is_alive()


class Subscription:
    """A stream read in the test's own thread: ``next_event`` reads up to the next event (comments skipped), failing
    with a read timeout after WAIT seconds without a line (the keep-alive comes every 15 s)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()
        self.comments: list[str] = []

    def next_event(self) -> dict[str, Any]:
        fields: dict[str, str] = {}
        deadline = time.monotonic() + WAIT
        for line in self.lines:
            if line.startswith(":"):
                self.comments.append(line)
                assert time.monotonic() < deadline, "no event within WAIT seconds (keep-alives only)"
            elif line == "" and "event" in fields:
                return {"type": fields["event"], "id": fields.get("id"), **json.loads(fields["data"])}
            elif line:
                name, _, value = line.partition(": ")
                fields[name] = value
        raise AssertionError("the stream ended")

    def wait_connected(self) -> None:
        for line in self.lines:
            if line.startswith(":"):
                self.comments.append(line)
                return
        raise AssertionError("the stream ended")


@contextmanager
def subscribed(base: str, headers: dict[str, str]) -> Iterator[Subscription]:
    with (
        httpx.Client(base_url=base, timeout=httpx.Timeout(WAIT)) as client,
        client.stream("GET", STREAM, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        subscription = Subscription(response)
        subscription.wait_connected()  # the cursor is taken: what happens from now on is sent
        yield subscription


def test_the_stream_sends_the_callers_inbox_events_as_they_happen(server: str, clock: FakeClock) -> None:
    """The clock moves between commands, as a real one does: a task is created by the command whose audit event has
    the task's creation time (engine/store/inbox_events.py)."""
    with httpx.Client(base_url=server) as api:
        deployed = api.post(
            "/api/v1/process-definitions",
            files=[("files", (FIXTURE.name, FIXTURE.read_bytes(), "application/xml"))],
            headers=OWNER,
        )
        assert deployed.status_code == 201, deployed.text
        before = api.post(
            "/api/v1/process-instances", json={"process_key": "dossier_lookup", "variables": {"appointment": "x"}},
            headers=PORTAL,
        )  # fmt: skip
        assert before.status_code == 201, before.text

        with subscribed(server, MOT_CUA) as mot_cua, subscribed(server, SKHCN) as skhcn:
            clock.advance(1)
            started = api.post(
                "/api/v1/process-instances", json={"process_key": "dossier_lookup", "variables": {"appointment": "x"}},
                headers=PORTAL,
            ).json()  # fmt: skip
            created = mot_cua.next_event()
            # the task created before the subscription is not sent; this one is, with what a row of the inbox needs
            assert created["type"] == "task.created" and created["instance_id"] == started["id"]
            assert (created["name"], created["status"], created["candidate_groups"]) == (
                "Kiểm tra tính đầy đủ của hồ sơ", "open", ["ttpvhcc"],
            )  # fmt: skip
            task_id = created["task_id"]
            assert created["id"].endswith(f"-{task_id}")

            clock.advance(1)
            assert api.post(f"/api/v1/tasks/{task_id}/claim", headers=MOT_CUA).status_code in (200, 204)
            claimed = mot_cua.next_event()
            assert (claimed["type"], claimed["task_id"], claimed["assignee"]) == ("task.claimed", task_id, "le.motcua")
            clock.advance(1)
            done = api.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {}}, headers=MOT_CUA)
            assert done.status_code == 200, done.text
            completed = mot_cua.next_event()
            assert (completed["type"], completed["task_id"], completed["status"]) == (
                "task.completed",
                task_id,
                "completed",
            )

            # the next agency learns of its new task; it never heard of the other agency's
            apology = skhcn.next_event()
            assert apology["type"] == "task.created" and apology["candidate_groups"] == ["skhcn"]
            assert apology["name"] == "Phát hành phiếu xin lỗi và hẹn lại ngày trả kết quả"
            # the first agency's next event is its next dossier's task: it was never sent skhcn's task
            clock.advance(1)
            another = api.post(
                "/api/v1/process-instances", json={"process_key": "dossier_lookup", "variables": {"appointment": "x"}},
                headers=PORTAL,
            ).json()  # fmt: skip
            following = mot_cua.next_event()
            assert (following["type"], following["instance_id"]) == ("task.created", another["id"])

        signed_out = api.get(STREAM)
        assert signed_out.status_code == 401
        assert signed_out.headers["content-type"].startswith("application/problem+json")
