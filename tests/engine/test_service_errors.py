"""Failing processes: a script error leaves the instance in error (queryable, cancellable); a runaway loop ends in
a step-limit error promptly; a cancelled instance's tasks cannot be completed."""

from __future__ import annotations

import time

import pytest

from engine.clock import FakeClock
from engine.container import EngineContainer, build_engine
from engine.errors import InstanceNotRunning, TaskNotOpen
from tests.conftest import INTEGRATOR
from tests.engine.helpers import (
    LEAD,
    SKHCN,
    STP,
    audit_kinds,
    deploy,
    history,
    instance,
    open_tasks,
    subscriptions,
    task_id,
    tasks,
    timers,
)


def test_script_error_puts_the_instance_in_error_and_it_stays_queryable_and_cancellable(
        container: EngineContainer) -> None:
    deploy(container, "scripts.bpmn")
    instance_id, _ = container.service.start_instance(INTEGRATOR, "scripted", business_key="HS-E",
                                                      variables={"so_luong": 5, "chia_cho": 0})
    fill = task_id(container, instance_id, "fill")

    status = container.service.complete_task(SKHCN, fill, {"ghi_chu": "chia cho 0"})

    assert status == "error"
    row = instance(container, instance_id)
    assert row["status"] == "error"
    assert row["error"]["element_id"] == "compute"
    assert row["error"]["message"]
    assert row["ended_at"] is None
    assert open_tasks(container, instance_id) == {}
    kinds = audit_kinds(container, instance_id)
    assert kinds[-1] == "instance_error"
    error_event = history(container, instance_id)[-1]
    assert error_event["element_id"] == "compute"

    # queryable through the read side
    seen = container.queries.get_instance(INTEGRATOR, instance_id)
    assert seen["status"] == "error" and seen["error"]["element_id"] == "compute"
    page = container.queries.list_instances(INTEGRATOR, status="error")
    assert [i["id"] for i in page.items] == [instance_id]

    container.service.cancel_instance(LEAD, instance_id, reason="dữ liệu sai")
    row = instance(container, instance_id)
    assert row["status"] == "cancelled" and row["ended_at"] is not None
    assert audit_kinds(container, instance_id)[-1] == "instance_cancelled"
    with pytest.raises(InstanceNotRunning):
        container.service.cancel_instance(LEAD, instance_id)


def test_runaway_loop_ends_in_a_step_limit_error_promptly(container: EngineContainer) -> None:
    deploy(container, "runaway.bpmn")
    began = time.monotonic()
    instance_id, _ = container.service.start_instance(INTEGRATOR, "runaway", variables={"dem": 0})
    elapsed = time.monotonic() - began
    row = instance(container, instance_id)
    assert row["status"] == "error", row
    assert row["error"]["code"] == "step-limit-exceeded"
    assert row["error"]["element_id"] in ("tick", "again")
    assert elapsed < 15, elapsed
    assert open_tasks(container, instance_id) == {}
    assert timers(container, instance_id) == [] and subscriptions(container, instance_id) == []


def test_runaway_with_a_small_step_limit(db_url: str) -> None:
    small = build_engine(db_url, clock=FakeClock(), max_steps=200)
    try:
        deploy(small, "runaway.bpmn")
        began = time.monotonic()
        instance_id, _ = small.service.start_instance(INTEGRATOR, "runaway", variables={"dem": 0})
        assert time.monotonic() - began < 5
        row = instance(small, instance_id)
        assert row["status"] == "error" and row["error"]["code"] == "step-limit-exceeded"
        assert row["error"]["element_id"] in ("tick", "again")
    finally:
        small.close()


def test_completing_a_task_of_a_cancelled_instance_is_refused(container: EngineContainer) -> None:
    deploy(container, "parallel.bpmn")
    instance_id, _ = container.service.start_instance(INTEGRATOR, "parallel_review")
    container.service.complete_task(SKHCN, task_id(container, instance_id, "receive"), {})
    legal = task_id(container, instance_id, "legal")
    version = instance(container, instance_id)["version"]

    container.service.cancel_instance(LEAD, instance_id, reason="rút hồ sơ")

    assert {t["element_id"]: t["status"] for t in tasks(container, instance_id)} == {
        "receive": "completed", "legal": "cancelled", "board": "cancelled"}
    row = instance(container, instance_id)
    assert row["status"] == "cancelled" and row["version"] == version + 1
    with pytest.raises(TaskNotOpen) as caught:
        container.service.complete_task(STP, legal, {"legal_ok": True})
    assert "cancelled" in caught.value.fields.values()  # the task row's status is reported
    assert instance(container, instance_id)["version"] == version + 1
    assert audit_kinds(container, instance_id).count("task_completed") == 1

