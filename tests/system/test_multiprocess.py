"""Real processes over HTTP: two servers on one PostgreSQL, two timer workers, crash and restart, offline docs.

Nothing is mocked: the tests start ``phoihop serve`` / ``phoihop worker`` subprocesses (see conftest.py; the two
servers on PostgreSQL are shared by the tests that need them, each working on data of its own) and talk to them with
httpx, signing bearer tokens with the secret the processes were given.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, text

from tests.api.calls import ADMIN, DEFINITIONS, HTKC, INSTANCES, OWNER, PORTAL, SKHCN, STP, TASKS, bpmn
from tests.conftest import PG_ADMIN_URL, auth

from .conftest import READY_SECONDS, Proc, Processes, ok

VP_UBND = auth("lan", groups="vp-ubnd")
ESCALATION_KEY = "escalation"


def escalation_bpmn(duration: str) -> bytes:
    """review (skhcn) with an interrupting boundary timer → escalate (lane vp-ubnd)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_esc"
                  targetNamespace="http://phoihop/test">
  <bpmn:collaboration id="Collab_esc"><bpmn:participant id="P_esc" processRef="{ESCALATION_KEY}"/></bpmn:collaboration>
  <bpmn:process id="{ESCALATION_KEY}" name="Đôn đốc quá hạn" isExecutable="true">
    <bpmn:laneSet id="ls_esc">
      <bpmn:lane id="Lane_skhcn" name="skhcn"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>deadline</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_vp" name="vp-ubnd"><bpmn:flowNodeRef>escalate</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_escalated</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Xem xét hồ sơ"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="deadline" name="Quá hạn" attachedToRef="review" cancelActivity="true">
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="escalate" name="Đôn đốc xử lý quá hạn"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_escalated"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="deadline" targetRef="escalate"/>
    <bpmn:sequenceFlow id="f3" sourceRef="escalate" targetRef="end_escalated"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


# --- HTTP calls ---------------------------------------------------------------------------------------------------
def deploy(client: httpx.Client, name: str, content: bytes) -> None:
    ok(client.post(DEFINITIONS, files=[("files", (name, content, "application/xml"))], headers=OWNER), 201)


def start(client: httpx.Client, process_key: str, **variables: Any) -> dict[str, Any]:
    body = {"process_key": process_key, "variables": variables}
    started: dict[str, Any] = ok(client.post(INSTANCES, json=body, headers=PORTAL), 201)
    return started


def get_instance(client: httpx.Client, instance_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(client.get(f"{INSTANCES}/{instance_id}", headers=ADMIN))
    return found


def history(client: httpx.Client, instance_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = ok(client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN))
    return events


def open_task(client: httpx.Client, instance_id: str, element_id: str) -> str:
    tasks: dict[str, str] = {t["element_id"]: t["id"] for t in get_instance(client, instance_id)["open_tasks"]}
    assert element_id in tasks, (element_id, tasks)
    return tasks[element_id]


def complete(client: httpx.Client, task_id: str, headers: dict[str, str], **variables: Any) -> httpx.Response:
    return client.post(f"{TASKS}/{task_id}/complete", json={"variables": variables}, headers=headers)


def at(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def poll(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Wait (bounded) until ``condition()``; returns the seconds it took."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - began


# --- two servers, one PostgreSQL ------------------------------------------------------------------------------------
def test_parallel_branches_completed_at_once_on_two_servers_lose_nothing(pg_servers: tuple[Proc, Proc]) -> None:
    server_a, server_b = pg_servers
    a, b = server_a.client(), server_b.client()
    deploy(a, "parallel.bpmn", bpmn("parallel.bpmn"))
    ids = [start(b, "parallel_review", so_ho_so=i)["id"] for i in range(10)]

    barrier = threading.Barrier(2)

    def at_once(client: httpx.Client, task_id: str, headers: dict[str, str], **variables: Any) -> httpx.Response:
        barrier.wait(timeout=10)
        return complete(client, task_id, headers, **variables)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, instance_id in enumerate(ids):
            ok(complete(b, open_task(b, instance_id, "receive"), SKHCN, phan_loai=f"P{i}"))
            legal, board = open_task(a, instance_id, "legal"), open_task(b, instance_id, "board")
            barrier.reset()
            on_a = pool.submit(at_once, a, legal, STP, legal_ok=True, legal_note=f"L{i}")
            on_b = pool.submit(at_once, b, board, HTKC, board_ok=True, board_note=f"B{i}")
            ok(on_a.result(timeout=30))
            ok(on_b.result(timeout=30))

    for i, instance_id in enumerate(ids):
        found = get_instance(a if i % 2 else b, instance_id)
        assert found["status"] == "running"
        assert [t["element_id"] for t in found["open_tasks"]] == ["decide"], found["open_tasks"]
        assert {
            k: found["variables"].get(k)
            for k in ("so_ho_so", "phan_loai", "legal_ok", "legal_note", "board_ok", "board_note")
        } == {
            "so_ho_so": i,
            "phan_loai": f"P{i}",
            "legal_ok": True,
            "legal_note": f"L{i}",
            "board_ok": True,
            "board_note": f"B{i}",
        }
        events = history(a, instance_id)
        assert sorted(e["element_id"] for e in events if e["kind"] == "task_completed") == ["board", "legal", "receive"]
        assert [e["element_id"] for e in events if e["element_id"] == "route"] == ["route"]
        decide = ok(a.get(TASKS, params={"instance_id": instance_id, "status": "open"}, headers=ADMIN))
        assert [t["element_id"] for t in decide["items"]] == ["decide"]


def test_claim_race_across_two_servers_has_one_winner(pg_servers: tuple[Proc, Proc]) -> None:
    server_a, server_b = pg_servers
    clients = (server_a.client(), server_b.client())
    deploy(clients[0], "four_tasks.bpmn", bpmn("four_tasks.bpmn"))
    officers = [auth(f"officer{n}", groups="skhcn") for n in range(10)]

    for _round in range(3):
        task_id = start(clients[1], "four_tasks")["open_tasks"][0]["id"]
        barrier = threading.Barrier(len(officers))

        def claim(n: int, task_id: str = task_id, barrier: threading.Barrier = barrier) -> httpx.Response:
            barrier.wait(timeout=10)
            return clients[n % 2].post(f"{TASKS}/{task_id}/claim", headers=officers[n])

        with ThreadPoolExecutor(max_workers=len(officers)) as pool:
            responses = list(pool.map(claim, range(len(officers))))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * 9, [(r.status_code, r.text) for r in responses]
        assert {r.json()["type"] for r in responses if r.status_code == 409} == {"/problems/task-already-claimed"}
        winner = next(n for n, r in enumerate(responses) if r.status_code == 200)
        task = ok(clients[0].get(f"{TASKS}/{task_id}", headers=ADMIN))
        assert (task["status"], task["assignee"]) == ("claimed", f"officer{winner}")


def test_two_workers_fire_each_timer_exactly_once_never_before_it_is_due(
    processes: Processes, pg_servers: tuple[Proc, Proc], pg_database: str
) -> None:
    """What the engine records, not how late: each instance's timer fired once across the two workers (one
    timer_fired event, one escalation, no timer left waiting that a second firing could take), it was the timer that
    was due (its recorded due time), never before that time, and its firing completed the boundary event and opened
    the escalation in one transaction (one recorded time)."""
    server = pg_servers[0]  # it runs no scheduler: only the workers fire timers
    processes.wait_ready(
        processes.worker(pg_database, name="worker-1", wait=False),
        processes.worker(pg_database, name="worker-2", wait=False),
    )
    client = server.client()
    deploy(client, "escalation.bpmn", escalation_bpmn("PT1S"))
    due: dict[str, datetime] = {}
    for n in range(20):
        started = start(client, ESCALATION_KEY, n=n)
        (timer,) = [w for w in started["waiting_for"] if w["kind"] == "timer"]
        due[started["id"]] = at(timer["due_at"])

    def escalated() -> bool:
        page = ok(
            client.get(TASKS, params={"process_key": ESCALATION_KEY, "status": "open", "limit": 200}, headers=VP_UBND)
        )
        return int(page["total"]) >= len(due)

    poll(escalated, READY_SECONDS, "20 escalation tasks")  # a bound against a hang: the proof is the record below

    lateness = []
    for instance_id, due_at in due.items():
        found = get_instance(client, instance_id)
        assert [t["element_id"] for t in found["open_tasks"]] == ["escalate"], found["open_tasks"]
        assert found["open_tasks"][0]["candidate_groups"] == ["vp-ubnd"]
        assert [w for w in found["waiting_for"] if w["kind"] == "timer"] == []  # nothing left to fire a second time
        events = history(client, instance_id)  # read after the timer is gone: no firing can follow
        fired = [e for e in events if e["kind"] == "timer_fired"]
        assert len(fired) == 1, fired
        assert at(fired[0]["data"]["due_at"]) == due_at  # the timer that was due, as it was set at the start
        assert at(fired[0]["at"]) >= due_at, (fired[0], due_at)  # when due or after, never before
        after = [(e["kind"], e["element_id"]) for e in events if e["id"] > fired[0]["id"]]
        assert after == [("element_completed", "deadline")], events  # the firing completed the boundary event
        assert at(found["open_tasks"][0]["created_at"]) == at(fired[0]["at"])  # the escalation: the firing's own
        lateness.append((at(fired[0]["at"]) - due_at).total_seconds())
    escalations = ok(
        client.get(TASKS, params={"process_key": ESCALATION_KEY, "status": "open", "limit": 200}, headers=VP_UBND)
    )
    assert sorted(t["instance_id"] for t in escalations["items"]) == sorted(due)  # one escalation each
    print(
        f"timer lateness (shown, not asserted): median {statistics.median(lateness):.2f} s, max {max(lateness):.2f} s"
    )


def test_servers_started_together_on_a_fresh_database_all_come_up(processes: Processes, pg_database: str) -> None:
    """Two servers migrate a fresh database at the same moment. To make the moment certain, this test holds an
    uncommitted ``CREATE TABLE alembic_version`` until both servers wait on the database, then rolls it back."""
    fresh = pg_database.rsplit("/", 1)[1] + "_fresh"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{fresh}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{fresh}"'))
        blocker_engine = create_engine(url)
        try:
            with blocker_engine.connect() as blocker:
                blocker.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                servers = [processes.serve(url, name=f"server-{n}", wait=False) for n in range(2)]

                def both_waiting() -> bool:
                    for server in servers:  # a server that exited is a failure now, not at the bound
                        assert server.alive(), f"{server.name} exited:\n{server.output()[-4000:]}"
                    with admin.connect() as conn:
                        return (
                            conn.execute(
                                text(
                                    "SELECT count(*) FROM pg_stat_activity"
                                    " WHERE datname = :db AND wait_event_type = 'Lock'"
                                ),
                                {"db": fresh},
                            ).scalar_one()
                            == 2
                        )

                # a bound against a hang, as for any server start: two servers import and connect slowly under load
                poll(both_waiting, READY_SECONDS, "both servers waiting on the database")
                blocker.rollback()
        finally:  # closed even when the test fails: a connection left open warns (ResourceWarning) in a later test
            blocker_engine.dispose()
        processes.wait_ready(*servers)
        for server in servers:
            assert server.client().get("/healthz").status_code == 200
    finally:
        processes.stop_all(show_logs=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()


def test_docs_are_served_with_local_assets_only(pg_servers: tuple[Proc, Proc]) -> None:
    server = pg_servers[0]  # the module's running server: the docs depend on no data, a fresh server proves no more
    client = server.client()
    own_host = urlsplit(server.base_url).netloc
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200, response.text
        html = response.text
        foreign = [u for u in re.findall(r"https?://[^\s\"'<>()]+", html) if urlsplit(u).netloc != own_host]
        assert foreign == [], f"{page} refers to other hosts: {foreign}"
        assets = re.findall(r"""(?:src|href)\s*=\s*["'](/[^"']+)["']""", html)
        assert assets, html
        for asset in [*assets, "/openapi.json"]:
            assert client.get(asset).status_code == 200, asset


# --- one server on SQLite ------------------------------------------------------------------------------------------
def test_timer_due_while_the_server_was_down_fires_after_restart(processes: Processes, sqlite_url: str) -> None:
    # the first server runs no scheduler: whatever the machine's speed, nothing can fire the timer before the crash
    # (with one, a slow start-to-kill would let it fire early; the test asserted a duration to rule that out)
    first = processes.serve(sqlite_url, scheduler=False, name="server-before-crash")
    client = first.client()
    deploy(client, "escalation.bpmn", escalation_bpmn("PT2S"))
    instance_id = start(client, ESCALATION_KEY)["id"]
    (timer,) = [w for w in get_instance(client, instance_id)["waiting_for"] if w["kind"] == "timer"]
    due_at = at(timer["due_at"])
    first.kill()
    killed_at = datetime.now(UTC)

    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + 0.5)  # past due, with no process running
    restarted_at = datetime.now(UTC)
    assert restarted_at > due_at
    second = processes.serve(sqlite_url, scheduler=True, name="server-after-restart")
    client = second.client()
    poll(
        lambda: [t["element_id"] for t in get_instance(client, instance_id)["open_tasks"]] == ["escalate"],
        60,  # a safety bound against a hang, not the proof
        "escalation after restart",
    )

    # not lost, not fired twice: one firing, by the restarted server, of the timer that came due while none ran
    fired = [e for e in history(client, instance_id) if e["kind"] == "timer_fired"]
    assert len(fired) == 1, fired
    assert at(fired[0]["at"]) >= restarted_at > killed_at
    assert at(fired[0]["data"]["due_at"]) == due_at
    assert [t["element_id"] for t in get_instance(client, instance_id)["open_tasks"]] == ["escalate"]
