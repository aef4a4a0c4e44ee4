"""Operations (issue 14.8, 14.9): a request id on every answer and in the audit events the request wrote, one
structured log line per request and per command (JSON, no query string), and /metrics in the Prometheus format
behind its token, with figures from the database (both databases)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from phoihop.engine import correlation
from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.store.tables import audit_table
from phoihop.observability import JsonFormatter
from phoihop.settings import Settings
from tests.api.calls import ADMIN, deploy, start
from tests.conftest import reused_app

METRICS_TOKEN = "metrics-token-of-the-test-0123456789"


def test_every_answer_carries_a_request_id_and_the_audit_events_keep_it(
    client: TestClient, app_container: EngineContainer
) -> None:
    deploy(client, "four_tasks.bpmn")
    generated = client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    chosen = client.post(
        "/api/v1/process-instances",
        json={"process_key": "four_tasks"},
        headers={**ADMIN, "X-Request-Id": "portal-7f3a.1"},
    )
    assert chosen.status_code == 201, chosen.text
    assert chosen.headers["x-request-id"] == "portal-7f3a.1"
    odd = client.get("/healthz", headers={"X-Request-Id": "not a token; <script>"})
    assert odd.headers["x-request-id"] != "not a token; <script>" and len(odd.headers["x-request-id"]) == 32
    refused = client.get("/api/v1/tasks", headers={"X-Request-Id": "abc"})  # problems carry it too
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "abc"

    with app_container.db.transaction(write=False) as conn:
        rows = conn.execute(
            select(audit_table.c.kind, audit_table.c.request_id).where(audit_table.c.instance_id == chosen.json()["id"])
        ).all()
    assert rows and {r.request_id for r in rows} == {"portal-7f3a.1"}


def test_one_log_line_per_request_and_per_command(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    deploy(client, "four_tasks.bpmn")
    caplog.set_level(logging.INFO)
    instance = start(client, "four_tasks", headers={**ADMIN, "X-Request-Id": "r-1"})
    client.get("/api/v1/tasks?q=Nguy%E1%BB%85n%20V%C4%83n%20A", headers=ADMIN)

    requests = [r for r in caplog.records if r.name == "phoihop.request"]
    started = next(r for r in requests if r.__dict__["route"] == "/api/v1/process-instances")
    assert (started.__dict__["method"], started.__dict__["status"]) == ("POST", 201)
    searched = next(r for r in requests if r.__dict__["path"] == "/api/v1/tasks")
    assert "Nguy" not in searched.getMessage() and "q=" not in searched.getMessage()  # no query string: no names
    commands = [r for r in caplog.records if r.name == "phoihop.command"]
    assert any(r.__dict__["command"] == "InstanceCommands.start" and r.__dict__["outcome"] == "ok" for r in commands), [
        r.__dict__.get("command") for r in commands
    ]
    assert instance["id"]


def test_the_json_formatter_writes_one_object_per_line_with_the_request_id() -> None:
    record = logging.LogRecord("phoihop.request", logging.INFO, __file__, 1, "GET %s", ("/healthz",), None)
    record.__dict__.update({"status": 200, "duration_ms": 1.5})
    token = correlation.request_id.set("req-42")
    try:
        line = JsonFormatter().format(record)
    finally:
        correlation.request_id.reset(token)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "GET /healthz" and parsed["request_id"] == "req-42"
    assert (parsed["level"], parsed["logger"], parsed["status"], parsed["duration_ms"]) == (
        "info",
        "phoihop.request",
        200,
        1.5,
    )
    assert parsed["ts"].endswith("+00:00")


@pytest.fixture
def metrics_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with_token = settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})
    with TestClient(reused_app(with_token, clock), raise_server_exceptions=False) as test_client:
        assert test_client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        yield test_client


@pytest.mark.sqlite_only("/metrics is off without its token: answered before any SQL runs")
def test_metrics_need_their_token_and_are_off_without_one(client: TestClient) -> None:
    off = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert off.status_code == 404 and off.headers["content-type"].startswith("application/problem+json")


def test_metrics_report_commands_tasks_per_agency_and_instances(metrics_client: TestClient, clock: FakeClock) -> None:
    client = metrics_client
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    deploy(client, "four_tasks.bpmn")
    start(client, "four_tasks")
    start(client, "four_tasks")

    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200, scraped.text
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = scraped.text
    assert 'phoihop_instances{process_key="four_tasks",status="running"} 2.0' in text
    assert 'phoihop_command_duration_seconds_count{command="InstanceCommands.start",outcome="ok"}' in text
    assert "phoihop_http_request_duration_seconds_count" in text
    open_lines = [line for line in text.splitlines() if line.startswith("phoihop_tasks_open{")]
    assert open_lines and sum(float(line.split()[-1]) for line in open_lines) >= 2
    assert "phoihop_tasks_overdue{" in text and "phoihop_timer_lag_seconds 0.0" in text
    assert "phoihop_db_pool_size" in text
