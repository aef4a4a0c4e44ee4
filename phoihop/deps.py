"""Dependency aliases: the container, settings and the authenticated actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from phoihop.auth import TokenVerifier, Unauthenticated
from phoihop.engine.commands.api_keys import ApiKeys
from phoihop.engine.commands.service import WorkflowService
from phoihop.engine.container import EngineContainer
from phoihop.engine.model import Actor
from phoihop.engine.reads.queries import Queries
from phoihop.settings import Settings

# The dependencies below are ``async def`` on purpose: they do no blocking work, and a plain ``def`` dependency
# costs a hop to the thread pool on every request. Handlers that touch the database stay ``def``.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_container(request: Request) -> EngineContainer:
    container: EngineContainer = request.app.state.container
    return container


async def get_service(request: Request) -> WorkflowService:
    service: WorkflowService = request.app.state.container.service
    return service


async def get_queries(request: Request) -> Queries:
    queries: Queries = request.app.state.container.queries
    return queries


async def get_actor(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Actor:
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
        return cached if cached is not None else await run_in_threadpool(verifier.actor, token)
    if x_api_key:
        api_keys: ApiKeys = request.app.state.api_keys
        actor = await run_in_threadpool(api_keys.authenticate, x_api_key)
        if actor is None:
            raise Unauthenticated("unknown or revoked API key", "Khóa API không tồn tại hoặc đã bị thu hồi")
        return actor
    raise Unauthenticated(
        "authentication required: Bearer token or X-API-Key", "Cần xác thực: mã Bearer hoặc X-API-Key"
    )


SettingsDep = Annotated[Settings, Depends(get_settings)]
ContainerDep = Annotated[EngineContainer, Depends(get_container)]
ServiceDep = Annotated[WorkflowService, Depends(get_service)]
QueriesDep = Annotated[Queries, Depends(get_queries)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
