"""External tasks, as Camunda 7's external-task API (fields in snake_case): workers fetch and lock tasks by topic,
then complete them, report a failure or a BPMN error, extend or release the lock. Role integrator (or admin).
``async`` handlers, engine work in the thread pool in one hop (see routes/tasks.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.external_tasks import (
    CompleteExternalTaskIn,
    ExtendLockIn,
    ExternalTaskBpmnErrorIn,
    ExternalTaskDetailOut,
    ExternalTaskFailureIn,
    ExternalTaskOut,
    ExternalTaskPage,
    FetchAndLockIn,
    LockedExternalTaskOut,
    SetRetriesIn,
)
from phoihop.deps import CurrentActor, ExternalTaskReadsDep, ExternalTasksDep, Limit, Offset
from phoihop.engine.commands.external_tasks import FetchTopic
from phoihop.engine.reads.external_tasks import ExternalTaskDetail, ExternalTaskView, LockedExternalTask
from phoihop.engine.reads.views import Page

router = APIRouter(prefix="/api/v1/external-tasks", tags=["external tasks"])


Status = Literal["open", "locked", "completed", "incident", "cancelled"]


@router.post(
    "/fetch-and-lock",
    response_model=list[LockedExternalTaskOut],
    summary="Lock up to max_tasks tasks of the topics for this worker (Camunda fetchAndLock)",
)
async def fetch_and_lock(
    body: FetchAndLockIn, actor: CurrentActor, external_tasks: ExternalTasksDep
) -> list[LockedExternalTask]:
    """An external worker (a connector to another system) fetches up to `max_tasks` tasks of its `topics` and locks
    them for `lock_duration` ms; a task is handed to one worker at a time."""
    topics = [
        FetchTopic(t.topic, t.lock_duration, tuple(t.variables) if t.variables is not None else None)
        for t in body.topics
    ]
    return await run_in_threadpool(
        lambda: external_tasks.fetch_and_lock(
            actor, body.worker_id, topics, max_tasks=body.max_tasks, use_priority=body.use_priority
        )
    )


@router.get("", response_model=ExternalTaskPage, summary="External tasks, oldest first")
async def list_external_tasks(
    actor: CurrentActor,
    external_task_reads: ExternalTaskReadsDep,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    status: Status | None = None,
    instance_id: Annotated[str | None, Query(max_length=36)] = None,
    process_key: Annotated[str | None, Query(max_length=200)] = None,
    worker_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ExternalTaskView]:
    """External tasks waiting, locked or in an incident, oldest first, optionally of a topic or instance."""
    return await run_in_threadpool(
        lambda: external_task_reads.list_tasks(
            actor,
            topic=topic,
            status=status,
            instance_id=instance_id,
            process_key=process_key,
            worker_id=worker_id,
            limit=limit,
            offset=offset,
        )
    )


@router.get("/{task_id}", response_model=ExternalTaskDetailOut, summary="One external task, with error details")
async def get_external_task(
    task_id: str, actor: CurrentActor, external_task_reads: ExternalTaskReadsDep
) -> ExternalTaskDetail:
    """One external task: its topic, variables, lock, retries left and its last error."""
    return await run_in_threadpool(external_task_reads.get_task, actor, task_id)


@router.post(
    "/{task_id}/complete",
    response_model=ExternalTaskOut,
    summary="The locking worker completes the task; the instance moves on",
    responses=problem_responses(409),
)
async def complete(
    task_id: str, body: CompleteExternalTaskIn, actor: CurrentActor, external_tasks: ExternalTasksDep
) -> ExternalTaskView:
    """The worker holding the lock completes the task with `variables`; the instance moves on."""
    return await run_in_threadpool(external_tasks.complete, actor, task_id, body.worker_id, body.variables)


@router.post(
    "/{task_id}/failure",
    response_model=ExternalTaskOut,
    summary="The locking worker failed: retries left (0: incident) and a retry timeout",
    responses=problem_responses(409),
)
async def failure(
    task_id: str, body: ExternalTaskFailureIn, actor: CurrentActor, external_tasks: ExternalTasksDep
) -> ExternalTaskView:
    """The worker holding the lock reports a failure: with retries left the task is offered again after `retry_timeout`
    ms, with none it becomes an incident."""
    return await run_in_threadpool(
        lambda: external_tasks.handle_failure(
            actor,
            task_id,
            body.worker_id,
            error_message=body.error_message,
            error_details=body.error_details,
            retries=body.retries,
            retry_timeout=body.retry_timeout,
        )
    )


@router.post(
    "/{task_id}/bpmn-error",
    response_model=ExternalTaskOut,
    summary="The locking worker reports a business error, caught by an error boundary event",
    responses=problem_responses(409),
)
async def bpmn_error(
    task_id: str, body: ExternalTaskBpmnErrorIn, actor: CurrentActor, external_tasks: ExternalTasksDep
) -> ExternalTaskView:
    """The worker holding the lock reports a business error (`error_code`), which an error boundary event of the task
    catches; uncaught, the call is refused."""
    return await run_in_threadpool(
        lambda: external_tasks.handle_bpmn_error(
            actor, task_id, body.worker_id, body.error_code, error_message=body.error_message, variables=body.variables
        )
    )


@router.post(
    "/{task_id}/extend-lock",
    response_model=ExternalTaskOut,
    summary="The locking worker keeps the task new_duration ms from now",
    responses=problem_responses(409),
)
async def extend_lock(
    task_id: str, body: ExtendLockIn, actor: CurrentActor, external_tasks: ExternalTasksDep
) -> ExternalTaskView:
    """The worker holding the lock keeps it `new_duration` ms from now."""
    return await run_in_threadpool(external_tasks.extend_lock, actor, task_id, body.worker_id, body.new_duration)


@router.post(
    "/{task_id}/unlock",
    response_model=ExternalTaskOut,
    summary="Release the lock, whoever holds it",
    responses=problem_responses(409),
)
async def unlock(task_id: str, actor: CurrentActor, external_tasks: ExternalTasksDep) -> ExternalTaskView:
    """Releases the task's lock so that another worker may fetch it."""
    return await run_in_threadpool(external_tasks.unlock, actor, task_id)


@router.put(
    "/{task_id}/retries",
    response_model=ExternalTaskOut,
    summary="Set the retries left: > 0 resolves an incident, 0 makes one",
    responses=problem_responses(409),
)
async def set_retries(
    task_id: str, body: SetRetriesIn, actor: CurrentActor, external_tasks: ExternalTasksDep
) -> ExternalTaskView:
    """Sets the retries left of an external task: more than 0 resolves its incident (it is offered again), 0
    makes one."""
    return await run_in_threadpool(external_tasks.set_retries, actor, task_id, body.retries)
