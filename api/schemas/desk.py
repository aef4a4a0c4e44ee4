"""Phân công (assigning a task, an agency's workload) and ủy quyền (delegations)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from phoihop.api.schemas.common import In, Out, Text
from phoihop.api.schemas.tasks import TaskOut


class AssignTask(In):
    user_id: Text = Field(min_length=1, max_length=200, description="the officer (their sign-in id) to take the task")


class OfficerLoadOut(Out):
    user_id: str
    name: str
    roles: list[str]
    open_tasks: int = Field(description="open tasks assigned to the person")
    overdue: int = Field(description="of them, past their due time")
    due_soon: int = Field(description="of them, in their warning period (sắp đến hạn)")
    tasks: list[TaskOut]


class WorkloadOut(Out):
    agency: str
    agency_name: str
    officers: list[OfficerLoadOut]
    unassigned: list[TaskOut] = Field(description="open tasks of the agency nobody holds")
    others: list[TaskOut] = Field(description="open tasks held by someone not among the agency's known officers")
    read_at: datetime


class CreateDelegation(In):
    to_user_id: Text = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Text = Field(min_length=1, max_length=2000)


class DelegationOut(Out):
    id: int
    from_user_id: str
    from_name: str
    to_user_id: str
    to_name: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    signing: str = Field(description='"ký thay" (the delegator is a lead) or "thừa ủy quyền"')
    status: str = Field(description="scheduled, active, ended or revoked")


class PersonOut(Out):
    id: str
    name: str
    groups: list[str]
    roles: list[str]
