from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ..deps import ContainerDep
from ..schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
async def healthz(container: ContainerDep) -> Any:
    await run_in_threadpool(container.db.ping)
    return {"status": "ok", "database": container.db.dialect}
