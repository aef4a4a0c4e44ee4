"""External tasks (camunda:type="external"): rows written with the command that leaves the task waiting, fetch and
lock by topic, lock expiry, completion by the locking worker only, failures with retries and incidents, BPMN errors,
closing with the instance, and concurrent workers that never get the same task. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from phoihop.engine.clock import FakeClock
from phoihop.engine.commands.external_tasks import DEFAULT_RETRIES, FetchTopic
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.errors import (
    BpmnErrorNotCaught,
    ExternalTaskLockExpired,
    ExternalTaskNotActive,
    ExternalTaskNotFound,
    ExternalTaskNotLocked,
    Forbidden,
    InstanceNotRunning,
    InvalidDefinition,
    InvalidInput,
)
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.reads.external_tasks import ExternalTaskView, LockedExternalTask
from phoihop.engine.reads.instances import Incident
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.engine.helpers import (
    ADMIN,
    SKHCN,
    audit_kinds,
    bpmn,
    count,
    history,
    instance,
    lane,
    open_tasks,
    run_threads,
    task_id,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "external"
TOPIC = "gui_van_ban"
PROCESS = "gui_van_ban_lien_thong"
LEAD_SKHCN = officer("lanh_dao_skhcn", "skhcn", roles=("lead", "officer"))


def deploy_fixture(container: EngineContainer, *names: str) -> None:
    for name in names:
        container.deployments.deploy(OWNER, [SourceFile(name, (FIXTURES / name).read_bytes())])


@pytest.fixture
def external(container: EngineContainer) -> EngineContainer:
    deploy_fixture(container, "gui_van_ban.bpmn")
    return container


def start(container: EngineContainer, business_key: str = "VB-001", **variables: Any) -> str:
    instance_id, _ = container.instances.start(
        INTEGRATOR,
        PROCESS,
        business_key=business_key,
        variables={"trich_yeu": "Xin ý kiến về dự thảo quy chế", "so_trang": 3, **variables},
    )
    return instance_id


def fetch(
    container: EngineContainer,
    worker: str,
    *,
    max_tasks: int = 10,
    lock_ms: int = 60_000,
    topics: tuple[str, ...] = (TOPIC,),
    variables: tuple[str, ...] | None = None,
    use_priority: bool = False,
) -> list[LockedExternalTask]:
    return container.external_tasks.fetch_and_lock(
        INTEGRATOR,
        worker,
        [FetchTopic(t, lock_ms, variables) for t in topics],
        max_tasks=max_tasks,
        use_priority=use_priority,
    )


def rows(container: EngineContainer, instance_id: str) -> list[ExternalTaskView]:
    return list(container.external_task_reads.list_tasks(INTEGRATOR, instance_id=instance_id).items)


def only_row(container: EngineContainer, instance_id: str) -> ExternalTaskView:
    (row,) = rows(container, instance_id)
    return row


# --- the happy path --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("warm_cache", [True, False], ids=["cache-hit", "cache-miss"])
def test_fetch_lock_complete_moves_the_instance_on(
    external: EngineContainer, clock: FakeClock, warm_cache: bool
) -> None:
    instance_id = start(external)
    row = only_row(external, instance_id)
    assert row.status == "open" and row.topic == TOPIC and row.element_id == "Task_GuiVanBan"
    assert row.name == "Gửi văn bản qua trục liên thông" and row.priority == 10
    assert row.retries is None and row.worker_id is None and row.business_key == "VB-001"
    assert open_tasks(external, instance_id) == {}  # not a human task
    assert instance(external, instance_id)["status"] == "running"

    (locked,) = fetch(external, "van-thu-1", lock_ms=30_000)
    assert locked.id == row.id and locked.worker_id == "van-thu-1" and locked.status == "locked"
    assert locked.lock_expires_at == clock.now() + timedelta(seconds=30)
    assert locked.variables == {"trich_yeu": "Xin ý kiến về dự thảo quy chế", "so_trang": 3}
    assert fetch(external, "van-thu-2") == []  # locked: nobody else gets it
    if not warm_cache:
        external.executor.cache.clear()

    done = external.external_tasks.complete(
        INTEGRATOR, locked.id, "van-thu-1", {"so_van_ban": "125/SKHCN-VP", "da_gui": True}
    )
    assert done.status == "completed" and done.ended_at == clock.now()
    stored = external.external_task_reads.get_task(INTEGRATOR, locked.id)
    assert stored.status == "completed" and stored.lock_expires_at is None
    variables = instance(external, instance_id)["variables"]
    assert variables["so_van_ban"] == "125/SKHCN-VP" and variables["da_gui"] is True
    assert set(open_tasks(external, instance_id)) == {"Task_XacNhan"}
    kinds = audit_kinds(external, instance_id)
    assert kinds.count("external_task_completed") == 1
    (event,) = [e for e in history(external, instance_id) if e["kind"] == "external_task_completed"]
    assert event["actor"] == INTEGRATOR.id and event["task_id"] == locked.id
    assert event["data"]["worker_id"] == "van-thu-1" and event["data"]["variables"]["so_van_ban"] == "125/SKHCN-VP"

    external.tasks.complete(SKHCN, task_id(external, instance_id, "Task_XacNhan"), {})
    assert instance(external, instance_id)["status"] == "completed"
    assert only_row(external, instance_id).status == "completed"


@pytest.mark.parametrize("outcome", ["completed", "bpmn-error"])
def test_a_worker_ending_the_task_publishes_the_message_its_instance_then_throws(
    container: EngineContainer, outcome: str
) -> None:
    """Regression: the external-task commands once inherited a command core whose publish step raised
    NotImplementedError, so a completion (or a BPMN error) followed by a message end event answered 500, rolled back
    and left the task locked for ever."""
    deploy_fixture(container, "theo_doi_ket_qua.bpmn", "gui_va_bao_ket_qua.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "gui_va_bao_ket_qua", business_key="VB-777")
    (locked,) = fetch(container, "van-thu-1")

    if outcome == "completed":
        done = container.external_tasks.complete(INTEGRATOR, locked.id, "van-thu-1", {"so_van_ban": "77/SKHCN-VP"})
        expected = {"so_van_ban": "77/SKHCN-VP"}
    else:
        done = container.external_tasks.handle_bpmn_error(
            INTEGRATOR, locked.id, "van-thu-1", "VAN_BAN_BI_TU_CHOI", variables={"ly_do_tu_choi": "Sai thể thức"}
        )
        expected = {"so_van_ban": None, "ly_do_tu_choi": "Sai thể thức"}

    assert done.status == "completed"
    assert instance(container, instance_id)["status"] == "completed"
    (sent,) = [e for e in history(container, instance_id) if e["kind"] == "message_sent"]
    assert sent["data"]["message"] == "Kết quả gửi văn bản"
    ((delivered,),) = [sent["data"]["delivered"]]
    assert delivered["started"] is True
    follow_up = instance(container, delivered["instance_id"])
    assert follow_up["process_key"] == "theo_doi_ket_qua" and follow_up["business_key"] == "VB-777"
    assert {k: follow_up["variables"].get(k) for k in expected} == expected
    assert set(open_tasks(container, delivered["instance_id"])) == {"confirm"}


def test_fetch_returns_only_the_named_variables(external: EngineContainer) -> None:
    start(external, ho_so={"so": "HS-1", "co_quan": "Sở Tư pháp"})
    (locked,) = fetch(external, "w", variables=("ho_so", "khong_co"))
    assert locked.variables == {"ho_so": {"so": "HS-1", "co_quan": "Sở Tư pháp"}}


def test_priority_order_topics_and_max_tasks(external: EngineContainer, clock: FakeClock) -> None:
    deploy_fixture(external, "thong_bao_ket_qua.bpmn")
    low, _ = external.instances.start(INTEGRATOR, "thong_bao_ket_qua", business_key="TB-1")
    clock.advance(1)
    high = start(external)
    assert [r.priority for r in rows(external, low)] == [0]

    (first,) = fetch(external, "w1", max_tasks=1, use_priority=True)
    assert first.instance_id == high  # priority 10 before 0
    external.external_tasks.unlock(INTEGRATOR, first.id)
    (oldest,) = fetch(external, "w1", max_tasks=1)
    assert oldest.instance_id == low  # without use_priority: the oldest
    assert fetch(external, "w1", topics=("dong_bo_dvc",)) == []  # not there yet

    external.external_tasks.complete(INTEGRATOR, oldest.id, "w1", {"so_thong_bao": 7})
    both = fetch(external, "w2", topics=(TOPIC, "dong_bo_dvc"))
    assert {(t.topic, t.instance_id) for t in both} == {(TOPIC, high), ("dong_bo_dvc", low)}
    sync = next(t for t in both if t.topic == "dong_bo_dvc")
    assert sync.variables["so_thong_bao"] == 7
    external.external_tasks.complete(INTEGRATOR, sync.id, "w2")
    assert instance(external, low)["status"] == "completed"


# --- locks -----------------------------------------------------------------------------------------------------------
def test_an_expired_lock_lets_another_worker_take_the_task(external: EngineContainer, clock: FakeClock) -> None:
    instance_id = start(external)
    (first,) = fetch(external, "w1", lock_ms=1_000)
    assert fetch(external, "w2") == []
    clock.advance(timedelta(milliseconds=999))
    assert fetch(external, "w2") == []
    clock.advance(timedelta(milliseconds=1))
    listed = only_row(external, instance_id)
    assert listed.status == "open" and listed.worker_id is None  # an expired lock reads as open
    (second,) = fetch(external, "w2", lock_ms=5_000)
    assert second.id == first.id and second.worker_id == "w2"

    with pytest.raises(ExternalTaskNotLocked) as refused:
        external.external_tasks.complete(INTEGRATOR, first.id, "w1", {"so_van_ban": "cu"})
    assert refused.value.fields["locked_by"] == "w2"
    external.external_tasks.complete(INTEGRATOR, second.id, "w2", {"so_van_ban": "moi"})
    assert instance(external, instance_id)["variables"]["so_van_ban"] == "moi"


def test_only_the_locking_worker_completes_while_the_lock_holds(external: EngineContainer, clock: FakeClock) -> None:
    instance_id = start(external)
    task = only_row(external, instance_id).id
    with pytest.raises(ExternalTaskNotLocked):  # never fetched
        external.external_tasks.complete(INTEGRATOR, task, "w1")
    fetch(external, "w1", lock_ms=10_000)
    with pytest.raises(ExternalTaskNotLocked):
        external.external_tasks.complete(INTEGRATOR, task, "w2")
    with pytest.raises(ExternalTaskNotLocked):
        external.external_tasks.extend_lock(INTEGRATOR, task, "w2", 60_000)

    clock.advance(9)
    extended = external.external_tasks.extend_lock(INTEGRATOR, task, "w1", 60_000)
    assert extended.lock_expires_at == clock.now() + timedelta(minutes=1)
    clock.advance(30)  # past the first lock, within the extended one
    assert fetch(external, "w2") == []
    clock.advance(31)
    with pytest.raises(ExternalTaskLockExpired):
        external.external_tasks.complete(INTEGRATOR, task, "w1")
    with pytest.raises(ExternalTaskLockExpired):
        external.external_tasks.extend_lock(INTEGRATOR, task, "w1", 60_000)
    assert instance(external, instance_id)["version"] == 1  # refusals moved nothing
    assert "external_task_completed" not in audit_kinds(external, instance_id)

    fetch(external, "w1")
    external.external_tasks.complete(INTEGRATOR, task, "w1")
    assert set(open_tasks(external, instance_id)) == {"Task_XacNhan"}
    with pytest.raises(ExternalTaskNotActive):
        external.external_tasks.complete(INTEGRATOR, task, "w1")


def test_unlock_frees_the_task_for_any_worker(external: EngineContainer) -> None:
    instance_id = start(external)
    (locked,) = fetch(external, "w1")
    freed = external.external_tasks.unlock(INTEGRATOR, locked.id)
    assert freed.status == "open" and freed.worker_id is None and freed.lock_expires_at is None
    assert "external_task_unlocked" in audit_kinds(external, instance_id)
    (again,) = fetch(external, "w2")
    assert again.id == locked.id
    with pytest.raises(ExternalTaskNotLocked):
        external.external_tasks.complete(INTEGRATOR, locked.id, "w1")


# --- failures and incidents ------------------------------------------------------------------------------------------
def test_failures_count_down_to_an_incident_and_new_retries_resolve_it(
    external: EngineContainer, clock: FakeClock
) -> None:
    instance_id = start(external)
    tasks = external.external_tasks
    (locked,) = fetch(external, "w1")
    task = locked.id
    with pytest.raises(ExternalTaskNotLocked):
        tasks.handle_failure(INTEGRATOR, task, "w2", error_message="không phải của tôi", retries=1)

    failed = tasks.handle_failure(
        INTEGRATOR,
        task,
        "w1",
        error_message="Trục liên thông không phản hồi",
        error_details="ConnectTimeout: 10.0.0.5:443",
        retries=2,
        retry_timeout=60_000,
    )
    assert failed.status == "open" and failed.retries == 2 and failed.worker_id is None
    assert failed.retry_at == clock.now() + timedelta(minutes=1)
    assert failed.error_message == "Trục liên thông không phản hồi"
    assert external.external_task_reads.get_task(INTEGRATOR, task).error_details == "ConnectTimeout: 10.0.0.5:443"
    assert fetch(external, "w1") == []  # waiting out the retry timeout
    clock.advance(60)
    assert [t.retries for t in fetch(external, "w1")] == [2]

    assert tasks.handle_failure(INTEGRATOR, task, "w1", error_message="lần 2").retries == 1  # counts down
    fetch(external, "w1")
    incident = tasks.handle_failure(INTEGRATOR, task, "w1", error_message="Nơi nhận không tồn tại")
    assert incident.status == "incident" and incident.retries == 0 and incident.incident_at == clock.now()
    assert fetch(external, "w1") == []
    clock.advance(3600)
    assert fetch(external, "w1") == []  # an incident is never fetched

    shown = external.instance_reads.get_instance(ADMIN, instance_id)
    assert shown.status == "incident"  # as an instance with a failed step reads, until the retries are set
    assert shown.incidents == (
        Incident(
            external_task_id=task,
            element_id="Task_GuiVanBan",
            name="Gửi văn bản qua trục liên thông",
            topic=TOPIC,
            error_message="Nơi nhận không tồn tại",
            incident_at=incident.incident_at,
        ),
    )
    kinds = audit_kinds(external, instance_id)
    assert kinds.count("external_task_failed") == 3 and kinds.count("incident_created") == 1
    (created,) = [e for e in history(external, instance_id) if e["kind"] == "incident_created"]
    assert created["element_id"] == "Task_GuiVanBan" and created["data"]["error_message"] == "Nơi nhận không tồn tại"

    resolved = tasks.set_retries(ADMIN, task, 1)
    assert resolved.status == "open" and resolved.retries == 1 and resolved.incident_at is None
    assert external.instance_reads.get_instance(ADMIN, instance_id).incidents == ()
    assert instance(external, instance_id)["status"] == "running"
    assert "incident_resolved" in audit_kinds(external, instance_id)
    (again,) = fetch(external, "w3")
    tasks.complete(INTEGRATOR, again.id, "w3", {"so_van_ban": "9/SKHCN"})
    assert set(open_tasks(external, instance_id)) == {"Task_XacNhan"}


def test_failures_without_retries_start_from_the_default(external: EngineContainer) -> None:
    instance_id = start(external)
    task = only_row(external, instance_id).id
    left = []
    for _ in range(DEFAULT_RETRIES):
        fetch(external, "w1")
        left.append(external.external_tasks.handle_failure(INTEGRATOR, task, "w1").retries)
    assert left == [DEFAULT_RETRIES - 1 - i for i in range(DEFAULT_RETRIES)]
    assert only_row(external, instance_id).status == "incident"


def test_zero_retries_make_an_incident_and_bad_values_are_refused(external: EngineContainer) -> None:
    instance_id = start(external)
    task = only_row(external, instance_id).id
    made = external.external_tasks.set_retries(INTEGRATOR, task, 0)
    assert made.status == "incident" and instance(external, instance_id)["status"] == "incident"
    assert [i.external_task_id for i in external.instance_reads.get_instance(ADMIN, instance_id).incidents] == [task]
    with pytest.raises(InvalidInput):
        external.external_tasks.set_retries(INTEGRATOR, task, -1)
    fetch_args = [FetchTopic(TOPIC, 0)]
    with pytest.raises(InvalidInput):
        external.external_tasks.fetch_and_lock(INTEGRATOR, "w", fetch_args)
    with pytest.raises(InvalidInput):
        external.external_tasks.fetch_and_lock(INTEGRATOR, "w", [FetchTopic(TOPIC, 1), FetchTopic(TOPIC, 2)])
    with pytest.raises(InvalidInput):
        external.external_tasks.fetch_and_lock(INTEGRATOR, " ", [FetchTopic(TOPIC, 1)])
    with pytest.raises(InvalidInput):
        external.external_tasks.fetch_and_lock(INTEGRATOR, "w", [FetchTopic(TOPIC, 1)], max_tasks=0)
    with pytest.raises(ExternalTaskNotFound):
        external.external_task_reads.get_task(INTEGRATOR, "khong-phai-uuid")
    with pytest.raises(ExternalTaskNotFound):
        external.external_tasks.complete(INTEGRATOR, "00000000-0000-0000-0000-000000000000", "w")


BRANCHES = bpmn(
    "gui_hai_noi",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="tach"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:serviceTask id="gui" name="Gửi văn bản" camunda:type="external" camunda:topic="gui_van_ban">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:serviceTask id="bao" name="Báo cáo Bộ" camunda:type="external" camunda:topic="bao_cao_bo">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="nhap" name="Nhập số liệu"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:parallelGateway id="gop"><bpmn:incoming>f5</bpmn:incoming><bpmn:incoming>f6</bpmn:incoming>
      <bpmn:incoming>f7</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f8</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tach"/>
    <bpmn:sequenceFlow id="f2" sourceRef="tach" targetRef="gui"/>
    <bpmn:sequenceFlow id="f3" sourceRef="tach" targetRef="bao"/>
    <bpmn:sequenceFlow id="f4" sourceRef="tach" targetRef="nhap"/>
    <bpmn:sequenceFlow id="f5" sourceRef="gui" targetRef="gop"/>
    <bpmn:sequenceFlow id="f6" sourceRef="bao" targetRef="gop"/>
    <bpmn:sequenceFlow id="f7" sourceRef="nhap" targetRef="gop"/>
    <bpmn:sequenceFlow id="f8" sourceRef="gop" targetRef="end"/>
    """,
    lanes=lane("Lane_skhcn", "Sở KH&amp;CN", "start", "tach", "gui", "bao", "nhap", "gop", "end"),
).replace("<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ')


def test_an_instance_reads_incident_while_any_external_task_is_out_of_retries(container: EngineContainer) -> None:
    """Two external tasks and a human task in parallel: each task out of retries is an incident; the instance reads
    ``incident`` while one is left, its other branches go on meanwhile (the human task, the other external task),
    and it reads ``running`` again once the last one's retries are set."""
    container.deployments.deploy(OWNER, [SourceFile("gui_hai_noi.bpmn", BRANCHES.encode())])
    instance_id, _ = container.instances.start(INTEGRATOR, "gui_hai_noi")
    tasks = container.external_tasks
    status = partial(lambda iid: instance(container, iid)["status"], instance_id)
    gui, bao = (fetch(container, "w1", topics=(topic,))[0].id for topic in ("gui_van_ban", "bao_cao_bo"))

    tasks.handle_failure(INTEGRATOR, gui, "w1", error_message="Trục liên thông không phản hồi", retries=1)
    assert status() == "running"  # a failure with retries left is no incident
    fetch(container, "w1", topics=("gui_van_ban",))
    tasks.handle_failure(INTEGRATOR, gui, "w1", error_message="Nơi nhận không tồn tại", retries=0)
    assert status() == "incident"
    tasks.handle_failure(INTEGRATOR, bao, "w1", error_message="Bộ chưa mở cổng", retries=0)
    assert status() == "incident"
    shown = container.instance_reads.get_instance(ADMIN, instance_id)
    assert sorted(i.element_id for i in shown.incidents) == ["bao", "gui"]  # at the same moment: in id order

    done = container.tasks.complete(SKHCN, task_id(container, instance_id, "nhap"), {"so_luong": 4})
    assert done.status == "incident" and status() == "incident"  # the other branch went on; the incidents stay

    tasks.set_retries(ADMIN, gui, 2)
    assert status() == "incident"  # bao is still out of retries
    (again,) = fetch(container, "w2", topics=("gui_van_ban",))
    tasks.complete(INTEGRATOR, again.id, "w2")  # a branch completes while the instance reads incident
    assert status() == "incident"

    tasks.set_retries(ADMIN, bao, 1)
    assert status() == "running" and container.instance_reads.get_instance(ADMIN, instance_id).incidents == ()
    (last,) = fetch(container, "w2", topics=("bao_cao_bo",))
    tasks.complete(INTEGRATOR, last.id, "w2")
    assert status() == "completed"
    kinds = audit_kinds(container, instance_id)
    assert kinds.count("incident_created") == 2 and kinds.count("incident_resolved") == 2


# --- BPMN errors -----------------------------------------------------------------------------------------------------
def test_a_bpmn_error_takes_the_error_boundary_path(external: EngineContainer) -> None:
    instance_id = start(external)
    (locked,) = fetch(external, "w1")
    with pytest.raises(BpmnErrorNotCaught):
        external.external_tasks.handle_bpmn_error(INTEGRATOR, locked.id, "w1", "MA_KHAC")
    assert only_row(external, instance_id).status == "locked"  # nothing changed: the worker may still fail it
    assert instance(external, instance_id)["version"] == 1

    done = external.external_tasks.handle_bpmn_error(
        INTEGRATOR,
        locked.id,
        "w1",
        "VAN_BAN_BI_TU_CHOI",
        error_message="Sai thể thức",
        variables={"ly_do_tu_choi": "Sai thể thức văn bản"},
    )
    assert done.status == "completed"
    assert set(open_tasks(external, instance_id)) == {"Task_XuLyTuChoi"}
    assert instance(external, instance_id)["variables"]["ly_do_tu_choi"] == "Sai thể thức văn bản"
    stored = only_row(external, instance_id)
    assert stored.status == "completed" and stored.error_message == "VAN_BAN_BI_TU_CHOI: Sai thể thức"
    assert "external_task_bpmn_error" in audit_kinds(external, instance_id)


# --- the row follows the instance ------------------------------------------------------------------------------------
def test_cancelling_the_instance_closes_its_external_task(external: EngineContainer) -> None:
    instance_id = start(external)
    (locked,) = fetch(external, "w1")
    external.instances.cancel(ADMIN, instance_id, reason="Rút hồ sơ")
    row = only_row(external, instance_id)
    assert row.status == "cancelled" and row.ended_at is not None
    assert fetch(external, "w2") == []
    with pytest.raises(ExternalTaskNotActive):
        external.external_tasks.complete(INTEGRATOR, locked.id, "w1")
    with pytest.raises(ExternalTaskNotActive):
        external.external_tasks.set_retries(INTEGRATOR, locked.id, 3)


def test_a_timer_boundary_moving_the_instance_on_closes_the_row(container: EngineContainer, clock: FakeClock) -> None:
    xml = bpmn(
        "gui_co_han",
        """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="gui" name="Gửi văn bản" camunda:type="external" camunda:topic="gui_van_ban">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:boundaryEvent id="qua_han" attachedToRef="gui"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="xong"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="gui_tay" name="Gửi bằng văn bản giấy"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="xong_tay"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gui"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gui" targetRef="xong"/>
    <bpmn:sequenceFlow id="f3" sourceRef="qua_han" targetRef="gui_tay"/>
    <bpmn:sequenceFlow id="f4" sourceRef="gui_tay" targetRef="xong_tay"/>
    """,
        lanes=lane("Lane_skhcn", "Sở KH&amp;CN", "start", "gui", "qua_han", "xong", "gui_tay", "xong_tay"),
    )
    xml = xml.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ')
    container.deployments.deploy(OWNER, [SourceFile("gui_co_han.bpmn", xml.encode())])
    instance_id, _ = container.instances.start(INTEGRATOR, "gui_co_han")
    (locked,) = fetch(container, "w1", lock_ms=2 * 3600 * 1000)
    clock.advance(timedelta(hours=1, seconds=1))
    assert container.timers.fire_due_timers() == 1
    assert set(open_tasks(container, instance_id)) == {"gui_tay"}
    assert only_row(container, instance_id).status == "cancelled"
    with pytest.raises(ExternalTaskNotActive):
        container.external_tasks.complete(INTEGRATOR, locked.id, "w1")


def _deploy_parallel_send(container: EngineContainer, *, approval: bool = False) -> None:
    """An external task (gui) on one branch; a human step (``approval``: an officer's completion is a draft for a
    lead), then a script dividing by ``so_luong``, on the other."""
    xml = bpmn(
        "gui_song_song",
        """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="tach"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:serviceTask id="gui" name="Gửi văn bản" camunda:type="external" camunda:topic="gui_van_ban">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="nhap" name="Nhập số liệu"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="tinh" name="Tính tỷ lệ"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:script>ty_le = 1 / so_luong</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="gop"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f6</bpmn:incoming>
      <bpmn:outgoing>f7</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tach"/>
    <bpmn:sequenceFlow id="f2" sourceRef="tach" targetRef="gui"/>
    <bpmn:sequenceFlow id="f3" sourceRef="tach" targetRef="nhap"/>
    <bpmn:sequenceFlow id="f4" sourceRef="gui" targetRef="gop"/>
    <bpmn:sequenceFlow id="f5" sourceRef="nhap" targetRef="tinh"/>
    <bpmn:sequenceFlow id="f6" sourceRef="tinh" targetRef="gop"/>
    <bpmn:sequenceFlow id="f7" sourceRef="gop" targetRef="end"/>
    """,
        lanes=lane("Lane_skhcn", "Sở KH&amp;CN", "start", "tach", "gui", "nhap", "tinh", "gop", "end"),
    )
    xml = xml.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ')
    if approval:
        xml = xml.replace(
            '<bpmn:userTask id="nhap" name="Nhập số liệu">',
            '<bpmn:userTask id="nhap" name="Nhập số liệu"><bpmn:extensionElements><camunda:properties>'
            '<camunda:property name="approval" value="lead"/></camunda:properties></bpmn:extensionElements>',
        )
    container.deployments.deploy(OWNER, [SourceFile("gui_song_song.bpmn", xml.encode())])


def _step_incident(container: EngineContainer, instance_id: str) -> int:
    (incident,) = [i for i in container.incidents.open_incidents(ADMIN).items if i.element_id == "tinh"]
    return incident.id


def test_a_step_incident_on_one_branch_leaves_the_other_branchs_external_task_and_its_own_incident(
    container: EngineContainer,
) -> None:
    # As in Camunda: an incident holds its own activity only. The other branch's external task stays locked by its
    # worker and fetchable; an incident of its own (no retries left) stays one through the instance's next commands
    # until someone sets retries (formerly the step incident cancelled the row and the next command reopened it as
    # open, silently clearing the external task's incident)
    _deploy_parallel_send(container)
    instance_id, _ = container.instances.start(INTEGRATOR, "gui_song_song")
    (locked,) = fetch(container, "w1")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "nhap"), {"so_luong": 0})  # tinh fails
    assert instance(container, instance_id)["status"] == "incident"
    row = only_row(container, instance_id)
    assert (row.status, row.worker_id) == ("locked", "w1")

    container.external_tasks.handle_failure(INTEGRATOR, locked.id, "w1", error_message="Trục từ chối", retries=0)
    assert (only_row(container, instance_id).status, only_row(container, instance_id).retries) == ("incident", 0)
    step = _step_incident(container, instance_id)
    again = container.incidents.retry(ADMIN, step)  # the next command: the step fails again (so_luong is still 0)
    assert again.incident.resolved_at is None
    row = only_row(container, instance_id)
    assert (row.status, row.retries, row.error_message) == ("incident", 0, "Trục từ chối")
    assert fetch(container, "w2") == []

    container.external_tasks.set_retries(INTEGRATOR, locked.id, 1)
    (fetched,) = fetch(container, "w2")
    assert fetched.id == locked.id
    assert container.external_tasks.complete(INTEGRATOR, fetched.id, "w2").status == "completed"
    assert instance(container, instance_id)["status"] == "incident"  # the step's incident is still open
    fixed = container.incidents.retry(ADMIN, step, {"so_luong": 4})
    assert fixed.incident.resolved_at is not None
    assert instance(container, instance_id)["status"] == "completed"


def test_send_back_and_approval_refuse_an_instance_whose_external_task_is_an_incident_as_a_step_incident(
    container: EngineContainer,
) -> None:
    # Still refused, and rightly: the instance reads "incident" whichever kind opened it, and a lead's send-back or
    # approval waits until someone has decided on it (set retries, or cancelled). A send-back resets the workflow to
    # an earlier step and could cancel the very branch holding the incident, closing it without anyone's decision
    _deploy_parallel_send(container, approval=True)
    instance_id, _ = container.instances.start(INTEGRATOR, "gui_song_song")
    nhap = task_id(container, instance_id, "nhap")
    assert container.tasks.complete(SKHCN, nhap, {"so_luong": 2}).task.status == "awaiting_approval"
    (locked,) = fetch(container, "w1")
    container.external_tasks.handle_failure(INTEGRATOR, locked.id, "w1", error_message="Trục từ chối", retries=0)
    assert instance(container, instance_id)["status"] == "incident"

    with pytest.raises(InstanceNotRunning):
        container.task_flow.approve(LEAD_SKHCN, nhap)
    with pytest.raises(InstanceNotRunning):
        container.task_flow.send_back(LEAD_SKHCN, nhap, "Bổ sung số liệu")
    assert only_row(container, instance_id).status == "incident"  # nothing moved

    container.external_tasks.set_retries(INTEGRATOR, locked.id, 1)  # decided: running again
    assert container.task_flow.approve(LEAD_SKHCN, nhap).task.status == "completed"


def test_a_fatal_instance_error_closes_the_waiting_external_task(container: EngineContainer) -> None:
    # a failure that is no incident (the step limit) stops every branch: nothing waits, the row is cancelled
    _deploy_parallel_send(container)
    instance_id, _ = container.instances.start(INTEGRATOR, "gui_song_song")
    (locked,) = fetch(container, "w1")
    container.executor.runtime.max_steps = 0  # the script step is one too many
    container.tasks.complete(SKHCN, task_id(container, instance_id, "nhap"), {"so_luong": 2})
    assert instance(container, instance_id)["status"] == "error"
    assert only_row(container, instance_id).status == "cancelled"
    with pytest.raises(ExternalTaskNotActive):
        container.external_tasks.complete(INTEGRATOR, locked.id, "w1")


def test_a_crash_before_commit_leaves_the_task_locked_and_a_retry_completes_it(external: EngineContainer) -> None:
    instance_id = start(external)
    (locked,) = fetch(external, "w1")

    def crash() -> None:
        raise RuntimeError("simulated crash before commit")

    external.executor.fail_before_commit = crash
    with pytest.raises(RuntimeError):
        external.external_tasks.complete(INTEGRATOR, locked.id, "w1", {"so_van_ban": "1"})
    external.executor.fail_before_commit = None
    assert only_row(external, instance_id).status == "locked"
    assert instance(external, instance_id)["version"] == 1 and open_tasks(external, instance_id) == {}
    external.external_tasks.complete(INTEGRATOR, locked.id, "w1", {"so_van_ban": "1"})
    assert set(open_tasks(external, instance_id)) == {"Task_XacNhan"}


def test_external_tasks_in_a_subprocess_and_multi_instance(container: EngineContainer) -> None:
    xml = bpmn(
        "gui_nhieu_noi",
        """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="gui_tat_ca"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="bat_dau"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:serviceTask id="gui" name="Gửi một nơi" camunda:type="external" camunda:topic="gui_van_ban">
        <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
        <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>
        </bpmn:multiInstanceLoopCharacteristics>
      </bpmn:serviceTask>
      <bpmn:endEvent id="het"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="bat_dau" targetRef="gui"/>
      <bpmn:sequenceFlow id="g2" sourceRef="gui" targetRef="het"/>
    </bpmn:subProcess>
    <bpmn:userTask id="xem" name="Xem kết quả gửi"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gui_tat_ca"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gui_tat_ca" targetRef="xem"/>
    <bpmn:sequenceFlow id="f3" sourceRef="xem" targetRef="end"/>
    """,
        lanes=lane("Lane_skhcn", "Sở KH&amp;CN", "start", "gui_tat_ca", "xem", "end"),
    )
    xml = xml.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ')
    container.deployments.deploy(OWNER, [SourceFile("gui_nhieu_noi.bpmn", xml.encode())])
    instance_id, _ = container.instances.start(INTEGRATOR, "gui_nhieu_noi")
    both = fetch(container, "w1")
    assert [t.element_id for t in both] == ["gui", "gui"] and len({t.id for t in both}) == 2
    container.external_tasks.complete(INTEGRATOR, both[0].id, "w1", {"noi_1": "đã gửi"})
    assert open_tasks(container, instance_id) == {}  # the other instance of the task still waits
    container.executor.cache.clear()  # the second from the stored state
    container.external_tasks.complete(INTEGRATOR, both[1].id, "w1", {"noi_2": "đã gửi"})
    assert set(open_tasks(container, instance_id)) == {"xem"}
    assert [r.status for r in rows(container, instance_id)] == ["completed", "completed"]


# --- who may ---------------------------------------------------------------------------------------------------------
def test_only_integrators_and_admins_use_external_tasks(external: EngineContainer) -> None:
    instance_id = start(external)
    task = only_row(external, instance_id).id
    lead = Actor.of("lanh_dao", groups=("skhcn",), roles=("lead", "officer"))
    for attempt in (
        lambda: fetch_as(external, SKHCN),
        lambda: fetch_as(external, lead),
        lambda: external.external_task_reads.list_tasks(SKHCN),
        lambda: external.external_tasks.set_retries(lead, task, 3),
        lambda: external.external_tasks.complete(SKHCN, task, "w1"),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert len(fetch_as(external, ADMIN)) == 1


def fetch_as(container: EngineContainer, actor: Actor) -> list[LockedExternalTask]:
    return container.external_tasks.fetch_and_lock(actor, "w", [FetchTopic(TOPIC, 1000)])


# --- deploying -------------------------------------------------------------------------------------------------------
def _service_task(attributes: str) -> str:
    return bpmn(
        "dich_vu",
        f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Task_Java" name="Gọi dịch vụ" {attributes}>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Task_Java"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Java" targetRef="end"/>
    """,
        lanes=lane("Lane_skhcn", "Sở KH&amp;CN", "start", "Task_Java", "end"),
    ).replace("<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ')


@pytest.mark.parametrize(
    ("attributes", "says"),
    [
        ('camunda:class="vn.gov.hanoi.GuiVanBan"', "camunda:class"),
        ('camunda:delegateExpression="${guiVanBan}"', "camunda:delegateExpression"),
        ('camunda:expression="${svc.gui()}"', "camunda:expression"),
        ('camunda:type="external"', "camunda:topic"),
        ('camunda:type="external" camunda:topic="${chu_de}"', "camunda:topic"),
        ('camunda:type="external" camunda:topic="gui" camunda:taskPriority="cao"', "camunda:taskPriority"),
        ('camunda:type="connector"', "camunda:type"),
    ],
)
def test_service_tasks_this_engine_cannot_run_are_refused_naming_the_element(
    container: EngineContainer, attributes: str, says: str
) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        container.deployments.deploy(OWNER, [SourceFile("dich_vu.bpmn", _service_task(attributes).encode())])
    (found,) = refused.value.problems
    assert found["element_id"] == "Task_Java" and found["line"]
    assert says in found["reason"] and says in found["reason_vi"]
    assert "công việc" in found["reason_vi"]


# --- concurrency -----------------------------------------------------------------------------------------------------
@pytest.fixture
def other(db_url: str, clock: FakeClock) -> Iterator[EngineContainer]:
    """A second engine process on the same database."""
    built = build_engine(db_url, clock=clock)
    yield built
    built.close()


def test_concurrent_workers_never_get_the_same_task(external: EngineContainer, other: EngineContainer) -> None:
    instance_ids = [start(external, business_key=f"VB-{n:03}") for n in range(24)]
    engines = [external, other] * 4
    results = run_threads([partial(fetch, engine, f"worker-{n}", max_tasks=4) for n, engine in enumerate(engines)])
    assert all(kind == "ok" for kind, _ in results), results
    taken = [(f"worker-{n}", task.id) for n, (_, fetched) in enumerate(results) for task in fetched]
    ids = [task for _, task in taken]
    assert len(ids) == len(set(ids))  # no task went to two workers
    assert count(external, "SELECT count(*) FROM external_task WHERE status = 'locked'") == len(ids)
    for worker, task in taken:  # each is locked by the worker that got it
        assert external.external_task_reads.get_task(INTEGRATOR, task).worker_id == worker
    # whatever a busy round skipped is there for the next fetch, and every task completes exactly once
    rest = fetch(other, "worker-late", max_tasks=100)
    assert len(ids) + len(rest) == 24
    holders = {task: worker for worker, task in taken} | {task.id: "worker-late" for task in rest}
    outcomes = run_threads(
        [
            partial(engine.external_tasks.complete, INTEGRATOR, task, worker, {"so_van_ban": task})
            for (task, worker), engine in zip(holders.items(), [external, other] * 12, strict=True)
        ]
    )
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    for instance_id in instance_ids:
        assert set(open_tasks(external, instance_id)) == {"Task_XacNhan"}
        assert audit_kinds(external, instance_id).count("external_task_completed") == 1


def test_completing_twice_at_once_completes_once(external: EngineContainer, other: EngineContainer) -> None:
    instance_id = start(external)
    (locked,) = fetch(external, "w1")
    results = run_threads(
        [
            partial(engine.external_tasks.complete, INTEGRATOR, locked.id, "w1", {"lan": n})
            for n, engine in enumerate([external, other, external, other])
        ]
    )
    assert [kind for kind, _ in results].count("ok") == 1, results
    assert all(isinstance(value, ExternalTaskNotActive) for kind, value in results if kind == "error")
    assert audit_kinds(external, instance_id).count("external_task_completed") == 1
    assert len(open_tasks(external, instance_id)) == 1
