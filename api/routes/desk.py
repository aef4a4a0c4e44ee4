"""Phân công and ủy quyền: a lead assigns a task to an officer of the agency and sees the agency's workload; a
person delegates their tasks and role for a period (engine.commands.assignments, engine.commands.delegations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.desk import AssignTask, CreateDelegation, DelegationOut, PersonOut, WorkloadOut
from phoihop.api.schemas.tasks import TaskOut
from phoihop.deps import AssignmentsDep, CurrentActor, DelegationsDep, WorkloadReadsDep
from phoihop.engine.commands.delegations import DelegationView, PersonView
from phoihop.engine.reads.views import TaskView
from phoihop.engine.reads.workload import Workload

router = APIRouter(prefix="/api/v1", tags=["assignment and delegation"])


@router.post(
    "/tasks/{task_id}/assign",
    response_model=TaskOut,
    summary="Assign (or reassign) a task to an officer of its agency (lead of the agency, or admin)",
    responses=problem_responses(409),
)
async def assign(task_id: str, body: AssignTask, actor: CurrentActor, assignments: AssignmentsDep) -> TaskView:
    """Assigns the task to an officer of the task's agency (or reassigns it), with an optional note; the officer is
    notified. An audit event `task_assigned` records it."""
    return await run_in_threadpool(assignments.assign, actor, task_id, body.user_id)


@router.get(
    "/agencies/{code}/workload",
    response_model=WorkloadOut,
    summary="An agency's officers with their open, overdue and due-soon tasks (lead of the agency, or admin)",
)
async def workload(
    code: Annotated[str, Path(min_length=1, max_length=200)], actor: CurrentActor, reads: WorkloadReadsDep
) -> Workload:
    """The officers of an agency, each with their open, overdue and soon-due tasks, for a lead sharing out work."""
    return await run_in_threadpool(reads.workload, actor, code)


@router.get("/people", response_model=list[PersonOut], summary="People who signed in, optionally of one agency")
async def people(
    actor: CurrentActor,
    delegations: DelegationsDep,
    agency: Annotated[str | None, Query(max_length=200)] = None,
) -> list[PersonView]:
    """The people who signed in at least once (the directory used for assignment and delegation), optionally only those
    of the agency `agency`."""
    return await run_in_threadpool(delegations.people, actor, agency)


@router.post(
    "/delegations",
    response_model=DelegationOut,
    status_code=201,
    summary="Delegate the caller's tasks and role to another person for a period (ủy quyền)",
)
async def create_delegation(body: CreateDelegation, actor: CurrentActor, delegations: DelegationsDep) -> DelegationView:
    """The caller delegates their tasks (and their role, for a lead) to another person of their agency from `starts_at`
    to `ends_at`; the delegate's acts carry `on_behalf_of` and the signing form (ký thay, thừa ủy quyền). An audit
    event `delegation_created` records it."""
    return await run_in_threadpool(
        lambda: delegations.create(
            actor, to_user_id=body.to_user_id, starts_at=body.starts_at, ends_at=body.ends_at, reason=body.reason
        )
    )


@router.get("/delegations", response_model=list[DelegationOut], summary="The delegations the caller gave or received")
async def list_delegations(actor: CurrentActor, delegations: DelegationsDep) -> list[DelegationView]:
    """The delegations the caller gave and those they received, current and past."""
    return await run_in_threadpool(delegations.mine, actor)


@router.delete("/delegations/{delegation_id}", status_code=204, summary="Revoke a delegation now")
async def revoke_delegation(
    delegation_id: Annotated[int, Path(ge=1, le=2**31 - 1)], actor: CurrentActor, delegations: DelegationsDep
) -> Response:
    """Ends the delegation now; acts already done under it stay. An audit event `delegation_revoked` records it."""
    await run_in_threadpool(delegations.revoke, actor, delegation_id)
    return Response(status_code=204)
