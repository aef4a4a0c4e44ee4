"""Graceful shutdown of a real ``phoihop serve`` on PostgreSQL (issue 14, item 10): a command is in flight (its
instance row is locked by this test, so it waits inside its transaction) when the server gets SIGTERM, as systemd or
Kubernetes stop it. The server stops taking connections at once (a new one is refused), lets the command finish and
commit once the lock is released (its client gets the 200), then exits with status 0. The waits are bounds against a
hang, not timings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.api.calls import ADMIN, DEFINITIONS, INSTANCES, OWNER, PORTAL, SKHCN, TASKS

from .conftest import Proc, Processes, ok

FOUR_TASKS = Path(__file__).parent.parent / "fixtures" / "engine" / "four_tasks.bpmn"
BOUND = 60.0  # seconds: a bound against a hang


def until(condition: Callable[[], bool], what: str, proc: Proc) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not after {BOUND} s: {what}\n{proc.output()[-3000:]}")


def refused(proc: Proc) -> bool:
    try:
        httpx.get(f"{proc.base_url}/healthz", timeout=2)
    except httpx.ConnectError:
        return True
    except httpx.TransportError:  # accepted, then cut: not yet a refusal at the door
        return False
    return False


def test_sigterm_finishes_the_command_in_flight_refuses_new_connections_and_exits_0(
    processes: Processes, pg_database: str
) -> None:
    server = processes.serve(pg_database)
    client = server.client()
    ok(client.post(DEFINITIONS, files=[("files", (FOUR_TASKS.name, FOUR_TASKS.read_bytes(), "application/xml"))],
                   headers=OWNER), 201)  # fmt: skip
    instance_id = ok(client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=PORTAL), 201)["id"]
    (t1,) = ok(client.get(f"{INSTANCES}/{instance_id}", headers=ADMIN))["open_tasks"]

    sql = create_engine(pg_database)
    answer: dict[str, Any] = {}
    try:
        with sql.connect() as holder:  # holds the instance's row lock: the command waits for it in its transaction
            holder.execute(text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": instance_id})

            def complete() -> None:
                with httpx.Client(base_url=server.base_url, timeout=BOUND) as own:
                    answer["response"] = own.post(f"{TASKS}/{t1['id']}/complete", json={"variables": {}}, headers=SKHCN)

            sending = threading.Thread(target=complete)
            sending.start()

            def waiting_for_the_lock() -> bool:
                with sql.connect() as conn:
                    waiting = conn.execute(
                        text(
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                        )
                    ).scalar_one()
                return bool(waiting)

            until(waiting_for_the_lock, "the command is in flight, waiting for the row lock", server)
            server.popen.terminate()  # SIGTERM
            until(lambda: refused(server), "a new connection is refused", server)
            assert server.alive()  # still finishing the command in flight
            assert "response" not in answer
            holder.rollback()  # the lock is released: the command goes on
        sending.join(BOUND)
        assert answer["response"].status_code == 200, answer["response"].text
        assert server.popen.wait(timeout=BOUND) == 0
        with sql.connect() as conn:
            status = conn.execute(text("SELECT status FROM human_task WHERE id = :id"), {"id": t1["id"]}).scalar_one()
        assert status == "completed"  # committed before the server exited
    finally:
        sql.dispose()
