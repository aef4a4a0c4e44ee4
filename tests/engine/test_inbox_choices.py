"""The web inbox's filter-choice counts as ONE read (``TaskReads.count_choices``, issue 15.1): for every caller and
every combination of the page's filters, each choice's count equals what ``count_tasks`` gives for it alone (what
the page showed before, one statement per choice), with the cap and its "more" flag, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.model import Actor
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.store.human_tasks import LIVE_STATUSES, OPEN_STATUSES, Visibility
from phoihop.engine.store.tables import human_task_table
from phoihop.engine.store.task_flow import AWAITING_APPROVAL
from phoihop.engine.time.deadlines import FILTERS
from phoihop.web.routes.inbox import SCOPES, InboxFilters
from tests.conftest import officer

from .helpers import ADMIN, LEAD, SKHCN, STP, deploy, deploy_xml, fixture_source, open_tasks

COLLEAGUE = officer("can_bo_skhcn_2", "skhcn")
PROCESSES = ("four_tasks", "bon_buoc_khac")
FILTER_SETS = (
    InboxFilters(),
    InboxFilters(scope="mine"),
    InboxFilters(scope="unclaimed", process="bon_buoc_khac"),
    InboxFilters(deadline="overdue"),
    InboxFilters(scope="mine", process="four_tasks", deadline="warning"),
    InboxFilters(q="tran thi thu"),
    InboxFilters(scope="unclaimed", deadline="on_time", q="TRẦN THỊ"),
)


def choices(filters: InboxFilters) -> dict[tuple[str, str | None], dict[str, Any]]:
    """The counts the inbox page shows (web/routes/inbox.py ``read_inbox``), each holding the other filters."""
    return {
        **{("scope", scope): filters.list_args(scope=scope) for scope in SCOPES},
        **{("deadline", state): filters.list_args(deadline=state) for state in (None, *FILTERS)},
        **{("process", key): filters.list_args(process=key) for key in PROCESSES},
    }


def set_times(container: EngineContainer, task_id: str, *, due: timedelta | None, warn: timedelta | None) -> None:
    """A task's due and warning times relative to now (its deadline state), as a deadline rule would have set them."""
    now = container.clock.now()
    with container.db.transaction() as conn:
        conn.execute(
            text("UPDATE human_task SET due_at = :due, warn_at = :warn WHERE id = :id"),
            {
                "id": task_id,
                "due": None if due is None else now + due,
                "warn": None if warn is None else now + warn,
            },
        )


def hold_for_approval(container: EngineContainer, task_id: str, holder: Actor) -> None:
    """A draft awaiting a lead's approval (engine/commands/task_flow.py): visible to its holder and to leads."""
    with container.db.transaction() as conn:
        conn.execute(
            text("UPDATE human_task SET status = 'awaiting_approval', assignee = :who WHERE id = :id"),
            {"id": task_id, "who": holder.id},
        )


@pytest.fixture
def inbox(container: EngineContainer, clock: FakeClock) -> TaskReads:
    """Open tasks of skhcn in two processes, in every deadline state, unclaimed, claimed by the caller and by a
    colleague, awaiting approval, and one finished (history); applicants with and without the searched name."""
    deploy(container, "four_tasks.bpmn")
    other = fixture_source("four_tasks.bpmn").content.decode().replace('id="four_tasks"', 'id="bon_buoc_khac"')
    deploy_xml(container, "bon_buoc_khac.bpmn", other)
    names = ("Trần Thị Thu Hà", "Lê Văn Đức", "Trần Thị Mai", "Phạm Minh Tú")
    ids = []
    for i in range(12):
        instance_id, _ = container.instances.start(
            SKHCN, PROCESSES[i % 3 == 2], variables={"applicant_name": names[i % len(names)]}
        )
        ids += [t["id"] for t in open_tasks(container, instance_id).values()]
        clock.advance(timedelta(minutes=1))
    day = timedelta(days=1)
    for task_id, due, warn in zip(
        ids,
        (-day, -2 * day, 3 * day, 2 * day, None, 5 * day, -day, day, None, 4 * day),
        (-3 * day, None, -day, day, None, 4 * day, -2 * day, -day, None, None),
        strict=False,
    ):
        set_times(container, task_id, due=due, warn=warn)
    for task_id in ids[0:2] + ids[5:6]:
        container.tasks.claim(SKHCN, task_id)
    container.tasks.claim(COLLEAGUE, ids[3])
    hold_for_approval(container, ids[6], SKHCN)
    hold_for_approval(container, ids[7], COLLEAGUE)
    container.tasks.complete(SKHCN, ids[11], {})  # history; its case's next task opens
    return TaskReads(container.db, clock)


@pytest.mark.parametrize("cap", [1000, 2, 0])
def test_the_grouped_counts_equal_the_count_of_each_choice(
    container: EngineContainer, inbox: TaskReads, cap: int
) -> None:
    """cap 1000: the one read; cap 2: counts past the cap say so; cap 0: more rows than len(choices) * (cap + 1)
    match, so each choice is counted apart (the same figures either way)."""
    for actor in (SKHCN, COLLEAGUE, LEAD, ADMIN, STP):
        for filters in FILTER_SETS:
            wanted = choices(filters)
            separate = {key: inbox.count_tasks(actor, cap=cap, **args) for key, args in wanted.items()}
            assert inbox.count_choices(actor, wanted, cap=cap) == separate, (actor.id, filters)


def test_the_counts_are_one_statement_and_say_what_the_page_shows(container: EngineContainer, inbox: TaskReads) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(container.db.engine, "before_cursor_execute", seen)
    try:
        counts = inbox.count_choices(SKHCN, choices(InboxFilters()))
    finally:
        event.remove(container.db.engine, "before_cursor_execute", seen)
    assert [s for s in statements if "human_task" in s] == [statements[-1]]  # one read (beside BEGIN/ROLLBACK)
    # 11 open tasks of skhcn (12 started, one completed, its next step open) less the colleague's draft; the caller
    # holds 3 and its own draft; 6 wait unclaimed
    assert counts["scope", "all"] == (11, False)
    assert counts["scope", "mine"] == (4, False)
    assert counts["scope", "unclaimed"] == (6, False)
    assert counts["deadline", "overdue"] == (3, False)
    assert counts["process", "bon_buoc_khac"][0] + counts["process", "four_tasks"][0] == 11
    assert inbox.count_choices(SKHCN, choices(InboxFilters(q="tran thi thu")))["scope", "all"] == (3, False)


@pytest.mark.parametrize(
    ("statuses", "held"),
    [(OPEN_STATUSES, (AWAITING_APPROVAL,)), (LIVE_STATUSES, ()), (("open",), ()), (("completed",), ())],
    ids=["officer", "lead", "unclaimed", "history"],
)
def test_the_set_of_ids_and_the_per_row_condition_keep_the_same_tasks(
    container: EngineContainer, inbox: TaskReads, statuses: tuple[str, ...], held: tuple[str, ...]
) -> None:
    """Visibility spells once who a candidate row names and which people see a task (``names``, ``people``); the
    set of ids the grouped counts read and the condition each row a searched text finds is checked against keep the
    same tasks, for each caller and each way the inbox reads statuses."""
    ht = human_task_table.c
    seen_any = False
    for actor in (SKHCN, COLLEAGUE, LEAD, STP):
        visible = Visibility(
            tuple(sorted(actor.user_ids)), tuple(sorted(actor.groups)), statuses, held, holder=actor.id
        )
        with container.db.transaction(write=False) as conn:
            by_ids = set(conn.execute(select(ht.id).where(visible.ids_clause())).scalars())
            by_row = set(conn.execute(select(ht.id).where(visible.named_clause())).scalars())
        assert by_ids == by_row, (actor.id, statuses)
        seen_any = seen_any or bool(by_ids)
    assert seen_any
