"""A database that cannot serve a request (no pooled connection in time, the connection lost mid-command) answers 503
application/problem+json ``/problems/database-unavailable`` with ``Retry-After`` and Vietnamese and English text;
the command rolled back, the instance is as it was (never ``error``), and the same request sent again succeeds.
Issue 13, item 2 (a lost connection was a generic 500)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.settings import Settings
from tests.conftest import reused_app
from tests.engine.test_one_connection import lose_connection

from .calls import SKHCN, TASKS, assert_problem, deploy, instance, open_tasks, start


def assert_unavailable(response: object, reason: str) -> None:
    body = assert_problem(response, 503, "database-unavailable")  # type: ignore[arg-type]
    assert response.headers["retry-after"] == str(body["retry_after"])  # type: ignore[attr-defined]
    assert int(body["retry_after"]) >= 1
    assert body["reason"] == reason
    assert "Hệ thống đang bận" in body["title"] and "retry" in body["title"]
    assert body["detail_vi"].startswith("Hệ thống đang bận, vui lòng thử lại")
    assert "retry" in body["detail"]


def complete_t1(client: TestClient, task: str) -> object:
    return client.post(f"{TASKS}/{task}/complete", json={"variables": {"buoc1": True}}, headers=SKHCN)


@pytest.fixture
def small_pool(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """A server whose pool has one connection and waits 0.3 s for it."""
    small = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.3})
    with TestClient(reused_app(small, clock), raise_server_exceptions=False) as test_client:
        # the start-up work (deploy-on-start, warming) holds the only connection for a while: the test begins after it
        assert test_client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        yield test_client


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_pool_timeout_is_a_503_with_retry_after_and_the_retry_succeeds(small_pool: TestClient) -> None:
    client = small_pool
    container: EngineContainer = client.app.state.container  # type: ignore[attr-defined]
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    task = started["open_tasks"][0]["id"]
    before = instance(client, started["id"])

    with container.db.transaction(write=False):  # someone holds the only connection
        response = complete_t1(client, task)
    assert_unavailable(response, "pool-timeout")

    assert instance(client, started["id"]) == before
    assert complete_t1(client, task).status_code == 200  # the client retries
    assert list(open_tasks(client, started["id"])) == ["t2"]


def test_a_connection_lost_mid_command_is_a_503_and_leaves_the_instance_as_it_was(
    client: TestClient, app_container: EngineContainer
) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")
    task = started["open_tasks"][0]["id"]
    before = instance(client, started["id"])

    def cut() -> None:
        command = app_container.db.active()
        assert command is not None
        lose_connection(app_container, command.connection.dbapi_connection)

    app_container.executor.fail_before_commit = cut
    try:
        response = complete_t1(client, task)
    finally:
        app_container.executor.fail_before_commit = None
    assert_unavailable(response, "connection-lost")

    after = instance(client, started["id"])
    assert after == before and after["status"] == "running"
    assert complete_t1(client, task).status_code == 200
    assert list(open_tasks(client, started["id"])) == ["t2"]
