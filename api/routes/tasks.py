from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from ..deps import CurrentActor, Limit, Offset, QueriesDep, ServiceDep
from ..schemas import CompleteTask, TaskOut, TaskPage

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

TaskStatus = Literal["open", "claimed", "completed", "cancelled"]


@router.get("", response_model=TaskPage, summary="Tasks the caller may see (its groups, or assigned to it)")
def list_tasks(actor: CurrentActor, queries: QueriesDep, status: TaskStatus | None = None,
               assignee: Literal["me"] | None = None, candidate_group: str | None = None,
               process_key: str | None = None, instance_id: str | None = None,
               limit: Limit = 50, offset: Offset = 0) -> Any:
    page = queries.list_tasks(actor, status=status, assignee_me=assignee == "me", candidate_group=candidate_group,
                              process_key=process_key, instance_id=instance_id, limit=limit, offset=offset)
    return vars(page)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: str, actor: CurrentActor, queries: QueriesDep) -> Any:
    return queries.get_task(actor, task_id)


@router.post("/{task_id}/claim", response_model=TaskOut)
def claim(task_id: str, actor: CurrentActor, service: ServiceDep, queries: QueriesDep) -> Any:
    service.claim_task(actor, task_id)
    return queries.get_task(actor, task_id)


@router.post("/{task_id}/unclaim", response_model=TaskOut)
def unclaim(task_id: str, actor: CurrentActor, service: ServiceDep, queries: QueriesDep) -> Any:
    service.unclaim_task(actor, task_id)
    return queries.get_task(actor, task_id)


@router.post("/{task_id}/complete", response_model=TaskOut)
def complete(task_id: str, actor: CurrentActor, service: ServiceDep, body: CompleteTask | None = None) -> Any:
    return service.complete_task(actor, task_id, body.variables if body else {}).task
