"""Timers: timer events of running instances fire when due, each in its own transaction (exactly once across
schedulers: the instance row is locked with SKIP LOCKED). A firing that fails is a failed job (commands/jobs.py).

Timer start events: a deployed process whose start event is a timer (``R/2026-01-01T08:00:00+07:00/P1M``: each
month) gets an instance at each due time, started by the scheduler exactly once across workers (the schedule row is
locked with SKIP LOCKED and advanced in the start's own transaction).

Deploying a new version of a key moves its schedule to that version (its timer decides the next due time); a new
version without a timer start removes it. While the scheduled version is suspended, due times pass without a start.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from phoihop.engine.clock import HANOI_TZ, utc_text
from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.commands.jobs import FailedJob, JobFailures, RetryPolicy
from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.definitions.forms.validation import with_defaults
from phoihop.engine.definitions.start_timers import parse_schedule
from phoihop.engine.dossier import CODE_VARIABLE
from phoihop.engine.errors import StoreUnavailable
from phoihop.engine.execution.outcomes import RunOutcome
from phoihop.engine.execution.start_events import TIMER_TRIGGER
from phoihop.engine.ids import uuid7
from phoihop.engine.model import SYSTEM
from phoihop.engine.store import repository as repo

log = logging.getLogger("phoihop.scheduler")


def schedule_start(conn: Connection, process: ProcessModel, definition_id: int, now: datetime) -> None:
    """Called when ``definition_id``, a new version of ``process``, is deployed."""
    timer = process.start_timer
    if timer is None:
        repo.delete_schedule(conn, process.key)
        return
    try:
        schedule = parse_schedule(timer.kind, timer.text, now)
    except ValueError:  # an expression, not a literal: such a process is started by hand only
        repo.delete_schedule(conn, process.key)
        return
    first = schedule.first_after(now)
    occurrence, next_at = first if first is not None else (0, None)
    repo.upsert_schedule(
        conn,
        process_key=process.key,
        definition_id=definition_id,
        element_id=timer.element_id,
        timer_kind=timer.kind,
        timer_text=timer.text,
        occurrence=occurrence,
        next_at=next_at,
    )


class TimerCommands:
    """What the scheduler runs: due timer events of running instances, and due timer start events. Each is a job
    that fails alone (engine/commands/jobs.py): its failure is rolled back and recorded, and the round goes on."""

    def __init__(self, executor: CommandExecutor, policy: RetryPolicy | None = None) -> None:
        self.executor = executor
        self.failures = JobFailures(executor, policy or RetryPolicy())

    def fire_due_timers(self, *, limit: int = 50) -> int:
        """Fire every timer due now; each in its own transaction. Safe with several schedulers (exactly once)."""
        with self.executor.transaction(write=False) as uow:
            due = repo.due_timers(uow.conn, uow.now, limit)
        fired = 0
        for timer in due:
            seen: list[repo.Row] = []  # the timer row as read under the instance's lock
            try:
                fired += self._fire(timer, seen)
            except (OperationalError, StoreUnavailable):  # the database, not the job: not counted against it
                log.exception("timer %s of instance %s: database error", timer["id"], timer["instance_id"])
            except Exception as exc:  # the job fails alone: one attempt, and the round goes on
                if not seen:
                    raise
                row, head = seen
                self.failures.record(
                    FailedJob(
                        "timer", row["id"], row["attempts"], head["process_key"], row["element_id"], row["instance_id"]
                    ),
                    exc,
                )
        return fired

    def _fire(self, timer: repo.Row, seen: list[repo.Row]) -> int:
        with self.executor.transaction() as uow:
            head = repo.lock_instance_head(uow.conn, timer["instance_id"], skip_locked=True)
            if head is None or head["status"] not in ("running", "incident", "error"):  # an incident elsewhere
                return 0  # another scheduler has it
            row = repo.ready_timer(uow.conn, timer["id"], uow.now)
            if row is None:
                return 0  # it fired already, or waits out a retry
            seen.extend((row, head))
            runtime = self.executor.runtime
            held = frozenset(repo.held_timers(uow.conn, head["id"], firing=row["task_id"]))

            def fire(workflow: Any) -> RunOutcome:
                with runtime.holding_timers(held):  # this job fires its own timer even if it failed before
                    return runtime.fire_timers(workflow)

            audit = {"kind": "timer_fired", "data": {"due_at": utc_text(timer["due_at"])}}
            self.executor.advance(uow, head, fire, SYSTEM, audit)
            return 1

    def next_timer_due(self) -> datetime | None:
        with self.executor.transaction(write=False) as uow:
            return repo.next_timer_due(uow.conn)

    def fire_due_starts(self, *, limit: int = 20) -> int:
        """Start an instance for every start timer due now; each in its own transaction. Returns how many."""
        with self.executor.transaction(write=False) as uow:
            due = repo.due_schedules(uow.conn, uow.now, limit)
        started = 0
        for row in due:
            seen: list[repo.Row] = []
            try:
                with self.executor.transaction() as uow:
                    current = repo.lock_due_schedule(uow.conn, row["process_key"], uow.now)
                    if current is None:
                        continue  # another worker has it, or it fired already
                    seen.append(current)
                    count = self._start_scheduled(uow, current)
                started += count  # once committed
            except (OperationalError, StoreUnavailable):  # the database, not the job
                log.exception("timer start of %s: database error", row["process_key"])
            except Exception as exc:
                if not seen:
                    raise
                current = seen[0]
                key = current["process_key"]
                self.failures.record(
                    FailedJob("timer_start", key, current["attempts"], key, current["element_id"]), exc
                )
        return started

    def _start_scheduled(self, uow: Any, schedule_row: repo.Row) -> int:
        due_at: datetime = schedule_row["next_at"]
        try:
            schedule = parse_schedule(schedule_row["timer_kind"], schedule_row["timer_text"], uow.now)
            following = schedule.following(schedule_row["occurrence"] + 1, due_at)
        except ValueError:
            following = None
        repo.advance_schedule(uow.conn, schedule_row["process_key"], schedule_row["occurrence"] + 1, following)
        definition = repo.definition_by_id(uow.conn, schedule_row["definition_id"])
        if definition is None or definition["status"] != "active":
            return 0
        model = self.executor.model(uow.conn, definition["id"])
        local = due_at.astimezone(HANOI_TZ)
        variables = with_defaults(model.start_form, {"scheduled_at": local.isoformat()})
        dossier_code = self.executor.new_dossier_code(uow, model)
        start_data = {**variables, CODE_VARIABLE: dossier_code} if dossier_code is not None else variables
        workflow, outcome = self.executor.runtime.start(
            model.spec, model.subprocess_specs, start_data, trigger=TIMER_TRIGGER
        )
        business_key = f"{definition['key']}-{local:%Y%m%d-%H%M}"
        self.executor.save_new(
            uow,
            uuid7(),
            definition,
            business_key,
            model,
            workflow,
            outcome,
            SYSTEM,
            {"variables": variables, "business_key": business_key, "start_timer": schedule_row["element_id"]},
            dossier_code=dossier_code,
        )
        return 1

    def next_start_due(self) -> datetime | None:
        with self.executor.transaction(write=False) as uow:
            return repo.next_start_due(uow.conn)
