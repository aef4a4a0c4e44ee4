"""Timers driven by the injected clock: boundary and intermediate timers, catch-up after downtime, exactly-once
firing with several schedulers, ISO cycles, and one real-time run of the scheduler thread (proved by the engine's
records: due a second or more after the start, fired once, not before it was due; never by a measured duration)."""

from __future__ import annotations

import time
from datetime import timedelta

from phoihop.engine.clock import FakeClock, utc_text
from phoihop.engine.container import EngineContainer, build_engine
from tests.conftest import INTEGRATOR
from tests.engine.helpers import (
    LEAD,
    SKHCN,
    VP_UBND,
    audit_kinds,
    bpmn,
    call_with_timeout,
    deploy,
    deploy_xml,
    history,
    instance,
    lane,
    open_tasks,
    run_threads,
    task_id,
    tasks,
    timers,
)

TWO_HOURS = timedelta(hours=2)
SECOND = timedelta(seconds=1)


def start_timed(container: EngineContainer) -> str:
    instance_id, _ = container.instances.start(INTEGRATOR, "timed_review", business_key="HS-T")
    return instance_id


def test_boundary_timer_fires_only_after_its_due_time(container: EngineContainer, clock: FakeClock) -> None:
    deploy(container, "timers.bpmn")
    started = clock.now()
    instance_id = start_timed(container)

    (timer,) = timers(container, instance_id)
    assert timer["element_id"] == "deadline"
    assert timer["due_at"] == started + TWO_HOURS
    assert set(open_tasks(container, instance_id)) == {"review"}

    assert container.scheduler.run_once() == 0  # nothing due yet
    clock.advance(TWO_HOURS - SECOND)
    assert container.scheduler.run_once() == 0  # one second early
    assert "timer_fired" not in audit_kinds(container, instance_id)
    assert set(open_tasks(container, instance_id)) == {"review"}

    clock.advance(2 * SECOND)  # now past the due time
    assert container.scheduler.run_once() == 1

    by_element = {t["element_id"]: t for t in tasks(container, instance_id)}
    assert by_element["review"]["status"] == "cancelled"
    escalate = by_element["escalate"]
    assert escalate["status"] == "open"
    assert escalate["lane"] == "Văn phòng UBND Thành phố"
    assert escalate["candidate_groups"] == ["vp-ubnd"]
    assert timers(container, instance_id) == []
    fired = [e for e in history(container, instance_id) if e["kind"] == "timer_fired"]
    assert len(fired) == 1 and fired[0]["actor"] == "system"
    assert instance(container, instance_id)["status"] == "running"

    container.tasks.complete(VP_UBND, str(escalate["id"]), {"da_don_doc": True})
    assert instance(container, instance_id)["status"] == "completed"
    assert container.scheduler.run_once() == 0


def test_timer_due_exactly_now_does_not_spin(container: EngineContainer, clock: FakeClock) -> None:
    """Regression: due_at <= now selected a timer SpiffWorkflow (due < now) did not fire, and run_once looped
    forever, writing a timer_fired audit row and a new version each round."""
    deploy(container, "timers.bpmn")
    instance_id = start_timed(container)
    clock.advance(TWO_HOURS)  # exactly the due time
    try:
        call_with_timeout(container.scheduler.run_once, 3.0)
    except TimeoutError:
        container.executor.fail_before_commit = _stop  # end the spinning thread before failing
        time.sleep(0.2)
        container.executor.fail_before_commit = None
        raise
    assert audit_kinds(container, instance_id).count("timer_fired") <= 1
    clock.advance(SECOND)
    container.scheduler.run_once()
    assert audit_kinds(container, instance_id).count("timer_fired") == 1
    assert "escalate" in open_tasks(container, instance_id)


def _stop() -> None:
    raise RuntimeError("stop the spinning scheduler")


def test_completing_review_in_time_removes_the_boundary_timer_and_starts_the_one_day_wait(
    container: EngineContainer, clock: FakeClock
) -> None:
    deploy(container, "timers.bpmn")
    instance_id = start_timed(container)
    clock.advance(timedelta(hours=1))
    container.tasks.complete(SKHCN, task_id(container, instance_id, "review"), {"ket_luan": "đạt"})

    (wait,) = timers(container, instance_id)
    assert wait["element_id"] == "wait"
    assert wait["due_at"] == clock.now() + timedelta(days=1)
    assert open_tasks(container, instance_id) == {}

    clock.advance(TWO_HOURS + SECOND)  # the boundary timer's old due time passes: nothing fires
    assert container.scheduler.run_once() == 0
    clock.advance(timedelta(days=1))
    assert container.scheduler.run_once() == 1
    assert set(open_tasks(container, instance_id)) == {"after_wait"}
    assert "escalate" not in {t["element_id"] for t in tasks(container, instance_id)}
    assert audit_kinds(container, instance_id).count("timer_fired") == 1
    assert timers(container, instance_id) == []
    assert instance(container, instance_id)["variables"]["ket_luan"] == "đạt"


def test_timer_due_while_the_server_was_down_fires_after_restart(db_url: str, clock: FakeClock) -> None:
    first = build_engine(db_url, clock=clock)
    try:
        deploy(first, "timers.bpmn")
        instance_id = start_timed(first)
    finally:
        first.close()
    clock.advance(timedelta(hours=5))  # the server is down for five hours
    second = build_engine(db_url, clock=clock)
    try:
        assert second.scheduler.run_once() == 1
        assert set(open_tasks(second, instance_id)) == {"escalate"}
        assert audit_kinds(second, instance_id).count("timer_fired") == 1
    finally:
        second.close()


def test_two_schedulers_fire_each_due_timer_exactly_once(
    container: EngineContainer, clock: FakeClock, db_url: str
) -> None:
    deploy(container, "timers.bpmn")
    instance_ids = [start_timed(container) for _ in range(6)]
    clock.advance(TWO_HOURS + SECOND)
    other = build_engine(db_url, clock=clock)
    try:
        results = run_threads(
            [
                container.scheduler.run_once,
                other.scheduler.run_once,
                container.scheduler.run_once,
                other.scheduler.run_once,
            ]
        )
    finally:
        other.close()
    assert all(kind == "ok" for kind, _ in results), results
    assert sum(value for _, value in results) == len(instance_ids)
    for instance_id in instance_ids:
        assert audit_kinds(container, instance_id).count("timer_fired") == 1
        escalations = [t for t in tasks(container, instance_id) if t["element_id"] == "escalate"]
        assert len(escalations) == 1
        assert timers(container, instance_id) == []
        assert instance(container, instance_id)["version"] == 2  # started (1), fired once (2)


CYCLE = bpmn(
    "nhac_viec",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Xử lý"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="remind" name="Nhắc mỗi giờ" attachedToRef="work" cancelActivity="false">
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="nudge" name="Đôn đốc"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_nudge"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="remind" targetRef="nudge"/>
    <bpmn:sequenceFlow id="f3" sourceRef="nudge" targetRef="end_nudge"/>
""",
    lanes=lane("Lane_skhcn", "skhcn", "start", "work", "remind", "nudge", "end_nudge", "end"),
)


def test_iso_cycle_r3_fires_three_times_as_the_clock_advances(container: EngineContainer, clock: FakeClock) -> None:
    deploy_xml(container, "cycle.bpmn", CYCLE)
    started = clock.now()
    instance_id, _ = container.instances.start(INTEGRATOR, "nhac_viec")
    (timer,) = timers(container, instance_id)
    assert timer["due_at"] == started + timedelta(hours=1)

    def nudges() -> int:
        return sum(1 for t in tasks(container, instance_id) if t["element_id"] == "nudge")

    for hour in (1, 2, 3):
        clock.advance(timedelta(minutes=59))
        assert container.scheduler.run_once() == 0
        clock.advance(timedelta(minutes=1, seconds=1))
        assert container.scheduler.run_once() == 1
        assert nudges() == hour
        assert audit_kinds(container, instance_id).count("timer_fired") == hour
        assert "work" in {t["element_id"] for t in tasks(container, instance_id, open_only=True)}

    assert timers(container, instance_id) == []  # three cycles, then no more
    clock.advance(timedelta(hours=5))
    assert container.scheduler.run_once() == 0
    assert nudges() == 3
    # the task the timer is attached to is still open and finishes the instance's main path
    (work,) = [t for t in tasks(container, instance_id, open_only=True) if t["element_id"] == "work"]
    container.tasks.complete(SKHCN, str(work["id"]), {})
    for task in tasks(container, instance_id, open_only=True):
        container.tasks.complete(SKHCN, str(task["id"]), {})
    assert instance(container, instance_id)["status"] == "completed"


REALTIME = bpmn(
    "cho_mot_giay",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Chờ 1 giây"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" name="Sau khi chờ"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f2" sourceRef="after" targetRef="end"/>
""",
    lanes=lane("Lane_skhcn", "skhcn", "start", "wait", "after", "end"),
)


SAFETY_SECONDS = 60  # only against a hang: the proof below is the engine's own record, not a duration


def test_scheduler_thread_fires_a_one_second_timer_in_real_time(db_url: str) -> None:
    real = build_engine(db_url)  # SystemClock
    try:
        deploy_xml(real, "realtime.bpmn", REALTIME)
        instance_id, _ = real.instances.start(INTEGRATOR, "cho_mot_giay")
        assert open_tasks(real, instance_id) == {}
        (timer,) = timers(real, instance_id)
        (started,) = [e for e in history(real, instance_id) if e["kind"] == "instance_started"]
        assert timer["due_at"] - started["at"] >= SECOND  # PT1S after the start (SpiffWorkflow reads the real clock)
        real.scheduler.start()
        waited = time.monotonic()
        while not open_tasks(real, instance_id):
            assert time.monotonic() - waited < SAFETY_SECONDS, (
                f"the scheduler thread fired nothing in {SAFETY_SECONDS} s"
            )
            time.sleep(0.05)
        assert set(open_tasks(real, instance_id)) == {"after"}
        # fired once, by the running scheduler thread, never before it was due
        (fired,) = [e for e in history(real, instance_id) if e["kind"] == "timer_fired"]
        assert fired["actor"] == "system" and fired["at"] >= timer["due_at"]
        assert fired["data"]["due_at"] == utc_text(timer["due_at"])
        assert timers(real, instance_id) == []
    finally:
        real.close()


def test_cancelled_instance_loses_its_timers(container: EngineContainer, clock: FakeClock) -> None:
    deploy(container, "timers.bpmn")
    instance_id = start_timed(container)
    assert len(timers(container, instance_id)) == 1
    container.instances.cancel(LEAD, instance_id, reason="rút hồ sơ")
    assert timers(container, instance_id) == []
    clock.advance(TWO_HOURS + SECOND)
    assert container.scheduler.run_once() == 0
    assert "timer_fired" not in audit_kinds(container, instance_id)
    assert {t["element_id"]: t["status"] for t in tasks(container, instance_id)} == {"review": "cancelled"}
