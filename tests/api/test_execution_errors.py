"""Failures while running a process: a failing script puts only its instance in error; a runaway loop is stopped."""

from __future__ import annotations

from fastapi.testclient import TestClient

from phoihop.engine.container import EngineContainer

from .calls import (
    ADMIN,
    INSTANCES,
    PORTAL,
    SKHCN,
    TASKS,
    complete,
    deploy,
    instance,
    open_tasks,
    start,
    task_list,
    upload,
)

SPLIT_THEN_FAIL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://x">
  <bpmn:process id="half_broken" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="L" name="skhcn"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>split</bpmn:flowNodeRef><bpmn:flowNodeRef>a</bpmn:flowNodeRef><bpmn:flowNodeRef>w</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>bad</bpmn:flowNodeRef><bpmn:flowNodeRef>join</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="a" name="A"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="w" name="W"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="bad" name="Bad"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>x = 1 // 0</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="e"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split"/>
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="w"/>
    <bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="w" targetRef="bad"/>
    <bpmn:sequenceFlow id="f4" sourceRef="bad" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def fill(client: TestClient, **variables: object) -> str:
    started = start(client, "scripted", variables=variables)
    [task] = started["open_tasks"]
    assert task["element_id"] == "fill"
    complete(client, task["id"], SKHCN)
    instance_id: str = started["id"]
    return instance_id


def test_a_failing_script_puts_the_instance_in_error(client: TestClient) -> None:
    deploy(client, "scripts.bpmn")

    instance_id = fill(client, so_luong=3, chia_cho=0)

    failed = instance(client, instance_id)
    assert failed["status"] == "incident"
    assert failed["ended_at"] is None
    assert failed["open_tasks"] == []
    error = failed["error"]
    assert error["element_id"] == "compute"
    assert "ZeroDivisionError" in error["message"] and error["message_vi"]
    assert error["line"] == 2
    assert failed["variables"] == {"so_luong": 3, "chia_cho": 0}
    events = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    assert (events[-1]["kind"], events[-1]["element_id"]) == ("instance_error", "compute")
    assert client.get(INSTANCES, params={"status": "incident"}, headers=ADMIN).json()["items"][0]["id"] == instance_id
    assert task_list(client, SKHCN)["total"] == 0


def test_the_rest_of_the_system_keeps_working(client: TestClient) -> None:
    deploy(client, "scripts.bpmn")
    broken = fill(client, so_luong=3, chia_cho=0)

    healthy = fill(client, so_luong=4, chia_cho=5)

    running = instance(client, healthy)
    assert running["status"] == "running"
    assert running["variables"] == {"so_luong": 4, "chia_cho": 5, "tong": 8, "ket_qua": 20}
    branches = open_tasks(client, healthy)
    assert set(branches) == {"a", "b"}
    complete(client, branches["a"]["id"], SKHCN)
    complete(client, branches["b"]["id"], SKHCN)
    assert instance(client, healthy)["status"] == "completed"
    assert instance(client, broken)["status"] == "incident"


def test_an_error_in_one_branch_keeps_the_open_tasks_of_the_others(client: TestClient) -> None:
    """The failed step is an incident (issue 14, item 7): the other branch's task stays open and can be done."""
    assert upload(client, ("half_broken.bpmn", SPLIT_THEN_FAIL)).status_code == 201
    started = start(client, "half_broken")
    tasks = {t["element_id"]: t["id"] for t in started["open_tasks"]}
    assert set(tasks) == {"a", "w"}

    complete(client, tasks["w"], SKHCN)

    failed = instance(client, started["id"])
    assert (failed["status"], failed["error"]["element_id"]) == ("incident", "bad")
    assert [t["element_id"] for t in failed["open_tasks"]] == ["a"]
    assert client.get(f"{TASKS}/{tasks['a']}", headers=SKHCN).json()["status"] == "open"
    assert client.post(f"{TASKS}/{tasks['a']}/complete", headers=SKHCN).status_code == 200
    assert instance(client, started["id"])["status"] == "incident"  # the incident is still open


def test_an_instance_in_error_can_be_cancelled(client: TestClient) -> None:
    deploy(client, "scripts.bpmn")
    broken = fill(client, so_luong=1, chia_cho=0)

    response = client.post(f"{INSTANCES}/{broken}/cancel", json={"reason": "kịch bản lỗi"}, headers=ADMIN)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"


def test_a_script_error_at_start_is_recorded_not_raised(client: TestClient) -> None:
    deploy(client, "runaway.bpmn")

    started = start(client, "runaway")  # `dem` is undefined: the first script fails

    assert started["status"] == "incident"
    assert started["error"]["element_id"] == "tick"
    assert "dem" in started["error"]["message"]


def test_a_runaway_loop_is_stopped_promptly(client: TestClient, app_container: EngineContainer) -> None:
    """The step count stops it, not the wall-clock guard (raised out of reach here), whatever the machine's load. The
    app runs with the default limit of 10 000 steps; a limit of 200 proves the same at 1/50 the cost."""
    runtime = app_container.executor.runtime
    assert (runtime.max_steps, runtime.max_seconds) == (10_000, 30.0)
    runtime.max_steps, runtime.max_seconds = 200, 3600.0
    deploy(client, "runaway.bpmn")

    response = client.post(INSTANCES, json={"process_key": "runaway", "variables": {"dem": 0}}, headers=PORTAL)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "step-limit-exceeded"
    assert body["error"]["message"].startswith("more than 200 steps") and body["error"]["message_vi"]
    assert body["error"]["element_id"] in ("tick", "again")
    assert instance(client, body["id"])["status"] == "error"
    deploy(client, "four_tasks.bpmn")
    assert start(client, "four_tasks")["status"] == "running"
