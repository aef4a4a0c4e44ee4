"""The live tasks' counts kept by the triggers of migration 0206 (``open_task_count``, SQLite only): after a long run
of commands that move tasks (start, claim, unclaim, complete, a draft and its approval, send-back, reassign, cancel,
instance migration, deadline changes and deletion written to the rows), the kept counts equal the live rows counted
again, and the dashboard's figures read from them equal the figures counted from every row (the scan of
engine/store/dashboard.py) at moments over eleven days, each UTC midnight crossed; two threads moving tasks of one
group at once lose no count. On PostgreSQL, which keeps no counts (no table, trigger, function or index of 0206,
before or after 0206 down and up), the same run's dashboard figures, read by the scan, equal the live rows counted
here in Python, as SQLite's do."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, inspect, select, text, update

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import EngineError
from phoihop.engine.instance_migration.commands import MigrationPlan
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.reads.dashboard import Month
from phoihop.engine.store import dashboard as store
from phoihop.engine.store import retention as retention_store
from phoihop.engine.store.dashboard import open_task_count_table
from phoihop.engine.store.human_tasks import LIVE_STATUSES
from phoihop.engine.store.schema import alembic_config, pending_diff, upgrade
from phoihop.engine.store.tables import human_task_table, instance_table
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.engine.helpers import ENGINE_FIXTURES, deploy_xml
from tests.engine.test_dashboard import one_step, two_steps

HOUR = timedelta(hours=1)
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
NO_DAY = date(9999, 12, 31)
AGENCIES = ("skhcn", "stp", "htkc", "ubnd")
DRAFTED = (ENGINE_FIXTURES / "drafted_reply.bpmn").read_bytes()


def clerk(agency: str) -> Actor:
    return officer(f"can_bo_{agency}", agency)


def lead(agency: str) -> Actor:
    return officer(f"lanh_dao_{agency}", agency, roles=("officer", "lead"))


DEPUTY = officer("pho_phong_stp", "stp")


def directory(container: EngineContainer, clock: FakeClock) -> None:
    """Every clerk and lead in the directory (a task is assigned to a known person); stp's lead delegates to a
    deputy for the run."""
    for agency in AGENCIES:
        container.delegations.record_person(clerk(agency))
        container.delegations.record_person(lead(agency))
    container.delegations.record_person(DEPUTY)
    container.delegations.create(
        lead("stp"), to_user_id=DEPUTY.id, starts_at=clock.now(), ends_at=clock.now() + 90 * 24 * HOUR, reason="Đi họp"
    )


def _day(moment: datetime | None) -> date:
    return NO_DAY if moment is None else moment.astimezone(UTC).date()


def kept_counts(conn: Connection) -> tuple[Counter[tuple[Any, ...]], datetime | None]:
    """``open_task_count`` as (process, groups, due day, warn day) → tasks, and its latest creation time."""
    rows = conn.execute(select(open_task_count_table)).mappings().all()
    kept: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        assert row["tasks"] > 0, row  # a row at 0 is deleted
        kept[(row["process_key"], tuple(row["candidate_groups"]), row["due_day"], row["warn_day"])] += row["tasks"]
    return kept, max((row["latest_created_at"] for row in rows), default=None)


def counted_again(conn: Connection) -> tuple[Counter[tuple[Any, ...]], datetime | None]:
    """The same counted from the live rows themselves."""
    ht = human_task_table.c
    rows = conn.execute(
        select(ht.process_key, ht.candidate_groups, ht.due_at, ht.warn_at, ht.created_at).where(
            ht.status.in_(LIVE_STATUSES), ht.completed_at.is_(None)
        )
    ).all()
    counted = Counter((r.process_key, tuple(r.candidate_groups), _day(r.due_at), _day(r.warn_at)) for r in rows)
    return counted, max((r.created_at for r in rows), default=None)


def open_figures_by_hand(conn: Connection, as_of: datetime) -> dict[str | None, dict[str, int]]:
    """Open, warning and overdue at ``as_of`` of the live tasks created by then, in total (None) and per process,
    counted here from the rows, one by one (the dashboard's definitions: overdue once the due time has passed,
    warning from the warning time until then)."""
    ht = human_task_table.c
    rows = conn.execute(
        select(ht.process_key, ht.due_at, ht.warn_at).where(
            ht.status.in_(LIVE_STATUSES), ht.completed_at.is_(None), ht.created_at <= as_of
        )
    ).all()
    figures: dict[str | None, dict[str, int]] = {}
    for row in rows:
        overdue = row.due_at is not None and row.due_at < as_of
        warning = row.warn_at is not None and row.warn_at <= as_of and not overdue
        for key in (None, row.process_key):
            into = figures.setdefault(key, {"open": 0, "warning": 0, "overdue": 0})
            into["open"] += 1
            into["warning"] += warning
            into["overdue"] += overdue
    return figures


def open_figures_read(figures: tuple[Any, list[Any], list[Any]]) -> dict[str | None, dict[str, int]]:
    """The same three figures as ``task_figures_by_all`` gave them, processes without an open task left out."""
    total, _, by_process = figures
    read: dict[str | None, dict[str, int]] = {
        row["process_key"]: {name: row[name] for name in ("open", "warning", "overdue")}
        for row in by_process
        if row["open"]
    }
    if total["open"]:
        read[None] = {name: total[name] for name in ("open", "warning", "overdue")}
    return read


def check(container: EngineContainer, now: datetime) -> dict[str, int]:
    """On SQLite, the kept counts equal the live rows and the dashboard's figures from them equal the scan's; on
    both, the dashboard's current-month figures equal the live rows counted by hand; at moments 7 hours apart over 11
    days from ``now`` (nothing changes in between, so each is "now" for the counts). Returns the overdue and warning
    figures seen, summed (the run must reach both)."""
    seen = {"overdue": 0, "warning": 0, "moments": 0}
    with container.db.transaction(write=False) as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            kept, latest = kept_counts(conn)
            counted, newest = counted_again(conn)
            assert kept == counted
            assert (latest is None) == (newest is None) and (latest is None or newest is None or latest >= newest)
        else:
            assert_no_counts(conn)
        for step in range(38):
            as_of = now + step * 7 * HOUR
            month = Month.of(as_of)
            window = {"start": month.start, "end": month.end, "as_of": as_of}
            from_rows = store.task_figures_by_all(conn, **window, now=False)
            if sqlite:  # the dashboard's read of this month; PostgreSQL keeps no counts: its read IS the rows' scan
                from_counts = store.task_figures_by_all(conn, **window, now=True)
                assert from_counts == from_rows, as_of
            else:
                from_counts = from_rows
            assert open_figures_read(from_counts) == open_figures_by_hand(conn, as_of), as_of
            if sqlite:
                assert latest is None or latest <= as_of  # the counts were read, not the fallback
            seen["overdue"] += from_rows[0]["overdue"]
            seen["warning"] += from_rows[0]["warning"]
            seen["moments"] += 1
    return seen


def assert_no_counts(conn: Connection) -> None:
    """PostgreSQL: nothing of migration 0206, whatever revision the database is at."""
    assert not inspect(conn).has_table("open_task_count")
    assert "ix_human_task_live_warn" not in {index["name"] for index in inspect(conn).get_indexes("human_task")}
    triggers = conn.execute(
        text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'human_task'::regclass AND tgname LIKE 'open_task_count%'")
    ).all()
    assert triggers == []
    assert conn.execute(text("SELECT to_regproc('open_task_count_keep')")).scalar() is None


def live_tasks(container: EngineContainer) -> list[dict[str, Any]]:
    ht = human_task_table.c
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(
            select(ht.id, ht.instance_id, ht.process_key, ht.element_id, ht.status, ht.assignee, ht.candidate_groups)
            .where(ht.status.in_(LIVE_STATUSES))
            .order_by(ht.created_at, ht.id)
        ).mappings()
        return [dict(r) for r in rows]


def running_instances(container: EngineContainer) -> list[str]:
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(
            select(instance_table.c.id).where(instance_table.c.status == "running").order_by(instance_table.c.id)
        )
        return [r[0] for r in rows]


class Run:
    """Commands on random live tasks; one that the engine refuses (a domain error) rolls back and is not counted."""

    def __init__(self, container: EngineContainer, clock: FakeClock, rng: random.Random) -> None:
        self.container, self.clock, self.rng = container, clock, rng
        self.done: Counter[str] = Counter()

    def task(self, *statuses: str) -> dict[str, Any] | None:
        found = [t for t in live_tasks(self.container) if t["status"] in statuses]
        return self.rng.choice(found) if found else None

    @staticmethod
    def agency(task: dict[str, Any]) -> str:
        return str((task["candidate_groups"] or ["ubnd"])[0])

    def start(self) -> None:
        key = self.rng.choice(("drafted_reply", "counts_two", "counts_one"))
        self.container.instances.start(INTEGRATOR, key)

    def claim(self) -> None:
        task = self.task("open")
        if task is not None:
            self.container.tasks.claim(clerk(self.agency(task)), task["id"])

    def unclaim(self) -> None:
        task = self.task("claimed")
        if task is not None:
            self.container.tasks.unclaim(clerk(self.agency(task)), task["id"])

    def complete(self) -> None:
        task = self.task("open", "claimed")
        if task is not None:
            who = clerk(self.agency(task)) if task["assignee"] in (None, f"can_bo_{self.agency(task)}") else None
            self.container.tasks.complete(who or lead(self.agency(task)), task["id"], {})

    def approve(self) -> None:
        task = self.task("awaiting_approval")
        if task is not None:
            self.container.task_flow.approve(lead(self.agency(task)), task["id"])

    def approve_as_deputy(self) -> None:
        """Approved by stp's deputy, acting for its lead through a delegation (ủy quyền)."""
        task = self.task("awaiting_approval")
        if task is not None:
            self.container.task_flow.approve(self.container.delegations.extend(DEPUTY), task["id"])

    def send_back(self) -> None:
        task = self.task("open", "claimed", "awaiting_approval")
        if task is not None:
            self.container.task_flow.send_back(lead(self.agency(task)), task["id"], "Bổ sung hồ sơ")

    def assign(self) -> None:
        task = self.task("open", "claimed")
        if task is not None:
            agency = self.agency(task)
            self.container.assignments.assign(lead(agency), task["id"], f"can_bo_{agency}")

    def cancel(self) -> None:
        task = self.task("open", "claimed", "awaiting_approval")
        if task is not None:  # by a lead of an agency taking part
            self.container.instances.cancel(lead(self.agency(task)), task["instance_id"], reason="Dừng xử lý")

    def migrate(self) -> None:
        """The drafted replies' instances to version 2, whose reply and check belong to htkc, not stp."""
        plan = MigrationPlan("drafted_reply", 1, 2)
        self.container.instance_migration.migrate(OWNER, plan, running_instances(self.container))

    def new_deadline(self) -> None:
        """A deadline moved (no command writes one yet: the rows' own write, which the triggers see as any other)."""
        task = self.task("open", "claimed", "awaiting_approval")
        if task is not None:
            shift = timedelta(hours=self.rng.randint(-60, 60))
            with self.container.db.transaction() as conn:
                ht = human_task_table.c
                due = conn.execute(select(ht.due_at).where(ht.id == task["id"])).scalar_one()
                later = None if due is None or self.rng.random() < 0.2 else due + shift
                conn.execute(
                    update(human_task_table)
                    .where(ht.id == task["id"])
                    .values(due_at=later, warn_at=None if later is None else later - 12 * HOUR)
                )

    def delete(self) -> None:
        """An instance's rows deleted by retention's purge (which deletes finished instances; here one with live
        tasks, so the delete trigger has counts to take back)."""
        task = self.task("open", "claimed", "awaiting_approval")
        if task is not None:
            with self.container.db.transaction() as conn:
                retention_store.purge(conn, [task["instance_id"]])

    def step(self) -> None:
        actions: list[tuple[Callable[[], None], int]] = [
            (self.start, 6),
            (self.claim, 3),
            (self.unclaim, 2),
            (self.complete, 6),
            (self.approve, 1),
            (self.approve_as_deputy, 1),
            (self.send_back, 2),
            (self.assign, 1),
            (self.cancel, 1),
            (self.new_deadline, 1),
            (self.delete, 1),
        ]
        action = self.rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
        self.clock.advance(self.rng.randint(1, 240) * 60)
        try:
            action()
        except EngineError:
            return
        self.done[action.__name__] += 1


def test_the_kept_counts_follow_every_command_and_give_the_scans_figures(
    container: EngineContainer, clock: FakeClock
) -> None:
    container.deployments.deploy(OWNER, [SourceFile("drafted_reply.bpmn", DRAFTED)])
    deploy_xml(container, "counts_two.bpmn", two_steps("counts_two"))
    deploy_xml(container, "counts_one.bpmn", one_step("counts_one"))
    directory(container, clock)
    run = Run(container, clock, random.Random(15))
    seen: Counter[str] = Counter()
    for block in range(8):
        for _ in range(25):
            run.step()
        if block == 3:
            v2 = DRAFTED.replace(b'name="stp"', b'name="htkc"')
            container.deployments.deploy(OWNER, [SourceFile("drafted_reply.bpmn", v2)])
            run.migrate()
            run.done["migrate"] += 1
        seen.update(check(container, clock.now()))
    assert set(run.done) >= {
        "start",
        "claim",
        "unclaim",
        "complete",
        "approve",
        "approve_as_deputy",
        "send_back",
        "assign",
        "cancel",
        "migrate",
        "new_deadline",
        "delete",
    }, run.done
    assert seen["overdue"] > 0 and seen["warning"] > 0, seen  # the moments reached both clock-dependent figures


def test_the_upgrade_fills_the_counts_from_the_live_rows_and_the_downgrade_removes_them(
    container: EngineContainer, clock: FakeClock, db_url: str
) -> None:
    """Down to 0204 (no table, no triggers: a task finished then is nobody's count), up again: on SQLite the fill
    counts what the triggers would have; on PostgreSQL neither way creates anything; the models agree with the
    upgraded schema on both."""
    deploy_xml(container, "counts_two.bpmn", two_steps("counts_two"))
    for _ in range(12):
        container.instances.start(INTEGRATOR, "counts_two")
        clock.advance(5 * 3600)
    first = live_tasks(container)[0]["id"]
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            config = alembic_config(db_url)
            config.attributes["connection"] = conn
            if conn.dialect.name == "postgresql":
                assert_no_counts(conn)
            command.downgrade(config, "0204")
            assert not inspect(conn).has_table("open_task_count")
            conn.execute(
                update(human_task_table)
                .where(human_task_table.c.id == first)
                .values(status="completed", completed_at=clock.now())
            )
    finally:
        upgrade(db_url)
        engine.dispose()
    with container.db.transaction(write=False) as conn:
        if conn.dialect.name == "postgresql":
            assert_no_counts(conn)
            assert len(live_tasks(container)) == 11
        else:
            kept, latest = kept_counts(conn)
            counted, newest = counted_again(conn)
            assert kept == counted and sum(kept.values()) == 11 and latest == newest
    assert pending_diff(db_url) == []


def test_a_clock_set_back_reads_the_rows(container: EngineContainer, clock: FakeClock) -> None:
    """Tasks created after the moment read (a clock set back) are in the counts: the figures come from the rows."""
    deploy_xml(container, "counts_two.bpmn", two_steps("counts_two"))
    container.instances.start(INTEGRATOR, "counts_two")
    before = clock.now() - 3 * HOUR
    month = Month.of(before)
    with container.db.transaction(write=False) as conn:
        figures = store.task_figures_by_all(conn, start=month.start, end=month.end, as_of=before, now=True)
    assert figures[0]["open"] == 0


@SQLITE_ONLY
@pytest.mark.parametrize("threads", [2])
def test_two_commands_moving_one_groups_tasks_at_once_lose_no_count(
    container: EngineContainer, clock: FakeClock, threads: int
) -> None:
    """Each review completed (a count of skhcn's reviews down, one of stp's decisions up) by two threads at once."""
    deploy_xml(container, "counts_two.bpmn", two_steps("counts_two"))
    for _ in range(24):
        container.instances.start(INTEGRATOR, "counts_two")
    reviews = [t["id"] for t in live_tasks(container)]
    errors: list[BaseException] = []
    gate = threading.Barrier(threads)

    def complete(ids: list[str]) -> None:
        try:
            gate.wait()
            for task_id in ids:
                container.tasks.complete(clerk("skhcn"), task_id, {})
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    workers = [threading.Thread(target=complete, args=(reviews[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with container.db.transaction(write=False) as conn:
        kept, _ = kept_counts(conn)
        counted, _ = counted_again(conn)
    assert kept == counted
    assert {key[1]: n for key, n in kept.items()} == {("stp",): 24}
