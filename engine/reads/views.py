"""The result types every read shares: a page of results, the task as officers and integrators see it, the closed
sets of statuses and deadline states, and ``JsonObject`` for what is free-form by nature (process variables, form
JSON Schemas, audit event data).

Results are frozen dataclasses built from the store's rows here, in engine/reads: no read answers a row dict. The API's
schemas (api/schemas/) and the web app's templates read their attributes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

from sqlalchemy import Connection

from phoihop.engine.store.tables import Row
from phoihop.engine.time.deadlines import task_deadline_state

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from phoihop.engine.definitions.catalog import ProcessModel

__all__ = [
    "MAX_PAGE",
    "DeadlineState",
    "EarlierAnswer",
    "InstanceStatus",
    "JsonObject",
    "Models",
    "Page",
    "TaskDetail",
    "TaskDraftView",
    "TaskReturnView",
    "TaskStatus",
    "TaskView",
    "deadline_state",
    "extended",
    "page_bounds",
    "task_detail",
    "task_view",
]

JsonObject = Mapping[str, Any]  # free-form JSON: process variables, form JSON Schemas, audit event data
TaskStatus = Literal["open", "claimed", "awaiting_approval", "completed", "cancelled", "returned"]
InstanceStatus = Literal["running", "incident", "completed", "cancelled", "error"]
DeadlineState = Literal["on_time", "warning", "overdue", "early", "late"]  # engine.time.deadlines

MAX_PAGE = 200
T = TypeVar("T")
E = TypeVar("E")
Models = Callable[[Connection, int], "ProcessModel"]  # the compiled model of a stored definition, by its id


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: ``items`` from ``offset`` on (at most ``limit``), of ``total`` matching. A listing
    that caps its count (the inbox) says so with ``total_capped`` (``total`` is then the cap) and tells whether a
    next page exists with ``has_more``."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int
    has_more: bool = False
    total_capped: bool = False
    next_cursor: str | None = None  # a listing with keyset pages (the inbox): ``after`` of the next page


def page_bounds(limit: int, offset: int, maximum: int = MAX_PAGE) -> tuple[int, int]:
    """``(limit, offset)`` clamped: 1 ≤ limit ≤ ``maximum``, offset ≥ 0."""
    return max(1, min(limit, maximum)), max(0, offset)


def deadline_state(value: str | None) -> DeadlineState | None:
    """engine.time.deadlines answers one of ``DeadlineState`` (or None) as a plain ``str``."""
    return cast("DeadlineState | None", value)  # a string: the union is not built again at every call


@dataclass(frozen=True, slots=True)
class TaskView:
    """A human task as GET /api/v1/tasks shows it: its row, and its deadline state when it was read."""

    id: str
    instance_id: str
    process_key: str
    element_id: str
    name: str | None
    lane: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    assignee: str | None
    status: TaskStatus
    documentation: str | None
    form_key: str | None
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None
    warn_at: datetime | None
    required_role: str | None
    deadline_state: DeadlineState | None  # open: on_time, warning, overdue; completed: early, on_time, late


@dataclass(frozen=True, slots=True)
class TaskReturnView:
    """Why a task is open again (engine/commands/task_flow.py): a lead sent the case back to this step
    (``kind`` "send_back", from ``from_element_id``) or sent a draft back to its drafter ("draft_returned")."""

    reason: str
    by: str
    at: datetime
    kind: str
    from_task_id: str
    from_element_id: str


@dataclass(frozen=True, slots=True)
class TaskDraftView:
    """An officer's draft of a task that needs a lead's approval: the form data it was completed with."""

    data: JsonObject
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class EarlierAnswer:
    """A value the case has from an earlier step, shown read-only with a task (issue 10.3): ``field`` (the variable),
    ``label`` (its title in the form that asked for it), ``form_title`` (that form's title), ``value`` as stored and
    ``text`` as an officer reads it (engine.definitions.forms.display)."""

    field: str
    label: str
    form_title: str | None
    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class TaskDetail(TaskView):
    """One task with ``form``, the JSON Schema of the variables that complete it (None: it has no form), and
    ``values``: the case's current value of each of the form's top-level fields that the case has already (an earlier
    answer the form starts from, so that sending it untouched never overwrites it with a default). ``returned``: the
    latest send-back that (re)opened it; ``draft``: its officer's draft, when it needs a lead's approval."""

    form: JsonObject | None
    values: JsonObject
    returned: TaskReturnView | None = None
    draft: TaskDraftView | None = None
    approval: str | None = None  # the task's property approval ("lead": an officer's complete is a draft)
    earlier: tuple[EarlierAnswer, ...] = ()  # the fields the form's "x-show-earlier" names, in its order
    summary: tuple[EarlierAnswer, ...] = ()  # the case's start-form answers: the applicant and the request


def task_view(row: Row, now: datetime) -> TaskView:
    """A ``human_task`` row as a TaskView, its deadline state read at ``now``."""
    return TaskView(
        id=row["id"],
        instance_id=row["instance_id"],
        process_key=row["process_key"],
        element_id=row["element_id"],
        name=row["name"],
        lane=row["lane"],
        candidate_groups=tuple(row["candidate_groups"] or ()),
        candidate_users=tuple(row["candidate_users"] or ()),
        assignee=row["assignee"],
        status=row["status"],
        documentation=row["documentation"],
        form_key=row["form_key"],
        created_at=row["created_at"],
        claimed_at=row["claimed_at"],
        completed_at=row["completed_at"],
        completed_by=row["completed_by"],
        due_at=row["due_at"],
        warn_at=row.get("warn_at"),
        required_role=row.get("required_role"),
        deadline_state=deadline_state(task_deadline_state(row, now)),
    )


def task_detail(
    task: TaskView,
    form: JsonObject | None,
    values: JsonObject,
    *,
    returned: TaskReturnView | None = None,
    draft: TaskDraftView | None = None,
    approval: str | None = None,
    earlier: tuple[EarlierAnswer, ...] = (),
    summary: tuple[EarlierAnswer, ...] = (),
) -> TaskDetail:
    """``task`` with its form, the earlier answers its form starts from, those it shows, the case's summary, and
    the send-back and draft state of its approval."""
    return extended(
        task,
        TaskDetail,
        form=form,
        values=values,
        returned=returned,
        draft=draft,
        approval=approval,
        earlier=earlier,
        summary=summary,
    )


def extended(view: DataclassInstance, kind: type[E], **more: Any) -> E:
    """A ``kind`` (a result type that extends ``view``'s) with every field of ``view`` and ``more``."""
    return kind(**{f.name: getattr(view, f.name) for f in fields(view)}, **more)
