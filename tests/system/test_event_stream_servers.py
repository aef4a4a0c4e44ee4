"""The live inbox stream across processes on one PostgreSQL database: a stream open on a ``phoihop serve`` process
hears, through LISTEN/NOTIFY, of a task created by a command run in another process (this test's own engine); on
SIGTERM the server ends its open stream (``event: shutdown``) and exits without waiting for the client to leave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx

from phoihop.engine.container import build_engine
from tests.api.calls import DEFINITIONS, OWNER
from tests.conftest import INTEGRATOR, auth

from .conftest import READY_SECONDS, Processes, ok

FIXTURE = Path(__file__).parent.parent / "fixtures" / "public" / "dossier_lookup.bpmn"
MOT_CUA = auth("le.motcua", groups="ttpvhcc")


def next_event(lines: Iterator[str]) -> dict[str, str]:
    event: dict[str, str] = {}
    for line in lines:
        if line.startswith(":") or (not line and not event):
            continue
        if not line:
            return event
        name, _, value = line.partition(": ")
        event[name] = value
    raise AssertionError("the stream ended")


def test_a_stream_hears_another_processs_commands_and_ends_on_shutdown(processes: Processes, pg_database: str) -> None:
    server = processes.serve(pg_database)
    ok(server.client().post(DEFINITIONS, files=[("files", (FIXTURE.name, FIXTURE.read_bytes(), "application/xml"))],
                            headers=OWNER), 201)  # fmt: skip
    elsewhere = build_engine(pg_database, script_workers=1)  # another process's commands: this test's
    try:
        with (
            httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(30.0)) as client,
            client.stream("GET", "/api/v1/events/stream", headers=MOT_CUA) as stream,
        ):
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(lines) == "retry: 3000" and next(lines) == ": connected"
            instance_id, _ = elsewhere.instances.start(INTEGRATOR, "dossier_lookup", variables={"appointment": "x"})
            event = next_event(lines)
            assert event["event"] == "task.created"
            assert json.loads(event["data"])["instance_id"] == instance_id

            server.popen.terminate()  # SIGTERM, as systemd or Kubernetes stop a server
            rest = list(lines)  # the stream ends: the server closed it, this client still connected
            assert "event: shutdown" in rest
            # uvicorn re-raises SIGTERM once it has shut down; the bound is against a hang, not a timing
            assert server.popen.wait(timeout=READY_SECONDS) in (0, -15)
            # it did not wait for this client to leave: uvicorn says when its graceful-shutdown timeout (30 s) ran out
            # and it cancelled the responses still open; a clock here would fail on a loaded machine
            log = server.output()
            assert "Shutting down" in log and "timeout graceful shutdown exceeded" not in log, log[-3000:]
    finally:
        elsewhere.close()
