"""Process definitions: deploy and list. ``async`` handlers, engine work in the thread pool in one hop."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from fastapi import APIRouter, File, UploadFile, status
from starlette.concurrency import run_in_threadpool

from engine.catalog import SourceFile

from ..deps import CurrentActor, QueriesDep, ServiceDep
from ..schemas import DefinitionOut, DeployedOut

router = APIRouter(prefix="/api/v1/process-definitions", tags=["process definitions"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=list[DeployedOut],
             summary="Deploy BPMN/DMN files (role process-owner)")
async def deploy(actor: CurrentActor, service: ServiceDep, files: list[UploadFile] = File(...)) -> Any:
    sources = [SourceFile(f.filename or f"file{i}", await f.read()) for i, f in enumerate(files)]
    deployed = await run_in_threadpool(service.deploy, actor, sources)
    return [vars(d) for d in deployed]


@router.get("", response_model=list[DefinitionOut], summary="Process keys with their versions")
async def list_definitions(actor: CurrentActor, queries: QueriesDep) -> Any:
    rows = await run_in_threadpool(queries.list_definitions)
    out = []
    for key, group in groupby(rows, key=lambda r: r["key"]):
        versions = list(group)
        out.append({"key": key, "name": versions[-1]["name"], "latest_version": versions[-1]["version"],
                    "versions": versions})
    return out
