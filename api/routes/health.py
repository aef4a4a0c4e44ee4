"""Liveness (``/healthz``: the process answers and reaches its database) and readiness (``/readyz``: also the schema
at head and deploy-on-start done; compiling goes on after it, phoihop.startup)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from phoihop import problems
from phoihop.api.schemas.health import HealthOut, ReadyOut
from phoihop.deps import ContainerDep
from phoihop.startup import StartupWork, not_ready

router = APIRouter(tags=["health"])


@router.get(
    "/healthz", response_model=HealthOut, summary="Liveness: 200 while the process answers and reaches its database"
)
async def healthz(container: ContainerDep) -> HealthOut:
    """Liveness: 200 while the process answers and reaches its database. No authentication; for a load balancer or an
    orchestrator."""
    await run_in_threadpool(container.db.ping)
    return HealthOut(status="ok", database=container.db.dialect)


@router.get(
    "/readyz",
    response_model=ReadyOut,
    summary="Readiness: 200 once the database answers, its schema is at head and the start-up work is done",
    responses={503: {"description": "not ready: problem+json whose detail says why"}},
)
async def readyz(request: Request, container: ContainerDep) -> ReadyOut | Response:
    """Readiness: 503 (problem+json, naming the reason) until the database answers, its schema is at head and deploy-
    on-start is done. No authentication."""
    work: StartupWork = request.app.state.startup
    reason = await run_in_threadpool(not_ready, container, work)
    if reason is not None:
        return problems.problem(
            503,
            reason.code,
            "Chưa sẵn sàng / Not ready",
            reason.detail,
            instance=request.url.path,
            extra={"detail_vi": reason.detail_vi},
        )
    return ReadyOut(status="ready")
