"""The audit trail: the events that belong to no instance, with before/after values. Deployments, suspensions,
activations and default-version changes of process keys, and engine-wide ones such as calendar overrides. Process
owners and admins only. (An instance's own events are its history.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.audit import AuditPage
from phoihop.deps import AuditReadsDep, CurrentActor, Limit, Offset
from phoihop.engine.reads.audit import AuditEvent
from phoihop.engine.reads.views import Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
NO_NUL = r"^[^\x00]*$"


@router.get("", response_model=AuditPage, summary="Audit events of no instance, newest first (process-owner, admin)")
async def audit(
    actor: CurrentActor,
    audit_reads: AuditReadsDep,
    kind: Annotated[
        str | None,
        Query(
            max_length=50,
            pattern=NO_NUL,
            description="deployed, "
            "version_suspended, version_activated, default_version_set, "
            "default_version_cleared, calendar_changed",
        ),
    ] = None,
    process_key: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="ISO 8601 with an offset, e.g. 2026-11-28T00:00:00+07:00")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditEvent]:
    """Events that belong to no instance: deployments, version suspensions, default-version changes, calendar
    overrides, API keys. Paged with `limit`/`offset`; each event says who, what, when and from which request."""
    return await run_in_threadpool(
        lambda: audit_reads.audit_trail(
            actor, kind=kind, process_key=process_key, since=since, limit=limit, offset=offset
        )
    )
