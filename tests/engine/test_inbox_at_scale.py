"""The inbox at scale (issue 15.1): candidate rows carry their task's status (kept by migration 0201's triggers, whichever
statement changes it), the count stops at a cap and says so, ``has_more`` tells a next page, and the folded search
finds Vietnamese text typed without diacritics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.reads.tasks import TaskReads

from .helpers import SKHCN, STP, deploy, open_tasks


def candidate_statuses(container: EngineContainer, task_id: str) -> set[str | None]:
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(text("SELECT status FROM task_candidate WHERE task_id = :id"), {"id": task_id}).all()
    return {r[0] for r in rows}


def start_cases(container: EngineContainer, clock: FakeClock, n: int) -> list[str]:
    """``n`` cases of four_tasks (one open task each, of skhcn), a minute apart: their open task ids, oldest first."""
    deploy(container, "four_tasks.bpmn")
    ids = []
    for i in range(n):
        instance_id, _ = container.instances.start(SKHCN, "four_tasks", variables={"ho_so": {"ma": f"HS-{i}"}})
        ids += [t["id"] for t in open_tasks(container, instance_id).values()]
        clock.advance(timedelta(minutes=1))
    return ids


def test_candidate_rows_follow_their_task_status(container: EngineContainer, clock: FakeClock) -> None:
    [task_id] = start_cases(container, clock, 1)
    assert candidate_statuses(container, task_id) == {"open"}  # written with the task
    container.tasks.claim(SKHCN, task_id)
    assert candidate_statuses(container, task_id) == {"claimed"}
    container.tasks.unclaim(SKHCN, task_id)
    assert candidate_statuses(container, task_id) == {"open"}
    container.tasks.complete(SKHCN, task_id, {})
    assert candidate_statuses(container, task_id) == {"completed"}
    # a writer that does not know the column (an instance move re-writes candidates): the row takes the task's status
    with container.db.transaction() as conn:
        conn.execute(
            text("INSERT INTO task_candidate (task_id, kind, value) VALUES (:id, 'user', 'nguoi_khac')"),
            {"id": task_id},
        )
    assert candidate_statuses(container, task_id) == {"completed"}


def test_the_count_stops_at_its_cap_and_has_more_tells_a_next_page(
    container: EngineContainer, clock: FakeClock
) -> None:
    ids = start_cases(container, clock, 3)
    reads = TaskReads(container.db, clock)
    assert reads.count_tasks(SKHCN, cap=2) == (2, True)
    assert reads.count_tasks(SKHCN, cap=3) == (3, False)
    assert reads.count_tasks(STP, cap=2) == (0, False)
    first = reads.list_tasks(SKHCN, limit=2)
    assert ([t.id for t in first.items], first.total, first.total_capped, first.has_more) == (ids[:2], 3, False, True)
    last = reads.list_tasks(SKHCN, limit=2, offset=2)
    assert ([t.id for t in last.items], last.has_more) == (ids[2:], False)
    # the completed task leaves the inbox (its case's next step comes in), and stays visible to who completed it
    container.tasks.complete(SKHCN, ids[0], {})
    assert reads.count_tasks(SKHCN) == (3, False)
    assert ids[0] not in {t.id for t in reads.list_tasks(SKHCN).items}
    assert [t.id for t in reads.list_tasks(SKHCN, status="completed").items] == [ids[0]]


def test_search_without_diacritics_finds_the_case(container: EngineContainer, clock: FakeClock) -> None:
    deploy(container, "four_tasks.bpmn")
    found, _ = container.instances.start(SKHCN, "four_tasks", variables={"applicant_name": "Trần Thị Thu Hà"})
    container.instances.start(SKHCN, "four_tasks", variables={"applicant_name": "Lê Văn Đức"})
    reads = TaskReads(container.db, clock)
    page = reads.list_tasks(SKHCN, text="tran thi thu")
    assert [t.instance_id for t in page.items] == [found]
    assert reads.count_tasks(SKHCN, text="TRẦN THỊ THU") == (1, False)
    assert reads.count_tasks(SKHCN, text="le van duc") == (1, False)
