"""Read use cases. Reading never deserializes a workflow: it reads rows, in one read-only transaction each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from phoihop.engine.clock import Clock, SystemClock
from phoihop.engine.dossier import STATUS_VARIABLE, dossier_view
from phoihop.engine.errors import Forbidden, InstanceNotFound, InvalidInput, NotCandidate, TaskNotFound
from phoihop.engine.execution.external_task_spec import has_external_tasks
from phoihop.engine.model import Actor
from phoihop.engine.reads.instance_views import InstanceViews
from phoihop.engine.reads.versions import VersionReads, definition_not_found, start_definition
from phoihop.engine.store import external_tasks as external_store
from phoihop.engine.store import instance_views
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database
from phoihop.engine.time.deadlines import (
    APPOINTMENT_VARIABLE,
    DEFAULT_WARNING_RATIO,
    FILTERS,
    check_ratio,
    instance_deadline,
    task_deadline_state,
)

if TYPE_CHECKING:
    from phoihop.engine.definitions.catalog import ProcessModel

MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class Queries(VersionReads, InstanceViews):
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        warning_ratio: float = DEFAULT_WARNING_RATIO,
        models: Callable[[Connection, int], ProcessModel] | None = None,
    ) -> None:
        self.db = db
        self._models = models  # the compiled model of a stored definition (its forms); None: no form is shown
        self.clock = clock or SystemClock()  # deadline states are read against it
        self.warning_ratio = check_ratio(warning_ratio)  # an instance's warning time (tasks store theirs: warn_at)
        self._versions: dict[int, int] = {}  # definition id → version number (never changes once deployed)

    def _read(self) -> Any:
        return self.db.transaction(write=False)

    def list_definitions(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [dict(r) for r in repo.list_definitions(conn)]

    def start_form(self, key: str, version: int | None = None) -> dict[str, Any]:
        """``{key, version, form}``: the start form (JSON Schema) of a version, by default of the version a start
        naming none gets (the explicit default, else the latest active one: engine.commands.versions)."""
        with self._read() as conn:
            if version is not None:
                definition = repo.definition_by_version(conn, key, version)
                if definition is None:
                    raise definition_not_found(key, version)
            else:
                definition = start_definition(conn, key, None)
            form = self._models(conn, definition["id"]).start_form if self._models is not None else None
        return {"key": key, "version": definition["version"], "form": form.schema if form is not None else None}

    # --- instances --------------------------------------------------------------------------------------------------
    def get_instance(self, actor: Actor, instance_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = repo.get_instance(conn, instance_id)
            if row is None:
                raise InstanceNotFound(
                    f"instance {instance_id} not found",
                    detail_vi=f"Không tìm thấy hồ sơ {instance_id}",
                    instance_id=instance_id,
                )
            tasks = [dict(t) for t in repo.tasks_of_instance(conn, instance_id, open_only=False)]
            self._require_instance_access(actor, dict(row), tasks)
            instance = dict(row)
            version = self._versions.get(row["definition_id"])
            if version is None:
                definition = repo.definition_by_id(conn, row["definition_id"])
                if definition is not None:
                    version = self._versions[row["definition_id"]] = definition["version"]
            instance["process_version"] = version
            now = self.clock.now()
            instance["open_tasks"] = [self._with_deadline(t, now) for t in tasks if t["status"] in repo.OPEN_STATUSES]
            # external tasks out of retries; a process without external tasks has none (no query: the hot read path)
            model = self._models(conn, row["definition_id"]) if self._models is not None else None
            has_external = model is None or has_external_tasks(model.spec, model.subprocess_specs)
            instance["incidents"] = external_store.incidents(conn, instance_id) if has_external else []
            variables = instance["variables"] if isinstance(instance["variables"], dict) else {}
            return self._instance_view(
                instance, variables.get(APPOINTMENT_VARIABLE), variables.get(STATUS_VARIABLE), now
            )

    def _instance_view(
        self, instance: dict[str, Any], appointment: Any, dossier_status: Any, now: datetime
    ) -> dict[str, Any]:
        """``due_at`` and ``deadline_state`` from the appointment date; ``dossier`` from the code and status."""
        instance["due_at"], instance["deadline_state"] = instance_deadline(
            instance, appointment, now, self.warning_ratio
        )
        instance["dossier"] = dossier_view(instance.get("dossier_code"), dossier_status)
        return instance

    @staticmethod
    def _require_instance_access(actor: Actor, instance: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
        if actor.sees_all_instances or instance["started_by"] == actor.id:
            return
        if any(actor.may_see_task(t) for t in tasks):
            return
        raise Forbidden(
            "you take no part in this instance", detail_vi="Bạn không tham gia hồ sơ này", instance_id=instance["id"]
        )

    def list_instances(
        self,
        actor: Actor,
        *,
        process_key: str | None = None,
        business_key: str | None = None,
        status: str | None = None,
        dossier_code: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        limit = max(1, min(limit, MAX_PAGE))
        visibility = None if actor.sees_all_instances else repo.instance_visibility_clause(actor.id, actor.groups)
        with self._read() as conn:
            rows, total = repo.list_instances(
                conn,
                filters={
                    "process_key": process_key,
                    "business_key": business_key,
                    "status": status,
                    "dossier_code": dossier_code,
                },
                visibility=visibility,
                limit=limit,
                offset=max(0, offset),
            )
        now = self.clock.now()
        items = []
        for row in rows:
            instance = dict(row)
            appointment, dossier_status = instance.pop("appointment_at", None), instance.pop("dossier_status", None)
            items.append(self._instance_view(instance, appointment, dossier_status, now))
        return Page(items, total, limit, offset)

    def history(self, actor: Actor, instance_id: str) -> list[dict[str, Any]]:
        self.get_instance(actor, instance_id)  # existence and access
        with self._read() as conn:
            return [dict(r) for r in repo.history(conn, instance_id)]

    def open_task_ids(self, actor: Actor, instance_id: str) -> list[str]:
        """Ids of the instance's open human tasks that the caller may see, oldest first (one indexed query)."""
        with self._read() as conn:
            return [t["id"] for t in repo.tasks_of_instance(conn, instance_id, open_only=True) if actor.may_see_task(t)]

    # --- tasks ------------------------------------------------------------------------------------------------------
    def get_task(self, actor: Actor, task_id: str, *, with_form: bool = False) -> dict[str, Any]:
        """One task; ``with_form``: plus ``form``, the JSON Schema of its form (None when it has none)."""
        with self._read() as conn:
            task = self._with_deadline(self._visible_task(conn, actor, task_id), self.clock.now())
            if with_form:
                task["form"] = self._task_form(conn, task)
            return task

    def _task_form(self, conn: Connection, task: Mapping[str, Any]) -> dict[str, Any] | None:
        if not task["form_key"] or self._models is None:
            return None
        instance = repo.get_instance(conn, task["instance_id"])
        if instance is None:
            return None
        form = self._models(conn, instance["definition_id"]).forms.get(task["form_key"])
        return form.schema if form is not None else None

    def task_view(self, task: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A task row as the API shows it: with its deadline state now (for rows a command returned)."""
        return self._with_deadline(dict(task), self.clock.now()) if task is not None else None

    @staticmethod
    def _with_deadline(task: dict[str, Any], now: datetime) -> dict[str, Any]:
        task["deadline_state"] = task_deadline_state(task, now)
        return task

    @staticmethod
    def _visible_task(conn: Connection, actor: Actor, task_id: str) -> dict[str, Any]:
        row = repo.get_task(conn, task_id)
        if row is None:
            raise TaskNotFound(
                f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}", task_id=task_id
            )
        task = dict(row)
        if not actor.may_see_task(task):
            raise NotCandidate(
                f"task {task_id} belongs to other agencies",
                detail_vi=f"Công việc {task_id} thuộc đơn vị khác",
                task_id=task_id,
            )
        return task

    def list_tasks(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        assignee_me: bool = False,
        candidate_group: str | None = None,
        process_key: str | None = None,
        instance_id: str | None = None,
        deadline: str | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """``deadline`` (on_time, warning, overdue) keeps the open tasks in that state now; ``text`` the tasks whose
        name, business key or dossier code contains it (case-insensitive)."""
        limit = max(1, min(limit, MAX_PAGE))
        if deadline is not None and deadline not in FILTERS:
            raise InvalidInput(
                f"deadline must be one of {', '.join(FILTERS)}, got {deadline!r}",
                detail_vi=f"deadline phải là một trong {', '.join(FILTERS)}, nhận được {deadline!r}",
                field="deadline",
            )
        now = self.clock.now()
        ht = repo.human_task_table
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
        if deadline is not None:
            conditions += [ht.c.status.in_(repo.OPEN_STATUSES), repo.task_deadline_clause(deadline, now)]
        if text is not None and text.strip():
            conditions.append(instance_views.task_text_clause(text.strip()))
        with self._read() as conn:
            rows, total = repo.list_tasks(conn, conditions=conditions, limit=limit, offset=max(0, offset))
        return Page([self._with_deadline(dict(r), now) for r in rows], total, limit, offset)
