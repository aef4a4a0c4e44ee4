"""Working-day due dates and timers, run-time candidates, required roles and timer start events, through the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import RoleRequired, ScriptError
from phoihop.engine.execution import script_functions
from phoihop.engine.execution.script_functions import ScriptContext, using_context
from phoihop.engine.store import repository as repo
from phoihop.engine.time.calendar import BusinessCalendar
from tests.conftest import INTEGRATOR, officer
from tests.engine.helpers import ADMIN, bpmn, deploy_xml, instance, lane

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
LEAD_SKHCN = officer("lanh_dao_skhcn", "skhcn", roles=("lead", "officer"))
SKHCN = officer("can_bo_skhcn", "skhcn")
STP = officer("can_bo_stp", "stp")
RECEIVED = datetime(2026, 2, 12, 2, 0, tzinfo=UTC)  # Thursday 12/2/2026 09:00 in Hanoi, before Tết 2026


def _with_camunda(xml: str) -> str:
    return xml.replace("<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1)


def _one_task(
    process_id: str,
    task_attrs: str,
    *,
    lane_name: str = "Sở Khoa học và Công nghệ",
    extra: str = "",
    properties: str = "",
) -> str:
    props = (
        (f"<bpmn:extensionElements><camunda:properties>{properties}</camunda:properties></bpmn:extensionElements>")
        if properties
        else ""
    )
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:userTask id="work" name="Xử lý" {task_attrs}>{props}</bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>{extra}"""
    return _with_camunda(bpmn(process_id, body, lanes=lane("L1", lane_name, "start", "work", "end")))


def _open_task(container: EngineContainer, instance_id: str) -> dict:
    with container.db.transaction(write=False) as conn:
        tasks = repo.tasks_of_instance(conn, instance_id, open_only=True)
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_script_functions_follow_the_calendar_and_the_clock() -> None:
    context = ScriptContext(FakeClock(RECEIVED), BusinessCalendar())
    with using_context(context):
        assert script_functions.working_days(10) == "2026-03-05T17:00:00+07:00"  # Tết 16–20/2 skipped
        assert script_functions.add_working_days("2026-02-12", 10) == "2026-03-05T17:00:00+07:00"
        assert script_functions.working_days(0) == "2026-02-12T17:00:00+07:00"
        assert script_functions.green_lane_days(10) == 4  # ⌈10 × 0.4⌉
        assert script_functions.green_lane_days(7, 0.3) == 5  # ⌈4.9⌉
        assert script_functions.green_lane_days(5, 0.6) == 2
        assert (
            script_functions.deadline_fraction("2026-03-02T08:00:00+07:00", "2026-03-06T08:00:00+07:00", 0.25)
            == "2026-03-03T08:00:00+07:00"
        )
        # 75 % of Mon 9/3 08:00 → Wed 11/3 17:00 is Wed 03:15: an officer is warned at the opening that morning
        assert (
            script_functions.deadline_fraction("2026-03-09T08:00:00+07:00", "2026-03-11T17:00:00+07:00", 0.75)
            == "2026-03-11T08:00:00+07:00"
        )
        # 90 % of Thu 12/2 09:00 → Mon 23/2 09:00 (Tết in between) is Sun 22/2 09:00: Monday's opening
        assert (
            script_functions.deadline_fraction("2026-02-12T09:00:00+07:00", "2026-02-23T09:00:00+07:00", 0.9)
            == "2026-02-23T08:00:00+07:00"
        )
        assert script_functions.today() == "2026-02-12"
        assert script_functions.is_working_day("2026-02-17") is False
    with pytest.raises(ScriptError):
        script_functions.working_days(-1)
    with pytest.raises(ScriptError):
        script_functions.add_working_days("12/02/2026", 3)
    with pytest.raises(ScriptError):
        script_functions.green_lane_days(10, 1.5)


def test_due_date_in_working_days_sets_due_and_warning_times(container: EngineContainer, clock: FakeClock) -> None:
    clock.set(RECEIVED)
    deploy_xml(container, "wd.bpmn", _one_task("wd", 'camunda:dueDate="working_days(1 if urgent else 10)"'))
    normal, _ = container.instances.start(INTEGRATOR, "wd", variables={"urgent": False})
    urgent, _ = container.instances.start(INTEGRATOR, "wd", variables={"urgent": True})
    task = _open_task(container, normal)
    assert task["due_at"] == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # 17:00 Hanoi on 5/3/2026
    # 75 % of 12/2 09:00 → 5/3 17:00 falls on Saturday 28/2: the warning waits for Monday 2/3 08:00 (Hanoi)
    assert RECEIVED + (task["due_at"] - RECEIVED) * 0.75 == datetime(2026, 2, 28, 2, 0, tzinfo=UTC)
    assert task["warn_at"] == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert _open_task(container, urgent)["due_at"] == datetime(2026, 2, 13, 10, 0, tzinfo=UTC)


def test_a_due_date_that_cannot_be_computed_refuses_the_command(container: EngineContainer) -> None:
    deploy_xml(container, "bad_due.bpmn", _one_task("bad_due", 'camunda:dueDate="working_days(days)"'))
    with pytest.raises(ScriptError) as caught:
        container.instances.start(INTEGRATOR, "bad_due", variables={})
    assert caught.value.fields["element_id"] == "work"
    assert _started(container, "bad_due") == []  # one transaction: nothing was written


def test_working_day_boundary_timer_fires_at_the_end_of_the_deadline(
    container: EngineContainer, clock: FakeClock
) -> None:
    clock.set(RECEIVED)
    timer = """
    <bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDate>working_days(2)</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="urge"/>
    <bpmn:userTask id="urge" name="Đôn đốc"/>
    <bpmn:sequenceFlow id="f4" sourceRef="urge" targetRef="end2"/>
    <bpmn:endEvent id="end2"/>"""
    xml = _one_task("wd_timer", "", extra=timer).replace(
        "<bpmn:flowNodeRef>end</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>end</bpmn:flowNodeRef><bpmn:flowNodeRef>late</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>urge</bpmn:flowNodeRef><bpmn:flowNodeRef>end2</bpmn:flowNodeRef>",
    )
    deploy_xml(container, "wd_timer.bpmn", xml)
    instance_id, _ = container.instances.start(INTEGRATOR, "wd_timer")
    due = datetime(2026, 2, 23, 10, 0, tzinfo=UTC)  # 13/2 (Fri) and 23/2 (Mon, after Tết): 17:00 Hanoi
    assert container.timers.next_timer_due() == due
    clock.set(due - timedelta(minutes=1))
    assert container.scheduler.run_once() == 0
    clock.set(due + timedelta(seconds=1))
    assert container.scheduler.run_once() == 1
    with container.db.transaction(write=False) as conn:
        names = sorted(t["name"] for t in repo.tasks_of_instance(conn, instance_id, open_only=True))
    assert names == ["Xử lý", "Đôn đốc"]


def test_candidates_from_a_variable(container: EngineContainer) -> None:
    deploy_xml(
        container,
        "by_var.bpmn",
        _one_task(
            "by_var",
            "",
            lane_name="Cơ quan báo cáo",
            properties='<camunda:property name="candidateGroupsVariable" value="reporting_agency"/>',
        ),
    )
    instance_id, _ = container.instances.start(INTEGRATOR, "by_var", variables={"reporting_agency": "stp"})
    task = _open_task(container, instance_id)
    assert task["candidate_groups"] == ["stp"]
    with pytest.raises(Exception) as caught:
        container.tasks.complete(SKHCN, task["id"], {})
    assert caught.value.code == "not-candidate"  # type: ignore[attr-defined]
    assert container.tasks.complete(STP, task["id"], {}).status == "completed"
    with pytest.raises(ScriptError) as missing:
        container.instances.start(INTEGRATOR, "by_var", variables={})
    assert missing.value.fields["variable"] == "reporting_agency"


def test_required_role_keeps_decisions_for_leads(container: EngineContainer) -> None:
    deploy_xml(
        container,
        "lead_only.bpmn",
        _one_task("lead_only", "", properties='<camunda:property name="requiredRole" value="lead"/>'),
    )
    instance_id, _ = container.instances.start(INTEGRATOR, "lead_only")
    task = _open_task(container, instance_id)
    assert task["required_role"] == "lead"
    for action in (
        lambda: container.tasks.claim(SKHCN, task["id"]),
        lambda: container.tasks.complete(SKHCN, task["id"], {}),
    ):
        with pytest.raises(RoleRequired):
            action()
    assert container.tasks.complete(LEAD_SKHCN, task["id"], {"approved": True}).status == "completed"


TIMER_START = """
    <bpmn:startEvent id="monthly" name="Đầu tháng">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R/2026-01-01T08:00:00+07:00/P1M</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="monthly" targetRef="work"/>
    <bpmn:userTask id="work" name="Báo cáo"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""


def _started(container: EngineContainer, key: str) -> list[dict]:
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(
            text("SELECT id FROM process_instance WHERE process_key = :k ORDER BY started_at, id"), {"k": key}
        )
        return [dict(r._mapping) for r in rows]


def test_timer_start_event_starts_one_instance_per_cycle(container: EngineContainer, clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    deploy_xml(
        container,
        "cycle.bpmn",
        bpmn("cycle", TIMER_START, lanes=lane("L1", "Sở Khoa học và Công nghệ", "monthly", "work", "end")),
    )
    december = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 Hanoi on 1/12
    assert container.timers.next_start_due() == december
    clock.set(december - timedelta(seconds=1))
    assert container.scheduler.run_once() == 0
    clock.set(december + timedelta(seconds=1))
    assert container.scheduler.run_once() == 1
    assert container.scheduler.run_once() == 0  # exactly once
    started = _started(container, "cycle")
    assert len(started) == 1
    row = instance(container, started[0]["id"])
    assert row["business_key"] == "cycle-20261201-0800"
    assert row["variables"]["scheduled_at"] == "2026-12-01T08:00:00+07:00"
    assert _open_task(container, started[0]["id"])["name"] == "Báo cáo"  # the start event did not wait again
    assert container.timers.next_start_due() == datetime(2027, 1, 1, 1, 0, tzinfo=UTC)  # across the year
    clock.set(datetime(2027, 1, 1, 1, 0, 1, tzinfo=UTC))
    assert container.scheduler.run_once() == 1
    assert len(_started(container, "cycle")) == 2


def test_a_timer_start_process_started_by_hand_runs_at_once(container: EngineContainer) -> None:
    deploy_xml(
        container,
        "cycle.bpmn",
        bpmn("cycle", TIMER_START, lanes=lane("L1", "Sở Khoa học và Công nghệ", "monthly", "work", "end")),
    )
    instance_id, _ = container.instances.start(ADMIN, "cycle", variables={"period": "2026-11"})
    task = _open_task(container, instance_id)
    assert task["name"] == "Báo cáo"
    assert container.tasks.complete(ADMIN, task["id"], {}).status == "completed"  # the whole path exists


def test_a_due_date_time_without_an_offset_is_hanoi_time(container: EngineContainer) -> None:
    deploy_xml(container, "naive.bpmn", _one_task("naive", 'camunda:dueDate="2026-03-02T17:00:00"'))
    instance_id, _ = container.instances.start(INTEGRATOR, "naive")
    assert _open_task(container, instance_id)["due_at"] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
