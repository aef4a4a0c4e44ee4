"""One task: its page with the form rendered from the task's JSON Schema, and claim, unclaim and complete. The
same commands and rules as POST /api/v1/tasks/{id}/claim, /unclaim and /complete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import DocumentsDep, InstanceViewsDep, TaskReadsDep, TasksDep
from phoihop.engine.errors import FormInvalid
from phoihop.engine.model import Actor
from phoihop.engine.reads.instance_views import InstanceLabels, InstanceViews
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.reads.views import TaskDetail, TaskView
from phoihop.web.deps import CsrfChecked, Page
from phoihop.web.errors import WebRoute, is_htmx
from phoihop.web.forms import build_fields, errors_by_field, parse_submission
from phoihop.web.routes.documents import attach_form_files
from phoihop.web.templating import PageContext, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _form_values(form: Any) -> dict[str, list[str]]:
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


def _labels(instance_views: InstanceViews, task: TaskView) -> InstanceLabels:
    return instance_views.instance_labels([task])[task.instance_id]


@dataclass(frozen=True)
class _Labels:
    """What a task page shows of the task's case and of the people named on it (by display name, not login id)."""

    case: InstanceLabels
    names: dict[str, str]


def _read_task(
    task_reads: TaskReads, instance_views: InstanceViews, actor: Actor, task_id: str
) -> tuple[TaskDetail, _Labels]:
    task = task_reads.get_task_detail(actor, task_id)
    names = instance_views.display_names([task.assignee, task.completed_by])
    return task, _Labels(_labels(instance_views, task), names)


def _task_page(
    context: PageContext,
    task: TaskDetail,
    labels: _Labels,
    *,
    raw: dict[str, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    local: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    t = context.t
    fields = build_fields(task.form, t, values=task.values, raw=raw)
    placed, general = errors_by_field(errors or [], fields, context.lang)
    for name, messages in (local or {}).items():
        placed.setdefault(name, []).extend(messages)
    if placed or general:
        fields = build_fields(task.form, t, values=task.values, raw=raw, errors=placed)
    return render(
        context,
        "task.html",
        {
            "task": task,
            "labels": labels.case,
            "names": labels.names,
            "fields": fields,
            "general_errors": general,
            "has_errors": bool(placed or general),
        },
        status=status,
    )


@router.get("/cong-viec/{task_id}")
async def task_page(
    task_id: str, context: Page, task_reads: TaskReadsDep, instance_views: InstanceViewsDep
) -> Response:
    assert context.session is not None
    task, labels = await run_in_threadpool(_read_task, task_reads, instance_views, context.session.actor, task_id)
    return _task_page(context, task, labels)


async def _claim(
    task_id: str,
    context: PageContext,
    tasks: TasksDep,
    task_reads: TaskReadsDep,
    instance_views: InstanceViewsDep,
    *,
    claim: bool,
) -> Response:
    assert context.session is not None
    actor = context.session.actor

    def run() -> tuple[TaskView, InstanceLabels]:
        (tasks.claim if claim else tasks.unclaim)(actor, task_id)
        task = task_reads.get_task(actor, task_id)
        return task, _labels(instance_views, task)

    task, labels = await run_in_threadpool(run)
    if is_htmx(context.request):  # the inbox row, redrawn
        message = context.t("task.claimed" if claim else "task.unclaimed")
        return render(context, "task_row_fragment.html", {"task": task, "labels": labels, "message": message})
    return RedirectResponse(f"/cong-viec/{task_id}", status_code=303)


@router.post("/cong-viec/{task_id}/nhan", dependencies=[CsrfChecked])
async def claim(
    task_id: str, context: Page, tasks: TasksDep, task_reads: TaskReadsDep, instance_views: InstanceViewsDep
) -> Response:
    return await _claim(task_id, context, tasks, task_reads, instance_views, claim=True)


@router.post("/cong-viec/{task_id}/tra-lai", dependencies=[CsrfChecked])
async def unclaim(
    task_id: str, context: Page, tasks: TasksDep, task_reads: TaskReadsDep, instance_views: InstanceViewsDep
) -> Response:
    return await _claim(task_id, context, tasks, task_reads, instance_views, claim=False)


@router.post("/cong-viec/{task_id}/hoan-thanh", dependencies=[CsrfChecked])
async def complete(
    task_id: str,
    context: Page,
    tasks: TasksDep,
    task_reads: TaskReadsDep,
    instance_views: InstanceViewsDep,
    documents: DocumentsDep,
) -> Response:
    """Complete with the submitted form; a 422 shows the page again with each error at its field."""
    assert context.session is not None
    actor = context.session.actor
    form = await context.request.form()
    raw = _form_values(form)
    task, labels = await run_in_threadpool(_read_task, task_reads, instance_views, actor, task_id)
    raw, refused = await run_in_threadpool(attach_form_files, documents, actor, task, form, raw)  # document fields
    variables, local = parse_submission(task.form, raw, context.t)
    local = {**refused, **local}
    if local:
        return _task_page(context, task, labels, raw=raw, local=local, status=422)
    try:
        await run_in_threadpool(tasks.complete, actor, task_id, variables)
    except FormInvalid as exc:
        return _task_page(context, task, labels, raw=raw, errors=exc.errors, status=422)
    return RedirectResponse(f"/?done={task_id}", status_code=303)
