from __future__ import annotations

from fastapi import APIRouter

from ..deps import ContainerDep
from ..schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz(container: ContainerDep) -> HealthOut:
    container.db.ping()
    return HealthOut(status="ok", database=container.db.dialect)
