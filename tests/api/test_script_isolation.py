"""A script that holds the GIL in one native call runs in a worker process: the server keeps answering /healthz
while it runs, and the instance ends in error naming the element once the worker is stopped (issue 13, item 3)."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from phoihop.engine.container import EngineContainer

from .calls import INSTANCES, PORTAL, upload

HOSTILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://x">
  <bpmn:process id="gil_holder" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="hold" name="Hold"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>y = [x] * 100000
m = max(y)</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="hold"/>
    <bpmn:sequenceFlow id="f1" sourceRef="hold" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_healthz_answers_while_a_script_holds_the_gil(client: TestClient, app_container: EngineContainer) -> None:
    assert upload(client, ("gil_holder.bpmn", HOSTILE)).status_code == 201
    environment = app_container.executor.runtime.script_engine.environment
    running, answered, spent = threading.Event(), threading.Event(), []
    original = environment.execute

    def watched(*args: Any, **kwargs: Any) -> Any:  # the real environment, watched: when and how much CPU here
        cpu = time.thread_time()
        running.set()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.thread_time() - cpu)

    environment.execute = watched
    responses: list[Any] = []

    def start() -> None:
        body = {"process_key": "gil_holder", "variables": {"x": [0] * 100_000}}  # max(y): 10¹⁰ comparisons
        responses.append(client.post(INSTANCES, json=body, headers=PORTAL))
        answered.set()

    starter = threading.Thread(target=start, daemon=True)
    starter.start()
    assert running.wait(60)

    health = client.get("/healthz")

    answered_while_running = not answered.is_set()
    starter.join(120)
    assert health.status_code == 200 and answered_while_running
    assert spent[0] < 0.5, f"the script ran in the server process: {spent[0]:.1f} s of its CPU"
    [started] = responses
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["status"] == "incident"
    assert body["error"]["element_id"] == "hold" and body["error"]["code"] == "script-timeout"
    assert "time limit" in body["error"]["message"]
