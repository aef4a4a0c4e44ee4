"""The PostgreSQL command path (issue 15, goal 2): writes deferred to the next trip or the commit, audit events sealed
in one trip, no pool pre-ping. What it must not change: a pooled connection the server ended is never handed to a
command, the audit chain stays intact (also for data that reads back differently than written), and a command that
fails leaves none of its deferred writes behind for the next command on the same connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from psycopg.pq import Trace
from sqlalchemy import create_engine, event, text

from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import AlreadyClaimed, TaskNotFound, TaskNotOpen
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.store import audit, audit_chain, rawsql
from phoihop.engine.store import repository as repo
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.engine.helpers import SKHCN, bpmn, deploy_xml, lane, run_threads, task_id

TWO_STEPS = bpmn(
    "two_steps",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Thẩm định"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Phê duyệt"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>""",
    lanes=lane("L1", "Sở Khoa học và Công nghệ", "start", "review", "approve", "end"),
)


def _verify(container: EngineContainer) -> audit_chain.Broken | None:
    with container.db.transaction(write=False) as conn:
        return audit_chain.verify(conn)


def _pooled_backends(container: EngineContainer) -> set[int]:
    """Backend pids of the connections idle in the engine's pool."""
    pool = container.db.engine.pool
    pids: set[int] = set()
    held = [pool.connect() for _ in range(pool.checkedin())]
    try:
        for proxy in held:
            pids.add(int(proxy.dbapi_connection.info.backend_pid))  # type: ignore[union-attr]
    finally:
        for proxy in held:
            proxy.close()
    return pids


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_pooled_connection_the_server_ended_is_replaced_before_a_command_uses_it(
    container: EngineContainer,
) -> None:
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    instance_id, _ = container.instances.start(INTEGRATOR, "two_steps")
    pids = _pooled_backends(container)
    assert pids
    admin = create_engine(container.db.url)
    try:
        with admin.connect() as other:
            for pid in pids:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            while other.exec_driver_sql(  # the backends are gone (their goodbye is on the pooled sockets)
                f"SELECT COUNT(*) FROM pg_stat_activity WHERE pid IN ({','.join(map(str, pids))})"
            ).scalar_one():
                other.rollback()
    finally:
        admin.dispose()

    result = container.tasks.complete(SKHCN, task_id(container, instance_id, "review"), {"ket_qua": "đạt"})

    assert [t for t in result.open_tasks] == [task_id(container, instance_id, "approve")]
    assert not pids & _pooled_backends(container)  # none of the ended connections went back to the pool


def test_events_whose_data_reads_back_otherwise_keep_the_chain_intact(container: EngineContainer) -> None:
    """1e20 is written by orjson with an exponent; jsonb gives it back as an integer. The event is sealed after it is
    read back, beside events sealed in one trip, in the same transaction and in later ones."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    first, _ = container.instances.start(INTEGRATOR, "two_steps")
    second, _ = container.instances.start(INTEGRATOR, "two_steps")
    container.tasks.complete(SKHCN, task_id(container, first, "review"), {"so_tien": 1e20, "ty_le": 2.5})
    container.tasks.complete(SKHCN, task_id(container, second, "review"), {"ket_qua": "đạt"})
    container.tasks.complete(SKHCN, task_id(container, first, "approve"), {"ket_qua": "đạt"})

    assert _verify(container) is None
    with container.db.transaction(write=False) as conn:
        unsealed = conn.execute(text("SELECT COUNT(*) FROM audit_event WHERE chain_hash IS NULL")).scalar_one()
        kinds = [
            r[0]
            for r in conn.execute(text("SELECT kind FROM audit_event WHERE instance_id = :i ORDER BY id"), {"i": first})
        ]
    assert unsealed == 0
    assert kinds.count("task_completed") == 2 and kinds[-1] == "instance_completed"


def test_a_read_of_the_trail_inside_a_command_sees_the_command_s_own_events(container: EngineContainer) -> None:
    """Events buffered for the one-trip seal are inserted before a statement of the same command reads them."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    instance_id, _ = container.instances.start(INTEGRATOR, "two_steps")
    with container.executor.transaction() as uow:
        event = {"instance_id": instance_id, "at": uow.now, "actor": "root", "kind": "comment_added", "data": {}}
        audit.insert_audit(uow.conn, [event])
        kinds = [e["kind"] for e in audit.history(uow.conn, instance_id)]
    assert kinds[0] == "instance_started" and kinds[-1] == "comment_added"
    assert _verify(container) is None


def test_a_failed_command_leaves_no_deferred_write_for_the_next_one(container: EngineContainer) -> None:
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    instance_id, _ = container.instances.start(INTEGRATOR, "two_steps")
    with pytest.raises(TaskNotFound), container.executor.transaction() as uow:
        rawsql.defer(uow.conn, "UPDATE process_instance SET business_key = 'lost' WHERE id = :id", {"id": instance_id})
        raise TaskNotFound("gone", detail_vi="không còn", task_id="x")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "review"), {"ket_qua": "đạt"})

    with container.db.transaction(write=False) as conn:
        key = conn.execute(text("SELECT business_key FROM process_instance WHERE id = :i"), {"i": instance_id})
        assert key.scalar_one() is None
        assert not conn.info.get(rawsql.DEFERRED)
    assert _verify(container) is None


def test_a_held_instance_row_is_saved_only_at_the_version_the_transaction_holds(container: EngineContainer) -> None:
    """An instance row the command locked is saved without asking the database (PostgreSQL): the version check its
    UPDATE would make is made on the version the transaction holds, a second save of the same version included."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    instance_id, _ = container.instances.start(INTEGRATOR, "two_steps")
    values = {"state": "{}", "status": "running", "variables": "{}", "error": None, "ended_at": None}
    with pytest.raises(TaskNotFound), container.executor.transaction() as uow:
        head = repo.lock_instance_head(uow.conn, instance_id)
        assert head is not None
        version = int(head["version"])
        assert not repo.save_instance(uow.conn, instance_id, version + 1, **values)
        assert repo.save_instance(uow.conn, instance_id, version, **values)
        assert not repo.save_instance(uow.conn, instance_id, version, **values)  # moved by the save before
        assert repo.save_instance(uow.conn, instance_id, version + 1, **values)
        raise TaskNotFound("undo", detail_vi="hoàn tác", task_id="x")  # the instance stays as it was
    with container.db.transaction(write=False) as conn:
        assert not conn.info.get(rawsql.LOCKED)
        row = conn.execute(text("SELECT version FROM process_instance WHERE id = :i"), {"i": instance_id})
        assert row.scalar_one() == version
    container.tasks.complete(SKHCN, task_id(container, instance_id, "review"), {"ket_qua": "đạt"})
    assert _verify(container) is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_claims_that_race_for_one_task_give_it_to_one_person(container: EngineContainer) -> None:
    """A claim reads the task's row locked and writes without asking: of claims at once, one wins, the others see
    the task claimed (AlreadyClaimed), and the trail has one claim."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    instance_id, _ = container.instances.start(INTEGRATOR, "two_steps")
    review = task_id(container, instance_id, "review")
    people = [Actor.of(f"can-bo-{k}", groups=("skhcn",), roles=("officer",)) for k in range(4)]
    results = run_threads([lambda person=person: container.tasks.claim(person, review) for person in people])
    assert sorted(outcome for outcome, _ in results) == ["error", "error", "error", "ok"], results
    assert all(isinstance(error, AlreadyClaimed) for outcome, error in results if outcome == "error")
    with container.db.transaction(write=False) as conn:
        claims = conn.execute(
            text("SELECT COUNT(*) FROM audit_event WHERE instance_id = :i AND kind = 'task_claimed'"),
            {"i": instance_id},
        )
        assert claims.scalar_one() == 1
    assert _verify(container) is None


@contextmanager
def sent_to_postgresql(container: EngineContainer, path: Path) -> Iterator[list[str]]:
    """The protocol messages the engine's connections send to PostgreSQL (``Parse "" "SELECT ..."``, ``Sync``...),
    as libpq's own trace (PQtrace) records them; the list is filled when the block ends. Statements between two
    ``Sync`` go together: one round trip."""
    sent: list[str] = []
    with path.open("wb") as trace:

        def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            dbapi_connection.pgconn.trace(trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)

        def on_checkin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.pgconn.untrace()

        event.listen(container.db.engine, "checkout", on_checkout)
        event.listen(container.db.engine, "checkin", on_checkin)
        try:
            yield sent
        finally:
            event.remove(container.db.engine, "checkout", on_checkout)
            event.remove(container.db.engine, "checkin", on_checkin)
    for line in path.read_text(errors="replace").splitlines():
        direction, _length, message = [*line.split("\t", 2), "", ""][:3]
        if direction == "F":
            sent.append(message)


DRAFTED = Path(__file__).parent.parent / "fixtures" / "engine" / "drafted_reply.bpmn"
STP_OFFICER = officer("can_bo_stp", "stp")
STP_LEAD = officer("lanh_dao_stp", "stp", roles=("lead", "officer"))


def _locks_instance_then_task_first_and_together(sent: list[str]) -> None:
    statements = [k for k, message in enumerate(sent) if message.startswith("Parse") and '"BEGIN"' not in message]
    first, second = statements[0], statements[1]
    assert "FROM process_instance WHERE id = (SELECT instance_id FROM human_task" in sent[first], sent[first]
    assert sent[first].rstrip('" 0123456789').endswith("FOR UPDATE"), sent[first]
    assert "FROM human_task WHERE id = $1 FOR UPDATE" in sent[second], sent[second]
    assert "Sync" not in sent[first:second]  # sent together: one trip


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_send_back_and_approve_lock_the_instance_then_the_task_in_one_trip_as_complete_does(
    container: EngineContainer, tmp_path: Path
) -> None:
    """As a complete: the first statements lock the instance's row, then the task's, sent together (formerly the
    task read, then the instance locked, then the task locked: three trips)."""
    container.deployments.deploy(OWNER, [SourceFile(DRAFTED.name, DRAFTED.read_bytes())])
    instance_id, _ = container.instances.start(INTEGRATOR, "drafted_reply")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    reply = task_id(container, instance_id, "reply")
    with sent_to_postgresql(container, tmp_path / "send_back.trace") as sent:
        container.task_flow.send_back(STP_LEAD, reply, "Bổ sung hồ sơ")
    _locks_instance_then_task_first_and_together(sent)

    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    reply = task_id(container, instance_id, "reply")
    assert container.tasks.complete(STP_OFFICER, reply, {"answer": "Đồng ý"}).task.status == "awaiting_approval"
    with sent_to_postgresql(container, tmp_path / "approve.trace") as sent:
        container.task_flow.approve(STP_LEAD, reply)
    _locks_instance_then_task_first_and_together(sent)

    check = task_id(container, instance_id, "check")
    with sent_to_postgresql(container, tmp_path / "complete.trace") as sent:  # the path they now share
        container.tasks.complete(STP_OFFICER, check, {})
    _locks_instance_then_task_first_and_together(sent)


def _trips(trace: Path) -> int:
    """Round trips in a libpq trace (``sent_to_postgresql``'s file), counted as ``bench/roundtrips.py`` counts them:
    the runs of messages the client sends between two answers it reads that carry a statement. A pipeline is one
    (psycopg may read the answer to its ``BEGIN`` early, or to its statements before its last ``Sync``: a run of a
    ``BEGIN`` alone, or of no statement, is no trip of its own)."""
    trips, statements = 0, []
    for line in [*trace.read_text(errors="replace").splitlines(), "B"]:
        fields = line.split("\t")
        if fields[0] == "F" and len(fields) > 3 and fields[2] == "Parse":
            statements.append(fields[3])
        elif fields[0] == "B":
            trips += any('"BEGIN"' not in statement for statement in statements)
            statements = []
    return trips


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_send_back_and_approve_take_the_trips_of_a_complete_and_their_notifications(
    container: EngineContainer, tmp_path: Path
) -> None:
    """What they read, they read with the locks; what they write waits for the commit; their audit events are sealed
    in the commit's trip (an id with digit-e-digit in the event's data is no number with an exponent). A send-back
    (formerly ~21 trips, ``bench/roundtrips.py``): the locks with the draft and the instance's variables; the earlier
    task whose remaining time the step keeps (``onReturn="continue"``); the people of the reopened task's agency
    (its task_new); who did the step, the actor and the case (its task_returned); the commit. An approval (formerly
    ~9–12): the locks with the draft; the people of the next task; the commit."""
    container.deployments.deploy(OWNER, [SourceFile(DRAFTED.name, DRAFTED.read_bytes())])
    instance_id, _ = container.instances.start(INTEGRATOR, "drafted_reply")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    reply = task_id(container, instance_id, "reply")
    with sent_to_postgresql(container, tmp_path / "send_back.trace"):
        container.task_flow.send_back(STP_LEAD, reply, "Bổ sung hồ sơ")
    assert _trips(tmp_path / "send_back.trace") == 5

    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    reply = task_id(container, instance_id, "reply")
    container.tasks.complete(STP_OFFICER, reply, {"answer": "Đồng ý"})
    with sent_to_postgresql(container, tmp_path / "approve.trace"):
        container.task_flow.approve(STP_LEAD, reply)
    assert _trips(tmp_path / "approve.trace") == 3
    assert _verify(container) is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_begin_and_commit_ride_in_the_trips_of_the_statements(container: EngineContainer, tmp_path: Path) -> None:
    """A complete that opens the next task is three waits for the server on the wire: the BEGIN with the locks, the
    deferred writes with the read of who the new task concerns, the COMMIT last among the writes that go with it. Each
    Sync is one wait (psycopg left alone syncs after its BEGIN, and twice for a commit() inside a pipeline: five)."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    instance_id, _ = container.instances.start(INTEGRATOR, "two_steps")
    review = task_id(container, instance_id, "review")
    with sent_to_postgresql(container, tmp_path / "complete.trace") as sent:
        container.tasks.complete(SKHCN, review, {})
    syncs = [k for k, message in enumerate(sent) if message.startswith("Sync")]
    assert len(syncs) == 3, sent
    assert not [m for m in sent if m.startswith("Query")], sent  # nothing sent outside a pipeline
    begin = next(k for k, message in enumerate(sent) if message.startswith("Parse") and '"BEGIN"' in message)
    commit = next(k for k, message in enumerate(sent) if message.startswith("Parse") and '"COMMIT"' in message)
    assert begin < syncs[0] and "FOR UPDATE" in " ".join(sent[begin : syncs[0]])  # with the locks
    assert syncs[1] < commit < syncs[2]  # in the last trip, after the writes
    assert "INSERT INTO audit_event" in " ".join(sent[syncs[1] : commit]) or "audit_event" in " ".join(
        sent[syncs[1] : commit]
    )
    assert task_id(container, instance_id, "approve")  # the next task is there: the transaction committed


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_failed_command_leaves_its_connection_beginning_transactions_as_psycopg_does(
    container: EngineContainer,
) -> None:
    """A transaction runs its connection in psycopg's autocommit mode (it sends BEGIN itself): a command that fails
    gives the connection back to the pool with psycopg's own transactions again, and nothing of the failed command
    is committed."""
    deploy_xml(container, "two_steps.bpmn", TWO_STEPS)
    instance_id, _ = container.instances.start(INTEGRATOR, "two_steps")
    review = task_id(container, instance_id, "review")
    container.tasks.complete(SKHCN, review, {})
    with pytest.raises(TaskNotOpen):  # found by the locking statements (sent with the BEGIN), then refused
        container.tasks.complete(SKHCN, review, {})
    with container.db.engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        assert dbapi.autocommit is False
        conn.execute(text("SELECT 1"))
        assert dbapi.pgconn.transaction_status != 0  # psycopg began a transaction of its own
        conn.rollback()
