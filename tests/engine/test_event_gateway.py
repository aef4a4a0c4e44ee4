"""Event-based gateways: the instance waits for whichever event comes first (a message or a timer), and both the
timer row and the message subscription exist while it waits; the stored state restores the gateway's wait."""

from __future__ import annotations

from datetime import timedelta

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.store import repository as repo
from tests.conftest import INTEGRATOR
from tests.engine.helpers import bpmn, deploy_xml, instance, lane

BODY = """
<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_supplement"/>
<bpmn:eventBasedGateway id="wait_supplement" name="Chờ bổ sung hoặc hết hạn"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait_supplement" targetRef="supplemented"/>
<bpmn:sequenceFlow id="f3" sourceRef="wait_supplement" targetRef="expired"/>
<bpmn:intermediateCatchEvent id="supplemented" name="Nhận hồ sơ bổ sung">
  <bpmn:messageEventDefinition messageRef="msg_supplement"/>
</bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="expired" name="Hết hạn bổ sung">
  <bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f4" sourceRef="supplemented" targetRef="accepted"/>
<bpmn:sequenceFlow id="f5" sourceRef="expired" targetRef="refused"/>
<bpmn:endEvent id="accepted"/><bpmn:endEvent id="refused"/>"""
NODES = ("start", "wait_supplement", "supplemented", "expired", "accepted", "refused")


def _deploy(container: EngineContainer) -> None:
    xml = bpmn("event_gateway", BODY, lanes=lane("L1", "Sở Khoa học và Công nghệ", *NODES)).replace(
        "</bpmn:definitions>", '<bpmn:message id="msg_supplement" name="ho_so_bo_sung"/></bpmn:definitions>'
    )
    deploy_xml(container, "event_gateway.bpmn", xml)


def _waits(container: EngineContainer, instance_id: str) -> tuple[list[str], list[str]]:
    with container.db.transaction(write=False) as conn:
        timers = [t["element_id"] for t in repo.instance_timers(conn, instance_id)]
        messages = [m["message_name"] for m in repo.instance_subscriptions(conn, instance_id)]
    return timers, messages


def test_the_message_wins(container: EngineContainer) -> None:
    _deploy(container)
    instance_id, _ = container.instances.start(INTEGRATOR, "event_gateway", business_key="HS-1")
    assert _waits(container, instance_id) == (["wait_supplement"], ["ho_so_bo_sung"])
    container.executor.cache.clear()  # the wait is restored from the stored records
    delivered = container.messages.correlate(
        INTEGRATOR, "ho_so_bo_sung", business_key="HS-1", variables={"so_trang": 12}
    )
    assert [d.instance_id for d in delivered] == [instance_id]
    row = instance(container, instance_id)
    assert row["status"] == "completed" and row["variables"]["so_trang"] == 12
    assert _waits(container, instance_id) == ([], [])


def test_the_timer_wins(container: EngineContainer, clock: FakeClock) -> None:
    _deploy(container)
    instance_id, _ = container.instances.start(INTEGRATOR, "event_gateway", business_key="HS-2")
    container.executor.cache.clear()
    clock.advance(timedelta(days=10, seconds=1))
    assert container.scheduler.run_once() == 1
    assert instance(container, instance_id)["status"] == "completed"
    assert _waits(container, instance_id) == ([], [])
    with container.db.transaction(write=False) as conn:
        kinds = [(e["kind"], e["element_id"]) for e in repo.history(conn, instance_id)]
    assert ("element_completed", "refused") in kinds and ("element_completed", "accepted") not in kinds
