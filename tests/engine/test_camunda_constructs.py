"""Camunda 7 constructs with a Python meaning, translated at deploy (engine.definitions.camunda): ``camunda:collection``
multi-instance, cron ``timeCycle`` start timers and the ``dateTime()`` / ``now()`` JUEL idioms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.agencies import default_registry
from phoihop.engine.clock import HANOI_TZ, FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.camunda.juel import JuelRefused, translate
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.definitions.start_timers import cron_of, parse_schedule
from phoihop.engine.errors import InvalidDefinition
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile
from phoihop.engine.store.schedules import schedule_of
from tests.conftest import INTEGRATOR, OWNER, officer

from .helpers import ADMIN, load_workflow, tasks

ONE_STOP = officer("mot_cua", "ttpvhcc")

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn"
    exporter="Camunda Modeler" exporterVersion="5.31.0">
  <bpmn:process id="Process_NhieuMuc" name="Kiểm tra từng mục" isExecutable="true">
"""


def collection_file(loop: str, task: str = "userTask") -> SourceFile:
    text = (
        HEAD
        + f"""    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{task} id="Activity_KiemTra" name="Kiểm tra mục" camunda:candidateGroups="ttpvhcc">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      {loop}
    </bpmn:{task}>
    <bpmn:endEvent id="Event_Xong"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_KiemTra" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_KiemTra" targetRef="Event_Xong" />
  </bpmn:process>
</bpmn:definitions>
"""
    )
    return SourceFile("nhieu_muc.bpmn", text.encode())


def compile_files(*files: SourceFile) -> Deployment:
    return compile_deployment(files, agencies=default_registry(), check=check_source)


def problems_of(*files: SourceFile) -> list[dict[str, Any]]:
    with pytest.raises(InvalidDefinition) as refused:
        compile_files(*files)
    return refused.value.problems


# --- camunda:collection / camunda:elementVariable -------------------------------------------------------------------
@pytest.mark.parametrize("collection", ["${danh_sach}", "danh_sach"])
def test_a_collection_multi_instance_creates_one_task_per_item(container: EngineContainer, collection: str) -> None:
    loop = f'<bpmn:multiInstanceLoopCharacteristics camunda:collection="{collection}" camunda:elementVariable="muc" />'
    container.deployments.deploy(OWNER, [collection_file(loop)])
    instance_id, _ = container.instances.start(INTEGRATOR, "Process_NhieuMuc", variables={"danh_sach": ["a", "b", "c"]})
    opened = tasks(container, instance_id, open_only=True)
    assert [t["element_id"] for t in opened] == ["Activity_KiemTra"] * 3
    ready = load_workflow(container, instance_id).get_tasks(state=TaskState.READY)
    assert sorted(t.data["muc"] for t in ready if "muc" in t.data) == ["a", "b", "c"]
    for task in opened:
        container.tasks.complete(ONE_STOP, task["id"], {})
    assert container.instance_reads.get_instance(ADMIN, instance_id).status == "completed"


@pytest.mark.parametrize(
    ("loop", "text"),
    [
        (
            '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${ho_so.danh_sach}" '
            'camunda:elementVariable="muc" />',
            "camunda:collection",
        ),
        ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${danh_sach}" />', "camunda:elementVariable"),
        (
            '<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${danh_sach}" '
            'camunda:elementVariable="muc" />',
            "sequential",
        ),
    ],
)
def test_a_collection_that_is_not_a_variable_is_refused_naming_the_task(loop: str, text: str) -> None:
    found = problems_of(collection_file(loop))
    assert [(p["element_id"], text in p["reason"]) for p in found] == [("Activity_KiemTra", True)], found


# --- cron timeCycle on a timer start event ---------------------------------------------------------------------------
def cron_file(cycle: str, where: str = "start") -> SourceFile:
    timer = f'<bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>'
    start = timer if where == "start" else ""
    boundary = (
        '<bpmn:boundaryEvent id="Event_Nhac" attachedToRef="Activity_BaoCao" cancelActivity="false">'
        f"<bpmn:outgoing>Flow_3</bpmn:outgoing>{timer}</bpmn:boundaryEvent>"
        '<bpmn:endEvent id="Event_DaNhac"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="Flow_3" sourceRef="Event_Nhac" targetRef="Event_DaNhac" />'
        if where == "boundary"
        else ""
    )
    text = HEAD.replace("Process_NhieuMuc", "Process_HangNgay").replace(
        "<bpmn:definitions ", '<bpmn:definitions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    ) + (
        f"""    <bpmn:startEvent id="StartEvent_9h" name="9 giờ mỗi ngày"><bpmn:outgoing>Flow_1</bpmn:outgoing>{start}
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_BaoCao" name="Báo cáo ngày" camunda:candidateGroups="ttpvhcc">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>{boundary}
    <bpmn:endEvent id="Event_Xong"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_9h" targetRef="Activity_BaoCao" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_BaoCao" targetRef="Event_Xong" />
  </bpmn:process>
</bpmn:definitions>
"""
    )
    return SourceFile("hang_ngay.bpmn", text.encode())


def next_start(container: EngineContainer) -> datetime:
    with container.db.transaction(write=False) as conn:
        row = schedule_of(conn, "Process_HangNgay")
    assert row is not None and row["next_at"] is not None
    due: datetime = row["next_at"]
    return due if due.tzinfo else due.replace(tzinfo=UTC)


@pytest.mark.parametrize("cycle", ["0 0 9 * * ?", "0 9 * * *", "0 0 9 ? * MON-SUN"])
def test_a_cron_start_fires_at_nine_hanoi_time_each_day(
    container: EngineContainer, clock: FakeClock, cycle: str
) -> None:
    container.deployments.deploy(OWNER, [cron_file(cycle)])  # 2026-01-05 15:00 in Hanoi
    assert next_start(container) == datetime(2026, 1, 6, 9, 0, tzinfo=HANOI_TZ)

    clock.advance(next_start(container) - clock.now() - timedelta(seconds=1))
    assert container.scheduler.run_once() == 0
    clock.advance(timedelta(seconds=2))
    assert container.scheduler.run_once() == 1
    assert next_start(container) == datetime(2026, 1, 7, 9, 0, tzinfo=HANOI_TZ)
    clock.advance(timedelta(days=1))
    assert container.scheduler.run_once() == 1
    assert next_start(container) == datetime(2026, 1, 8, 9, 0, tzinfo=HANOI_TZ)


@pytest.mark.parametrize(
    ("cycle", "where", "text"),
    [
        ("0 0 9 L * ?", "start", "cron"),
        ("0 0 25 * * ?", "start", "cron"),
        ("0 0 9 * * ?", "boundary", "start event"),
    ],
)
def test_a_cron_cycle_that_cannot_run_is_refused_naming_the_event(cycle: str, where: str, text: str) -> None:
    found = problems_of(cron_file(cycle, where))
    element = "StartEvent_9h" if where == "start" else "Event_Nhac"
    assert [(p["element_id"], text in p["reason"]) for p in found] == [(element, True)], found


# --- dateTime(), now() and their calendar arithmetic ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("juel", "python"),
    [
        ("${now()}", "now()"),
        ("${dateTime()}", "now()"),
        ("${dateTime().toDate()}", "now()"),
        ("${dateTime().plusDays(3).toDate()}", "(datetime.fromisoformat(now()) + timedelta(days=3)).isoformat()"),
        (
            "${dateTime().plusWeeks(1).minusHours(han)}",
            "((datetime.fromisoformat(now()) + timedelta(weeks=1)) - timedelta(hours=han)).isoformat()",
        ),
    ],
)
def test_date_time_idioms_become_the_sandbox_now(juel: str, python: str) -> None:
    assert translate(juel).python == python


@pytest.mark.parametrize(
    ("juel", "text"),
    [
        ("${dateTime().plusMonths(1)}", "plusMonths"),
        ("${dateTime().withDayOfMonth(1)}", "withDayOfMonth"),
        ("${dateTime() > han}", "dateTime()"),
        ("${dateTime(han)}", "dateTime()"),
        ("${dateTime().plusDays(dateTime())}", "dateTime()"),
    ],
)
def test_date_time_idioms_without_a_clear_meaning_are_refused(juel: str, text: str) -> None:
    with pytest.raises(JuelRefused) as refused:
        translate(juel)
    assert text in refused.value.reason and refused.value.reason_vi


def test_a_due_date_three_days_from_now_is_set_on_the_task(container: EngineContainer) -> None:
    file = (
        collection_file("")
        .content.decode()
        .replace(
            'camunda:candidateGroups="ttpvhcc"',
            'camunda:candidateGroups="ttpvhcc" camunda:dueDate="${dateTime().plusDays(3).toDate()}"',
        )
    )
    container.deployments.deploy(OWNER, [SourceFile("nhieu_muc.bpmn", file.encode())])
    instance_id, _ = container.instances.start(INTEGRATOR, "Process_NhieuMuc", variables={})
    (task,) = tasks(container, instance_id, open_only=True)
    assert task["due_at"] - task["created_at"] == timedelta(days=3)


@pytest.mark.parametrize(
    ("cycle", "croniter_form"),
    [
        ("0 0 9 ? * 2-6", "0 0 9 * * 1-5"),  # Quartz numbers the days from Sunday = 1
        ("0 0 9 ? * 1/2 *", "0 0 9 * * 0/2"),  # a step is not a day; the year * is dropped
        ("0 9 * * 1-5", "0 0 9 * * 1-5"),  # classic cron: seconds 0, days as they are
    ],
)
def test_quartz_cron_is_read_as_croniter_reads_cron(cycle: str, croniter_form: str) -> None:
    assert cron_of(cycle) == croniter_form


def test_a_working_week_cron_skips_the_weekend() -> None:
    friday = datetime(2026, 1, 9, 10, 0, tzinfo=HANOI_TZ)
    schedule = parse_schedule("timeCycle", "0 0 9 ? * MON-FRI", friday)
    assert schedule.first_after(friday) == (0, datetime(2026, 1, 12, 9, 0, tzinfo=HANOI_TZ))
    assert schedule.following(1, datetime(2026, 1, 12, 9, 0, tzinfo=HANOI_TZ)) == datetime(
        2026, 1, 13, 9, 0, tzinfo=HANOI_TZ
    )


def test_a_collection_multi_instance_subprocess_runs_once_per_item(container: EngineContainer) -> None:
    loop = '<bpmn:multiInstanceLoopCharacteristics camunda:collection="danh_sach" camunda:elementVariable="muc" />'
    inner = (
        '<bpmn:startEvent id="Event_VaoCon"><bpmn:outgoing>Flow_C1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:userTask id="Activity_XuLyMuc" name="Xử lý mục" camunda:candidateGroups="ttpvhcc">'
        "<bpmn:incoming>Flow_C1</bpmn:incoming><bpmn:outgoing>Flow_C2</bpmn:outgoing></bpmn:userTask>"
        '<bpmn:endEvent id="Event_RaCon"><bpmn:incoming>Flow_C2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="Flow_C1" sourceRef="Event_VaoCon" targetRef="Activity_XuLyMuc" />'
        '<bpmn:sequenceFlow id="Flow_C2" sourceRef="Activity_XuLyMuc" targetRef="Event_RaCon" />'
    )
    file = collection_file(loop + inner, task="subProcess")
    container.deployments.deploy(
        OWNER,
        [
            SourceFile(
                file.name,
                file.content.replace(
                    b' camunda:candidateGroups="ttpvhcc">\n      <bpmn:incoming>Flow_1',
                    b">\n      <bpmn:incoming>Flow_1",
                    1,
                ),
            )
        ],
    )
    instance_id, _ = container.instances.start(INTEGRATOR, "Process_NhieuMuc", variables={"danh_sach": ["a", "b"]})
    opened = tasks(container, instance_id, open_only=True)
    assert [t["element_id"] for t in opened] == ["Activity_XuLyMuc"] * 2
    for task in opened:
        container.tasks.complete(ONE_STOP, task["id"], {})
    assert container.instance_reads.get_instance(ADMIN, instance_id).status == "completed"
