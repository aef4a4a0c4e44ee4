from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.health import HealthOut
from phoihop.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
async def healthz(container: ContainerDep) -> HealthOut:
    await run_in_threadpool(container.db.ping)
    return HealthOut(status="ok", database=container.db.dialect)
