"""Process instances. ``async`` handlers, engine work in the thread pool in one hop (see routes/tasks.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas import CancelInstance, HistoryEventOut, InstanceOut, InstancePage, StartInstance
from phoihop.deps import CurrentActor, InstancesDep, Limit, Offset, QueriesDep

router = APIRouter(prefix="/api/v1/process-instances", tags=["process instances"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InstanceOut,
    summary="Start an instance (roles integrator, officer, lead)",
)
async def start_instance(
    body: StartInstance,
    actor: CurrentActor,
    instances: InstancesDep,
    queries: QueriesDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    def start() -> tuple[str, bool, Any]:
        instance_id, created = instances.start(
            actor,
            body.process_key,
            version=body.version,
            business_key=body.business_key,
            variables=body.variables,
            idempotency_key=idempotency_key,
        )
        return instance_id, created, queries.get_instance(actor, instance_id)

    instance_id, created, instance = await run_in_threadpool(start)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/process-instances/{instance_id}"
    return instance


@router.get("", response_model=InstancePage, summary="Instances the caller may see, paged")
async def list_instances(
    actor: CurrentActor,
    queries: QueriesDep,
    process_key: str | None = None,
    business_key: str | None = None,
    status: str | None = None,
    dossier_code: Annotated[str | None, Query(max_length=100, description="mã hồ sơ (exact)")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    page = await run_in_threadpool(
        lambda: queries.list_instances(
            actor,
            process_key=process_key,
            business_key=business_key,
            status=status,
            dossier_code=dossier_code,
            limit=limit,
            offset=offset,
        )
    )
    return vars(page)


@router.get("/{instance_id}", response_model=InstanceOut)
async def get_instance(instance_id: str, actor: CurrentActor, queries: QueriesDep) -> Any:
    return await run_in_threadpool(queries.get_instance, actor, instance_id)


@router.get("/{instance_id}/history", response_model=list[HistoryEventOut], summary="Ordered audit events")
async def history(instance_id: str, actor: CurrentActor, queries: QueriesDep) -> Any:
    return await run_in_threadpool(queries.history, actor, instance_id)


@router.post("/{instance_id}/cancel", response_model=InstanceOut, summary="Cancel (roles lead, admin)")
async def cancel(
    instance_id: str,
    actor: CurrentActor,
    instances: InstancesDep,
    queries: QueriesDep,
    body: CancelInstance | None = None,
) -> Any:
    def cancel_and_read() -> Any:
        instances.cancel(actor, instance_id, reason=body.reason if body else None)
        return queries.get_instance(actor, instance_id)

    return await run_in_threadpool(cancel_and_read)
