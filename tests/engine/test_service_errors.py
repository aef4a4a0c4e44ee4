"""Failing processes: a script error leaves the instance in error (queryable, cancellable); a runaway loop ends in
a step-limit error promptly; a cancelled instance's tasks cannot be completed."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.errors import InstanceNotRunning, TaskNotOpen
from tests.conftest import INTEGRATOR
from tests.engine.helpers import (
    LEAD,
    SKHCN,
    STP,
    audit_kinds,
    bpmn,
    deploy,
    deploy_xml,
    history,
    instance,
    lane,
    open_tasks,
    subscriptions,
    task_id,
    tasks,
    timers,
)


def test_script_error_puts_the_instance_in_error_and_it_stays_queryable_and_cancellable(
    container: EngineContainer,
) -> None:
    deploy(container, "scripts.bpmn")
    instance_id, _ = container.instances.start(
        INTEGRATOR, "scripted", business_key="HS-E", variables={"so_luong": 5, "chia_cho": 0}
    )
    fill = task_id(container, instance_id, "fill")

    status = container.tasks.complete(SKHCN, fill, {"ghi_chu": "chia cho 0"}).status

    assert status == "incident"
    row = instance(container, instance_id)
    assert row["status"] == "incident"
    assert row["error"]["element_id"] == "compute"
    assert row["error"]["message"]
    assert row["ended_at"] is None
    assert open_tasks(container, instance_id) == {}
    kinds = audit_kinds(container, instance_id)
    assert kinds[-1] == "instance_error"
    error_event = history(container, instance_id)[-1]
    assert error_event["element_id"] == "compute"

    # queryable through the read side
    seen = container.instance_reads.get_instance(INTEGRATOR, instance_id)
    assert seen.status == "incident" and seen.error is not None and seen.error["element_id"] == "compute"
    page = container.instance_reads.list_instances(INTEGRATOR, status="incident")
    assert [i.id for i in page.items] == [instance_id]

    container.instances.cancel(LEAD, instance_id, reason="dữ liệu sai")
    row = instance(container, instance_id)
    assert row["status"] == "cancelled" and row["ended_at"] is not None
    assert audit_kinds(container, instance_id)[-1] == "instance_cancelled"
    with pytest.raises(InstanceNotRunning):
        container.instances.cancel(LEAD, instance_id)


def test_runaway_loop_ends_in_a_step_limit_error_promptly(container: EngineContainer) -> None:
    """The step count stops it, not the wall-clock guard (raised out of reach here): the bound is a number of steps,
    whatever the machine's load. The default limit is 10 000 steps; a limit of 200 proves the same at 1/50 the cost."""
    runtime = container.executor.runtime
    assert (runtime.max_steps, runtime.max_seconds) == (10_000, 30.0)  # the defaults every engine runs with
    runtime.max_steps, runtime.max_seconds = 200, 3600.0
    deploy(container, "runaway.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "runaway", variables={"dem": 0})
    row = instance(container, instance_id)
    assert row["status"] == "error", row
    assert row["error"]["code"] == "step-limit-exceeded"
    assert row["error"]["message"].startswith("more than 200 steps"), row["error"]
    assert row["error"]["element_id"] in ("tick", "again")
    assert open_tasks(container, instance_id) == {}
    assert timers(container, instance_id) == [] and subscriptions(container, instance_id) == []


def test_runaway_with_a_small_step_limit(db_url: str) -> None:
    small = build_engine(db_url, clock=FakeClock(), max_steps=200)
    try:
        assert small.executor.runtime.max_steps == 200
        deploy(small, "runaway.bpmn")
        instance_id, _ = small.instances.start(INTEGRATOR, "runaway", variables={"dem": 0})
        row = instance(small, instance_id)
        assert row["status"] == "error" and row["error"]["code"] == "step-limit-exceeded"
        assert row["error"]["message"].startswith("more than 200 steps"), row["error"]
        assert row["error"]["element_id"] in ("tick", "again")
    finally:
        small.close()


def test_completing_a_task_of_a_cancelled_instance_is_refused(container: EngineContainer) -> None:
    deploy(container, "parallel.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "parallel_review")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    legal = task_id(container, instance_id, "legal")
    version = instance(container, instance_id)["version"]

    container.instances.cancel(LEAD, instance_id, reason="rút hồ sơ")

    assert {t["element_id"]: t["status"] for t in tasks(container, instance_id)} == {
        "receive": "completed",
        "legal": "cancelled",
        "board": "cancelled",
    }
    row = instance(container, instance_id)
    assert row["status"] == "cancelled" and row["version"] == version + 1
    with pytest.raises(TaskNotOpen) as caught:
        container.tasks.complete(STP, legal, {"legal_ok": True})
    assert "cancelled" in caught.value.fields.values()  # the task row's status is reported
    assert instance(container, instance_id)["version"] == version + 1
    assert audit_kinds(container, instance_id).count("task_completed") == 1


def _counted_loop(process_id: str, *, in_subprocess: bool) -> str:
    """A script loop of ``LIMIT`` iterations (two tasks each), then a user task ``after``."""
    loop = """
      <bpmn:startEvent id="s_start"><bpmn:outgoing>g0</bpmn:outgoing></bpmn:startEvent>
      <bpmn:scriptTask id="tick"><bpmn:incoming>g0</bpmn:incoming><bpmn:incoming>g2</bpmn:incoming>
        <bpmn:outgoing>g1</bpmn:outgoing><bpmn:script>dem = dem + 1</bpmn:script></bpmn:scriptTask>
      <bpmn:exclusiveGateway id="again" default="g3"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
        <bpmn:outgoing>g3</bpmn:outgoing></bpmn:exclusiveGateway>
      <bpmn:endEvent id="s_end"><bpmn:incoming>g3</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g0" sourceRef="s_start" targetRef="tick"/>
      <bpmn:sequenceFlow id="g1" sourceRef="tick" targetRef="again"/>
      <bpmn:sequenceFlow id="g2" sourceRef="again" targetRef="tick">
        <bpmn:conditionExpression>dem &lt; LIMIT</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="g3" sourceRef="again" targetRef="s_end"/>"""
    if in_subprocess:
        body = f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="sub"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>{loop}
    </bpmn:subProcess>
    <bpmn:userTask id="after"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="sub"/>
    <bpmn:sequenceFlow id="f1" sourceRef="sub" targetRef="after"/>
    <bpmn:sequenceFlow id="f2" sourceRef="after" targetRef="end"/>"""
        refs: tuple[str, ...] = ("start", "sub", "after", "end", "s_start", "tick", "again", "s_end")
    else:
        body = (
            loop.replace('id="s_end"', 'id="to_after"').replace(
                '<bpmn:endEvent id="to_after"><bpmn:incoming>g3</bpmn:incoming></bpmn:endEvent>', ""
            )
            + """
    <bpmn:userTask id="after"><bpmn:incoming>g3</bpmn:incoming><bpmn:outgoing>g4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>g4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g4" sourceRef="after" targetRef="end"/>"""
        )
        body = body.replace('targetRef="s_end"', 'targetRef="after"')
        refs = ("s_start", "tick", "again", "after", "end")
    return bpmn(process_id, body, lanes=lane("Lane_skhcn", "skhcn", *refs))


class Spinning(RuntimeError):
    pass


def _guard_against_spinning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make an engine loop that calls do_engine_steps over and over without progress fail instead of hanging."""
    original = BpmnWorkflow.do_engine_steps
    calls = [0]

    def counted(self: BpmnWorkflow, *args: object, **kwargs: object) -> None:
        calls[0] += 1
        if calls[0] > 50:
            raise Spinning("do_engine_steps called 50 times in one test: the engine loop makes no progress")
        original(self, *args, **kwargs)

    monkeypatch.setattr(BpmnWorkflow, "do_engine_steps", counted)


def test_a_long_but_finite_loop_runs_to_the_next_user_task(
    container: EngineContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """700 iterations = 1400 steps (under the 10 000 limit) but a task tree deeper than SpiffWorkflow's
    TaskIterator max_depth (1000), where its own tree walks stop seeing READY tasks."""
    _guard_against_spinning(monkeypatch)
    deploy_xml(container, "deep_loop.bpmn", _counted_loop("vong_lap_dai", in_subprocess=False))
    instance_id, _ = container.instances.start(INTEGRATOR, "vong_lap_dai", variables={"dem": 0, "LIMIT": 700})
    row = instance(container, instance_id)
    assert row["status"] == "running" and row["variables"]["dem"] == 700
    assert set(open_tasks(container, instance_id)) == {"after"}


def test_a_long_loop_inside_a_subprocess_neither_hangs_nor_sticks(
    container: EngineContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _guard_against_spinning(monkeypatch)
    deploy_xml(container, "deep_sub_loop.bpmn", _counted_loop("vong_lap_con", in_subprocess=True))
    instance_id, _ = container.instances.start(INTEGRATOR, "vong_lap_con", variables={"dem": 0, "LIMIT": 520})
    row = instance(container, instance_id)
    # either it works (the user task after the subprocess is open) or it fails clearly; never silently stuck
    if row["status"] == "running":
        assert set(open_tasks(container, instance_id)) == {"after"}
    else:
        assert row["status"] == "error" and row["error"]["code"]
