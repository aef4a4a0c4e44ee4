from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter, File, UploadFile, status

from engine.catalog import SourceFile

from ..deps import CurrentActor, QueriesDep, ServiceDep
from ..schemas import DefinitionOut, DefinitionVersionOut, DeployedOut

router = APIRouter(prefix="/api/v1/process-definitions", tags=["process definitions"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=list[DeployedOut],
             summary="Deploy BPMN/DMN files (role process-owner)")
def deploy(actor: CurrentActor, service: ServiceDep, files: list[UploadFile] = File(...)) -> list[DeployedOut]:
    sources = [SourceFile(f.filename or f"file{i}", f.file.read()) for i, f in enumerate(files)]
    return [DeployedOut(**vars(d)) for d in service.deploy(actor, sources)]


@router.get("", response_model=list[DefinitionOut], summary="Process keys with their versions")
def list_definitions(actor: CurrentActor, queries: QueriesDep) -> list[DefinitionOut]:
    rows = queries.list_definitions()
    out = []
    for key, group in groupby(rows, key=lambda r: r["key"]):
        versions = [DefinitionVersionOut.model_validate(r) for r in group]
        out.append(DefinitionOut(key=key, name=versions[-1].name, latest_version=versions[-1].version,
                                 versions=versions))
    return out
