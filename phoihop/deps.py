"""Dependency aliases shared by the API and the web app: settings, the engine's handlers and reads, the actor.

Each handler and each read of the engine container has its alias (``TasksDep``, ``InstancesDep``, …,
``TaskReadsDep``, ``InstanceReadsDep``, …), so a route asks for exactly the commands it runs and the reads it
makes."""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool

from phoihop.auth import TokenVerifier, Unauthenticated
from phoihop.engine.commands.assignments import Assignments
from phoihop.engine.commands.calendar import CalendarService
from phoihop.engine.commands.comments import CommentCommands
from phoihop.engine.commands.decisions import Decisions
from phoihop.engine.commands.delegations import Delegations
from phoihop.engine.commands.deployments import DeploymentCommands
from phoihop.engine.commands.documents import DocumentCommands
from phoihop.engine.commands.external_tasks import ExternalTaskCommands
from phoihop.engine.commands.instances import InstanceCommands
from phoihop.engine.commands.messages import MessageCommands
from phoihop.engine.commands.notifications import NotificationCommands
from phoihop.engine.commands.task_flow import TaskFlowCommands
from phoihop.engine.commands.tasks import TaskCommands
from phoihop.engine.commands.versions import VersionCommands
from phoihop.engine.commands.web_sessions import WebSessions
from phoihop.engine.container import EngineContainer
from phoihop.engine.instance_migration.commands import InstanceMigration
from phoihop.engine.model import Actor
from phoihop.engine.reads.audit import AuditReads
from phoihop.engine.reads.dashboard import Dashboard
from phoihop.engine.reads.definitions import DefinitionReads
from phoihop.engine.reads.documents import DocumentReads
from phoihop.engine.reads.external_tasks import ExternalTaskReads
from phoihop.engine.reads.instance_views import InstanceViews
from phoihop.engine.reads.instances import InstanceReads
from phoihop.engine.reads.slips import SlipReads
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.reads.versions import VersionReads
from phoihop.engine.reads.workload import WorkloadReads
from phoihop.settings import Settings

# The dependencies below are ``async def`` on purpose: they do no blocking work, and a plain ``def`` dependency
# costs a hop to the thread pool on every request. Handlers that touch the database stay ``def``.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> EngineContainer:
    container: EngineContainer = request.app.state.container
    return container


async def get_container(request: Request) -> EngineContainer:
    return _engine(request)


async def get_deployments(request: Request) -> DeploymentCommands:
    return _engine(request).deployments


async def get_versions(request: Request) -> VersionCommands:
    return _engine(request).versions


async def get_instances(request: Request) -> InstanceCommands:
    return _engine(request).instances


async def get_tasks(request: Request) -> TaskCommands:
    return _engine(request).tasks


async def get_task_flow(request: Request) -> TaskFlowCommands:
    return _engine(request).task_flow


async def get_messages(request: Request) -> MessageCommands:
    return _engine(request).messages


async def get_external_tasks(request: Request) -> ExternalTaskCommands:
    return _engine(request).external_tasks


async def get_instance_migration(request: Request) -> InstanceMigration:
    return _engine(request).instance_migration


async def get_decisions(request: Request) -> Decisions:
    return _engine(request).decisions


async def get_dashboard(request: Request) -> Dashboard:
    return _engine(request).dashboard


async def get_calendar(request: Request) -> CalendarService:
    return _engine(request).calendar


async def get_web_sessions(request: Request) -> WebSessions:
    return _engine(request).web_sessions


async def get_documents(request: Request) -> DocumentCommands:
    return _engine(request).documents


async def get_document_reads(request: Request) -> DocumentReads:
    return _engine(request).document_reads


async def get_comments(request: Request) -> CommentCommands:
    return _engine(request).comments


async def get_notifications(request: Request) -> NotificationCommands:
    return _engine(request).notifications


async def get_task_reads(request: Request) -> TaskReads:
    return _engine(request).task_reads


async def get_instance_reads(request: Request) -> InstanceReads:
    return _engine(request).instance_reads


async def get_instance_views(request: Request) -> InstanceViews:
    return _engine(request).instance_views


async def get_definition_reads(request: Request) -> DefinitionReads:
    return _engine(request).definition_reads


async def get_version_reads(request: Request) -> VersionReads:
    return _engine(request).version_reads


async def get_audit_reads(request: Request) -> AuditReads:
    return _engine(request).audit_reads


async def get_external_task_reads(request: Request) -> ExternalTaskReads:
    return _engine(request).external_task_reads


async def get_assignments(request: Request) -> Assignments:
    return _engine(request).assignments


async def get_delegations(request: Request) -> Delegations:
    return _engine(request).delegations


async def get_workload_reads(request: Request) -> WorkloadReads:
    return _engine(request).workload_reads


async def get_slip_reads(request: Request) -> SlipReads:
    return _engine(request).slip_reads


# The two ways in, declared as OpenAPI security schemes (``/docs`` then offers "Authorize"). Neither refuses by
# itself (auto_error=False): get_actor reads the raw headers and answers a problem+json 401 of its own. get_actor does
# not list them as sub-dependencies (FastAPI would run both on every request only to document them): api/openapi.py
# applies the schemes to every operation that depends on get_actor.
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A JWT: this server's own (HS256, `phoihop token`) or, when OIDC is configured, the identity "
    "provider's access token. Header `Authorization: Bearer <token>`.",
    auto_error=False,
)
API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="apiKey",
    description="An integrator's API key (`phoihop apikey create`), header `X-API-Key: <key>`.",
    auto_error=False,
)


async def get_actor(request: Request) -> Actor:
    authorization = request.headers.get("authorization")
    x_api_key = request.headers.get("x-api-key")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(
                "Authorization must be 'Bearer <token>'", "Tiêu đề Authorization phải là 'Bearer <mã>'"
            )
        verifier: TokenVerifier = request.app.state.token_verifier
        token = token.strip()
        # a token verified before costs nothing; a new one may fetch the OIDC provider's keys: off the event loop
        cached = verifier.cached(token)
        actor = cached if cached is not None else await run_in_threadpool(_first_use, request, verifier, token)
        return await _with_delegations(request, actor)
    if x_api_key:
        keyed = await run_in_threadpool(_engine(request).api_keys.authenticate, x_api_key)
        if keyed is None:
            raise Unauthenticated("unknown or revoked API key", "Khóa API không tồn tại hoặc đã bị thu hồi")
        return keyed
    raise Unauthenticated(
        "authentication required: Bearer token or X-API-Key", "Cần xác thực: mã Bearer hoặc X-API-Key"
    )


def _first_use(request: Request, verifier: TokenVerifier, token: str) -> Actor:
    """Verify a token not seen before, and keep its person in the directory of people (phân công, ủy quyền)."""
    actor = verifier.actor(token)
    _engine(request).delegations.record_person(actor)
    return actor


async def _with_delegations(request: Request, actor: Actor) -> Actor:
    """``actor`` acting also with the delegations in force for them now (from memory; a query when stale)."""
    delegations = _engine(request).delegations
    return delegations.extend(actor) if delegations.fresh() else await run_in_threadpool(delegations.extend, actor)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ContainerDep = Annotated[EngineContainer, Depends(get_container)]
DeploymentsDep = Annotated[DeploymentCommands, Depends(get_deployments)]
VersionsDep = Annotated[VersionCommands, Depends(get_versions)]
InstancesDep = Annotated[InstanceCommands, Depends(get_instances)]
TasksDep = Annotated[TaskCommands, Depends(get_tasks)]
TaskFlowDep = Annotated[TaskFlowCommands, Depends(get_task_flow)]
MessagesDep = Annotated[MessageCommands, Depends(get_messages)]
ExternalTasksDep = Annotated[ExternalTaskCommands, Depends(get_external_tasks)]
InstanceMigrationDep = Annotated[InstanceMigration, Depends(get_instance_migration)]
DecisionsDep = Annotated[Decisions, Depends(get_decisions)]
DashboardDep = Annotated[Dashboard, Depends(get_dashboard)]
CalendarDep = Annotated[CalendarService, Depends(get_calendar)]
WebSessionsDep = Annotated[WebSessions, Depends(get_web_sessions)]
DocumentsDep = Annotated[DocumentCommands, Depends(get_documents)]
DocumentReadsDep = Annotated[DocumentReads, Depends(get_document_reads)]
CommentsDep = Annotated[CommentCommands, Depends(get_comments)]
NotificationsDep = Annotated[NotificationCommands, Depends(get_notifications)]
TaskReadsDep = Annotated[TaskReads, Depends(get_task_reads)]
InstanceReadsDep = Annotated[InstanceReads, Depends(get_instance_reads)]
InstanceViewsDep = Annotated[InstanceViews, Depends(get_instance_views)]
DefinitionReadsDep = Annotated[DefinitionReads, Depends(get_definition_reads)]
VersionReadsDep = Annotated[VersionReads, Depends(get_version_reads)]
AuditReadsDep = Annotated[AuditReads, Depends(get_audit_reads)]
ExternalTaskReadsDep = Annotated[ExternalTaskReads, Depends(get_external_task_reads)]
AssignmentsDep = Annotated[Assignments, Depends(get_assignments)]
DelegationsDep = Annotated[Delegations, Depends(get_delegations)]
WorkloadReadsDep = Annotated[WorkloadReads, Depends(get_workload_reads)]
SlipReadsDep = Annotated[SlipReads, Depends(get_slip_reads)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]


def attachment_headers(name: str, size: int) -> dict[str, str]:
    """The headers of a document download, for the API and the web app alike: always an attachment (RFC 6266, the
    name in UTF-8 per RFC 5987 and an ASCII fallback), never sniffed, never run as a page."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in ascii_name).strip() or "tai-lieu"
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}",
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
