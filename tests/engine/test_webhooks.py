"""The webhook outbox at engine level: events exist exactly when their command committed; dossier status changes
in the portal's vocabulary; two delivery workers at once never send one delivery concurrently and each event is
delivered once; a worker that dies holding a delivery loses it to another after its lease, nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phoihop.engine.clock import FakeClock, utc_text
from phoihop.engine.commands.portal_status import dossier_status_events
from phoihop.engine.commands.webhooks import DEADLINE_SCAN, WebhookDelivery
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.errors import WebhookDeliveryInFlight
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.store import outbox
from tests.conftest import INTEGRATOR, OWNER
from tests.engine.helpers import count, deploy, open_tasks, run_threads, task_id
from tests.webhook_receiver import Receiver, receiver

ADMIN = Actor.of("root", name="Quản trị", roles=("admin",))
DEADLINES = Path(__file__).parent.parent / "fixtures" / "deadlines"


@pytest.fixture
def hook_receiver() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def received_events(r: Receiver) -> list[dict[str, Any]]:
    return [x.event for x in r.requests if x.answered == 200]


def test_a_command_that_rolls_back_leaves_no_event(container: EngineContainer, hook_receiver: Receiver) -> None:
    container.webhooks.create(ADMIN, hook_receiver.url)
    deploy(container, "four_tasks.bpmn")

    def crash() -> None:
        raise RuntimeError("simulated crash before commit")

    container.executor.fail_before_commit = crash
    with pytest.raises(RuntimeError):
        container.instances.start(INTEGRATOR, "four_tasks")
    container.executor.fail_before_commit = None
    assert count(container, "SELECT COUNT(*) FROM outbox_event") == 0
    assert count(container, "SELECT COUNT(*) FROM webhook_delivery") == 0
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks")
    container.tasks.claim(ADMIN, task_id(container, instance_id, "t1"))
    container.scheduler.run_once()  # the scheduler loop of `serve` and `phoihop worker` sends them
    assert [e["type"] for e in received_events(hook_receiver)] == ["instance.started", "task.created", "task.claimed"]


def test_dossier_status_changes_in_the_portal_vocabulary(container: EngineContainer, hook_receiver: Receiver) -> None:
    container.webhooks.create(ADMIN, hook_receiver.url, events=["dossier.status_changed"])
    container.deployments.deploy(
        OWNER, [SourceFile("dossier_green_lane.bpmn", (DEADLINES / "dossier_green_lane.bpmn").read_bytes())]
    )
    instance_id, _ = container.instances.start(
        INTEGRATOR, "dossier_green_lane", variables={"appointment": "2026-01-09T17:00:00+07:00"}
    )
    container.tasks.complete(ADMIN, task_id(container, instance_id, "appraise"), {})
    assert container.webhook_delivery.deliver_due() == 2
    accepted, returned = (e["data"] for e in received_events(hook_receiver))
    assert accepted == {
        "dossier_code": "000.00.25.H26-260105-0001",
        "status": 2,
        "status_name": "Được tiếp nhận",
        "previous_status": None,
        "portal_status": "Mới tiếp nhận",
        "appointment_at": "2026-01-09T10:00:00Z",  # 17:00 in Hanoi, spelled as every time out (docs/api.md)
        "apology": None,
    }
    assert (returned["previous_status"], returned["status"], returned["portal_status"]) == (2, 10, "Đã có kết quả")


def test_an_apology_letter_is_published_with_its_reason() -> None:
    before = {"dossier_status": 4, "apology_issued": False, "dossier_code": "X-260105-0001"}
    after = {
        **before,
        "apology_issued": True,
        "apology_reason": "Cần xin ý kiến thêm của Sở Tư pháp",
        "apology_letter_number": "12/PXL-SKHCN",
        "extension_days": 3,
        "appointment_at": "2026-01-14T17:00:00+07:00",
    }
    (event,) = dossier_status_events("i", "green_lane", before, after, FakeClock().now())
    assert event["data"]["portal_status"] == "Xin lỗi và hẹn lại"
    assert event["data"]["apology"] == {
        "reason": "Cần xin ý kiến thêm của Sở Tư pháp",
        "letter_number": "12/PXL-SKHCN",
        "extension_days": 3,
    }
    assert dossier_status_events("i", "green_lane", after, after, FakeClock().now()) == []


def test_two_workers_never_send_one_delivery_at_once(
    container: EngineContainer, db_url: str, clock: FakeClock, hook_receiver: Receiver
) -> None:
    container.webhooks.create(ADMIN, hook_receiver.url)
    deploy(container, "four_tasks.bpmn")
    for _ in range(8):
        container.instances.start(INTEGRATOR, "four_tasks")  # instance.started and task.created each
    other = build_engine(db_url, clock=clock, script_cpu_seconds=0.5)  # a second server or worker process
    try:
        hook_receiver.hold_seconds = 0.02  # sends overlap in time
        workers = [container.webhook_delivery, other.webhook_delivery]
        results = run_threads([lambda w=w: w.deliver_due() for w in workers])  # type: ignore[misc]
        assert all(kind == "ok" for kind, _ in results), results
        assert sum(n for _, n in results) == 16
        assert all(n > 0 for _, n in results)  # both worked, at the same time
    finally:
        other.close()
    ids = hook_receiver.ok_events()
    assert len(ids) == len(set(ids)) == 16  # each event exactly once
    assert set(hook_receiver.max_in_flight.values()) == {1}
    assert count(container, "SELECT COUNT(*) FROM webhook_delivery WHERE status = 'delivered'") == 16


def test_a_worker_that_dies_mid_delivery_loses_it_after_its_lease(
    container: EngineContainer, clock: FakeClock, hook_receiver: Receiver
) -> None:
    container.webhooks.create(ADMIN, hook_receiver.url, events=["instance.started"])
    deploy(container, "four_tasks.bpmn")
    container.instances.start(INTEGRATOR, "four_tasks")
    container.instances.start(INTEGRATOR, "four_tasks")
    dying = WebhookDelivery(container.db, clock, timeout_seconds=0.2)
    with container.db.transaction() as conn:  # it leased one delivery, then the process was killed
        (held,) = outbox.claim_due(conn, clock.now(), limit=1, lease=dying.lease)
    assert container.webhook_delivery.deliver_due() == 1  # the other one; the held one is leased
    with pytest.raises(WebhookDeliveryInFlight):
        container.webhooks.replay(ADMIN, held["id"])
    clock.advance(dying.lease)
    assert container.webhook_delivery.deliver_due() == 1
    with container.db.transaction() as conn:  # the dead worker's late answer changes nothing
        assert not outbox.finish(
            conn,
            held["id"],
            held["lease_token"],
            status="dead",
            attempts=9,
            at=clock.now(),
            next_attempt_at=clock.now(),
            status_code=None,
            error="late",
            duration_ms=0,
        )
    assert len(set(hook_receiver.ok_events())) == 2
    assert count(container, "SELECT COUNT(*) FROM webhook_delivery WHERE status = 'delivered'") == 2


def test_task_deadlines_are_announced_once(
    container: EngineContainer, clock: FakeClock, hook_receiver: Receiver
) -> None:
    container.webhooks.create(ADMIN, hook_receiver.url, events=["deadline.warning", "deadline.overdue"])
    container.deployments.deploy(
        OWNER, [SourceFile("dossier_green_lane.bpmn", (DEADLINES / "dossier_green_lane.bpmn").read_bytes())]
    )
    instance_id, _ = container.instances.start(
        INTEGRATOR, "dossier_green_lane", variables={"appointment": "2026-01-09T17:00:00+07:00"}
    )
    task = open_tasks(container, instance_id)["appraise"]
    worker = container.webhook_delivery
    assert worker.deliver_due() == 0  # nothing crossed yet
    clock.set(task["warn_at"])
    assert worker.deliver_due() == 1
    assert worker.deliver_due() == 0  # not again within the scan interval
    clock.set(task["due_at"] + DEADLINE_SCAN)
    assert worker.deliver_due() == 1
    clock.advance(DEADLINE_SCAN * 2)
    assert worker.deliver_due() == 0  # each once per task
    warning, overdue = received_events(hook_receiver)
    assert (warning["type"], overdue["type"]) == ("deadline.warning", "deadline.overdue")
    assert overdue["data"]["task_id"] == task["id"] and overdue["data"]["element_id"] == "appraise"
    assert overdue["data"]["due_at"] == utc_text(task["due_at"])


def test_a_leased_delivery_is_due_to_other_workers_only_when_its_lease_ends(
    container: EngineContainer, clock: FakeClock, hook_receiver: Receiver
) -> None:
    container.webhooks.create(ADMIN, hook_receiver.url, events=["instance.started"])
    deploy(container, "four_tasks.bpmn")
    container.instances.start(INTEGRATOR, "four_tasks")
    worker = container.webhook_delivery
    assert worker.next_due() == clock.now()
    dying = WebhookDelivery(container.db, clock, timeout_seconds=1, lease_seconds=3)
    with container.db.transaction() as conn:
        outbox.claim_due(conn, clock.now(), limit=1, lease=dying.lease)
    # the others sleep until the lease ends instead of waking at once for a delivery they may not take
    assert worker.next_due() == clock.now() + dying.lease
    assert worker.deliver_due() == 0
    clock.advance(dying.lease)
    assert worker.deliver_due() == 1
    assert worker.next_due() is None


def test_a_lease_shorter_than_a_send_is_refused(container: EngineContainer, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="must outlive a send"):
        WebhookDelivery(container.db, clock, timeout_seconds=5, lease_seconds=5)
    assert WebhookDelivery(container.db, clock, timeout_seconds=5).lease.total_seconds() == 50
