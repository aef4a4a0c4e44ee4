"""The process owner's pages (role process-owner or admin; anyone else gets the 403 page): the definitions with their
versions and the version commands (suspend, activate, default version), a version opened in the bpmn-js modeler with
"validate" and "deploy as a new version", and the diff between two versions.

The same engine calls and rules as the API (api/routes/versions.py, api/routes/definitions.py): the modeler sends the
edited BPMN of one file and the form files edited in its form editor; the server puts them in place of those files
among the version's deployed files (DMN tables, forms, other BPMN files) and validates (DeploymentCommands.validate)
or deploys (DeploymentCommands.deploy) that set. The modeler's calls answer JSON (static/modeler.js draws it with
textContent and diagram markers; the form preview's HTML is this app's own escaped form template)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from phoihop.deps import DefinitionReadsDep, DeploymentsDep, VersionReadsDep, VersionsDep
from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.forms.files import MAX_FORM_BYTES, parse_form
from phoihop.engine.definitions.lint.findings import from_problem
from phoihop.engine.errors import DefinitionNotFound, EngineError, InvalidDefinition
from phoihop.engine.model import Actor, Finding, SourceFile
from phoihop.engine.reads.definitions import DefinitionReads
from phoihop.engine.reads.versions import DefaultVersion, VersionReads, VersionView
from phoihop.problems import status_for
from phoihop.web.deps import CsrfChecked, Page
from phoihop.web.errors import WebRoute
from phoihop.web.forms import build_fields
from phoihop.web.i18n import pick
from phoihop.web.templating import ENV, PageContext, render, security_headers

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Key = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
FileName = Annotated[str | None, Query(max_length=500, pattern=r"^[^\x00/\\]*$")]
OWNER_ROLE = "process-owner"


FormName = Annotated[str, Field(min_length=11, max_length=500, pattern=r"^[^\x00/\\]+\.form\.json$")]
FormText = Annotated[str, Field(min_length=1, max_length=MAX_FORM_BYTES, pattern=r"^[^\x00]*$")]


class EditedBpmn(BaseModel):
    """What the modeler sends: the edited BPMN file, the form files edited (or added) in its form editor, and, to
    deploy, the change note."""

    file: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00/\\]*$")
    xml: str = Field(min_length=1, max_length=5_000_000, pattern=r"^[^\x00]*$")
    forms: dict[FormName, FormText] = Field(default_factory=dict, max_length=100)
    change_note: str | None = Field(default=None, max_length=2000, pattern=r"^[^\x00]*$")


class FormPreview(BaseModel):
    """A form file as the form editor holds it, to be drawn as the officer will see it."""

    name: FormName
    text: FormText


def _owner(context: PageContext) -> Actor:
    assert context.session is not None
    actor = context.session.actor
    actor.require_role(OWNER_ROLE)
    return actor


# --- definitions and versions ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OwnedProcess:
    """A process key as the owner's list shows it: its name, its versions (newest first), its default version."""

    key: str
    name: str
    versions: tuple[VersionView, ...]
    default: DefaultVersion


def _definitions(definitions: DefinitionReads, versions: VersionReads) -> list[OwnedProcess]:
    """Every process key with its versions (newest first) and its default version, by name."""
    names = {p.key: p.name or p.key for p in definitions.list_definitions()}  # the latest version's name
    return [
        OwnedProcess(key, name, tuple(reversed(versions.list_versions(key))), versions.default_version(key))
        for key, name in sorted(names.items(), key=lambda item: item[1].casefold())
    ]


@router.get("/quy-trinh")
async def definitions_page(
    context: Page,
    definition_reads: DefinitionReadsDep,
    version_reads: VersionReadsDep,
    done: Literal["suspended", "activated", "default_set", "default_cleared"] | None = None,
    key: Annotated[str | None, Query(max_length=200)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    _owner(context)
    definitions = await run_in_threadpool(_definitions, definition_reads, version_reads)
    message = context.t(f"owner.done.{done}", process=key or "", n=version or "") if done else None
    return render(context, "owner_list.html", {"definitions": definitions, "message": message})


async def _version_command(
    context: PageContext, versions: VersionsDep, key: str, version: int | None, command: str
) -> Response:
    actor = _owner(context)

    def run() -> None:
        if command == "suspended":
            versions.suspend(actor, key, version or 0)
        elif command == "activated":
            versions.activate(actor, key, version or 0)
        elif command == "default_set":
            versions.set_default(actor, key, version or 0)
        else:
            versions.clear_default(actor, key)

    await run_in_threadpool(run)
    query = f"done={command}&key={key}" + (f"&version={version}" if version else "")
    return RedirectResponse(f"/quy-trinh?{query}#process-{key}", status_code=303)


@router.post("/quy-trinh/{key}/phien-ban/{version}/tam-dung", dependencies=[CsrfChecked])
async def suspend(key: Key, version: Version, context: Page, versions: VersionsDep) -> Response:
    return await _version_command(context, versions, key, version, "suspended")


@router.post("/quy-trinh/{key}/phien-ban/{version}/kich-hoat", dependencies=[CsrfChecked])
async def activate(key: Key, version: Version, context: Page, versions: VersionsDep) -> Response:
    return await _version_command(context, versions, key, version, "activated")


@router.post("/quy-trinh/{key}/phien-ban/{version}/mac-dinh", dependencies=[CsrfChecked])
async def make_default(key: Key, version: Version, context: Page, versions: VersionsDep) -> Response:
    return await _version_command(context, versions, key, version, "default_set")


@router.post("/quy-trinh/{key}/bo-mac-dinh", dependencies=[CsrfChecked])
async def clear_default(key: Key, context: Page, versions: VersionsDep) -> Response:
    return await _version_command(context, versions, key, None, "default_cleared")


# --- one version in the modeler -------------------------------------------------------------------------------------
def _bpmn_files(versions: VersionReads, key: str, version: int) -> list[str]:
    return [f.name for f in versions.version_files(key, version) if f.kind == "bpmn"]


def _main_file(versions: VersionReads, key: str, version: int, wanted: str | None) -> tuple[str, list[str]]:
    """The BPMN file to open (``wanted``, else the one that holds the process ``key``) and every BPMN file."""
    names = _bpmn_files(versions, key, version)
    if wanted is not None and wanted in names:
        return wanted, names
    for name in names:
        content, _media = versions.version_file(key, version, name)
        if f'id="{key}"' in content or f"id='{key}'" in content:
            return name, names
    if not names:
        raise DefinitionNotFound(
            f"version {version} of {key!r} has no BPMN file",
            detail_vi=f"Phiên bản {version} của {key!r} không có tệp BPMN",
            process_key=key,
            version=version,
        )
    return names[0], names


@router.get("/quy-trinh/{key}/phien-ban/{version}")
async def version_page(
    key: Key, version: Version, context: Page, version_reads: VersionReadsDep, tep: FileName = None
) -> Response:
    _owner(context)

    def read() -> dict[str, Any]:
        detail = version_reads.get_version(key, version)
        file, bpmn_files = _main_file(version_reads, key, version, tep)
        return {
            "version": detail,
            "file": file,
            "agencies": [{"code": a.code, "name": a.name_vi} for a in default_registry()],
            "bpmn_files": bpmn_files,
            "versions": [v.version for v in version_reads.list_versions(key)],
        }

    values = await run_in_threadpool(read)
    return render(context, "owner_version.html", {"key": key, **values})


@router.get("/quy-trinh/{key}/phien-ban/{version}/so-do.bpmn")
async def version_bpmn(
    key: Key, version: Version, context: Page, version_reads: VersionReadsDep, tep: FileName = None
) -> Response:
    """The BPMN XML the modeler and the diff viewers load (never rendered as a page: sandboxed, no scripts)."""
    _owner(context)

    def read() -> str:
        file, _names = _main_file(version_reads, key, version, tep)
        return version_reads.version_file(key, version, file)[0]

    content = await run_in_threadpool(read)
    headers = {**security_headers(), "Content-Security-Policy": "default-src 'none'; sandbox"}
    return Response(content.encode("utf-8"), media_type="application/xml; charset=utf-8", headers=headers)


def _edited_files(versions: VersionReads, key: str, version: int, edited: EditedBpmn) -> list[SourceFile]:
    """The version's deployed files with ``edited.file`` replaced by the edited XML."""
    stored = {f.name: f for f in versions.version_files(key, version)}
    if edited.file not in stored or stored[edited.file].kind != "bpmn":
        raise DefinitionNotFound(
            f"version {version} of {key!r} has no BPMN file {edited.file!r}",
            detail_vi=f"Phiên bản {version} của {key!r} không có tệp BPMN {edited.file!r}",
            process_key=key,
            version=version,
            file=edited.file,
        )
    files = []
    for name in stored:
        if name == edited.file:
            content = edited.xml
        elif name in edited.forms:
            content = edited.forms[name]
        else:
            content = versions.version_file(key, version, name)[0]
        files.append(SourceFile(name, content.encode("utf-8")))
    files += [SourceFile(name, text.encode("utf-8")) for name, text in edited.forms.items() if name not in stored]
    return files


def _finding_view(finding: Finding, lang: str) -> dict[str, Any]:
    return {
        "code": finding["code"],
        "severity": finding["severity"],
        "file": finding["file"],
        "element_id": finding["element_id"],
        "element_name": finding["element_name"],
        "line": finding["line"],
        "message": pick("vi" if lang == "vi" else "en", finding["message_vi"], finding["message_en"]),
    }


def _json_error(context: PageContext, exc: EngineError) -> JSONResponse:
    """An engine error as JSON for the modeler; a refused definition carries its problems as findings."""
    findings: list[dict[str, Any]] = []
    if isinstance(exc, InvalidDefinition):
        findings = [_finding_view(from_problem(found, exc.code), context.lang) for found in exc.problems]
    title = exc.title_vi if context.lang == "vi" else exc.title_en
    return JSONResponse(
        {
            "ok": False,
            "title": title,
            "detail": pick(context.lang, exc.detail_vi, exc.detail),
            "code": exc.code,
            "errors": findings,
            "warnings": [],
        },
        status_code=status_for(exc),
        headers=security_headers(),
    )


@router.post("/quy-trinh/{key}/phien-ban/{version}/kiem-tra", dependencies=[CsrfChecked])
async def validate(
    key: Key,
    version: Version,
    edited: EditedBpmn,
    context: Page,
    version_reads: VersionReadsDep,
    deployments: DeploymentsDep,
) -> Response:
    """Validate the edited file with the version's other files, as deploying would (strict as configured)."""
    actor = _owner(context)
    strict = context.settings.strict_lint

    def run() -> list[Finding]:
        files = _edited_files(version_reads, key, version, edited)
        return deployments.validate(actor, files, strict=strict)

    try:
        findings = await run_in_threadpool(run)
    except EngineError as exc:
        return _json_error(context, exc)
    errors = [_finding_view(f, context.lang) for f in findings if f["severity"] == "error"]
    warnings = [_finding_view(f, context.lang) for f in findings if f["severity"] != "error"]
    return JSONResponse({"ok": not errors, "errors": errors, "warnings": warnings}, headers=security_headers())


@router.post("/quy-trinh/{key}/phien-ban/{version}/trien-khai", dependencies=[CsrfChecked])
async def deploy(
    key: Key,
    version: Version,
    edited: EditedBpmn,
    context: Page,
    version_reads: VersionReadsDep,
    deployments: DeploymentsDep,
) -> Response:
    """Deploy the edited file with the version's other files: a new version of ``key`` unless nothing changed."""
    actor = _owner(context)
    strict = context.settings.strict_lint

    def run() -> dict[str, Any]:
        files = _edited_files(version_reads, key, version, edited)
        results = deployments.deploy(
            actor, files, strict=strict, change_note=(edited.change_note or "").strip() or None
        )
        result = next((r for r in results if r.key == key), results[0])
        return {
            "ok": True,
            "key": result.key,
            "version": result.version,
            "created": result.created,
            "default_version": result.default_version,
            "url": f"/quy-trinh/{result.key}/phien-ban/{result.version}",
            "diff_url": f"/quy-trinh/{result.key}/so-sanh?from={version}&to={result.version}",
            "errors": [],
            "warnings": [_finding_view(f, context.lang) for f in result.warnings],
        }

    try:
        body = await run_in_threadpool(run)
    except EngineError as exc:
        return _json_error(context, exc)
    return JSONResponse(body, status_code=201 if body["created"] else 200, headers=security_headers())


@router.get("/quy-trinh/{key}/phien-ban/{version}/bieu-mau.json")
async def version_forms(key: Key, version: Version, context: Page, version_reads: VersionReadsDep) -> Response:
    """The version's form files by name, as deployed (the modeler's form editor starts from them)."""
    _owner(context)

    def read() -> dict[str, str]:
        names = [f.name for f in version_reads.version_files(key, version) if f.kind == "form"]
        return {name: version_reads.version_file(key, version, name)[0] for name in names}

    return JSONResponse({"forms": await run_in_threadpool(read)}, headers=security_headers())


@router.post("/quy-trinh/xem-truoc-bieu-mau", dependencies=[CsrfChecked])
async def preview_form(preview: FormPreview, context: Page) -> Response:
    """A form file drawn with the task page's own form template, as the officer will see it (nothing is stored); a
    file that is no valid form answers its problem, as validate would."""
    _owner(context)
    try:
        form = parse_form(preview.name, preview.text.encode("utf-8"))
    except EngineError as exc:
        return _json_error(context, exc)
    fields = build_fields(form.schema, context.t)
    description = form.schema.get("description")
    html = ENV.get_template("_form_preview.html").render(
        {
            **context.values(),
            "fields": fields,
            "title": form.title or "",
            "description": description if isinstance(description, str) else "",
        }
    )
    return JSONResponse({"ok": True, "html": html}, headers=security_headers())


# --- the diff between two versions ----------------------------------------------------------------------------------
@router.get("/quy-trinh/{key}/so-sanh")
async def diff_page(
    key: Key,
    context: Page,
    version_reads: VersionReadsDep,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=2**31 - 1)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Elements added, removed and changed (field before/after) from version ``from`` to ``to`` (default: the two
    latest versions), with both diagrams marked."""
    _owner(context)

    def read() -> dict[str, Any]:
        listed = version_reads.list_versions(key)
        versions = [v.version for v in listed]
        newest = to_version or versions[-1]
        oldest = from_version or (newest - 1 if newest - 1 in versions else versions[0])
        diff = version_reads.definition_diff(key, oldest, newest)
        names = {v.version: v for v in listed}
        return {
            "diff": diff,
            "versions": versions,
            "from_version": oldest,
            "to_version": newest,
            "from_info": names.get(oldest),
            "to_info": names.get(newest),
            "from_file": _main_file(version_reads, key, oldest, None)[0],
            "to_file": _main_file(version_reads, key, newest, None)[0],
        }

    values = await run_in_threadpool(read)
    diff = values["diff"]
    marks = {
        "from": {
            "removed": [e.element_id for e in diff.removed],
            "changed": [e.element_id for e in diff.changed],
        },
        "to": {
            "added": [e.element_id for e in diff.added],
            "changed": [e.element_id for e in diff.changed],
        },
    }
    return render(context, "owner_diff.html", {"key": key, "marks": marks, **values})


__all__ = ["router"]
