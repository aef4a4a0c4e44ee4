"""Reading process instances: one instance with its open tasks and incidents, the listing, and its history.

Who may see an instance: admins and integrators (every case), whoever started it, and whoever may see one of its
tasks, open or finished (a candidate, the assignee, who completed it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phoihop.engine.clock import Clock
from phoihop.engine.dossier import CODE_VARIABLE as DOSSIER_CODE_VARIABLE
from phoihop.engine.dossier import STATUS_VARIABLE, dossier_view
from phoihop.engine.errors import Forbidden, InstanceNotFound
from phoihop.engine.execution.external_task_spec import has_external_tasks
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import (
    DeadlineState,
    InstanceStatus,
    JsonObject,
    Models,
    Page,
    TaskView,
    deadline_state,
    page_bounds,
    task_view,
)
from phoihop.engine.store import external_tasks as external_store
from phoihop.engine.store import jobs as job_store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database
from phoihop.engine.time.calendar import BusinessCalendar
from phoihop.engine.time.deadlines import APPOINTMENT_VARIABLE, DEFAULT_WARNING_RATIO, check_ratio, instance_deadline

__all__ = [
    "Dossier",
    "HistoryEvent",
    "Incident",
    "InstanceReads",
    "InstanceSummary",
    "InstanceView",
    "history_event",
    "require_access",
]


@dataclass(frozen=True, slots=True)
class Dossier:
    """The instance as a dossier of the public-service portal: its code and its status (1–10) with the status's
    names; unknown statuses keep their number with null names (engine.dossier)."""

    code: str | None
    status: int | None
    status_name_vi: str | None
    status_name_en: str | None
    lookup_secret: str | None = None  # printed on the receipt; the public lookup asks for it (engine/dossier.py)


@dataclass(frozen=True, slots=True)
class Incident:
    """Work of the instance that stopped until someone acts. ``kind`` "external_task": an external task whose
    retries ran out (nobody fetches it until its retries are set again); "timer": a timer whose firing failed every
    retry (parked, neither fired nor retried, until resolved; ``incident_id``: the incident row)."""

    external_task_id: str | None
    element_id: str | None
    name: str | None
    topic: str | None
    error_message: str | None
    incident_at: datetime | None
    kind: str = "external_task"
    incident_id: int | None = None
    attempts: int | None = None


@dataclass(frozen=True, slots=True)
class InstanceSummary:
    """An instance as the listing shows it; ``due_at`` is its appointment date (variable ``appointment_at``)."""

    id: str
    process_key: str
    business_key: str | None
    status: InstanceStatus
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    error: JsonObject | None
    due_at: datetime | None
    deadline_state: DeadlineState | None
    dossier: Dossier | None


@dataclass(frozen=True, slots=True)
class Wait:
    """What a running instance waits for besides its human tasks: a message (``kind`` "message": its ``name``, and the
    ``correlation`` keys a sender must match, ``business_key`` included when the instance has one) or a timer (``kind``
    "timer": the timer event's ``element_id`` and its ``due_at``)."""

    kind: str
    name: str | None = None
    element_id: str | None = None
    correlation: JsonObject | None = None
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InstanceView(InstanceSummary):
    """One instance: the version it runs on, its variables, its open human tasks (oldest first), its incidents and,
    while it runs, the messages and timers it waits for (``waiting_for``: messages by name, then timers by due time)."""

    process_version: int | None
    variables: JsonObject
    open_tasks: tuple[TaskView, ...]
    incidents: tuple[Incident, ...]
    waiting_for: tuple[Wait, ...] = ()


def waits(variables: JsonObject, subscriptions: list[repo.Row], timers: list[repo.Row]) -> tuple[Wait, ...]:
    """``correlation``: what identifies this instance to a sender: the subscription's business key, the BPMN
    correlation properties' values, and the dossier code (``correlation_keys`` match instance variables)."""
    code = variables.get(DOSSIER_CODE_VARIABLE)
    messages = sorted(
        (
            Wait(
                kind="message",
                name=s["message_name"],
                correlation={
                    **({"business_key": s["business_key"]} if s["business_key"] else {}),
                    **(s["correlations"] or {}),
                    **({DOSSIER_CODE_VARIABLE: code} if isinstance(code, str) else {}),
                },
            )
            for s in subscriptions
        ),
        key=lambda w: w.name or "",
    )
    due = sorted(
        (Wait(kind="timer", element_id=t["element_id"], due_at=t["due_at"]) for t in timers),
        key=lambda w: (w.due_at, w.element_id or ""),
    )
    return tuple(messages) + tuple(due)


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One audit event of an instance (``data``: what the event carries, free-form)."""

    id: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    task_id: str | None
    data: JsonObject


def history_event(row: repo.Row) -> HistoryEvent:
    return HistoryEvent(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        kind=row["kind"],
        element_id=row["element_id"],
        task_id=row["task_id"],
        data=row["data"],
    )


def _dossier(code: str | None, status: Any, lookup_secret: str | None) -> Dossier | None:
    found = dossier_view(code, status)
    if found is None:
        return None
    return Dossier(found["code"], found["status"], found["status_name_vi"], found["status_name_en"], lookup_secret)


class InstanceReads:
    """One read-only transaction per call; deadline states are read against ``clock``."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        warning_ratio: float = DEFAULT_WARNING_RATIO,
        models: Models | None = None,
        calendar: Callable[[], BusinessCalendar] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.warning_ratio = check_ratio(warning_ratio)  # an instance's warning time (tasks store theirs: warn_at)
        self.calendar = calendar  # the warning time moved into working hours, as a task's warn_at is
        self._models = models  # the compiled model of a stored definition; None: external tasks are looked up
        self._versions: dict[int, int] = {}  # definition id → version number (never changes once deployed)

    def _calendar(self) -> BusinessCalendar | None:
        return self.calendar() if self.calendar is not None else None

    def get_instance(self, actor: Actor, instance_id: str) -> InstanceView:
        """One instance the caller may see (InstanceNotFound, Forbidden otherwise)."""
        with self.db.transaction(write=False) as conn:
            row = repo.get_instance(conn, instance_id)
            if row is None:
                raise InstanceNotFound.of(instance_id)
            tasks = repo.tasks_of_instance(conn, instance_id, open_only=False)
            self._require_access(actor, row, tasks)
            definition_id = row["definition_id"]
            version = self._versions.get(definition_id)
            if version is None:
                definition = repo.definition_by_id(conn, definition_id)
                if definition is not None:
                    version = self._versions[definition_id] = definition["version"]
            # external tasks out of retries; a process without external tasks has none (no query: the hot read path)
            model = self._models(conn, definition_id) if self._models is not None else None
            has_external = model is None or has_external_tasks(model.spec, model.subprocess_specs)
            incidents = external_store.incidents(conn, instance_id) if has_external else []
            job_incidents = job_store.open_incidents(conn, instance_id)  # timers out of retries (commands/jobs.py)
            running = row["status"] == "running"
            subscriptions = repo.instance_subscriptions(conn, instance_id) if running else []
            timers = repo.instance_timers(conn, instance_id) if running else []
        now = self.clock.now()
        variables: JsonObject = row["variables"] if isinstance(row["variables"], dict) else {}
        due_at, state = instance_deadline(
            row, variables.get(APPOINTMENT_VARIABLE), now, self.warning_ratio, self._calendar()
        )
        return InstanceView(
            id=row["id"],
            process_key=row["process_key"],
            business_key=row["business_key"],
            status=row["status"],
            started_by=row["started_by"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            error=row["error"],
            due_at=due_at,
            deadline_state=deadline_state(state),
            dossier=_dossier(row["dossier_code"], variables.get(STATUS_VARIABLE), row["lookup_secret"]),
            process_version=version,
            variables=variables,
            open_tasks=tuple(task_view(t, now) for t in tasks if t["status"] in repo.LIVE_STATUSES),
            incidents=tuple(
                Incident(
                    external_task_id=i["external_task_id"],
                    element_id=i["element_id"],
                    name=i["name"],
                    topic=i["topic"],
                    error_message=i["error_message"],
                    incident_at=i["incident_at"],
                )
                for i in incidents
            )
            + tuple(
                Incident(
                    external_task_id=None,
                    element_id=i["element_id"],
                    name=None,
                    topic=None,
                    error_message=i["message"],
                    incident_at=i["created_at"],
                    kind=i["job_kind"],
                    incident_id=i["id"],
                    attempts=i["attempts"],
                )
                for i in job_incidents
            ),
            waiting_for=waits(variables, subscriptions, timers),
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
    ) -> Page[InstanceSummary]:
        """Instances the caller may see, newest first."""
        limit, offset = page_bounds(limit, offset)
        visibility = None if actor.sees_all_instances else repo.instance_visibility_clause(actor.id, actor.groups)
        with self.db.transaction(write=False) as conn:
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
                offset=offset,
            )
        now = self.clock.now()
        items = []
        for row in rows:
            due_at, state = instance_deadline(row, row.get("appointment_at"), now, self.warning_ratio, self._calendar())
            items.append(
                InstanceSummary(
                    id=row["id"],
                    process_key=row["process_key"],
                    business_key=row["business_key"],
                    status=row["status"],
                    started_by=row["started_by"],
                    started_at=row["started_at"],
                    ended_at=row["ended_at"],
                    error=row["error"],
                    due_at=due_at,
                    deadline_state=deadline_state(state),
                    dossier=_dossier(row["dossier_code"], row.get("dossier_status"), row.get("lookup_secret")),
                )
            )
        return Page(tuple(items), total, limit, offset)

    def history(self, actor: Actor, instance_id: str) -> list[HistoryEvent]:
        """The instance's audit events, oldest first (the rule of ``get_instance``)."""
        self.get_instance(actor, instance_id)  # existence and access
        with self.db.transaction(write=False) as conn:
            return [history_event(r) for r in repo.history(conn, instance_id)]

    @staticmethod
    def _require_access(actor: Actor, instance: repo.Row, tasks: list[repo.Row]) -> None:
        require_access(actor, instance, tasks)


def require_access(actor: Actor, instance: repo.Row, tasks: list[repo.Row]) -> None:
    """Who may see an instance (the module's rule): Forbidden for anyone else. ``tasks``: all its human tasks."""
    if actor.sees_all_instances or instance["started_by"] == actor.id:
        return
    if any(actor.may_see_task(t) for t in tasks):
        return
    raise Forbidden(
        "you take no part in this instance", detail_vi="Bạn không tham gia hồ sơ này", instance_id=instance["id"]
    )
