"""``GET /metrics``: Prometheus text format (issue 14.8), for ``Authorization: Bearer $PHOIHOP_METRICS_TOKEN`` only;
off (404) while no token is set. Not in the OpenAPI document: it is for the operators' scraper, not integrators."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from phoihop import problems
from phoihop.deps import ContainerDep, SettingsDep
from phoihop.observability import metrics_text

router = APIRouter(include_in_schema=False)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics")
async def metrics(request: Request, container: ContainerDep, settings: SettingsDep) -> Response:
    if settings.metrics_token is None:
        return problems.problem(
            404,
            "not-found",
            "Không tìm thấy / Not found",
            "metrics are off: set PHOIHOP_METRICS_TOKEN to turn them on",
            instance=request.url.path,
            extra={"detail_vi": "Chưa bật số liệu giám sát: đặt PHOIHOP_METRICS_TOKEN để bật"},
        )
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        return problems.problem(
            401,
            "unauthenticated",
            "Chưa xác thực / Unauthenticated",
            "GET /metrics needs the header Authorization: Bearer <PHOIHOP_METRICS_TOKEN>",
            instance=request.url.path,
            extra={"detail_vi": "Cần tiêu đề Authorization: Bearer <PHOIHOP_METRICS_TOKEN>"},
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    snapshot = await run_in_threadpool(container.metrics.snapshot)
    return Response(metrics_text(snapshot), media_type=CONTENT_TYPE)
