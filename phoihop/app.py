"""create_app(): routers, problem handlers, body limits, offline docs, and a lifespan that builds the engine."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from phoihop import problems
from phoihop.api import docs, openapi
from phoihop.api.limits import BodySizeLimit
from phoihop.api.routes import (
    audit,
    calendar,
    comments,
    dashboard,
    decisions,
    definitions,
    desk,
    documents,
    external_tasks,
    health,
    incidents,
    instance_migration,
    instances,
    messages,
    metrics,
    notifications,
    public,
    slips,
    task_flow,
    tasks,
    users,
    versions,
    webhooks,
)
from phoihop.auth import ClaimNames, OidcVerifier, TokenVerifier
from phoihop.engine.clock import Clock
from phoihop.engine.container import build_engine
from phoihop.engine.store.schema import upgrade_if_needed
from phoihop.event_stream import router as event_stream_router
from phoihop.observability import RequestContext, observe_command
from phoihop.settings import Settings
from phoihop.startup import DEPLOYER, StartupWork
from phoihop.web.app import install as install_web_app

log = logging.getLogger("phoihop")
__all__ = ["DEPLOYER", "create_app", "oidc_verifier"]


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """The identity provider's token verifier (API bearer tokens and the web app's sign-in), when configured."""
    if settings.oidc_issuer is None or settings.oidc_client_id is None:
        return None
    return OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience or settings.oidc_client_id,
        jwks_url=settings.oidc_jwks_url,
        claim_names=ClaimNames(settings.oidc_name_claim, settings.oidc_groups_claim, settings.oidc_roles_claim),
    )


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, upgrade_schema: bool = True) -> FastAPI:
    """The application; without ``settings`` they are read from the environment now (PHOIHOP_*)."""
    resolved = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if resolved.using_dev_secret:
            log.warning("!!! PHOIHOP_ENV=dev: using the built-in development secret. Tokens are forgeable. !!!")
        if upgrade_schema and upgrade_if_needed(resolved.database_url):
            log.info("database schema upgraded to head")
        container = build_engine(resolved.database_url, clock=clock, **resolved.engine_options())
        container.executor.observer = observe_command
        app.state.settings = resolved
        app.state.container = container
        app.state.token_verifier = TokenVerifier(resolved.secret, oidc=oidc_verifier(resolved))
        app.state.startup = startup = StartupWork()
        startup.start(container, resolved)  # calendar file, deploy-on-start, warming: after the port listens
        if resolved.run_scheduler:
            container.scheduler.start()
        try:
            yield
        finally:
            startup.join()
            container.close()

    app = FastAPI(
        title="phoihop",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Máy chủ quy trình BPMN phối hợp liên ngành (Quyết định 5921/QĐ-UBND) — "
        "BPMN workflow engine for Hanoi's inter-agency coordination.",
    )
    problems.install(app)
    docs.install(app)
    openapi.install(app)
    for router in (
        health.router,
        metrics.router,
        definitions.router,
        instances.router,
        tasks.router,
        task_flow.router,
        messages.router,
        calendar.router,
        external_tasks.router,
        versions.router,
        audit.router,
        decisions.router,
        instance_migration.router,
        dashboard.router,
        users.router,
        documents.router,
        desk.router,
        slips.router,
        comments.router,
        notifications.router,
        incidents.router,
        webhooks.router,
        public.router,
        event_stream_router,  # the inbox's live events: bearer token or web session (phoihop/event_stream.py)
    ):
        app.include_router(router)
    install_web_app(app)  # the officers' web app at / (web/; server-rendered pages on the same handlers and reads)
    app.add_middleware(
        BodySizeLimit,
        max_json_bytes=resolved.max_json_bytes,
        max_upload_bytes=resolved.max_upload_bytes,
        max_document_bytes=resolved.document_max_bytes,
    )
    app.add_middleware(problems.UnexpectedErrors)  # no exception reaches the server
    app.add_middleware(RequestContext)  # outermost: a request id and one log line for every answer, a 500 included
    return app
