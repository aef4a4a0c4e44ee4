"""The inbox: the caller's open tasks with the API's list semantics (GET /api/v1/tasks: tasks of the caller's groups
or assigned to it), filtered by scope, process, deadline state and text, sorted by due time, with the count of
every filter choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import DefinitionReadsDep, InstanceViewsDep, TaskReadsDep
from phoihop.engine.errors import EngineError
from phoihop.engine.model import Actor
from phoihop.engine.reads.definitions import DefinitionReads
from phoihop.engine.reads.instance_views import InstanceViews
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.time.deadlines import FILTERS
from phoihop.web.deps import Page
from phoihop.web.errors import WebRoute, is_htmx
from phoihop.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Scope = Literal["all", "mine", "unclaimed"]
SCOPES: tuple[Scope, ...] = ("all", "mine", "unclaimed")
PAGE_SIZE = 50
CHOICE_COUNT_CAP = 1000  # the count beside a filter choice stops here: no count reads more rows than this


@dataclass(frozen=True)
class InboxFilters:
    scope: Scope = "all"
    process: str | None = None
    deadline: str | None = None
    q: str | None = None

    def list_args(self, **override: Any) -> dict[str, Any]:
        """Keyword arguments of TaskReads.list_tasks for these filters (with some replaced)."""
        values = {"scope": self.scope, "process": self.process, "deadline": self.deadline, "q": self.q, **override}
        scope = values["scope"]
        return {
            "status": "open" if scope == "unclaimed" else None,
            "assignee_me": scope == "mine",
            "process_key": values["process"],
            "deadline": values["deadline"],
            "text": values["q"],
        }

    def url(self, **override: Any) -> str:
        values = {"scope": self.scope, "process": self.process, "deadline": self.deadline, "q": self.q, **override}
        query = urlencode({k: v for k, v in values.items() if v and not (k == "scope" and v == "all")})
        return "/" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class InboxReads:
    """What the inbox reads: tasks, process names, and the labels of the tasks' instances."""

    tasks: TaskReads
    definitions: DefinitionReads
    instance_views: InstanceViews


def read_inbox(reads: InboxReads, actor: Actor, filters: InboxFilters, offset: int) -> dict[str, Any]:
    """The page of tasks (with their instances' labels) and the count of each filter choice (each count holds the
    other filters)."""

    page = reads.tasks.list_tasks(actor, **filters.list_args(), limit=PAGE_SIZE, offset=offset)
    processes = {p.key: p.name or p.key for p in reads.definitions.list_definitions()}
    choices: dict[tuple[str, str | None], dict[str, Any]] = {
        **{("scope", scope): filters.list_args(scope=scope) for scope in SCOPES},
        **{("deadline", state): filters.list_args(deadline=state) for state in (None, *FILTERS)},
        **{("process", key): filters.list_args(process=key) for key in processes},
    }
    # every count in one read, each up to CHOICE_COUNT_CAP ("1000+" past it)
    counts = {
        key: f"{found}+" if more else str(found)
        for key, (found, more) in reads.tasks.count_choices(actor, choices, cap=CHOICE_COUNT_CAP).items()
    }
    return {
        "tasks": page.items,
        "labels": reads.instance_views.instance_labels(page.items),
        "total": page.total,
        "total_capped": page.total_capped,
        "has_more": page.has_more,
        "offset": offset,
        "scope_counts": {scope: counts["scope", scope] for scope in SCOPES},
        "deadline_counts": {state: counts["deadline", state] for state in (None, *FILTERS)},
        "process_counts": {key: counts["process", key] for key in processes},
        "processes": processes,
    }


@router.get("/")
async def inbox(
    context: Page,
    task_reads: TaskReadsDep,
    definitions: DefinitionReadsDep,
    instance_views: InstanceViewsDep,
    scope: Annotated[str, Query(max_length=20)] = "all",
    process: Annotated[str, Query(max_length=200)] = "",
    deadline: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    done: Annotated[str | None, Query(max_length=36)] = None,
) -> Response:
    """Filters come from a plain GET form: an empty choice (or an unknown one) means no filter."""
    assert context.session is not None
    actor = context.session.actor
    filters = InboxFilters(
        next((s for s in SCOPES if s == scope), "all"),
        process.strip() or None,
        deadline if deadline in FILTERS else None,
        q.strip() or None,
    )

    def read() -> dict[str, Any]:
        values = read_inbox(InboxReads(task_reads, definitions, instance_views), actor, filters, offset)
        if done:  # the task just completed: its name for the message (the caller completed it, so may see it)
            try:
                values["done_task"] = task_reads.get_task(actor, done)
            except EngineError:
                values["done_task"] = None
        return values

    values = await run_in_threadpool(read)
    values.setdefault("done_task", None)
    values.update(filters=filters, page_size=PAGE_SIZE, deadline_states=FILTERS, scopes=SCOPES)
    return render(context, "inbox_fragment.html" if is_htmx(context.request) else "inbox.html", values)
