"""Human tasks. Handlers are ``async``; the engine work of each runs in the thread pool in one hop (a plain
``def`` handler costs two: the handler and the response serialization)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.tasks import CompletedTaskOut, CompleteTask, TaskDetailOut, TaskOut, TaskPage
from phoihop.deps import CurrentActor, Limit, Offset, TaskReadsDep, TasksDep
from phoihop.engine.commands.tasks import CompletedTaskView, TaskCommands
from phoihop.engine.model import Actor
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.reads.views import Page, TaskDetail, TaskView
from phoihop.engine.time.deadlines import DeadlineFilter

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

TaskStatus = Literal["open", "claimed", "awaiting_approval", "completed", "cancelled", "returned"]


@router.get("", response_model=TaskPage, summary="Tasks the caller may see (its groups, or assigned to it)")
async def list_tasks(
    actor: CurrentActor,
    task_reads: TaskReadsDep,
    status: TaskStatus | None = None,
    assignee: Annotated[
        str | None, Query(max_length=200, description='"me", or a person\'s id: the tasks that person holds')
    ] = None,
    candidate_group: str | None = None,
    process_key: str | None = None,
    instance_id: str | None = None,
    deadline: Annotated[
        DeadlineFilter | None, Query(description="open tasks on time, in their warning period (sắp đến hạn) or overdue")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="text in the task's name, business key, dossier code, case title or applicant, ignoring case "
            "and diacritics",
        ),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    after: Annotated[
        str | None,
        Query(
            max_length=500,
            description="`next_cursor` of the page before: the tasks after its last one (a keyset page; the same "
            "filters must be given again)",
        ),
    ] = None,
) -> Page[TaskView]:
    """The human tasks the caller may see (of its agencies' groups, or assigned to it), paged, filtered by assignee,
    candidate group, process, instance or deadline state (on time, warning, overdue)."""
    return await run_in_threadpool(
        lambda: task_reads.list_tasks(
            actor,
            status=status,
            assignee=assignee,
            candidate_group=candidate_group,
            process_key=process_key,
            instance_id=instance_id,
            deadline=deadline,
            text=q,
            limit=limit,
            offset=offset,
            after=after,
        )
    )


@router.get("/{task_id}", response_model=TaskDetailOut, summary="One task, with its form (JSON Schema)")
async def get_task(task_id: str, actor: CurrentActor, task_reads: TaskReadsDep) -> TaskDetail:
    """One task with its form (JSON Schema), its current data, its due date and deadline state."""
    return await run_in_threadpool(task_reads.get_task_detail, actor, task_id)


def _claim(tasks: TaskCommands, task_reads: TaskReads, actor: Actor, task_id: str, *, claim: bool) -> TaskView:
    (tasks.claim if claim else tasks.unclaim)(actor, task_id)
    return task_reads.get_task(actor, task_id)


@router.post(
    "/{task_id}/claim",
    response_model=TaskOut,
    summary="Claim a task for the caller (an officer of its agency)",
    responses=problem_responses(409),
)
async def claim(task_id: str, actor: CurrentActor, tasks: TasksDep, task_reads: TaskReadsDep) -> TaskView:
    """The caller takes the task: it is theirs until they complete or release it. Another officer's claim is a 409."""
    return await run_in_threadpool(lambda: _claim(tasks, task_reads, actor, task_id, claim=True))


@router.post(
    "/{task_id}/unclaim",
    response_model=TaskOut,
    summary="Release a claimed task back to the agency's queue",
    responses=problem_responses(409),
)
async def unclaim(task_id: str, actor: CurrentActor, tasks: TasksDep, task_reads: TaskReadsDep) -> TaskView:
    """The caller releases the task they claimed, back to their agency's queue."""
    return await run_in_threadpool(lambda: _claim(tasks, task_reads, actor, task_id, claim=False))


@router.post(
    "/{task_id}/complete",
    response_model=CompletedTaskOut,
    summary="Complete a task with its form's variables; answers the task and the instance's next tasks",
    responses=problem_responses(409),
)
async def complete(
    task_id: str, actor: CurrentActor, tasks: TasksDep, body: CompleteTask | None = None
) -> CompletedTaskView:
    """Completes the task with `variables`, checked against its form; the instance moves on to its next steps. The
    answer is the task as it is now, and in `next_tasks` the instance's open tasks that are in the caller's inbox
    (same rows as GET /api/v1/tasks): a client goes on to the next step without another request."""
    completed = await run_in_threadpool(tasks.complete, actor, task_id, body.variables if body else {})
    return CompletedTaskView.of(completed)  # the task as the UPDATE … RETURNING left its row
