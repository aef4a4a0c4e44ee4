"""A script that holds the GIL in one native call runs in a worker process: the server keeps answering /healthz
while it runs, and the instance ends in error naming the element once the worker is stopped (issue 13, item 3). The
two time limits, CPU time and wall clock, reach a caller as problem+json that says which one stopped the script."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from phoihop import problems
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import ScriptTimeout
from phoihop.engine.execution.sandbox import SandboxedEnvironment
from phoihop.engine.execution.sandbox_pool import ScriptPool
from phoihop.settings import Settings

from .calls import INSTANCES, PORTAL, assert_problem, upload

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


def test_cpu_and_wall_clock_timeouts_are_problems_that_name_their_limit() -> None:
    """A script that computes is stopped by its CPU time, one that waits (blocked in a call: ``time.sleep`` passed in
    as external context) by the wall clock; each error, raised by the real sandbox, mapped by the app's handler."""
    pool = ScriptPool(1)
    env = SandboxedEnvironment(cpu_seconds=0.25, wall_seconds=2.0, pool=pool)
    raised: dict[str, ScriptTimeout] = {}
    try:
        for name, script in (("computes", "while True:\n    pass"), ("waits", "sleep(600)")):
            with pytest.raises(ScriptTimeout) as caught:
                env.execute(script, {}, {"sleep": time.sleep})
            raised[name] = caught.value
    finally:
        pool.close()
    app = FastAPI()
    problems.install(app)

    @app.get("/{name}")
    def fail(name: str) -> None:
        raise raised[name]

    client = TestClient(app)
    cpu = assert_problem(client.get("/computes"), 422, "script-timeout")
    wall = assert_problem(client.get("/waits"), 422, "script-timeout")

    title = "Kịch bản chạy quá thời gian cho phép / Script exceeded its time limit"
    assert (cpu["title"], cpu["exceeded"], cpu["limit_seconds"], cpu["stopped_by"]) == (
        title,
        "cpu_seconds",
        0.25,
        "budget",
    )
    assert cpu["detail"] == "Script exceeded its CPU time limit of 0.25 s"
    assert cpu["detail_vi"] == "Kịch bản dùng quá thời gian xử lý (CPU) cho phép (0.25 giây)"
    assert (wall["title"], wall["exceeded"], wall["limit_seconds"], wall["stopped_by"]) == (
        title,
        "wall_seconds",
        2.0,
        "wall_clock",
    )
    assert (
        wall["detail"]
        == "Script exceeded its wall-clock time limit of 2 s (it waited, was blocked or the server was overloaded)"
    )
    assert (
        wall["detail_vi"]
        == "Kịch bản chạy quá thời gian thực cho phép (2 giây): kịch bản phải chờ, bị chặn hoặc máy chủ quá tải"
    )


def test_a_wall_clock_shorter_than_the_cpu_budget_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOIHOP_SCRIPT_CPU_SECONDS", "2")
    monkeypatch.setenv("PHOIHOP_SCRIPT_WALL_SECONDS", "1.5")
    with pytest.raises(ValueError, match="PHOIHOP_SCRIPT_WALL_SECONDS must be at least PHOIHOP_SCRIPT_CPU_SECONDS"):
        Settings(env="dev")
    monkeypatch.setenv("PHOIHOP_SCRIPT_WALL_SECONDS", "2")
    options = Settings(env="dev").engine_options()
    assert (options["script_cpu_seconds"], options["script_wall_seconds"]) == (2, 2)
