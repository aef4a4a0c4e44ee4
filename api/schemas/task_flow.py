"""Send-back (trả lại) and a lead's approval of an officer's draft (engine/commands/task_flow.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from phoihop.api.schemas.common import In, Out
from phoihop.engine.commands.task_flow import MAX_REASON

Reason = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=MAX_REASON)]


class ReturnTask(In):
    reason: Reason = Field(description="Why the task is sent back (lý do trả lại), shown to the step that reopens")
    to_element_id: Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=200)] | None = Field(
        default=None,
        description="The earlier human step to reopen (its BPMN element id); default: the most recently completed "
        "human step on this task's path. Ignored for a draft awaiting approval, which goes back to its drafter.",
    )


class ApproveTask(In):
    comment: Reason | None = Field(default=None, description="The lead's comment (ý kiến phê duyệt)")


class ReturnedOut(Out):
    reason: str
    by: str = Field(description="The lead who sent it back (user id)")
    at: datetime
    kind: str = Field(description="send_back: the case came back to this step; draft_returned: a draft came back")
    from_task_id: str
    from_element_id: str


class DraftOut(Out):
    data: dict[str, Any] = Field(description="The form data the officer completed the task with")
    by: str = Field(description="The drafting officer (user id)")
    at: datetime
