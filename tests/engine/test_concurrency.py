"""Crash consistency (fail before commit), claim races, parallel-branch completion races within one process and
across two processes (containers) on one database, and stale live caches across processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.errors import AlreadyClaimed
from tests.conftest import INTEGRATOR, officer
from tests.engine.helpers import (
    HTKC,
    SKHCN,
    STP,
    audit_kinds,
    count,
    deploy,
    instance,
    open_tasks,
    run_threads,
    stored_document,
    subscriptions,
    task_id,
    tasks,
    timers,
)


class Crash(RuntimeError):
    pass


def crash() -> None:
    raise Crash("simulated crash after the engine ran, before commit")


def table_counts(container: EngineContainer) -> dict[str, int]:
    return {
        table: count(container, f"SELECT count(*) FROM {table}")
        for table in (
            "process_instance",
            "human_task",
            "task_candidate",
            "timer",
            "message_subscription",
            "audit_event",
        )
    }


@pytest.fixture
def other(db_url: str, clock: FakeClock) -> Iterator[EngineContainer]:
    """A second engine process on the same database."""
    built = build_engine(db_url, clock=clock)
    yield built
    built.close()


# --- crash consistency ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("warm_cache", [True, False], ids=["cache-hit", "cache-miss"])
def test_crash_before_commit_leaves_no_trace_and_a_retry_succeeds(container: EngineContainer, warm_cache: bool) -> None:
    deploy(container, "four_tasks.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks", variables={"ho_so": {"so": 1}})
    container.tasks.complete(SKHCN, task_id(container, instance_id, "t1"), {"buoc1": True})
    if not warm_cache:
        container.executor.cache.clear()
    t2 = task_id(container, instance_id, "t2")
    before_row, before_counts = instance(container, instance_id), table_counts(container)
    before_state = stored_document(container, instance_id)

    container.executor.fail_before_commit = crash
    with pytest.raises(Crash):
        container.tasks.complete(SKHCN, t2, {"buoc2": "nửa chừng"})
    container.executor.fail_before_commit = None

    after_row = instance(container, instance_id)
    assert after_row["version"] == before_row["version"] == 2
    assert after_row["variables"] == before_row["variables"]
    assert "buoc2" not in after_row["variables"]
    assert table_counts(container) == before_counts
    assert stored_document(container, instance_id) == before_state
    assert set(open_tasks(container, instance_id)) == {"t2"}
    (t2_row,) = [t for t in tasks(container, instance_id) if t["element_id"] == "t2"]
    assert t2_row["status"] == "open" and t2_row["completed_by"] is None

    # the retry must not be served the half-changed workflow (where t2 is already completed)
    container.tasks.complete(SKHCN, t2, {"buoc2": "xong"})
    row = instance(container, instance_id)
    assert row["version"] == 3 and row["variables"]["buoc2"] == "xong"
    assert set(open_tasks(container, instance_id)) == {"t3"}
    assert audit_kinds(container, instance_id).count("task_completed") == 2
    container.tasks.complete(SKHCN, task_id(container, instance_id, "t3"), {})
    container.tasks.complete(SKHCN, task_id(container, instance_id, "t4"), {})
    assert instance(container, instance_id)["status"] == "completed"


def test_crash_during_start_claim_timer_and_message_leaves_no_trace(
    container: EngineContainer, clock: FakeClock
) -> None:
    deploy(container, "timers.bpmn", "messages.bpmn")
    executor = container.executor

    executor.fail_before_commit = crash
    with pytest.raises(Crash):
        container.instances.start(INTEGRATOR, "timed_review", business_key="HS-C")
    executor.fail_before_commit = None
    assert table_counts(container)["process_instance"] == 0
    assert table_counts(container)["timer"] == 0

    timed, _ = container.instances.start(INTEGRATOR, "timed_review", business_key="HS-C")
    review = task_id(container, timed, "review")
    executor.fail_before_commit = crash
    with pytest.raises(Crash):
        container.tasks.claim(SKHCN, review)
    executor.fail_before_commit = None
    assert open_tasks(container, timed)["review"]["assignee"] is None

    clock.advance(timedelta(hours=2, seconds=1))
    executor.fail_before_commit = crash
    with pytest.raises(Crash):
        container.scheduler.run_once()
    executor.fail_before_commit = None
    assert len(timers(container, timed)) == 1
    assert "timer_fired" not in audit_kinds(container, timed)
    assert container.scheduler.run_once() == 1
    assert set(open_tasks(container, timed)) == {"escalate"}

    waiting, _ = container.instances.start(INTEGRATOR, "supplement_flow", business_key="HS-M")
    container.tasks.complete(officer("mc", "ttpvhcc"), task_id(container, waiting, "check"), {})
    before = table_counts(container)
    executor.fail_before_commit = crash
    with pytest.raises(Crash):
        container.messages.correlate(INTEGRATOR, "bo_sung_ho_so", business_key="HS-M", variables={"x": 1})
    executor.fail_before_commit = None
    assert table_counts(container) == before
    assert len(subscriptions(container, waiting)) == 1
    container.messages.correlate(INTEGRATOR, "bo_sung_ho_so", business_key="HS-M", variables={"x": 1})
    assert set(open_tasks(container, waiting)) == {"recheck"}
    assert instance(container, waiting)["variables"]["x"] == 1


# --- claim race -----------------------------------------------------------------------------------------------------
def test_many_threads_claim_the_same_task_exactly_one_wins(container: EngineContainer) -> None:
    deploy(container, "four_tasks.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks")
    t1 = task_id(container, instance_id, "t1")
    officers = [officer(f"can_bo_{i}", "skhcn") for i in range(12)]

    results = run_threads([partial(container.tasks.claim, o, t1) for o in officers])

    winners = [o for o, (kind, _) in zip(officers, results, strict=True) if kind == "ok"]
    assert len(winners) == 1, results
    losers = [value for kind, value in results if kind == "error"]
    assert len(losers) == 11
    assert all(isinstance(e, AlreadyClaimed) for e in losers), losers
    assert {e.fields["assignee"] for e in losers} == {winners[0].id}
    row = open_tasks(container, instance_id)["t1"]
    assert row["status"] == "claimed" and row["assignee"] == winners[0].id
    assert audit_kinds(container, instance_id).count("task_claimed") == 1
    assert instance(container, instance_id)["version"] == 1  # claiming does not touch the instance


def test_claim_race_across_two_processes(container: EngineContainer, other: EngineContainer) -> None:
    deploy(container, "four_tasks.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks")
    t1 = task_id(container, instance_id, "t1")
    officers = [officer(f"can_bo_{i}", "skhcn") for i in range(8)]
    engines = [container, other] * 4
    results = run_threads([partial(e.tasks.claim, o, t1) for o, e in zip(officers, engines, strict=True)])
    assert [kind for kind, _ in results].count("ok") == 1, results
    assert all(isinstance(v, AlreadyClaimed) for kind, v in results if kind == "error")
    assert audit_kinds(container, instance_id).count("task_claimed") == 1


# --- parallel-branch completion race ---------------------------------------------------------------------------------
def _race_branches(first: EngineContainer, second: EngineContainer, rounds: int) -> None:
    deploy(first, "parallel.bpmn")
    for round_no in range(rounds):
        instance_id, _ = first.instances.start(INTEGRATOR, "parallel_review", business_key=f"HS-{round_no}")
        first.tasks.complete(SKHCN, task_id(first, instance_id, "receive"), {"vong": round_no})
        legal, board = task_id(first, instance_id, "legal"), task_id(first, instance_id, "board")
        a, b = (first, second) if round_no % 2 == 0 else (second, first)

        results = run_threads(
            [
                partial(a.tasks.complete, STP, legal, {"legal_ok": True, "y_kien_stp": {"so": round_no}}),
                partial(b.tasks.complete, HTKC, board, {"board_ok": True, "y_kien_htkc": {"so": round_no}}),
            ]
        )

        assert [kind for kind, _ in results] == ["ok", "ok"], results
        all_tasks = tasks(first, instance_id)
        joined = [t for t in all_tasks if t["element_id"] in ("decide", "propose")]
        assert [t["element_id"] for t in joined] == ["decide"], all_tasks  # the join fired exactly once
        assert {t["element_id"]: t["status"] for t in all_tasks if t["element_id"] in ("legal", "board")} == {
            "legal": "completed",
            "board": "completed",
        }
        row = instance(first, instance_id)
        assert row["version"] == 4  # start, receive, legal, board
        variables = row["variables"]
        assert variables["legal_ok"] is True and variables["board_ok"] is True  # no update lost
        assert variables["y_kien_stp"] == {"so": round_no} and variables["y_kien_htkc"] == {"so": round_no}
        assert audit_kinds(first, instance_id).count("task_completed") == 3
        # either process can carry on from here, whichever cache it has
        decide = task_id(first, instance_id, "decide")
        (a if round_no % 3 else b).tasks.complete(officer("chu_tich", "ubnd"), decide, {"duyet": True})
        assert instance(first, instance_id)["status"] == "completed"


def test_parallel_branches_completed_at_the_same_instant(container: EngineContainer) -> None:
    _race_branches(container, container, rounds=10)


def test_parallel_branches_completed_at_the_same_instant_by_two_processes(
    container: EngineContainer, other: EngineContainer
) -> None:
    _race_branches(container, other, rounds=10)


def test_stale_live_cache_in_another_process_is_not_used(container: EngineContainer, other: EngineContainer) -> None:
    deploy(container, "four_tasks.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "t1"), {"buoc": 1})  # cached at v2
    other.tasks.complete(SKHCN, task_id(container, instance_id, "t2"), {"buoc": 2})  # v3 elsewhere
    hits = container.executor.cache.hits
    container.tasks.complete(SKHCN, task_id(container, instance_id, "t3"), {"buoc": 3})
    assert container.executor.cache.hits == hits  # version moved: a miss, not the stale object
    assert set(open_tasks(container, instance_id)) == {"t4"}
    assert instance(container, instance_id)["variables"]["buoc"] == 3
    other.tasks.complete(SKHCN, task_id(container, instance_id, "t4"), {})
    row = instance(container, instance_id)
    assert row["status"] == "completed" and row["version"] == 5
