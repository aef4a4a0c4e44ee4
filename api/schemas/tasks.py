"""Human tasks: completing one, and how a task and the inbox listing travel (engine.reads.views, engine.reads.tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from phoihop.api.schemas.common import DeadlineState, In, Out, PageOut, Variables
from phoihop.api.schemas.task_flow import DraftOut, ReturnedOut


class CompleteTask(In):
    variables: Variables = Field(
        default_factory=dict,
        description="The task form's fields (GET /api/v1/tasks/{task_id} gives its JSON Schema)",
        examples=[
            {
                "appraisal_recommendation": "approve",
                "appraisal_opinion": "Hồ sơ đáp ứng điều kiện cấp giấy chứng nhận.",
            }
        ],
    )


class TaskOut(Out):
    id: str
    instance_id: str
    process_key: str
    element_id: str
    name: str | None
    lane: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    status: str = Field(
        description="open, claimed, awaiting_approval (a draft for the leads), completed, cancelled, returned"
    )
    documentation: str | None
    form_key: str | None
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None
    warn_at: datetime | None = Field(default=None, description="From here the task is 'warning' (sắp đến hạn)")
    deadline_state: DeadlineState | None = Field(
        default=None, description="Open: on_time, warning, overdue; completed: early, on_time, late; else null"
    )
    required_role: str | None = Field(default=None, description="Only actors with this role claim and complete")


class CompletedTaskOut(TaskOut):
    next_tasks: list[TaskOut] = Field(
        default_factory=list,
        description="The instance's open tasks now, those in the caller's inbox (rows as GET /api/v1/tasks lists "
        "them), oldest first: what to work on next without another request; empty when the instance ended, waits "
        "for a message or timer, or moved on to another agency's step",
    )


class EarlierAnswerOut(Out):
    field: str = Field(description="The variable")
    label: str = Field(description="Its title in the form that asked for it (Vietnamese)")
    form_title: str | None = Field(default=None, description="The title of that earlier form")
    value: Any = Field(default=None, description="The value as stored (null: the case has none yet)")
    text: str = Field(description="The value as an officer reads it: option titles, dd/mm/yyyy, đồng, Có/Không")


class TaskDetailOut(TaskOut):
    form: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema (2020-12) of the variables that complete the task, labels in Vietnamese; null: none",
    )
    values: dict[str, Any] = Field(
        default_factory=dict,
        description="The case's current value of each top-level field of the form it has already (earlier answers): "
        "a form starts from these, before the schema's defaults",
    )
    returned: ReturnedOut | None = Field(
        default=None, description="Why this task is open again: the latest send-back (trả lại) that opened it"
    )
    approval: str | None = Field(
        default=None, description="lead: an officer's complete is a draft that a lead of the agency approves"
    )
    draft: DraftOut | None = Field(
        default=None, description="The officer's draft of a task that needs a lead's approval (approval=\"lead\")"
    )
    earlier: list[EarlierAnswerOut] = Field(
        default_factory=list,
        description='The earlier fields the form lists in "x-show-earlier", read-only, labelled and formatted',
    )
    summary: list[EarlierAnswerOut] = Field(
        default_factory=list,
        description="The case's start-form answers (the applicant and the request), labelled and formatted",
    )


class TaskPage(PageOut):
    items: list[TaskOut]
    has_more: bool = Field(description="a next page exists (offset + limit)")
    total_capped: bool = Field(
        description="the count stopped at its cap (1000, or offset + limit when larger): `total` is the cap and more "
        "tasks match; page on with `has_more`"
    )
    next_cursor: str | None = Field(
        default=None,
        description="when `has_more`: give it as `after` (with the same filters) for the next page, read from where "
        "this one ended whatever the size of the inbox (offset paging reads the rows it skips)",
    )
