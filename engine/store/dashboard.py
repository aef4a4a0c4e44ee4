"""Aggregates of the dashboard (engine/reads/dashboard.py): task counts per agency and per process, median cycle times
per process, and the monthly reports of one period per agency. Every figure is computed by the database (conditional
sums, window functions); nothing here loads a workflow.

Time windows are half-open, ``[start, end)``, in UTC (the caller turns a Hanoi month into them). "Open at ``as_of``"
reads the history, not today's status, so a past month shows what was open at its end: created at or before
``as_of`` and finished (completed or cancelled: ``completed_at``) after it, or not finished at all. On SQLite, open
now (the current month) is read from the live tasks' counts the writes keep (``open_task_count``, migration 0206) and
the few live tasks due or warned today, not from every live task; PostgreSQL counts the live rows (no such table).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from phoihop.engine.store.tables import (
    Row,
    all_rows,
    definition_table,
    human_task_table,
    instance_table,
    task_candidate_table,
)
from phoihop.engine.store.types import JsonColumn, UtcDateTime

__all__ = ["FIGURES", "OPEN_TASK_COUNT_TABLE", "cycle_times", "process_names", "report_figures", "task_figures_by_all"]

OPEN_TASK_COUNT_TABLE = "open_task_count"
# How many live tasks (open, claimed, awaiting approval; never finished) share a process, candidate groups (as the
# task stores them), UTC day of the due time and UTC day of the warning time (9999-12-31 for none), kept by triggers
# on ``human_task`` (migration 0206) in the transaction of every write that makes, ends, moves or re-dates a live
# task; a row at 0 is deleted. ``latest_created_at`` only grows: the counts hold "open at now" only while no task is
# dated after now (a clock set back). SQLite only, so outside the models (SQLModel.metadata): on PostgreSQL each
# command moving a task would lock a shared count row until its commit (concurrent commands of one process, group
# and day queued on it; two moving tasks between two rows in opposite orders deadlocked), and its trigger would add
# backend CPU to every write, for a read PostgreSQL's scan already serves within its goal.
open_task_count_table = Table(
    OPEN_TASK_COUNT_TABLE,
    MetaData(),
    Column("process_key", String(200), nullable=False),
    Column("candidate_groups", JsonColumn, nullable=False),
    Column("due_day", Date(), nullable=False),
    Column("warn_day", Date(), nullable=False),
    Column("tasks", Integer(), nullable=False),
    Column("latest_created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("process_key", "candidate_groups", "due_day", "warn_day"),
)

OPEN = ("open", "claimed", "awaiting_approval")  # a draft awaiting approval is unfinished work
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)  # no task finishes after it


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _task_columns(start: Any, end: Any, as_of: Any, *, unfinished: bool = False) -> list[Any]:
    """The seven figures as conditional sums; ``unfinished``: over rows without ``completed_at`` created by
    ``as_of`` only (the first arm of ``_relevant``), where open at ``as_of`` is a live status and nothing is
    completed, so three sums are left to compute (the dashboard's largest read)."""
    open_then = (
        human_task_table.c.status.in_(OPEN)
        if unfinished
        else and_(
            human_task_table.c.created_at <= as_of,
            or_(
                human_task_table.c.completed_at > as_of,
                and_(human_task_table.c.completed_at.is_(None), human_task_table.c.status.in_(OPEN)),
            ),
        )
    )
    warned = and_(human_task_table.c.warn_at.is_not(None), human_task_table.c.warn_at <= as_of)
    overdue = and_(human_task_table.c.due_at.is_not(None), human_task_table.c.due_at < as_of)
    completed = and_(
        human_task_table.c.status == "completed",
        human_task_table.c.completed_at >= start,
        human_task_table.c.completed_at < end,
    )
    figures = [
        _count(open_then).label("open"),
        _count(and_(open_then, warned, ~overdue)).label("warning"),
        _count(and_(open_then, overdue)).label("overdue"),
    ]
    if unfinished:
        return [*figures, *(literal(0).label(name) for name in FIGURES[3:])]
    return [
        *figures,
        _count(completed).label("completed"),
        _count(
            and_(
                completed,
                human_task_table.c.due_at.is_not(None),
                human_task_table.c.completed_at <= human_task_table.c.due_at,
            )
        ).label("on_time"),
        _count(
            and_(
                completed,
                human_task_table.c.due_at.is_not(None),
                human_task_table.c.completed_at > human_task_table.c.due_at,
            )
        ).label("late"),
        _count(and_(completed, human_task_table.c.due_at.is_(None))).label("no_deadline"),
    ]


FIGURES = ("open", "warning", "overdue", "completed", "on_time", "late", "no_deadline")


def _likely(dialect: str, condition: Any, probability: str) -> Any:
    """``condition`` with the share of rows it keeps told to SQLite's planner (``likelihood()``), which has no
    statistics of values (ANALYZE's ``sqlite_stat1`` gives each index the mean rows per value: ``completed_at IS
    NULL`` looks like 2 rows of a million, one process key like the whole table); as it is on PostgreSQL."""
    if dialect != "sqlite":
        return condition
    return func.likelihood(condition, literal_column(probability))  # untyped: no "= 1" after it


# the window and moment of task_figures_by_all, bound at each execution of its statement (built once per database)
_START, _END, _AS_OF = (bindparam(name, type_=UtcDateTime()) for name in ("start", "end", "as_of"))
_DAY = bindparam("day", type_=Date())  # as_of's UTC day
_DAY_START, _DAY_END = (bindparam(name, type_=UtcDateTime()) for name in ("day_start", "day_end"))


def _relevant(dialect: str) -> list[Any]:
    """Rows of tasks open at ``as_of`` or finished in ``[start, end)``, as three disjoint arms each a range of
    ``completed_at`` (its index, ``ix_human_task_completed_at``, serves each): unfinished, finished after ``as_of``,
    finished in the month (and not in the arm before)."""
    ht = human_task_table.c
    # bounded on both sides: SQLite, without statistics of values, guesses a quarter of the table for a range open on
    # one side and reads every row in the GROUP BY's index order instead (1/64 for a closed range: the index)
    after = and_(ht.completed_at > _AS_OF, ht.completed_at < _END_OF_TIME, ht.created_at <= _AS_OF)
    unfinished = and_(ht.completed_at.is_(None), ht.created_at <= _AS_OF)
    if dialect == "sqlite":
        # the unfinished rows (every open task) read from the partial index that holds every column counted,
        # ``ix_human_task_open_figures``, in the GROUP BY's order: SQLite took ``completed_at IS NULL`` for 2 rows and
        # read each of 100,000 rows from the table by ``ix_human_task_completed_at`` (84 ms of CPU), or with the
        # index, skipped through it for ``created_at`` and sorted (60 ms); said as likely, and ``created_at`` tested
        # on each entry (through coalesce(), which no index answers), 28 ms
        unfinished = and_(
            _likely(dialect, ht.completed_at.is_(None), "0.9"),
            func.coalesce(ht.created_at, ht.created_at) <= _AS_OF,
        )
    return [
        unfinished,
        after,
        and_(ht.completed_at >= _START, ht.completed_at < _END, or_(ht.completed_at <= _AS_OF, ht.created_at > _AS_OF)),
    ]


def _counted() -> list[Any]:
    """The open, warning and overdue figures at ``as_of`` (now) per process and candidate groups, as SELECTs of the
    columns ``_task_columns`` gives: the counts of ``open_task_count`` whose due and warning days are both another
    day than ``as_of``'s (each row's figures follow from its days), and the live tasks due or warned on that day
    (read from ``ix_human_task_status_due`` and ``ix_human_task_live_warn``, each row's times tested), which are the
    rows the first leaves out. The last column, ``latest``, is the latest creation time the counts have seen."""
    ht, kept = human_task_table.c, open_task_count_table.c

    def kept_count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, kept.tasks), else_=0)), 0)

    counts = (
        select(
            kept.process_key,
            kept.candidate_groups,
            func.coalesce(func.sum(kept.tasks), 0).label("open"),
            kept_count(and_(kept.warn_day < _DAY, kept.due_day > _DAY)).label("warning"),
            kept_count(kept.due_day < _DAY).label("overdue"),
            *(literal(0).label(name) for name in FIGURES[3:]),
            func.max(kept.latest_created_at).label("latest"),
        )
        .where(kept.due_day != _DAY, kept.warn_day != _DAY)
        .group_by(kept.process_key, kept.candidate_groups)
    )
    due_today = and_(ht.due_at >= _DAY_START, ht.due_at < _DAY_END)
    today = [
        select(
            ht.process_key,
            ht.candidate_groups,
            *_task_columns(_AS_OF, _AS_OF, _AS_OF, unfinished=True),
            null().label("latest"),
        )
        .where(
            # the live statuses written out, as the partial indexes' condition (SQLite uses one only then)
            ht.status.in_(bindparam("live", list(OPEN), expanding=True, literal_execute=True)),
            func.coalesce(ht.completed_at, ht.completed_at).is_(None),  # tested on each row: no index's choice
            ht.created_at <= _AS_OF,
            arm,
        )
        .group_by(ht.process_key, ht.candidate_groups)
        # two arms, each one index's range: as one OR, SQLite read every live task by its status
        for arm in (
            due_today,
            and_(ht.warn_at >= _DAY_START, ht.warn_at < _DAY_END, or_(ht.due_at.is_(None), ~due_today)),
        )
    ]
    return [counts, *today]


@functools.lru_cache(maxsize=8)
def _figures_statement(dialect: str, *, counted: bool) -> Any:
    """task_figures_by_all's statement, built once per database and way (building it cost more CPU than SQLite spent
    running it): the unfinished tasks' figures from the counts (``counted``) or from their rows, then the finished."""
    ht = human_task_table.c
    unfinished, *finished = (
        select(
            ht.process_key,
            ht.candidate_groups,
            *_task_columns(_START, _END, _AS_OF, unfinished=i == 0),
            null().label("latest"),
        )
        .where(arm)
        .group_by(ht.process_key, ht.candidate_groups)
        for i, arm in enumerate(_relevant(dialect))
    )
    return union_all(*(_counted() if counted else [unfinished]), *finished)


def task_figures_by_all(
    conn: Connection, *, start: datetime, end: datetime, as_of: datetime, now: bool = False
) -> tuple[Row, list[Row], list[Row]]:
    """Human-task counts: ``open``, ``warning`` and ``overdue`` at ``as_of``; ``completed`` in ``[start, end)``,
    of which ``on_time`` (by the due time), ``late`` and ``no_deadline``; in total (one row), per agency (``agency``)
    and per process (``process_key``). Only rows of tasks that were open or finished in the window count. ONE
    statement reads those rows, counted per process and candidate groups (the task's ``candidate_groups``: the same
    agencies as its group rows in ``task_candidate``) and summed here: a task of two groups counts for both, a task of
    candidate users only under None. Each arm of ``_relevant`` is grouped apart (UNION ALL): as one OR, SQLite read
    every row of ``human_task`` in the order of the GROUP BY's index (2.5 s at 100,000 open and 900,000 finished).

    ``now``: ``as_of`` is the present, so on SQLite the unfinished tasks' figures are the live tasks' counts kept by the
    commands' writes (``_counted``: a few hundred rows and the tasks due or warned today, not every live task), in
    the same statement as the finished ones (one snapshot). Counts that have seen a task created after ``as_of`` (a
    clock set back) are left for the rows' own figures. PostgreSQL keeps no counts and always reads the rows (41 ms
    p95 at 100,000 open, within the dashboard's 200 ms: docs/benchmarks.md)."""
    day = as_of.astimezone(UTC).date()
    values = {
        "start": start,
        "end": end,
        "as_of": as_of,
        "day": day,
        "day_start": datetime.combine(day, time(), UTC),
        "day_end": datetime.combine(day + timedelta(days=1), time(), UTC),
    }
    if now and conn.dialect.name == "sqlite":
        rows = all_rows(conn.execute(_figures_statement(conn.dialect.name, counted=True), values))
        if all(row["latest"] is None or _utc(row["latest"]) <= as_of for row in rows):
            return _summed(rows)
    return _summed(all_rows(conn.execute(_figures_statement(conn.dialect.name, counted=False), values)))


def _utc(moment: datetime | str) -> datetime:
    """``max()`` of UtcDateTime text on SQLite comes back as the text."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _summed(rows: list[Row]) -> tuple[Row, list[Row], list[Row]]:
    """Rows of figures per process and candidate groups, summed in total, per agency and per process."""
    total: dict[str, int] = dict.fromkeys(FIGURES, 0)
    agencies: dict[str | None, dict[str, int]] = {}
    processes: dict[str, dict[str, int]] = {}
    for row in rows:
        figures = {name: int(row[name]) for name in FIGURES}
        groups = list(dict.fromkeys(row["candidate_groups"] or [])) or [None]
        for into in (total, processes.setdefault(row["process_key"], dict.fromkeys(FIGURES, 0))):
            for name in FIGURES:
                into[name] += figures[name]
        for group in groups:
            into = agencies.setdefault(group, dict.fromkeys(FIGURES, 0))
            for name in FIGURES:
                into[name] += figures[name]
    by_agency = [{"agency": a, **agencies[a]} for a in sorted(agencies, key=lambda a: (a is None, a or ""))]
    by_process = [{"process_key": k, **processes[k]} for k in sorted(processes)]
    return total, by_agency, by_process


def _seconds(conn: Connection, start_column: Any, end_column: Any) -> Any:
    """``end − start`` in seconds, as each database computes it (SQLite keeps UTC text, PostgreSQL timestamptz)."""
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", end_column - start_column)
    return (func.julianday(end_column) - func.julianday(start_column)) * literal(86400.0)


def cycle_times(conn: Connection, *, start: datetime, end: datetime, per_process: bool = True) -> list[Row]:
    """The instances completed in ``[start, end)``, per process key (``process_key``) or all together (one row, or
    none without instances): ``instances`` and ``median_seconds`` of ``ended_at − started_at`` (the mean of the two
    middle values for an even count), ranked by window functions."""
    seconds = cast(_seconds(conn, instance_table.c.started_at, instance_table.c.ended_at), Float)
    partition = [instance_table.c.process_key] if per_process else None
    key = instance_table.c.process_key if per_process else literal("*")
    ranked = (
        select(
            key.label("process_key"),
            seconds.label("seconds"),
            func.row_number().over(partition_by=partition, order_by=seconds).label("rank"),
            func.count().over(partition_by=partition).label("n"),
        ).where(
            instance_table.c.status == "completed", instance_table.c.ended_at >= start, instance_table.c.ended_at < end
        )
    ).subquery()
    middle = ranked.c.rank.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    stmt = (
        select(
            ranked.c.process_key,
            func.max(ranked.c.n).label("instances"),
            func.avg(ranked.c.seconds).label("median_seconds"),
        )
        .where(middle)
        .group_by(ranked.c.process_key)
        .order_by(ranked.c.process_key)
    )
    return [
        {**row, "instances": int(row["instances"]), "median_seconds": float(row["median_seconds"])}
        for row in all_rows(conn.execute(stmt))
    ]


def report_figures(
    conn: Connection, *, process_key: str, element_id: str, period_variable: str, period: str, as_of: datetime
) -> list[Row]:
    """Per agency (candidate group of the report task ``element_id``), the reports of ``period`` in the instances of
    ``process_key`` whose variable ``period_variable`` equals it (cancelled instances left out), as seen at
    ``as_of``: ``on_time`` (submitted by the task's due time), ``late``, ``missing`` (not submitted by ``as_of``),
    ``submitted_at`` (the latest submission) and ``due_at``.

    Two reads, each by an index whatever the tables' statistics say: the instances of the period (by process key),
    then their report tasks (by instance id) with their group rows. As one join, SQLite read every group row of
    ``task_candidate`` first when its statistics made the process key look unselective (one process in the
    database): 1.45 s at 100,000 tasks."""
    instances = conn.execute(
        select(instance_table.c.id).where(
            # by ``ix_process_instance_key_status`` (a report's few instances) even when SQLite's statistics say one
            # process key is the whole table (one process in the database): 24 ms of CPU at 125,000 instances
            _likely(conn.dialect.name, instance_table.c.process_key == process_key, "0.01"),
            instance_table.c.status != "cancelled",
            instance_table.c.variables[period_variable].as_string() == period,
        )
    )
    instance_ids = sorted(row[0] for row in instances)
    if not instance_ids:
        return []
    submitted = and_(human_task_table.c.status == "completed", human_task_table.c.completed_at <= as_of)
    stmt = (
        select(
            task_candidate_table.c.value.label("agency"),
            _count(
                and_(
                    submitted,
                    or_(
                        human_task_table.c.due_at.is_(None),
                        human_task_table.c.completed_at <= human_task_table.c.due_at,
                    ),
                )
            ).label("on_time"),
            _count(
                and_(
                    submitted,
                    human_task_table.c.due_at.is_not(None),
                    human_task_table.c.completed_at > human_task_table.c.due_at,
                )
            ).label("late"),
            _count(~submitted).label("missing"),
            func.max(case((submitted, human_task_table.c.completed_at), else_=None)).label("submitted_at"),
            func.max(human_task_table.c.due_at).label("due_at"),
        )
        .select_from(
            human_task_table.join(
                task_candidate_table,
                and_(task_candidate_table.c.task_id == human_task_table.c.id, task_candidate_table.c.kind == "group"),
            )
        )
        .where(
            human_task_table.c.instance_id.in_(instance_ids),
            human_task_table.c.element_id == element_id,
            human_task_table.c.status.not_in(("cancelled", "returned")),
            human_task_table.c.created_at <= as_of,
        )
        .group_by(task_candidate_table.c.value)
        .order_by(task_candidate_table.c.value)
    )
    return all_rows(conn.execute(stmt))


def process_names(conn: Connection) -> dict[str, str | None]:
    """Process key → the name of its latest version."""
    latest = (
        select(definition_table.c.key, func.max(definition_table.c.version).label("version"))
        .group_by(definition_table.c.key)
        .subquery()
    )
    stmt = select(definition_table.c.key, definition_table.c.name).join(
        latest, and_(definition_table.c.key == latest.c.key, definition_table.c.version == latest.c.version)
    )
    return {row["key"]: row["name"] for row in all_rows(conn.execute(stmt))}
