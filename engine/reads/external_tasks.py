"""Reading external tasks (Camunda 7's external-task API): one task with its error details, and the listing. A lock
that has expired reads as open. Role integrator (or admin), as for every external-task use case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from phoihop.engine.clock import Clock
from phoihop.engine.errors import ExternalTaskNotFound, InvalidInput
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import JsonObject, Page, extended, page_bounds
from phoihop.engine.store import external_tasks as store
from phoihop.engine.store.database import Database
from phoihop.engine.store.tables import Row

__all__ = [
    "STATUSES",
    "ExternalTaskDetail",
    "ExternalTaskReads",
    "ExternalTaskStatus",
    "ExternalTaskView",
    "LockedExternalTask",
    "external_task_row",
    "external_task_view",
]

ExternalTaskStatus = Literal["open", "locked", "completed", "incident", "cancelled"]
STATUSES: tuple[ExternalTaskStatus, ...] = ("open", "locked", "completed", "incident", "cancelled")


@dataclass(frozen=True, slots=True)
class ExternalTaskView:
    """An external task as workers and operators see it; ``retries`` is None until a failure is reported,
    ``retry_at`` the end of the last failure's retry timeout."""

    id: str
    instance_id: str
    process_key: str
    business_key: str | None
    element_id: str
    name: str | None
    topic: str
    status: ExternalTaskStatus
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    error_message: str | None
    retry_at: datetime | None
    priority: int
    created_at: datetime
    incident_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExternalTaskDetail(ExternalTaskView):
    error_details: str | None


@dataclass(frozen=True, slots=True)
class LockedExternalTask(ExternalTaskView):
    """A task a fetch locked, with its instance's variables (only those the topic named, if it named some)."""

    variables: JsonObject


def external_task_view(row: Row, *, now: datetime | None = None) -> ExternalTaskView:
    """A row (with its instance's business key) as the API shows it; read at ``now``, an expired lock reads as
    open."""
    status, worker_id, expires = row["status"], row["worker_id"], row["lock_expires_at"]
    if now is not None and status == "locked" and expires is not None and expires <= now:
        status, worker_id, expires = "open", None, None
    return ExternalTaskView(
        id=row["id"],
        instance_id=row["instance_id"],
        process_key=row["process_key"],
        business_key=row["business_key"],
        element_id=row["element_id"],
        name=row["name"],
        topic=row["topic"],
        status=status,
        worker_id=worker_id,
        lock_expires_at=expires,
        retries=row["retries"],
        error_message=row["error_message"],
        retry_at=row["retry_at"],
        priority=row["priority"],
        created_at=row["created_at"],
        incident_at=row["incident_at"],
        ended_at=row["ended_at"],
    )


def external_task_row(conn: Connection, task_id: str, *, lock: bool = False) -> Row:
    """The task's row (with its instance's business key); ExternalTaskNotFound when there is none."""
    row = store.get(conn, task_id, lock=lock)
    if row is None:
        raise ExternalTaskNotFound(
            f"external task {task_id} not found",
            detail_vi=f"Không tìm thấy công việc bên ngoài {task_id}",
            task_id=task_id,
        )
    return row


class ExternalTaskReads:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def get_task(self, actor: Actor, task_id: str) -> ExternalTaskDetail:
        """One external task, with the error details of its last failure."""
        actor.require_role("integrator")
        with self.db.transaction(write=False) as conn:
            row = external_task_row(conn, task_id)
        view = external_task_view(row, now=self.clock.now())
        return extended(view, ExternalTaskDetail, error_details=row["error_details"])

    def list_tasks(
        self,
        actor: Actor,
        *,
        topic: str | None = None,
        status: str | None = None,
        instance_id: str | None = None,
        process_key: str | None = None,
        worker_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ExternalTaskView]:
        """External tasks, oldest first; ``status`` as it reads now (an expired lock reads ``open``)."""
        actor.require_role("integrator")
        if status is not None and status not in STATUSES:
            raise InvalidInput(
                f"status: must be one of {', '.join(STATUSES)}",
                detail_vi=f"status: phải là một trong {', '.join(STATUSES)}",
                field="status",
            )
        limit, offset = page_bounds(limit, offset)
        filters = {"topic": topic, "instance_id": instance_id, "process_key": process_key, "worker_id": worker_id}
        now = self.clock.now()
        with self.db.transaction(write=False) as conn:
            rows, total = store.list_tasks(conn, filters=filters, status=status, now=now, limit=limit, offset=offset)
        return Page(tuple(external_task_view(row, now=now) for row in rows), total, limit, offset)
