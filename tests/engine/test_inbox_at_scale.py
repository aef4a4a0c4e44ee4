"""The inbox at scale (issue 15.1): candidate rows carry their task's status, due and creation times (kept by the
triggers of migrations 0201 and 0202, whichever statement changes them), the count stops at a cap and says so,
``has_more`` tells a next page, the keyset cursor reads the pages in the inbox's order, and the folded search finds
Vietnamese text typed without diacritics."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import InvalidInput
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.store.tables import human_task_table, task_candidate_table

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


def candidate_times(container: EngineContainer, task_id: str) -> set[tuple[datetime | None, datetime | None]]:
    tc = task_candidate_table.c
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(select(tc.due_at, tc.created_at).where(tc.task_id == task_id)).all()
    return {(r[0], r[1]) for r in rows}


def set_due(container: EngineContainer, times: dict[str, datetime | None]) -> None:
    """Due times written straight to the tasks' rows: whichever statement changes them, migration 0202's trigger
    copies them to the candidate rows."""
    with container.db.transaction() as conn:
        for task_id, due in times.items():
            conn.execute(update(human_task_table).where(human_task_table.c.id == task_id).values(due_at=due))


def test_candidate_rows_carry_their_task_due_and_creation_times(container: EngineContainer, clock: FakeClock) -> None:
    [task_id] = start_cases(container, clock, 1)
    reads = TaskReads(container.db, clock)
    task = reads.get_task(SKHCN, task_id)
    assert candidate_times(container, task_id) == {(task.due_at, task.created_at)}  # written with the task
    due = clock.now() + timedelta(days=3)
    set_due(container, {task_id: due})
    assert candidate_times(container, task_id) == {(due, task.created_at)}
    set_due(container, {task_id: None})
    assert candidate_times(container, task_id) == {(None, task.created_at)}
    set_due(container, {task_id: due})
    # a writer that does not know the columns (an instance move re-writes candidates): the row takes the task's
    with container.db.transaction() as conn:
        conn.execute(
            text("INSERT INTO task_candidate (task_id, kind, value) VALUES (:id, 'user', 'nguoi_khac')"),
            {"id": task_id},
        )
    assert candidate_times(container, task_id) == {(due, task.created_at)}
    container.tasks.complete(SKHCN, task_id, {})
    assert candidate_times(container, task_id) == {(due, task.created_at)}


def test_the_cursor_pages_through_the_inbox_in_its_order(container: EngineContainer, clock: FakeClock) -> None:
    ids = start_cases(container, clock, 7)
    now = clock.now()
    # two without a due time (last), two due at the same moment (then oldest first), one overdue
    dues = [
        now + timedelta(days=2),
        None,
        now + timedelta(days=1),
        now - timedelta(hours=1),
        None,
        now + timedelta(days=1),
        now + timedelta(days=3),
    ]
    set_due(container, dict(zip(ids, dues, strict=True)))
    container.tasks.claim(SKHCN, ids[2])  # seen two ways (its group, and held by the caller): listed once
    reads = TaskReads(container.db, clock)
    whole = reads.list_tasks(SKHCN)
    expected = [ids[3], ids[2], ids[5], ids[0], ids[6], ids[1], ids[4]]
    assert [t.id for t in whole.items] == expected
    assert (whole.total, whole.has_more, whole.next_cursor) == (7, False, None)
    for limit in (1, 2, 3):
        by_cursor, after = [], None
        while True:
            page = reads.list_tasks(SKHCN, limit=limit, after=after)
            by_cursor += [t.id for t in page.items]
            assert page.total == 7 and (page.next_cursor is not None) == page.has_more
            if not page.has_more:
                break
            after = page.next_cursor
        by_offset = [t.id for o in range(0, 7, limit) for t in reads.list_tasks(SKHCN, limit=limit, offset=o).items]
        assert by_cursor == by_offset == expected
    overdue = reads.list_tasks(SKHCN, deadline="overdue", limit=1)
    assert ([t.id for t in overdue.items], overdue.has_more, overdue.total) == ([ids[3]], False, 1)
    first = reads.list_tasks(SKHCN, deadline="on_time", limit=2)
    assert [t.id for t in first.items] == [ids[2], ids[5]]
    rest = reads.list_tasks(SKHCN, deadline="on_time", limit=10, after=first.next_cursor)
    assert [t.id for t in rest.items] == [ids[0], ids[6], ids[1], ids[4]]
    assert reads.count_tasks(SKHCN, deadline="on_time") == (6, False)
    with pytest.raises(InvalidInput):
        reads.list_tasks(SKHCN, after="not-a-cursor")
