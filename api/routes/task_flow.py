"""Send-back (trả lại) and a lead's approval of an officer's draft: ``POST /api/v1/tasks/{id}/return`` and
``/approve`` (engine/commands/task_flow.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.task_flow import ApproveTask, ReturnTask
from phoihop.api.schemas.tasks import TaskOut
from phoihop.deps import CurrentActor, TaskFlowDep
from phoihop.engine.reads.views import TaskView

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


@router.post(
    "/{task_id}/return",
    response_model=TaskOut,
    summary="Send the task back to an earlier human step, or a draft back to its drafter (a lead of its agency)",
    description="The task is closed as `returned` and the workflow is reset to the most recently completed human "
    "step on its path (or `to_element_id`), which opens again for its agency as a new task showing the reason "
    "(`returned` on GET /api/v1/tasks/{id}). On a task `awaiting_approval` the draft goes back to its drafter "
    "instead (status `claimed`). Answers the task that opened again. 409 `return-target-invalid` when the step "
    "named is not an earlier completed human step of the task's path.",
    responses=problem_responses(409),
)
async def return_task(task_id: str, body: ReturnTask, actor: CurrentActor, flow: TaskFlowDep) -> TaskView:
    """A lead sends the task back to an earlier human step with a reason (that step is opened again), or an officer's
    draft back to its drafter. An audit event `task_returned` records it."""
    returned = await run_in_threadpool(flow.send_back, actor, task_id, body.reason, body.to_element_id)
    return returned.task


@router.post(
    "/{task_id}/approve",
    response_model=TaskOut,
    summary="Approve an officer's draft: the task completes with the draft's data (a lead of its agency)",
    responses=problem_responses(409),
)
async def approve(task_id: str, actor: CurrentActor, flow: TaskFlowDep, body: ApproveTask | None = None) -> TaskView:
    """A lead approves the draft an officer submitted: the task completes with the draft's data. An audit event
    `task_approved` records it."""
    approved = await run_in_threadpool(flow.approve, actor, task_id, body.comment if body else None)
    return approved.task
