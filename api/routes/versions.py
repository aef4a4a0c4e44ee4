"""Versions of a process definition: list, one version and its files, suspend/activate, the default version, and the
element diff between two versions. Reads are open to every authenticated caller (as the definition list is);
changes need the role process-owner (or admin). Rules in engine/commands/versions.py."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.versions import (
    DefaultVersionIn,
    DefaultVersionOut,
    DefinitionDiffOut,
    VersionDetailOut,
    VersionFileOut,
    VersionOut,
    VersionStatusIn,
)
from phoihop.deps import CurrentActor, VersionReadsDep, VersionsDep
from phoihop.engine.reads.versions import DefaultVersion, DefinitionDiff, VersionDetail, VersionFile, VersionView

router = APIRouter(prefix="/api/v1/process-definitions", tags=["process versions"])

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
Key = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL, description="process key (BPMN process id)")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
VersionQuery = Annotated[int, Query(ge=1, le=2**31 - 1)]
FileName = Annotated[str, Path(min_length=1, max_length=500, pattern=NO_NUL)]


@router.get(
    "/{key}/versions",
    response_model=list[VersionOut],
    summary="Every version: hash, deployer, time, change note, status, default, instance counts",
)
async def list_versions(key: Key, actor: CurrentActor, version_reads: VersionReadsDep) -> list[VersionView]:
    """Every deployed version of the process: content hash, who deployed it and when, change note, active or suspended,
    default or not, and its running and finished instances."""
    return await run_in_threadpool(version_reads.list_versions, key)


@router.get("/{key}/versions/{version}", response_model=VersionDetailOut, summary="One version and its files")
async def get_version(key: Key, version: Version, actor: CurrentActor, version_reads: VersionReadsDep) -> VersionDetail:
    """One version: its deployment record and the files deployed with it."""
    return await run_in_threadpool(version_reads.get_version, key, version)


@router.get(
    "/{key}/versions/{version}/files",
    response_model=list[VersionFileOut],
    summary="The files deployed with a version (BPMN, DMN, forms)",
)
async def version_files(
    key: Key, version: Version, actor: CurrentActor, version_reads: VersionReadsDep
) -> list[VersionFile]:
    """The names, kinds and hashes of the files deployed with the version (BPMN, DMN, forms, slips)."""
    return await run_in_threadpool(version_reads.version_files, key, version)


@router.get(
    "/{key}/versions/{version}/files/{name:path}",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}, "application/json": {}}}},
    summary="One file of a version, exactly as deployed",
)
async def version_file(
    key: Key, version: Version, name: FileName, actor: CurrentActor, version_reads: VersionReadsDep
) -> Response:
    """One file of the version, byte for byte as deployed."""
    content, media_type = await run_in_threadpool(version_reads.version_file, key, version, name)
    # a download, never rendered in place: an uploaded XML file may carry XHTML with scripts
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    charset = "; charset=utf-8" if media_type == "application/xml" else ""
    return Response(content.encode("utf-8"), media_type=media_type + charset, headers=headers)


@router.post(
    "/{key}/versions/{version}/suspend",
    response_model=VersionOut,
    summary="No new starts on this version; its running instances go on (role process-owner)",
    responses=problem_responses(409),
)
async def suspend(
    key: Key,
    version: Version,
    actor: CurrentActor,
    versions: VersionsDep,
    version_reads: VersionReadsDep,
    body: VersionStatusIn | None = None,
) -> VersionView:
    """Suspends the version: new starts naming it are refused (409), its running instances go on. An audit event
    records it."""

    def run() -> VersionView:
        versions.suspend(actor, key, version, reason=body.reason if body else None)
        return _listed(version_reads.list_versions(key), version)

    return await run_in_threadpool(run)


@router.post(
    "/{key}/versions/{version}/activate",
    response_model=VersionOut,
    summary="Allow new starts on a suspended version again (role process-owner)",
    responses=problem_responses(409),
)
async def activate(
    key: Key,
    version: Version,
    actor: CurrentActor,
    versions: VersionsDep,
    version_reads: VersionReadsDep,
    body: VersionStatusIn | None = None,
) -> VersionView:
    """Allows new starts on a suspended version again. An audit event records it."""

    def run() -> VersionView:
        versions.activate(actor, key, version, reason=body.reason if body else None)
        return _listed(version_reads.list_versions(key), version)

    return await run_in_threadpool(run)


@router.get(
    "/{key}/default-version",
    response_model=DefaultVersionOut,
    summary="The version starts naming none get, and whether it was chosen explicitly",
)
async def get_default(key: Key, actor: CurrentActor, version_reads: VersionReadsDep) -> DefaultVersion:
    """Which version a start naming none gets: the explicit default, or the latest active version."""
    return await run_in_threadpool(version_reads.default_version, key)


@router.put(
    "/{key}/default-version",
    response_model=DefaultVersionOut,
    summary="Make a version the default for new starts; it stays until cleared (role process-owner)",
)
async def set_default(
    key: Key, body: DefaultVersionIn, actor: CurrentActor, versions: VersionsDep, version_reads: VersionReadsDep
) -> DefaultVersion:
    """Makes `version` the default for starts naming none, until cleared (even when newer versions are deployed). An
    audit event records it."""

    def run() -> DefaultVersion:
        versions.set_default(actor, key, body.version)
        return version_reads.default_version(key)

    return await run_in_threadpool(run)


@router.delete(
    "/{key}/default-version",
    response_model=DefaultVersionOut,
    summary="Back to the latest active version for new starts (role process-owner)",
)
async def clear_default(
    key: Key, actor: CurrentActor, versions: VersionsDep, version_reads: VersionReadsDep
) -> DefaultVersion:
    """Clears the explicit default: starts naming no version get the latest active one again."""

    def run() -> DefaultVersion:
        versions.clear_default(actor, key)
        return version_reads.default_version(key)

    return await run_in_threadpool(run)


@router.get(
    "/{key}/diff",
    response_model=DefinitionDiffOut,
    summary="Elements added, removed and changed (field by field) from version `from` to version `to`",
)
async def diff(
    key: Key,
    actor: CurrentActor,
    version_reads: VersionReadsDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
) -> DefinitionDiff:
    """Elements added, removed and changed (field by field: name, assignment, due date, form, script) between version
    `from` and version `to`, to review before migrating instances."""
    return await run_in_threadpool(version_reads.definition_diff, key, from_version, to_version)


def _listed(versions: list[VersionView], version: int) -> VersionView:
    return next(v for v in versions if v.version == version)
