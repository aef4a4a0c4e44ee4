"""Message correlation: by business key, by correlation keys (instance variables), message start events, and the
errors when nobody waits."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from phoihop.engine.commands.messages import Delivery
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import EngineError, MessageNotCorrelated
from phoihop.engine.store import repository as service_repo
from tests.conftest import INTEGRATOR
from tests.engine.helpers import (
    LEAD,
    MOT_CUA,
    SKHCN,
    audit_kinds,
    count,
    deploy,
    history,
    instance,
    open_tasks,
    run_threads,
    subscriptions,
    task_id,
)

MESSAGE = "bo_sung_ho_so"


def waiting_for_supplement(container: EngineContainer, business_key: str, **variables: object) -> str:
    """A supplement_flow instance past its first check, waiting for the bo_sung_ho_so message."""
    instance_id, _ = container.instances.start(
        INTEGRATOR, "supplement_flow", business_key=business_key, variables=variables
    )
    assert open_tasks(container, instance_id)["check"]["candidate_groups"] == ["ttpvhcc"]
    container.tasks.complete(MOT_CUA, task_id(container, instance_id, "check"), {"thieu": ["ban_sao_cccd"]})
    assert open_tasks(container, instance_id) == {}
    return instance_id


@pytest.fixture
def messages(container: EngineContainer) -> EngineContainer:
    deploy(container, "messages.bpmn")
    return container


def test_correlate_by_business_key_delivers_payload_and_removes_the_subscription(messages: EngineContainer) -> None:
    target = waiting_for_supplement(messages, "HS-001", ma_ho_so="HS-001")
    bystander = waiting_for_supplement(messages, "HS-002", ma_ho_so="HS-002")
    (subscription,) = subscriptions(messages, target)
    assert subscription["message_name"] == MESSAGE
    assert subscription["business_key"] == "HS-001"

    delivered = messages.messages.correlate(
        INTEGRATOR,
        MESSAGE,
        business_key="HS-001",
        variables={"giay_to_bo_sung": ["ban_sao_cccd"], "ho_so": {"chi_tiet": {"trang": 3}}},
    )

    assert delivered == [Delivery(instance_id=target, started=False)]
    assert subscriptions(messages, target) == []
    assert set(open_tasks(messages, target)) == {"recheck"}
    variables = instance(messages, target)["variables"]
    assert variables["giay_to_bo_sung"] == ["ban_sao_cccd"]
    assert variables["ho_so"] == {"chi_tiet": {"trang": 3}}
    assert variables["ma_ho_so"] == "HS-001" and variables["thieu"] == ["ban_sao_cccd"]
    received = [e for e in history(messages, target) if e["kind"] == "message_received"]
    assert len(received) == 1 and received[0]["actor"] == INTEGRATOR.id
    # the other instance did not move
    assert len(subscriptions(messages, bystander)) == 1
    assert "message_received" not in audit_kinds(messages, bystander)

    messages.tasks.complete(MOT_CUA, task_id(messages, target, "recheck"), {"dat": True})
    assert instance(messages, target)["status"] == "completed"


def test_correlate_by_correlation_keys_matches_instance_variables(messages: EngineContainer) -> None:
    first = waiting_for_supplement(messages, "BK-A", ma_ho_so="HS-100", linh_vuc="dat_dai")
    second = waiting_for_supplement(messages, "BK-B", ma_ho_so="HS-200", linh_vuc="dat_dai")

    delivered = messages.messages.correlate(
        INTEGRATOR, MESSAGE, correlation_keys={"ma_ho_so": "HS-200"}, variables={"so_trang": 12}
    )
    assert delivered == [Delivery(instance_id=second, started=False)]
    assert instance(messages, second)["variables"]["so_trang"] == 12
    assert set(open_tasks(messages, second)) == {"recheck"}
    assert subscriptions(messages, second) == []
    assert len(subscriptions(messages, first)) == 1
    assert "so_trang" not in instance(messages, first)["variables"]

    # several keys must all match
    with pytest.raises(MessageNotCorrelated):
        messages.messages.correlate(
            INTEGRATOR, MESSAGE, correlation_keys={"ma_ho_so": "HS-100", "linh_vuc": "xay_dung"}
        )
    delivered = messages.messages.correlate(
        INTEGRATOR, MESSAGE, correlation_keys={"ma_ho_so": "HS-100", "linh_vuc": "dat_dai"}, business_key="BK-A"
    )
    assert delivered == [Delivery(instance_id=first, started=False)]


def test_wrong_correlation_value_or_business_key_is_not_correlated_and_changes_nothing(
    messages: EngineContainer,
) -> None:
    waiting = waiting_for_supplement(messages, "HS-300", ma_ho_so="HS-300")
    before = instance(messages, waiting)
    audit_before = count(messages, "SELECT count(*) FROM audit_event")

    with pytest.raises(MessageNotCorrelated) as caught:
        messages.messages.correlate(INTEGRATOR, MESSAGE, business_key="HS-999", variables={"x": 1})
    assert caught.value.fields["message_name"] == MESSAGE
    assert caught.value.fields["business_key"] == "HS-999"
    with pytest.raises(MessageNotCorrelated):
        messages.messages.correlate(INTEGRATOR, MESSAGE, correlation_keys={"ma_ho_so": "HS-999"})
    with pytest.raises(MessageNotCorrelated):  # right key, wrong business key
        messages.messages.correlate(INTEGRATOR, MESSAGE, business_key="HS-999", correlation_keys={"ma_ho_so": "HS-300"})

    after = instance(messages, waiting)
    assert after["version"] == before["version"] and after["variables"] == before["variables"]
    assert len(subscriptions(messages, waiting)) == 1
    assert count(messages, "SELECT count(*) FROM audit_event") == audit_before
    assert count(messages, "SELECT count(*) FROM process_instance") == 1


def test_message_nobody_waits_for_is_not_correlated(messages: EngineContainer) -> None:
    with pytest.raises(MessageNotCorrelated):
        messages.messages.correlate(INTEGRATOR, MESSAGE, business_key="HS-1")
    with pytest.raises(MessageNotCorrelated):
        messages.messages.correlate(INTEGRATOR, "thong_diep_khong_ai_cho")
    # an instance that has not reached the catch event yet does not wait either
    instance_id, _ = messages.instances.start(INTEGRATOR, "supplement_flow", business_key="HS-2")
    with pytest.raises(MessageNotCorrelated):
        messages.messages.correlate(INTEGRATOR, MESSAGE, business_key="HS-2")
    assert set(open_tasks(messages, instance_id)) == {"check"}
    assert count(messages, "SELECT count(*) FROM process_instance") == 1


def test_message_start_event_starts_report_intake(messages: EngineContainer) -> None:
    delivered = messages.messages.correlate(
        INTEGRATOR, "bao_cao_vuong_mac", business_key="BC-7", variables={"noi_dung": "Vướng mắc thủ tục", "muc_do": 2}
    )
    assert len(delivered) == 1 and delivered[0].started is True
    instance_id = delivered[0].instance_id
    row = instance(messages, instance_id)
    assert row["process_key"] == "report_intake"
    assert row["business_key"] == "BC-7"
    assert row["status"] == "running"
    assert row["variables"]["noi_dung"] == "Vướng mắc thủ tục" and row["variables"]["muc_do"] == 2
    classify = open_tasks(messages, instance_id)["classify"]
    assert classify["candidate_groups"] == ["skhcn"]
    assert audit_kinds(messages, instance_id)[0] == "instance_started"
    assert subscriptions(messages, instance_id) == []

    messages.tasks.complete(SKHCN, str(classify["id"]), {"loai": "thu_tuc"})
    assert instance(messages, instance_id)["status"] == "completed"

    # every further report starts another instance
    again = messages.messages.correlate(INTEGRATOR, "bao_cao_vuong_mac", business_key="BC-8")
    assert again[0].started is True and again[0].instance_id != instance_id
    assert count(messages, "SELECT count(*) FROM process_instance WHERE process_key = 'report_intake'") == 2


def test_subscription_survives_restart_and_delivery_after_cache_loss(messages: EngineContainer) -> None:
    waiting = waiting_for_supplement(messages, "HS-400", ma_ho_so="HS-400")
    messages.executor.cache.clear()  # as after a restart: the workflow comes from the stored state
    messages.messages.correlate(INTEGRATOR, MESSAGE, business_key="HS-400", variables={"ok": True})
    assert set(open_tasks(messages, waiting)) == {"recheck"}
    assert subscriptions(messages, waiting) == []
    assert count(messages, "SELECT count(*) FROM message_subscription") == 0


def test_same_message_sent_twice_at_once_is_delivered_once(messages: EngineContainer) -> None:
    waiting = waiting_for_supplement(messages, "HS-500", ma_ho_so="HS-500")

    def send(n: int) -> object:
        return messages.messages.correlate(INTEGRATOR, MESSAGE, business_key="HS-500", variables={"lan": n})

    results = run_threads([partial(send, n) for n in range(4)])

    delivered = [value for kind, value in results if kind == "ok"]
    refused = [value for kind, value in results if kind == "error"]
    assert len(delivered) == 1, results
    if not messages.db.is_sqlite:  # see the deterministic test below
        refused = [e for e in refused if not (type(e) is EngineError and "waits for no message" in str(e))]
    assert all(isinstance(e, MessageNotCorrelated) for e in refused), refused
    assert audit_kinds(messages, waiting).count("message_received") == 1
    assert set(open_tasks(messages, waiting)) == {"recheck"}


def test_message_consumed_between_lookup_and_lock_is_not_correlated(
    messages: EngineContainer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL: correlate_message reads the subscriptions before it locks the instance. When another request
    delivers the same message in between, the late one must answer MessageNotCorrelated (and still deliver to the
    other instances it matched), not fail with a bare EngineError from the runtime."""
    if messages.db.is_sqlite:
        pytest.skip("SQLite runs the lookup under BEGIN IMMEDIATE: no other writer can slip in between")
    first = waiting_for_supplement(messages, "HS-600", ma_ho_so="HS-600", nhom="X")
    second = waiting_for_supplement(messages, "HS-601", ma_ho_so="HS-601", nhom="X")
    original = service_repo.subscriptions_for
    interfered: list[bool] = []

    def lookup_then_someone_else_delivers(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        if not interfered:
            interfered.append(True)
            run_threads(
                [
                    partial(
                        messages.messages.correlate,
                        INTEGRATOR,
                        MESSAGE,
                        business_key="HS-600",
                        variables={"ai": "khac"},
                    )
                ]
            )
        return found

    monkeypatch.setattr(service_repo, "subscriptions_for", lookup_then_someone_else_delivers)
    delivered = messages.messages.correlate(
        INTEGRATOR, MESSAGE, correlation_keys={"nhom": "X"}, variables={"ai": "toi"}, all_instances=True
    )
    assert delivered == [Delivery(instance_id=second, started=False)]
    assert instance(messages, first)["variables"]["ai"] == "khac"
    assert instance(messages, second)["variables"]["ai"] == "toi"
    assert audit_kinds(messages, first).count("message_received") == 1


def test_cancelled_instance_no_longer_receives_its_message(messages: EngineContainer) -> None:
    waiting = waiting_for_supplement(messages, "HS-700", ma_ho_so="HS-700")
    messages.instances.cancel(LEAD, waiting)
    assert subscriptions(messages, waiting) == []
    with pytest.raises(MessageNotCorrelated):
        messages.messages.correlate(INTEGRATOR, MESSAGE, business_key="HS-700")
    assert instance(messages, waiting)["status"] == "cancelled"
