"""Process instances. ``async`` handlers, engine work in the thread pool in one hop (see routes/tasks.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.instances import CancelInstance, HistoryEventOut, InstanceOut, InstancePage, StartInstance
from phoihop.deps import CurrentActor, InstanceReadsDep, InstancesDep, Limit, Offset
from phoihop.engine.reads.instances import HistoryEvent, InstanceSummary, InstanceView
from phoihop.engine.reads.views import Page

router = APIRouter(prefix="/api/v1/process-instances", tags=["process instances"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InstanceOut,
    summary="Start an instance (roles integrator, officer, lead)",
    responses={
        200: {
            "model": InstanceOut,
            "description": "A retry: an instance was already started by this caller with this `Idempotency-Key` and "
            "the same body; it is answered as it is now, nothing new is started",
        },
        **problem_responses(
            **{
                "404": "No deployed process with this `process_key` (or no such `version`)",
                "409": "The version is suspended: no new starts (`/problems/definition-suspended`)",
                "422": "Invalid body, variables refused by the start form, or an `Idempotency-Key` reused with a "
                "different body (`/problems/idempotency-conflict`)",
            }
        ),
    },
)
async def start_instance(
    body: StartInstance,
    actor: CurrentActor,
    instances: InstancesDep,
    instance_reads: InstanceReadsDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Makes a retry safe: the same caller sending the same key and body again gets the instance "
            "started the first time (200) instead of a second one (201). Use the portal's own dossier or request id.",
            examples=["DVC-2026-000123"],
        ),
    ] = None,
) -> InstanceView:
    """Starts the process `process_key` (the latest active version, the default version, or exactly `version`) with
    the start `variables`, checked against the start form. The answer is the instance as it is once the engine
    stopped: its first open tasks, its dossier code when the process receives a dossier, and `waiting_for` when it
    waits for a message or a timer. `Location` names the instance. Send an `Idempotency-Key` so that a retry after
    a lost answer does not start the dossier twice."""

    def start() -> tuple[bool, InstanceView]:
        instance_id, created = instances.start(
            actor,
            body.process_key,
            version=body.version,
            business_key=body.business_key,
            variables=body.variables,
            idempotency_key=idempotency_key,
        )
        return created, instance_reads.get_instance(actor, instance_id)

    created, instance = await run_in_threadpool(start)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/process-instances/{instance.id}"
    return instance


@router.get("", response_model=InstancePage, summary="Instances the caller may see, paged")
async def list_instances(
    actor: CurrentActor,
    instance_reads: InstanceReadsDep,
    process_key: str | None = None,
    business_key: str | None = None,
    status: str | None = None,
    dossier_code: Annotated[str | None, Query(max_length=100, description="mã hồ sơ (exact)")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[InstanceSummary]:
    """The instances the caller may see (those its agencies work on; all for an integrator's own starts and an admin),
    newest first, filtered by process, business key, status or dossier code."""
    return await run_in_threadpool(
        lambda: instance_reads.list_instances(
            actor,
            process_key=process_key,
            business_key=business_key,
            status=status,
            dossier_code=dossier_code,
            limit=limit,
            offset=offset,
        )
    )


@router.get(
    "/{instance_id}",
    response_model=InstanceOut,
    summary="One instance: variables, open tasks, incidents, dossier, what it waits for",
)
async def get_instance(instance_id: str, actor: CurrentActor, instance_reads: InstanceReadsDep) -> InstanceView:
    """The instance: status, variables, open tasks, incidents, its dossier (code and status) and, while it waits for a
    message or a timer, `waiting_for`: the message name and correlation keys to send, or the timer's due time."""
    return await run_in_threadpool(instance_reads.get_instance, actor, instance_id)


@router.get("/{instance_id}/history", response_model=list[HistoryEventOut], summary="Ordered audit events")
async def history(instance_id: str, actor: CurrentActor, instance_reads: InstanceReadsDep) -> list[HistoryEvent]:
    """The instance's audit events, oldest first: who did what, when and on which element (starts, claims, completions,
    returns, messages, timers, documents, comments)."""
    return await run_in_threadpool(instance_reads.history, actor, instance_id)


@router.post(
    "/{instance_id}/cancel",
    response_model=InstanceOut,
    summary="Cancel (roles lead, admin)",
    responses=problem_responses(409),
)
async def cancel(
    instance_id: str,
    actor: CurrentActor,
    instances: InstancesDep,
    instance_reads: InstanceReadsDep,
    body: CancelInstance | None = None,
) -> InstanceView:
    """Cancels a running instance with an optional `reason`: its open tasks and timers are withdrawn. An audit event
    records who cancelled it."""

    def cancel_and_read() -> InstanceView:
        instances.cancel(actor, instance_id, reason=body.reason if body else None)
        return instance_reads.get_instance(actor, instance_id)

    return await run_in_threadpool(cancel_and_read)
