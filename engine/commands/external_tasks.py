"""External tasks, as in Camunda 7's external-task API: a ``camunda:type="external"`` service task waits in its
workflow (engine.execution.external_task_spec) while an integrator's worker fetches and locks it by topic, then
completes it, reports a failure (retries, retry timeout; an incident when no retries are left) or a BPMN error.

Each use case is one transaction. Fetching locks rows only (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: several
workers never get the same task). Completing and BPMN errors move the workflow, so they lock the instance first and
then the task's row, as completing a human task does; so do failures and retries, which may change the instance's
status: a task out of retries is an incident and its instance reads ``incident`` (as a failed step's does) until its
retries are set again and no other incident is open. Lock changes touch only the row.
Rows appear and close with the commands that move the workflow (the command core's save), never separately.
Reading one task or the listing is engine.reads.external_tasks; every command here answers with the task's view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from phoihop.engine.clock import utc_text
from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.errors import (
    BpmnErrorNotCaught,
    ExternalTaskLockExpired,
    ExternalTaskNotActive,
    ExternalTaskNotLocked,
    InstanceNotRunning,
    InvalidInput,
)
from phoihop.engine.execution.external_task_spec import release, throw_error, waiting_task
from phoihop.engine.execution.outcomes import RunOutcome
from phoihop.engine.model import Actor
from phoihop.engine.reads.external_tasks import (
    ExternalTaskView,
    LockedExternalTask,
    external_task_row,
    external_task_view,
)
from phoihop.engine.reads.views import extended
from phoihop.engine.store import external_tasks as store
from phoihop.engine.store import jobs as job_store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.unit_of_work import UnitOfWork
from phoihop.engine.variables import check_variables

__all__ = ["DEFAULT_RETRIES", "MAX_DURATION_MS", "MAX_TASKS", "ExternalTaskCommands", "FetchTopic"]

DEFAULT_RETRIES = 3  # a failure that names no retries counts down from here (three failures make an incident)
MAX_TASKS = 100  # per fetch
MAX_DURATION_MS = 30 * 24 * 3600 * 1000  # lock durations and retry timeouts: at most 30 days


@dataclass(frozen=True)
class FetchTopic:
    """One topic of a fetch: lock its tasks for ``lock_duration`` ms; return only ``variables`` (None: all)."""

    topic: str
    lock_duration: int
    variables: tuple[str, ...] | None = None


def _invalid(field: str, en: str, vi: str) -> InvalidInput:
    return InvalidInput(f"{field}: {en}", detail_vi=f"{field}: {vi}", field=field)


def _check_worker(worker_id: str) -> None:
    if not isinstance(worker_id, str) or not worker_id.strip() or len(worker_id) > 200:
        raise _invalid("worker_id", "must be 1 to 200 characters", "phải có từ 1 đến 200 ký tự")


def _check_ms(field: str, value: int, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_DURATION_MS:
        raise _invalid(
            field,
            f"must be a whole number of milliseconds from {minimum} to {MAX_DURATION_MS}",
            f"phải là số mili giây nguyên từ {minimum} đến {MAX_DURATION_MS}",
        )


def _check_retries(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
        raise _invalid("retries", "must be a whole number, 0 or more", "phải là số nguyên không âm")


class ExternalTaskCommands:
    """The external-task use cases; every one needs the role ``integrator`` (or ``admin``)."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    # --- fetch and lock ---------------------------------------------------------------------------------------------
    def fetch_and_lock(
        self,
        actor: Actor,
        worker_id: str,
        topics: Sequence[FetchTopic],
        *,
        max_tasks: int = 10,
        use_priority: bool = False,
    ) -> list[LockedExternalTask]:
        """Lock up to ``max_tasks`` tasks of ``topics`` for ``worker_id``: open ones, or ones whose lock expired,
        past any retry timeout; oldest first (highest ``camunda:taskPriority`` first with ``use_priority``).
        Each comes with its instance's variables (only the topic's ``variables`` when it names some)."""
        actor.require_role("integrator")
        _check_worker(worker_id)
        if isinstance(max_tasks, bool) or not isinstance(max_tasks, int) or not 1 <= max_tasks <= MAX_TASKS:
            raise _invalid("max_tasks", f"must be from 1 to {MAX_TASKS}", f"phải từ 1 đến {MAX_TASKS}")
        if not topics:
            raise _invalid("topics", "name at least one topic", "cần ít nhất một chủ đề")
        names = [t.topic for t in topics]
        if len(set(names)) != len(names):
            raise _invalid("topics", "a topic is listed twice", "một chủ đề được nêu hai lần")
        for topic in topics:
            if not topic.topic or len(topic.topic) > 200:
                raise _invalid("topics.topic", "must be 1 to 200 characters", "phải có từ 1 đến 200 ký tự")
            _check_ms("topics.lock_duration", topic.lock_duration, minimum=1)
        with self.executor.transaction() as uow:
            locks = {t.topic: uow.now + timedelta(milliseconds=t.lock_duration) for t in topics}
            rows = store.fetch_and_lock(uow.conn, worker_id, locks, uow.now, max_tasks, use_priority=use_priority)
        wanted = {t.topic: t.variables for t in topics}
        return [self._locked_view(row, wanted[row["topic"]]) for row in rows]

    @staticmethod
    def _locked_view(row: repo.Row, names: tuple[str, ...] | None) -> LockedExternalTask:
        variables = row["variables"] if isinstance(row["variables"], dict) else {}
        if names is not None:
            variables = {name: variables[name] for name in names if name in variables}
        return extended(external_task_view(row), LockedExternalTask, variables=variables)

    # --- completing: the workflow moves on --------------------------------------------------------------------------
    def complete(
        self, actor: Actor, task_id: str, worker_id: str, variables: Mapping[str, Any] | None = None
    ) -> ExternalTaskView:
        """The locking worker finished the task: set ``variables`` and move the instance on (one transaction)."""
        actor.require_role("integrator")
        data = check_variables(variables)
        with self.executor.transaction() as uow:
            row, head = self._locked_for_workflow(uow, task_id, worker_id)
            store.complete(uow.conn, task_id, uow.now)
            audit = {
                "kind": "external_task_completed",
                "element_id": row["element_id"],
                "task_id": task_id,
                "data": {"worker_id": worker_id, "topic": row["topic"], "variables": data},
            }
            self.executor.advance(uow, head, lambda wf: self._release(wf, task_id, data), actor, audit)
        return self._ended(row, uow.now)

    def handle_bpmn_error(
        self,
        actor: Actor,
        task_id: str,
        worker_id: str,
        error_code: str,
        *,
        error_message: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> ExternalTaskView:
        """The locking worker reports a business error: the error boundary event on the task that catches
        ``error_code`` fires (with ``variables``) and the instance takes that path. BpmnErrorNotCaught when none
        catches it; the task then stays locked, and the worker may report a failure instead."""
        actor.require_role("integrator")
        if not isinstance(error_code, str) or not error_code.strip() or len(error_code) > 200:
            raise _invalid("error_code", "must be 1 to 200 characters", "phải có từ 1 đến 200 ký tự")
        data = check_variables(variables)
        with self.executor.transaction() as uow:
            row, head = self._locked_for_workflow(uow, task_id, worker_id)
            store.complete(
                uow.conn,
                task_id,
                uow.now,
                error_message=f"{error_code}: {error_message}" if error_message else error_code,
            )
            audit = {
                "kind": "external_task_bpmn_error",
                "element_id": row["element_id"],
                "task_id": task_id,
                "data": {
                    "worker_id": worker_id,
                    "topic": row["topic"],
                    "error_code": error_code,
                    "error_message": error_message,
                    "variables": data,
                },
            }

            def throw(workflow: Any) -> RunOutcome:
                if not throw_error(self._waiting(workflow, task_id), error_code, data):
                    raise BpmnErrorNotCaught(
                        f"no error boundary event on {row['element_id']} catches error code {error_code!r}",
                        detail_vi=f"Không có sự kiện biên lỗi nào trên {row['element_id']} bắt mã lỗi "
                        f"{error_code!r}; hãy báo lỗi xử lý (failure) thay vào đó",
                        task_id=task_id,
                        element_id=row["element_id"],
                        error_code=error_code,
                    )
                return self.executor.runtime.run(workflow)

            self.executor.advance(uow, head, throw, actor, audit)
        return self._ended(row, uow.now)

    def _locked_for_workflow(self, uow: UnitOfWork, task_id: str, worker_id: str) -> tuple[repo.Row, repo.Row]:
        """Lock the task's instance, then its row (as completing a human task does), and check the lock. An instance
        with an incident elsewhere (another branch) goes on, as its human tasks do."""
        _check_worker(worker_id)
        row, head = self._lock_with_instance(uow, task_id)
        self._require_lock(row, worker_id, uow.now)
        if head["status"] not in ("running", "incident"):
            raise InstanceNotRunning(
                f"instance is {head['status']}",
                detail_vi="Hồ sơ không còn đang xử lý",
                instance_id=head["id"],
                instance_status=head["status"],
            )
        return row, head

    def _waiting(self, workflow: Any, task_id: str) -> Any:
        task = waiting_task(workflow, task_id)
        if task is None:  # the row says it waits, the workflow does not: refuse rather than guess
            raise ExternalTaskNotActive(
                f"external task {task_id} is not waiting in its instance",
                detail_vi=f"Công việc bên ngoài {task_id} không còn chờ trong hồ sơ",
                task_id=task_id,
            )
        return task

    def _release(self, workflow: Any, task_id: str, variables: Mapping[str, Any]) -> RunOutcome:
        release(self._waiting(workflow, task_id), variables)
        return self.executor.runtime.run(workflow)

    @staticmethod
    def _ended(row: repo.Row, now: datetime) -> ExternalTaskView:
        return replace(external_task_view(row), status="completed", ended_at=now, lock_expires_at=None)

    # --- the row alone: failure, lock, retries ----------------------------------------------------------------------
    def handle_failure(
        self,
        actor: Actor,
        task_id: str,
        worker_id: str,
        *,
        error_message: str | None = None,
        error_details: str | None = None,
        retries: int | None = None,
        retry_timeout: int = 0,
    ) -> ExternalTaskView:
        """The locking worker could not do the task: it is unlocked with ``retries`` left (omitted: one fewer than
        before, counting from DEFAULT_RETRIES) and not fetched for ``retry_timeout`` ms. No retries left: an
        incident, on the instance and in its history, until someone sets retries again."""
        actor.require_role("integrator")
        _check_worker(worker_id)
        if retries is not None:
            _check_retries(retries)
        _check_ms("retry_timeout", retry_timeout, minimum=0)
        with self.executor.transaction() as uow:
            row, _ = self._lock_with_instance(uow, task_id)
            self._require_lock(row, worker_id, uow.now)
            left = (
                retries
                if retries is not None
                else max(0, (row["retries"] if row["retries"] is not None else DEFAULT_RETRIES) - 1)
            )
            retry_at = uow.now + timedelta(milliseconds=retry_timeout) if retry_timeout and left else None
            store.fail(
                uow.conn,
                task_id,
                retries=left,
                error_message=error_message,
                error_details=error_details,
                retry_at=retry_at,
                at=uow.now,
            )
            events = [
                self._event(
                    uow,
                    actor,
                    row,
                    "external_task_failed",
                    {
                        "worker_id": worker_id,
                        "topic": row["topic"],
                        "error_message": error_message,
                        "retries": left,
                        "retry_at": utc_text(retry_at) if retry_at else None,
                    },
                )
            ]
            if left == 0:
                events.append(self._incident_event(uow, row, error_message))
                job_store.set_incident_status(uow.conn, row["instance_id"])  # the instance reads incident
            repo.insert_audit(uow.conn, events)
            return external_task_view(external_task_row(uow.conn, task_id))

    def extend_lock(self, actor: Actor, task_id: str, worker_id: str, new_duration: int) -> ExternalTaskView:
        """The locking worker needs longer: the lock now ends ``new_duration`` ms from now."""
        actor.require_role("integrator")
        _check_worker(worker_id)
        _check_ms("new_duration", new_duration, minimum=1)
        with self.executor.transaction() as uow:
            row = self._row(uow.conn, task_id, lock=True)
            self._require_lock(row, worker_id, uow.now)
            store.extend_lock(uow.conn, task_id, uow.now + timedelta(milliseconds=new_duration))
            return external_task_view(external_task_row(uow.conn, task_id))

    def unlock(self, actor: Actor, task_id: str) -> ExternalTaskView:
        """Release the lock whoever holds it (an operator freeing a task of a crashed worker)."""
        actor.require_role("integrator")
        with self.executor.transaction() as uow:
            row = self._row(uow.conn, task_id, lock=True)
            self._require_active(row)
            if row["status"] == "locked":
                store.unlock(uow.conn, task_id)
                repo.insert_audit(
                    uow.conn,
                    [
                        self._event(
                            uow,
                            actor,
                            row,
                            "external_task_unlocked",
                            {"worker_id": row["worker_id"], "topic": row["topic"]},
                        )
                    ],
                )
            return external_task_view(external_task_row(uow.conn, task_id))

    def set_retries(self, actor: Actor, task_id: str, retries: int) -> ExternalTaskView:
        """Set the retries left. On an incident, retries > 0 resolve it (the task is fetched again; the instance
        reads running again unless another incident is open); 0 on an open or locked task makes it an incident."""
        actor.require_role("integrator")
        _check_retries(retries)
        with self.executor.transaction() as uow:
            row, _ = self._lock_with_instance(uow, task_id)
            self._require_active(row)
            store.set_retries(uow.conn, task_id, retries, uow.now)
            job_store.set_incident_status(uow.conn, row["instance_id"])
            events = [
                self._event(uow, actor, row, "external_task_retries_set", {"retries": retries, "topic": row["topic"]})
            ]
            if row["status"] == "incident" and retries > 0:
                events.append(
                    self._event(uow, actor, row, "incident_resolved", {"topic": row["topic"], "retries": retries})
                )
            elif row["status"] != "incident" and retries == 0:
                events.append(self._incident_event(uow, row, row["error_message"]))
            repo.insert_audit(uow.conn, events)
            return external_task_view(external_task_row(uow.conn, task_id))

    # --- shared -----------------------------------------------------------------------------------------------------
    @staticmethod
    def _row(conn: Connection, task_id: str, *, lock: bool = False) -> repo.Row:
        return external_task_row(conn, task_id, lock=lock)

    def _lock_with_instance(self, uow: UnitOfWork, task_id: str) -> tuple[repo.Row, repo.Row]:
        """The task's row and its instance's head, the instance locked first (the order of every command that moves
        the workflow and closes rows: no deadlock with them on PostgreSQL)."""
        row = self._row(uow.conn, task_id)
        head = self.executor.lock(uow.conn, row["instance_id"])
        if not self.executor.db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already excluded every other writer
            row = self._row(uow.conn, task_id, lock=True)
        return row, head

    @staticmethod
    def _require_active(row: Mapping[str, Any]) -> None:
        if row["status"] not in store.ACTIVE:
            raise ExternalTaskNotActive(
                f"external task {row['id']} is {row['status']}",
                detail_vi=f"Công việc bên ngoài {row['id']} đã ở trạng thái {row['status']}",
                task_id=row["id"],
                task_status=row["status"],
            )

    def _require_lock(self, row: Mapping[str, Any], worker_id: str, now: datetime) -> None:
        self._require_active(row)
        if row["status"] != "locked" or row["worker_id"] != worker_id:
            holder = row["worker_id"] if row["status"] == "locked" and row["lock_expires_at"] > now else None
            raise ExternalTaskNotLocked(
                f"external task {row['id']} is not locked by worker {worker_id!r}"
                + (f" (locked by {holder!r})" if holder else ""),
                detail_vi=f"Công việc bên ngoài {row['id']} không do hệ thống {worker_id!r} giữ khóa"
                + (f" (đang do {holder!r} giữ)" if holder else ""),
                task_id=row["id"],
                worker_id=worker_id,
                locked_by=holder,
            )
        if row["lock_expires_at"] <= now:
            raise ExternalTaskLockExpired(
                f"the lock of worker {worker_id!r} on external task {row['id']} expired at "
                f"{utc_text(row['lock_expires_at'])}",
                detail_vi=f"Khóa của hệ thống {worker_id!r} trên công việc bên ngoài {row['id']} đã hết hạn lúc "
                f"{utc_text(row['lock_expires_at'])}; hãy nhận lại công việc (fetch-and-lock)",
                task_id=row["id"],
                worker_id=worker_id,
                lock_expires_at=utc_text(row["lock_expires_at"]),
            )

    @staticmethod
    def _event(
        uow: UnitOfWork, actor: Actor, row: Mapping[str, Any], kind: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "instance_id": row["instance_id"],
            "at": uow.now,
            "actor": actor.id,
            "kind": kind,
            "element_id": row["element_id"],
            "task_id": row["id"],
            "data": data,
        }

    @staticmethod
    def _incident_event(uow: UnitOfWork, row: Mapping[str, Any], error_message: str | None) -> dict[str, Any]:
        return {
            "instance_id": row["instance_id"],
            "at": uow.now,
            "actor": "system",
            "kind": "incident_created",
            "element_id": row["element_id"],
            "task_id": row["id"],
            "data": {"topic": row["topic"], "error_message": error_message, "name": row["name"]},
        }
