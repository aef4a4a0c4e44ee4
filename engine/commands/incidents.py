"""Incident resolution, as Camunda's: list the open incidents with a count per process, retry one, or skip its step.

An incident is a job whose retries ran out (a timer, a timer start event: engine/commands/jobs.py) or a step whose
script or expression failed (``job_kind`` "task": the step waits in SpiffWorkflow's ERROR state while the other
branches go on; engine/commands/executor.py ``record_incidents``). An external task out of retries is an incident on
its own row, resolved by setting its retries (engine/commands/external_tasks.py); its instance reads ``incident`` all
the same (store/jobs.set_incident_status). Each resolution is one command through the
executor, in one transaction under the instance's lock:

- **retry** ``{variables?}``: the variables are set on the failed step (fixing what it read), then the step runs
  again and the instance goes on. A step that fails again keeps its incident, with the new message, and the whole
  retry is otherwise kept (the variables too). A job incident's row runs again at the scheduler's next round.
- **skip** ``{reason}``: the step completes without running, with the data it received, and the instance goes on;
  the reason is in the history. A gateway (it would have to choose a path) and a job cannot be skipped.

Who: admins, and leads who take part in the instance (a candidate, by agency or by name, on any of its tasks); a
timer start's incident (no instance) is admins'. Audit events ``incident_retried`` and ``incident_skipped`` carry the
incident id; ``incident_created`` is written where the incident arises.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor, CommandResult
from phoihop.engine.errors import Forbidden, IncidentNotFound, IncidentNotOpen, InvalidInput
from phoihop.engine.execution.outcomes import RunOutcome
from phoihop.engine.model import Actor
from phoihop.engine.store import jobs as job_store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.unit_of_work import UnitOfWork
from phoihop.engine.variables import check_variables

MAX_REASON = 2000


@dataclass(frozen=True)
class IncidentView:
    id: int
    instance_id: str | None
    process_key: str
    element_id: str | None
    task_id: str | None
    kind: str  # task | timer | timer_start
    message: str
    attempts: int
    retries_left: int  # automatic retries left: 0 once it is an incident (a person resolves it)
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class IncidentPage:
    items: list[IncidentView]
    counts: dict[str, int]  # open incidents per process key
    total: int


@dataclass(frozen=True)
class IncidentResolution:
    """What a retry or skip left: the incident as it stands now (resolved, or open with a new message) and the
    instance (None for a timer start's incident)."""

    incident: IncidentView
    instance: CommandResult | None


def _view(row: Mapping[str, Any]) -> IncidentView:
    return IncidentView(
        id=row["id"],
        instance_id=row["instance_id"],
        process_key=row["process_key"],
        element_id=row["element_id"],
        task_id=row["task_id"],
        kind=row["job_kind"],
        message=row["message"],
        attempts=row["attempts"],
        retries_left=0,
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
    )


class IncidentCommands:
    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    # --- reading --------------------------------------------------------------------------------------------------
    def open_incidents(self, actor: Actor, *, process_key: str | None = None) -> IncidentPage:
        """The open incidents the actor may resolve, oldest first, and how many per process."""
        actor.require_role("lead")
        with self.executor.transaction(write=False) as uow:
            rows = job_store.list_open_incidents(uow.conn, process_key)
            if not actor.is_admin:
                mine = self._instances_taken_part_in(uow.conn, actor, [r["instance_id"] for r in rows])
                rows = [r for r in rows if r["instance_id"] in mine]
        counts = Counter(r["process_key"] for r in rows)
        return IncidentPage([_view(r) for r in rows], dict(sorted(counts.items())), len(rows))

    @staticmethod
    def _instances_taken_part_in(conn: Connection, actor: Actor, instance_ids: list[Any]) -> set[str]:
        ids = sorted({i for i in instance_ids if i is not None})
        return {
            t["instance_id"]
            for t in job_store.tasks_of_instances(conn, ids)
            if actor.is_candidate(t) or t["completed_by"] == actor.id
        }

    # --- resolving ------------------------------------------------------------------------------------------------
    def retry(self, actor: Actor, incident_id: int, variables: Mapping[str, Any] | None = None) -> IncidentResolution:
        data = check_variables(variables)
        with self.executor.transaction() as uow:
            row, head = self._open(uow, actor, incident_id)
            audit = {
                "kind": "incident_retried",
                "element_id": row["element_id"],
                "data": {"incident_id": incident_id, "job_kind": row["job_kind"], "variables": data},
            }
            if row["job_kind"] != "task":  # a job: it runs again at the scheduler's next round
                job_store.unpark(uow.conn, incident_id, uow.now)
                if row["instance_id"] is not None:
                    job_store.set_incident_status(uow.conn, row["instance_id"])  # running again, unless another is open
                self._audit_only(uow, row, actor, audit)
                return IncidentResolution(_view(self._row(uow.conn, incident_id)), None)
            runtime = self.executor.runtime
            result = self.executor.advance(
                uow, head, lambda wf: runtime.retry_task(wf, row["task_id"], data), actor, audit
            )
            return IncidentResolution(_view(self._row(uow.conn, incident_id)), result)

    def skip(self, actor: Actor, incident_id: int, reason: str) -> IncidentResolution:
        reason = (reason or "").strip()
        if not reason or len(reason) > MAX_REASON:
            raise InvalidInput(
                f"a reason (1 to {MAX_REASON} characters) is required to skip a step",
                detail_vi=f"Cần nêu lý do (1 đến {MAX_REASON} ký tự) để bỏ qua bước lỗi",
                field="reason",
            )
        with self.executor.transaction() as uow:
            row, head = self._open(uow, actor, incident_id)
            if row["job_kind"] != "task":
                raise IncidentNotOpen(
                    f"incident {incident_id} is a {row['job_kind']} job's: retry it, it cannot be skipped",
                    detail_vi=f"Sự cố {incident_id} là của một tác vụ hẹn giờ: chỉ có thể chạy lại, không bỏ qua được",
                    incident_id=incident_id,
                )
            runtime = self.executor.runtime

            def skip_step(workflow: Any) -> RunOutcome:
                if "Gateway" in runtime.failed_kind(workflow, row["task_id"]):
                    raise IncidentNotOpen(
                        f"incident {incident_id}: gateway {row['element_id']} has no path to take without its "
                        "conditions; fix the variables and retry",
                        detail_vi=f"Sự cố {incident_id}: cổng rẽ nhánh {row['element_id']} không thể bỏ qua vì không "
                        "biết đi theo nhánh nào; hãy sửa biến rồi chạy lại",
                        incident_id=incident_id,
                        element_id=row["element_id"],
                    )
                return runtime.skip_task(workflow, row["task_id"])

            audit = {
                "kind": "incident_skipped",
                "element_id": row["element_id"],
                "data": {"incident_id": incident_id, "reason": reason},
            }
            result = self.executor.advance(uow, head, skip_step, actor, audit)
            return IncidentResolution(_view(self._row(uow.conn, incident_id)), result)

    # --- helpers --------------------------------------------------------------------------------------------------
    @staticmethod
    def _row(conn: Connection, incident_id: int) -> dict[str, Any]:
        row = job_store.incident(conn, incident_id)
        if row is None:
            raise IncidentNotFound(
                f"incident {incident_id} not found",
                detail_vi=f"Không tìm thấy sự cố {incident_id}",
                incident_id=incident_id,
            )
        return row

    def _open(self, uow: UnitOfWork, actor: Actor, incident_id: int) -> tuple[dict[str, Any], Mapping[str, Any]]:
        """The incident, open, with its instance locked (an empty head for a timer start's), once the actor may."""
        actor.require_role("lead")
        row = self._row(uow.conn, incident_id)
        head: Mapping[str, Any] = {}
        if row["instance_id"] is not None:
            head = self.executor.lock(uow.conn, row["instance_id"])
            row = self._row(uow.conn, incident_id)  # as it is now that nobody else moves the instance
            if not actor.is_admin and row["instance_id"] not in self._instances_taken_part_in(
                uow.conn, actor, [row["instance_id"]]
            ):
                raise Forbidden(
                    "you take no part in this instance",
                    detail_vi="Bạn không tham gia hồ sơ này",
                    incident_id=incident_id,
                )
        elif not actor.is_admin:
            raise Forbidden(
                "a timer start's incident is resolved by an admin",
                detail_vi="Sự cố của sự kiện bắt đầu hẹn giờ chỉ quản trị viên được xử lý",
                incident_id=incident_id,
            )
        if row["resolved_at"] is not None:
            raise IncidentNotOpen(
                f"incident {incident_id} is resolved already",
                detail_vi=f"Sự cố {incident_id} đã được xử lý",
                incident_id=incident_id,
            )
        return row, head

    @staticmethod
    def _audit_only(uow: UnitOfWork, row: Mapping[str, Any], actor: Actor, audit: dict[str, Any]) -> None:
        event = {"at": uow.now, "actor": actor.id, **audit}
        if row["instance_id"] is not None:
            repo.insert_audit(uow.conn, [{**event, "instance_id": row["instance_id"]}])
        else:
            repo.insert_definition_audit(uow.conn, [{**event, "process_key": row["process_key"]}])
