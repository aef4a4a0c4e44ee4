"""An exception no handler expects becomes a 500 problem+json (type ``internal-error``, no stack trace) inside the
app: the server never sees it, so the client's keep-alive connection serves the next request (issue 12.2)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from phoihop.app import create_app
from phoihop.settings import Settings
from tests.conftest import TEST_SECRET

SECRET_TEXT = "kho-bau-trong-loi"  # in the exception's message: must not reach the client


def raising_app(tmp_path: Path) -> FastAPI:
    """The real app (its middleware and handlers), never started (no lifespan), with two test-only routes."""
    app = create_app(
        Settings(
            env="test",
            database_url=f"sqlite:///{tmp_path / 'unused.db'}",
            secret_key=TEST_SECRET,
            deploy_on_start=False,
            run_scheduler=False,
        ),
        upgrade_schema=False,
    )

    async def boom() -> None:
        raise RuntimeError(SECRET_TEXT)

    async def port(request: Request) -> dict[str, int]:
        assert request.client is not None
        return {"port": request.client.port}

    app.add_api_route("/api/v1/test-only/boom", boom)
    app.add_api_route("/api/v1/test-only/port", port)
    return app


def test_an_unexpected_exception_is_a_500_problem_and_does_not_escape(tmp_path: Path) -> None:
    # raise_server_exceptions=True (the default): an exception that escaped the app would be raised here
    with TestClient(raising_app(tmp_path)) as client:
        response = client.get("/api/v1/test-only/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/internal-error"
    assert body["status"] == 500
    assert body["detail_vi"]
    assert SECRET_TEXT not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    """The app under uvicorn on a loopback port, in a thread; stopped at the end of the test."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(raising_app(tmp_path), lifespan="off", log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_the_keep_alive_connection_serves_the_request_after_a_500(live: str) -> None:
    with httpx.Client(base_url=live) as client:
        first = client.get("/api/v1/test-only/port").json()["port"]
        assert client.get("/api/v1/test-only/boom").status_code == 500
        after = client.get("/api/v1/test-only/port").json()["port"]
    assert after == first  # the same TCP connection: the server did not drop it
