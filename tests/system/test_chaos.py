"""One case never stops another (issue 13, "done when"): a real ``phoihop serve`` with its timer scheduler, on
loopback, runs healthy cases beside three hostile ones at once:

- a poison timer: its firing fails at every try (the task after it names a due-date variable nobody sets);
- a script that holds the GIL in one native call (``max`` over 10¹⁰ comparisons);
- a catastrophic form pattern, ``^(a+)+$``, met by a 5,001-character value.

Before, the poison timer stayed first in line and no later timer ever fired, the script froze every request of the
server for its whole run, and the pattern backtracked for longer than the age of the universe. The test shows the
healthy timers firing while the poison timer waits out its first backoff, ``/healthz`` answering while the script
runs, and the pattern refused with a 422. The waits are bounds against a hang, not timings.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.api.calls import ADMIN, DEFINITIONS, INSTANCES, OWNER, PORTAL

from .conftest import Processes, ok, wait_until

FORMS = Path(__file__).parent.parent / "fixtures" / "forms"
HEALTHY = 5
EVIL = "^(a+)+$"
LANE = '<bpmn:laneSet id="ls"><bpmn:lane id="L" name="Sở Khoa học và Công nghệ">{refs}</bpmn:lane></bpmn:laneSet>'


def process(key: str, body: str, *refs: str) -> bytes:
    lane = LANE.format(refs="".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D_{key}" targetNamespace="http://phoihop/t">
  <bpmn:process id="{key}" name="Thử nghiệm {key}" isExecutable="true">{lane}{body}</bpmn:process>
</bpmn:definitions>""".encode()


def timer_then(key: str, duration: str, task: str) -> bytes:
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="Chờ">
      <bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="after"/>
    {task}
    <bpmn:sequenceFlow id="f2" sourceRef="after" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
    return process(key, body, "start", "wait", "after", "end")


POISON = timer_then("poison", "PT1S", '<bpmn:userTask id="after" name="Xử lý" camunda:dueDate="${han_xu_ly}"/>')
HEALTHY_TIMER = timer_then("healthy", "PT2S", '<bpmn:userTask id="after" name="Xử lý tiếp"/>')
GIL_HOLDER = process(
    "gil_holder",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="hold"/>
    <bpmn:scriptTask id="hold" name="Giữ GIL"><bpmn:script>y = [x] * 100000
m = max(y)</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f1" sourceRef="hold" targetRef="end"/>
    <bpmn:endEvent id="end"/>""",
    "start",
    "hold",
    "end",
)


def deploy(client: httpx.Client, *files: tuple[str, bytes]) -> None:
    parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
    ok(client.post(DEFINITIONS, files=parts, headers=OWNER), 201)


def start(client: httpx.Client, key: str, **variables: Any) -> str:
    started: dict[str, Any] = ok(
        client.post(INSTANCES, json={"process_key": key, "variables": variables}, headers=PORTAL), 201
    )
    return str(started["id"])


def evil_form_files() -> list[tuple[str, bytes]]:
    form = json.loads((FORMS / "kien_nghi.form.json").read_text(encoding="utf-8"))
    form["properties"]["ma_so_thue"]["pattern"] = EVIL
    files = [(p.name, p.read_bytes()) for p in sorted(FORMS.iterdir()) if p.name != "kien_nghi.form.json"]
    return [*files, ("kien_nghi.form.json", json.dumps(form, ensure_ascii=False).encode())]


def test_healthy_cases_keep_going_beside_a_poison_timer_a_gil_holding_script_and_a_redos_pattern(
    processes: Processes, sqlite_url: str
) -> None:
    server = processes.serve(sqlite_url, scheduler=True)
    client = server.client(timeout=120)
    deploy(client, ("poison.bpmn", POISON))
    deploy(client, ("healthy.bpmn", HEALTHY_TIMER))
    deploy(client, ("gil_holder.bpmn", GIL_HOLDER))
    deploy(client, *evil_form_files())

    poisoned = start(client, "poison")  # due first: one second
    healthy = [start(client, "healthy") for _ in range(HEALTHY)]  # due after it: two seconds

    answered = threading.Event()
    hostile: list[httpx.Response] = []

    def hold_the_gil() -> None:
        with httpx.Client(base_url=server.base_url, timeout=120) as own:
            body = {"process_key": "gil_holder", "variables": {"x": [0] * 100_000}}
            hostile.append(own.post(INSTANCES, json=body, headers=PORTAL))
        answered.set()

    holder = threading.Thread(target=hold_the_gil, daemon=True)
    holder.start()

    # while the script runs: the server answers, and the catastrophic pattern is refused at once
    health_while_running = [client.get("/healthz").status_code for _ in range(3)]
    # asked before the redos request: on a loaded machine the script's CPU budget can run out while that one is read
    script_still_running = not answered.is_set()
    redos = client.post(
        INSTANCES,
        json={"process_key": "kien_nghi", "variables": {"ma_so_thue": "a" * 5000 + "!"}},
        headers=PORTAL,
    )
    holder.join(120)

    assert health_while_running == [200, 200, 200]
    assert script_still_running, "the script ended before the server was asked anything: nothing was shown"
    assert redos.status_code == 422 and redos.headers["content-type"] == "application/problem+json", redos.text
    assert "ma_so_thue" in {e["field"] for e in redos.json()["errors"]}
    [stopped] = hostile
    assert ok(stopped, 201)["status"] == "incident"  # a step that timed out is an incident to retry or skip
    assert stopped.json()["error"]["element_id"] == "hold"
    assert stopped.json()["error"]["code"] == "script-timeout"

    def all_healthy_fired() -> bool:
        return all(
            "after" in {t["element_id"] for t in ok(client.get(f"{INSTANCES}/{i}", headers=ADMIN))["open_tasks"]}
            for i in healthy
        )

    wait_until(all_healthy_fired, 60, server)  # a bound against a hang: before, they never fired

    db = create_engine(sqlite_url)
    try:
        with db.connect() as conn:
            poison = conn.execute(
                text("SELECT attempts, retry_at, last_error FROM timer WHERE instance_id = :i"), {"i": poisoned}
            ).one()
            fired = [
                row
                for row in conn.execute(text("SELECT instance_id, at FROM audit_event WHERE kind = 'timer_fired'"))
                if row.instance_id in healthy
            ]
    finally:
        db.dispose()
    assert poison.attempts >= 1 and "after" in poison.last_error and "han_xu_ly" in poison.last_error
    assert {row.instance_id for row in fired} == set(healthy)
    retry_at = _utc(poison.retry_at)
    # the healthy timers did not wait behind the poison's retries: each fired before its first backoff ended
    assert all(_utc(row.at) < retry_at for row in fired), (fired, retry_at)


def _utc(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
