"""Jobs fail alone (issue 13, item 1): a timer, or a timer start event, whose firing fails costs that job one retry
with backoff and, when its retries run out, becomes an incident; the other due jobs of the same round fire. The
instance keeps its other branches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer, build_engine
from tests.api.calls import ADMIN, INSTANCES
from tests.conftest import INTEGRATOR
from tests.engine.helpers import ADMIN as ADMIN_ACTOR
from tests.engine.helpers import (
    SKHCN,
    audit_kinds,
    bpmn,
    deploy,
    deploy_xml,
    instance,
    lane,
    open_tasks,
    run_threads,
    task_id,
    timers,
)

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
HEALTHY = 5


def _poison(process_id: str, after_timer: str) -> str:
    """Start → fork: a one-hour timer then ``after_timer`` (the element ``bad``), and a human task ``other``."""
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="Chờ 1 giờ">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="bad"/>
    {after_timer}
    <bpmn:sequenceFlow id="f3" sourceRef="bad" targetRef="end_bad"/>
    <bpmn:endEvent id="end_bad"/>
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="other"/>
    <bpmn:userTask id="other" name="Việc khác"/>
    <bpmn:sequenceFlow id="f5" sourceRef="other" targetRef="end_other"/>
    <bpmn:endEvent id="end_other"/>"""
    refs = ("start", "fork", "wait", "bad", "end_bad", "other", "end_other")
    xml = bpmn(process_id, body, lanes=lane("L1", "Sở Khoa học và Công nghệ", *refs))
    return xml.replace("<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1)


BIG_INT = _poison(
    "poison_int",
    '<bpmn:scriptTask id="bad" scriptFormat="python"><bpmn:script>amount = 2**64</bpmn:script></bpmn:scriptTask>',
)
MISSING_DUE = _poison("poison_due", '<bpmn:userTask id="bad" name="Xử lý" camunda:dueDate="${han_xu_ly}"/>')
NAME_ERROR = _poison(
    "poison_name",
    '<bpmn:scriptTask id="bad" scriptFormat="python"><bpmn:script>x = khong_co + 1</bpmn:script></bpmn:scriptTask>',
)

TIMER_START = """
    <bpmn:startEvent id="monthly" name="Đầu tháng">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R/2026-01-01T08:00:00+07:00/P1M</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="monthly" targetRef="work"/>
    <bpmn:userTask id="work" name="Báo cáo" camunda:dueDate="${han_bao_cao}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
BAD_START = bpmn(
    "bad_start", TIMER_START, lanes=lane("L1", "Sở Khoa học và Công nghệ", "monthly", "work", "end")
).replace("<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1)


def _healthy(container: EngineContainer) -> list[str]:
    """Five instances of timers.bpmn: a two-hour boundary timer each, due after the poison's one-hour timer."""
    deploy(container, "timers.bpmn")
    return [container.instances.start(INTEGRATOR, "timed_review")[0] for _ in range(HEALTHY)]


def _timer_row(container: EngineContainer, instance_id: str) -> dict[str, Any]:
    (row,) = timers(container, instance_id)
    return row


def _incidents(container: EngineContainer) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM incident ORDER BY id"))]


def _assert_healthy_fired(container: EngineContainer, healthy: list[str]) -> None:
    for instance_id in healthy:
        assert audit_kinds(container, instance_id).count("timer_fired") == 1
        assert set(open_tasks(container, instance_id)) == {"escalate"}


def _poison_first(container: EngineContainer, clock: FakeClock, xml: str, key: str) -> tuple[str, list[str]]:
    deploy_xml(container, f"{key}.bpmn", xml)
    poisoned, _ = container.instances.start(INTEGRATOR, key)  # due first: one hour
    healthy = _healthy(container)  # due at two hours
    clock.advance(2 * HOUR + SECOND)
    return poisoned, healthy


def test_a_script_leaving_an_unstorable_value_after_a_timer_errors_its_instance_alone(
    container: EngineContainer, clock: FakeClock
) -> None:
    """``amount = 2**64`` made the save raise and abort the whole round before results were checked like API input
    (item 5): now the script task fails alone, naming the element and the variable, and every timer fires."""
    poisoned, healthy = _poison_first(container, clock, BIG_INT, "poison_int")
    assert container.scheduler.run_once() == HEALTHY + 1  # the unchanged code raised here, and fired none
    _assert_healthy_fired(container, healthy)
    errored = instance(container, poisoned)
    assert errored["status"] == "incident"
    assert "bad" in str(errored["error"]) and "amount" in str(errored["error"])
    assert [i["job_kind"] for i in _incidents(container)] == ["task"]  # the failed step's, not the job's


def test_a_timer_whose_firing_fails_to_save_does_not_stop_the_other_timers(
    container: EngineContainer, clock: FakeClock
) -> None:
    poisoned, healthy = _poison_first(container, clock, MISSING_DUE, "poison_due")
    assert container.scheduler.run_once() == HEALTHY  # the unchanged code raised here, and fired none
    _assert_healthy_fired(container, healthy)
    row = _timer_row(container, poisoned)
    assert row["attempts"] == 1
    assert row["retry_at"] == clock.now() + timedelta(seconds=10)
    assert "bad" in row["last_error"] or "wait" in row["last_error"]
    assert instance(container, poisoned)["version"] == 1  # rolled back: the instance did not move
    assert container.scheduler.run_once() == 0  # not retried before its backoff

    # due for its retry: a command on the other branch still does not fire it (only its own job does)
    clock.advance(timedelta(seconds=11))
    assert container.tasks.complete(SKHCN, task_id(container, poisoned, "other"), {}).status == "running"
    assert _timer_row(container, poisoned)["attempts"] == 1
    assert container.scheduler.run_once() == 0
    assert _timer_row(container, poisoned)["attempts"] == 2


def test_retries_run_out_into_an_incident_and_the_other_branch_stays_usable(
    container: EngineContainer, clock: FakeClock
) -> None:
    poisoned, healthy = _poison_first(container, clock, MISSING_DUE, "poison_due")
    assert container.scheduler.run_once() == HEALTHY
    _assert_healthy_fired(container, healthy)
    # the second attempt after 10 s, the third after one more minute: then an incident (3 retries by default)
    clock.advance(timedelta(seconds=11))
    assert container.scheduler.run_once() == 0
    assert _timer_row(container, poisoned)["attempts"] == 2
    assert _timer_row(container, poisoned)["retry_at"] == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1, seconds=1))
    assert container.scheduler.run_once() == 0
    row = _timer_row(container, poisoned)
    assert row["attempts"] == 3 and row["incident_id"] is not None  # parked: kept, neither fired nor retried
    (incident,) = _incidents(container)
    assert incident["instance_id"] == poisoned
    assert incident["process_key"] == "poison_due"
    assert incident["job_kind"] == "timer"
    assert incident["element_id"] == "bad"  # the element whose due date failed
    assert "han_xu_ly" in incident["message"]
    assert incident["attempts"] == 3 and incident["resolved_at"] is None
    assert "incident_created" in audit_kinds(container, poisoned)
    assert instance(container, poisoned)["status"] == "incident"  # while the parked timer's incident is open
    view = container.instance_reads.get_instance(INTEGRATOR, poisoned)
    assert [(i.kind, i.element_id) for i in view.incidents] == [("timer", "bad")]
    clock.advance(timedelta(days=1))
    assert container.scheduler.run_once() == 0
    assert _timer_row(container, poisoned)["attempts"] == 3

    # the other branch goes on; completing it neither fires the parked timer nor loses its incident
    other = task_id(container, poisoned, "other")
    assert container.tasks.complete(SKHCN, other, {}).status == "incident"
    assert _timer_row(container, poisoned)["incident_id"] == incident["id"]
    assert container.scheduler.run_once() == 0

    # an admin retries it (issue 14, item 7): the timer runs again at the next round with fresh attempts
    retried = container.incidents.retry(ADMIN_ACTOR, incident["id"])
    assert retried.instance is None and retried.incident.resolved_at is not None
    assert (_timer_row(container, poisoned)["incident_id"], _timer_row(container, poisoned)["attempts"]) == (None, 0)
    assert "incident_retried" in audit_kinds(container, poisoned)
    assert instance(container, poisoned)["status"] == "running"
    assert container.scheduler.run_once() == 0  # it fails again (the variable is still missing): one attempt
    assert _timer_row(container, poisoned)["attempts"] == 1
    assert instance(container, poisoned)["status"] == "running"  # not an incident again before its retries ran out


def test_a_script_error_after_a_timer_still_errors_the_instance(container: EngineContainer, clock: FakeClock) -> None:
    """An error the engine catches (NameError in a script) keeps today's behaviour: the instance is in error, the
    timer fired once; no retry of the job, and the failed step is an incident of its own (item 14.7)."""
    poisoned, healthy = _poison_first(container, clock, NAME_ERROR, "poison_name")
    assert container.scheduler.run_once() == HEALTHY + 1
    _assert_healthy_fired(container, healthy)
    assert instance(container, poisoned)["status"] == "incident"
    assert [i["job_kind"] for i in _incidents(container)] == ["task"]  # the failed step's, not the job's


def test_a_failing_timer_start_event_does_not_stop_the_timers(container: EngineContainer, clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    deploy_xml(container, "bad_start.bpmn", BAD_START)  # first due 1/12 08:00 Hanoi = 01:00 UTC
    healthy = _healthy(container)  # due 1/12 01:00 UTC
    clock.set(datetime(2026, 12, 1, 1, 0, 1, tzinfo=UTC))
    assert container.scheduler.run_once() == HEALTHY  # starts are taken first: the unchanged code raised
    _assert_healthy_fired(container, healthy)
    for seconds in (10, 60):
        clock.advance(timedelta(seconds=seconds + 1))
        assert container.scheduler.run_once() == 0
    (incident,) = _incidents(container)
    assert (incident["instance_id"], incident["process_key"], incident["job_kind"]) == (
        None,
        "bad_start",
        "timer_start",
    )
    assert incident["element_id"] == "work"
    assert "han_bao_cao" in incident["message"]
    with container.db.transaction(write=False) as conn:
        started = conn.execute(text("SELECT count(*) FROM process_instance WHERE process_key = 'bad_start'"))
        assert started.scalar() == 0
    clock.advance(timedelta(days=40))  # parked: the next month does not start either until resolved
    assert container.scheduler.run_once() == 0
    assert len(_incidents(container)) == 1


def test_two_schedulers_count_a_failure_once_and_fire_each_healthy_timer_once(
    container: EngineContainer, clock: FakeClock, db_url: str
) -> None:
    poisoned, healthy = _poison_first(container, clock, MISSING_DUE, "poison_due")
    other = build_engine(db_url, clock=clock)
    try:
        results = run_threads([container.scheduler.run_once, other.scheduler.run_once] * 2)
    finally:
        other.close()
    assert all(kind == "ok" for kind, _ in results), results
    assert sum(value for _, value in results) == HEALTHY
    _assert_healthy_fired(container, healthy)
    assert _timer_row(container, poisoned)["attempts"] == 1
    assert "timer_fired" not in audit_kinds(container, poisoned)  # no empty firing of the held timer either
    assert instance(container, poisoned)["version"] == 1


def test_the_instance_read_lists_the_timer_incident(client: TestClient, app_container: EngineContainer) -> None:
    clock: FakeClock = app_container.clock  # type: ignore[assignment]
    deploy_xml(app_container, "poison_due.bpmn", MISSING_DUE)
    poisoned, _ = app_container.instances.start(INTEGRATOR, "poison_due")
    clock.advance(HOUR + SECOND)
    for wait in (timedelta(0), timedelta(seconds=11), timedelta(minutes=1, seconds=1)):
        clock.advance(wait)
        assert app_container.scheduler.run_once() == 0
    response = client.get(f"{INSTANCES}/{poisoned}", headers=ADMIN)
    assert response.status_code == 200, response.text
    (incident,) = response.json()["incidents"]
    assert incident["kind"] == "timer" and incident["element_id"] == "bad" and incident["attempts"] == 3
    assert "han_xu_ly" in incident["error_message"] and incident["external_task_id"] is None
    assert response.json()["status"] == "incident"
