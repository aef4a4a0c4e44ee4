"""The tamper-evident audit trail (issue 14, item 11): every event is chained by hash to the previous event of its
instance and of all; ``phoihop audit verify`` exits 0 on an intact trail and 1 naming the first event that was
edited, inserted or deleted in the database."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text

from phoihop.cli import main
from phoihop.engine.container import EngineContainer
from phoihop.engine.store import audit, audit_chain
from tests.conftest import INTEGRATOR
from tests.engine.helpers import SKHCN, bpmn, deploy_xml, lane, run_threads, task_id

TWO_STEPS = bpmn(
    "two_steps",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Thẩm định"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>""",
    lanes=lane("L1", "Sở Khoa học và Công nghệ", "start", "review", "end"),
)


def _trail(container: EngineContainer) -> list[str]:
    """Two instances, one finished: events of two instances and of a deployment, interleaved."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    first, _ = container.instances.start(INTEGRATOR, "two_steps")
    second, _ = container.instances.start(INTEGRATOR, "two_steps")
    container.tasks.complete(SKHCN, task_id(container, first, "review"), {"ket_qua": "đạt"})
    return [first, second]


def _verify(container: EngineContainer) -> audit_chain.Broken | None:
    with container.db.transaction(write=False) as conn:
        return audit_chain.verify(conn)


def _execute(container: EngineContainer, sql: str, **params: object) -> None:
    with container.db.transaction() as conn:
        conn.execute(text(sql), params)


def _event_ids(container: EngineContainer, instance_id: str) -> list[int]:
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(text("SELECT id FROM audit_event WHERE instance_id = :i ORDER BY id"), {"i": instance_id})
        return [int(r[0]) for r in rows]


def test_an_untouched_trail_verifies_and_every_event_is_sealed(container: EngineContainer) -> None:
    _trail(container)
    assert _verify(container) is None
    with container.db.transaction(write=False) as conn:
        unsealed = conn.execute(text("SELECT COUNT(*) FROM audit_event WHERE chain_hash IS NULL")).scalar_one()
        sealed = conn.execute(text("SELECT COUNT(*), MAX(chain_seq) FROM audit_event")).one()
    assert unsealed == 0 and sealed[0] == sealed[1] and sealed[0] >= 6


def test_an_edited_row_is_named(container: EngineContainer) -> None:
    first, _ = _trail(container)
    edited = _event_ids(container, first)[1]
    _execute(container, "UPDATE audit_event SET actor = 'ke_gian' WHERE id = :id", id=edited)
    broken = _verify(container)
    assert broken is not None and broken.event_id == edited and "changed" in broken.reason


def test_a_deleted_row_breaks_the_chain_at_the_next_event(container: EngineContainer) -> None:
    _, second = _trail(container)
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(text("SELECT id, chain_seq FROM audit_event ORDER BY chain_seq")).all()
    victim = next(i for i, (event_id, _) in enumerate(rows) if event_id == _event_ids(container, second)[0])
    _execute(container, "DELETE FROM audit_event WHERE id = :id", id=rows[victim][0])
    broken = _verify(container)
    assert broken is not None and broken.event_id == rows[victim + 1][0] and "deleted" in broken.reason
    # the last event deleted: the head names the end of the chain
    _execute(container, "DELETE FROM audit_event WHERE chain_seq >= :s", s=rows[victim][1])
    at_end = _verify(container)
    assert at_end is not None and at_end.event_id is None and at_end.chain_seq == rows[-1][1]


def test_an_inserted_row_is_named(container: EngineContainer) -> None:
    first, _ = _trail(container)
    _execute(
        container,
        "INSERT INTO audit_event (instance_id, at, actor, kind, data) VALUES (:i, '2026-12-01 08:00:00', 'x', "
        "'task_approved', '{}')",
        i=first,
    )
    with container.db.transaction(write=False) as conn:
        inserted = conn.execute(text("SELECT MAX(id) FROM audit_event")).scalar_one()
    broken = _verify(container)
    assert broken is not None and broken.event_id == inserted and "inserted" in broken.reason


def test_the_cli_exits_0_when_intact_and_1_naming_the_event(
    container: EngineContainer, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = _trail(container)
    monkeypatch.setenv("PHOIHOP_DATABASE_URL", db_url)
    monkeypatch.setenv("PHOIHOP_ENV", "dev")
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    edited = _event_ids(container, first)[0]
    _execute(container, "UPDATE audit_event SET data = :d WHERE id = :id", d='{"sua": 1}', id=edited)
    assert main(["audit", "verify"]) == 1
    assert f"event {edited} " in capsys.readouterr().out


def test_concurrent_commands_never_make_a_false_accusation(container: EngineContainer) -> None:
    """On PostgreSQL ids of concurrent transactions commit out of order; the chain follows the sealing order."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    results = run_threads([lambda: container.instances.start(INTEGRATOR, "two_steps") for _ in range(8)])
    assert all(outcome == "ok" for outcome, _ in results), results
    assert _verify(container) is None


PARALLEL = bpmn(
    "parallel_steps",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="left"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="right"/>
    <bpmn:userTask id="left" name="Thẩm định hồ sơ"/>
    <bpmn:userTask id="right" name="Xác minh thực địa"/>
    <bpmn:sequenceFlow id="f4" sourceRef="left" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="right" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>""",
    lanes=lane("L1", "Sở Khoa học và Công nghệ", "start", "split", "left", "right", "join", "end"),
)


def test_the_canonical_form_split_around_the_id_is_the_canonical_form() -> None:
    """The server seals an event (PostgreSQL) from its canonical form with the id left out: the bytes around the id
    it draws must be exactly those ``link`` hashes, keys sorted, non-ASCII text and nested data included."""
    from datetime import UTC, datetime

    event = {
        "id": 1234,
        "instance_id": "7c1f",
        "process_key": None,
        "at": datetime(2026, 12, 7, 19, 5, 1, 250, tzinfo=UTC),
        "actor": "can-bo-1",
        "kind": "task_completed",
        "element_id": "review",
        "task_id": None,
        "data": {"z": [1, 2.5], "ket_qua": "đạt", "a": {"y": None, "b": True}},
        "request_id": "req-1",
    }
    left, right = audit_chain.around_id(event)
    assert left + b"1234" + right == audit_chain.canonical(event)


def test_a_claim_beside_a_complete_of_the_same_instance_keeps_its_chain_intact(container: EngineContainer) -> None:
    """A claim writes an event of the instance without the instance's lock: a complete on the same instance that
    seals after it must chain onto it (the seal reads the instance's last hash after the head's lock is granted)."""
    deploy_xml(container, "parallel_steps.bpmn", PARALLEL)
    for _ in range(4):
        instance_id, _ = container.instances.start(INTEGRATOR, "parallel_steps")
        left, right = task_id(container, instance_id, "left"), task_id(container, instance_id, "right")
        results = run_threads(
            [
                lambda t=left: container.tasks.claim(SKHCN, t),  # type: ignore[misc]
                lambda t=right: container.tasks.complete(SKHCN, t, {}),  # type: ignore[misc]
            ]
        )
        assert all(outcome == "ok" for outcome, _ in results), results
    assert _verify(container) is None


def test_only_a_number_with_an_exponent_sends_an_event_the_long_way_not_digit_e_digit_in_a_string() -> None:
    """An event whose data holds a number written with an exponent is sealed after it is read back (jsonb gives
    1e+20 back as an integer); an id, a code or a text that merely contains digit-e-digit reads back as written."""
    long_way = [{"so_tien": 1e20}, {"ty_le": [1.5e-7]}, {"a": "x", "b": {"c": -2e300}}]
    one_trip = [
        {"task_id": "32f18980-8766-475a-96a0-ef97ac2b69e9"},  # 0e9 inside an id
        {"ma": "1E5", "ghi_chu": 'trích "3e4" nguyên văn \\ "2e2"'},  # escaped quotes and backslashes
        {"so_tien": 10**18, "ty_le": 2.5},
    ]
    assert [audit.reads_back_otherwise(orjson.dumps(data).decode()) for data in long_way] == [True] * 3
    assert [audit.reads_back_otherwise(orjson.dumps(data).decode()) for data in one_trip] == [False] * 3
