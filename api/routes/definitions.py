"""Process definitions: deploy, validate, list, start forms. ``async`` handlers, engine work in the thread pool in one
hop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.definitions import DefinitionOut, DeployedOut, StartFormOut, ValidationOut
from phoihop.deps import CurrentActor, DefinitionReadsDep, DeploymentsDep, SettingsDep
from phoihop.engine.commands.deployments import DeployedProcess
from phoihop.engine.model import SourceFile
from phoihop.engine.reads.definitions import ProcessDefinition, StartForm

router = APIRouter(prefix="/api/v1/process-definitions", tags=["process definitions"])
STRICT = 'refuse the deployment on any "6 rõ" finding, not only on errors (always so with PHOIHOP_STRICT_LINT)'
CHANGE_NOTE = "what changed and why (ghi chú thay đổi), kept with each new version and in the audit trail"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=list[DeployedOut],
    summary="Deploy BPMN/DMN files (role process-owner)",
)
async def deploy(
    actor: CurrentActor,
    deployments: DeploymentsDep,
    settings: SettingsDep,
    files: list[UploadFile] = File(...),
    strict_query: Annotated[bool, Query(alias="strict", description=STRICT)] = False,
    strict_form: Annotated[bool, Form(alias="strict", description=STRICT)] = False,
    change_note: Annotated[str | None, Form(max_length=2000, pattern=r"^[^\x00]*$", description=CHANGE_NOTE)] = None,
) -> list[DeployedProcess]:
    """ "6 rõ" gaps come back as ``warnings``; in strict mode (PHOIHOP_STRICT_LINT, or ``strict=true`` as a query
    parameter or form field) they refuse the deployment with 422 like any other error."""
    sources = [SourceFile(f.filename or f"file{i}", await f.read()) for i, f in enumerate(files)]
    strict = settings.strict_lint or strict_query or strict_form
    return await run_in_threadpool(
        lambda: deployments.deploy(actor, sources, strict=strict, change_note=change_note or None)
    )


@router.post(
    "/validate",
    response_model=ValidationOut,
    summary="Check BPMN/DMN files as deploying would, storing nothing (role process-owner)",
)
async def validate(
    actor: CurrentActor,
    deployments: DeploymentsDep,
    settings: SettingsDep,
    files: list[UploadFile] = File(...),
    strict_query: Annotated[bool, Query(alias="strict", description=STRICT)] = False,
    strict_form: Annotated[bool, Form(alias="strict", description=STRICT)] = False,
) -> ValidationOut:
    """The same upload as deploying. 200 with every error and warning (XML and schema errors with their lines,
    references, expressions, Camunda constructs that cannot run, the "6 rõ" lint) for files that could be read; 422
    ``unsafe-xml`` for a hostile or oversized file, 413 for a body over the upload limit. ``phoihop lint`` prints
    the same findings (engine.definitions.lint.deployment.lint_files)."""
    sources = [SourceFile(f.filename or f"file{i}", await f.read()) for i, f in enumerate(files)]
    strict = settings.strict_lint or strict_query or strict_form
    findings = await run_in_threadpool(lambda: deployments.validate(actor, sources, strict=strict))
    errors = [finding for finding in findings if finding["severity"] == "error"]
    warnings = [finding for finding in findings if finding["severity"] != "error"]
    return ValidationOut.model_validate({"valid": not errors, "errors": errors, "warnings": warnings})


@router.get("", response_model=list[DefinitionOut], summary="Process keys with their versions")
async def list_definitions(actor: CurrentActor, definitions: DefinitionReadsDep) -> list[ProcessDefinition]:
    """Every deployed process key with its versions, which are active or suspended, and which one a start naming no
    version gets."""
    return await run_in_threadpool(definitions.list_definitions)


@router.get(
    "/{key}/start-form",
    response_model=StartFormOut,
    summary="The start form (JSON Schema of the start variables) of the latest active version or ?version=N",
)
async def start_form(
    key: str,
    actor: CurrentActor,
    definitions: DefinitionReadsDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> StartForm:
    """The JSON Schema that the `variables` of a start of this process must satisfy (the process folder's
    start.form.json), as the engine checks it. A portal can build its form from it."""
    return await run_in_threadpool(definitions.start_form, key, version)
