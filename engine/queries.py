"""Read use cases. Reading never deserializes a workflow: it reads rows, in one read-only transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from .actors import Actor
from .errors import Forbidden, InstanceNotFound, NotCandidate, TaskNotFound
from .store import repository as repo
from .store.database import Database

MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class Queries:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._versions: dict[int, int] = {}  # definition id → version number (never changes once deployed)

    def _read(self) -> Any:
        return self.db.transaction(write=False)

    def list_definitions(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [dict(r) for r in repo.list_definitions(conn)]

    # --- instances --------------------------------------------------------------------------------------------------
    def get_instance(self, actor: Actor, instance_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = repo.get_instance(conn, instance_id)
            if row is None:
                raise InstanceNotFound(f"instance {instance_id} not found",
                                       detail_vi=f"Không tìm thấy hồ sơ {instance_id}", instance_id=instance_id)
            tasks = [dict(t) for t in repo.tasks_of_instance(conn, instance_id, open_only=False)]
            self._require_instance_access(actor, dict(row), tasks)
            instance = dict(row)
            version = self._versions.get(row["definition_id"])
            if version is None:
                definition = repo.definition_by_id(conn, row["definition_id"])
                if definition is not None:
                    version = self._versions[row["definition_id"]] = definition["version"]
            instance["process_version"] = version
            instance["open_tasks"] = [t for t in tasks if t["status"] in repo.OPEN_STATUSES]
            return instance

    @staticmethod
    def _require_instance_access(actor: Actor, instance: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
        if actor.sees_all_instances or instance["started_by"] == actor.id:
            return
        if any(actor.may_see_task(t) for t in tasks):
            return
        raise Forbidden("you take no part in this instance", detail_vi="Bạn không tham gia hồ sơ này",
                        instance_id=instance["id"])

    def list_instances(self, actor: Actor, *, process_key: str | None = None, business_key: str | None = None,
                       status: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        limit = max(1, min(limit, MAX_PAGE))
        visibility = None if actor.sees_all_instances else repo.instance_visibility_clause(actor.id, actor.groups)
        with self._read() as conn:
            rows, total = repo.list_instances(
                conn, filters={"process_key": process_key, "business_key": business_key, "status": status},
                visibility=visibility, limit=limit, offset=max(0, offset))
        return Page([dict(r) for r in rows], total, limit, offset)

    def history(self, actor: Actor, instance_id: str) -> list[dict[str, Any]]:
        self.get_instance(actor, instance_id)  # existence and access
        with self._read() as conn:
            return [dict(r) for r in repo.history(conn, instance_id)]

    def open_task_ids(self, actor: Actor, instance_id: str) -> list[str]:
        """Ids of the instance's open human tasks that the caller may see, oldest first (one indexed query)."""
        with self._read() as conn:
            return [t["id"] for t in repo.tasks_of_instance(conn, instance_id, open_only=True)
                    if actor.may_see_task(t)]

    # --- tasks ------------------------------------------------------------------------------------------------------
    def get_task(self, actor: Actor, task_id: str) -> dict[str, Any]:
        with self._read() as conn:
            return self._visible_task(conn, actor, task_id)

    @staticmethod
    def _visible_task(conn: Connection, actor: Actor, task_id: str) -> dict[str, Any]:
        row = repo.get_task(conn, task_id)
        if row is None:
            raise TaskNotFound(f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}",
                               task_id=task_id)
        task = dict(row)
        if not actor.may_see_task(task):
            raise NotCandidate(f"task {task_id} belongs to other agencies",
                               detail_vi=f"Công việc {task_id} thuộc đơn vị khác", task_id=task_id)
        return task

    def list_tasks(self, actor: Actor, *, status: str | None = None, assignee_me: bool = False,
                   candidate_group: str | None = None, process_key: str | None = None,
                   instance_id: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        limit = max(1, min(limit, MAX_PAGE))
        ht = repo.HT
        conditions: list[Any] = []
        if not actor.is_admin:
            conditions.append(repo.task_visibility_clause(actor.id, actor.groups))
        if status is not None:
            conditions.append(ht.c.status == status)
        else:
            conditions.append(ht.c.status.in_(repo.OPEN_STATUSES))
        if assignee_me:
            conditions.append(ht.c.assignee == actor.id)
        if candidate_group is not None:
            conditions.append(repo.candidate_group_clause(candidate_group))
        if process_key is not None:
            conditions.append(ht.c.process_key == process_key)
        if instance_id is not None:
            conditions.append(ht.c.instance_id == instance_id)
        with self._read() as conn:
            rows, total = repo.list_tasks(conn, conditions=conditions, limit=limit, offset=max(0, offset))
        return Page([dict(r) for r in rows], total, limit, offset)
