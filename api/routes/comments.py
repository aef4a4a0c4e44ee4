"""Comments and a lead's instructions on a case (``/api/v1/process-instances/{id}/comments``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.comments import AddComment, CommentList, CommentOut
from phoihop.deps import CommentsDep, CurrentActor
from phoihop.engine.commands.comments import CommentView

router = APIRouter(prefix="/api/v1/process-instances", tags=["comments"])


@router.post(
    "/{instance_id}/comments",
    status_code=201,
    response_model=CommentOut,
    summary="Comment on a case or one of its tasks; a lead's instruction with kind=instruction",
    description="Plain text (line breaks kept, never HTML), at most 4000 characters. `@user_id` and `@agency_code` "
    "(`@stp`) of known people and agencies are stored as mentions and notify them. Officers and leads of the case "
    "comment; only a lead writes an instruction (403 role-required otherwise). An audit event `comment_added`.",
)
async def add_comment(instance_id: str, body: AddComment, actor: CurrentActor, comments: CommentsDep) -> CommentView:
    """Adds a comment to the case (or to one of its tasks with `task_id`), seen by every agency that works on the case.
    A lead's instruction has `kind=instruction`. An audit event `comment_added` records it."""
    return await run_in_threadpool(
        lambda: comments.add(actor, instance_id, body.text, kind=body.kind, task_id=body.task_id)
    )


@router.get("/{instance_id}/comments", response_model=CommentList, summary="The case's comments, oldest first")
async def list_comments(instance_id: str, actor: CurrentActor, comments: CommentsDep) -> dict[str, list[CommentView]]:
    """The case's comments and instructions, oldest first, with their author and agency. The caller must be allowed to
    see the case."""
    return {"items": await run_in_threadpool(comments.list, actor, instance_id)}
