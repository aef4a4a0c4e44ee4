"""Domain errors → RFC 9457 application/problem+json, mapped once, here. Nothing else in api/ builds error bodies."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phoihop.auth import Unauthenticated
from phoihop.engine import errors
from phoihop.engine.execution.serializer import StateVersionError

log = logging.getLogger("phoihop.api")
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/problems/"

STATUS: list[tuple[type[errors.EngineError], int]] = [
    (errors.InvalidDefinition, 422),
    (errors.InvalidInput, 422),
    (errors.IdempotencyConflict, 422),
    (errors.DefinitionNotFound, 404),
    (errors.InstanceNotFound, 404),
    (errors.TaskNotFound, 404),
    (errors.DossierLookupFailed, 404),
    (errors.TooManyRequests, 429),
    (errors.DocumentNotFound, 404),
    (errors.DocumentTooLarge, 413),
    (errors.UnsupportedDocument, 415),
    (errors.DocumentDeleted, 409),
    (errors.NotificationNotFound, 404),
    (errors.WebhookNotFound, 404),
    (errors.WebhookDeliveryNotFound, 404),
    (errors.WebhookDeliveryInFlight, 409),
    (errors.CalendarDayNotFound, 404),
    (errors.DelegationNotFound, 404),
    (errors.SlipNotFound, 404),
    (errors.SlipNotApplicable, 409),
    (errors.MessageNotCorrelated, 404),
    (errors.MessageAmbiguous, 409),
    (errors.NotCandidate, 403),
    (errors.Forbidden, 403),
    (errors.NotAssignee, 403),
    (errors.AlreadyClaimed, 409),
    (errors.TaskNotOpen, 409),
    (errors.ReturnTargetInvalid, 409),
    (errors.InstanceNotRunning, 409),
    (errors.IncidentNotFound, 404),
    (errors.IncidentNotOpen, 409),
    (errors.DefinitionSuspended, 409),
    (errors.ConcurrentUpdate, 409),
    (StateVersionError, 500),
    (errors.ScriptError, 422),
    (errors.ExternalTaskNotFound, 404),
    (errors.ExternalTaskNotActive, 409),
    (errors.ExternalTaskNotLocked, 409),  # and ExternalTaskLockExpired
    (errors.BpmnErrorNotCaught, 422),
    (errors.StoreUnavailable, 503),  # with Retry-After: nothing was written, the same request may be sent again
]


def status_for(exc: errors.EngineError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


RESERVED = frozenset({"type", "title", "status", "detail", "instance"})


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 body; extension members never override the standard ones."""
    body: dict[str, Any] = {k: v for k, v in (extra or {}).items() if v is not None and k not in RESERVED}
    body.update({"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail})
    if instance:
        body["instance"] = instance
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def headers_for(exc: errors.EngineError) -> dict[str, str]:
    """``Retry-After`` (seconds) when the request may simply be sent again: the database was unavailable."""
    if isinstance(exc, errors.StoreUnavailable | errors.TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return {}


async def _engine_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.EngineError)
    status = status_for(exc)
    if isinstance(exc, errors.StoreUnavailable):  # the driver's error (its cause) for the operator, not the caller
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__cause__ or exc)
    elif status >= 500:
        log.error("server-side engine error: %s", exc)
    return problem(
        status,
        exc.code,
        f"{exc.title_vi} / {exc.title_en}",
        exc.detail,
        instance=request.url.path,
        extra={"detail_vi": exc.detail_vi, **exc.fields},
        headers=headers_for(exc),
    )


async def _unauthenticated(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    return problem(
        401,
        "unauthenticated",
        "Chưa xác thực / Unauthenticated",
        exc.detail,
        instance=request.url.path,
        extra={"detail_vi": exc.detail_vi},
    )


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    names = ", ".join(f["field"] for f in fields)
    return problem(
        422,
        "invalid-request",
        "Yêu cầu không hợp lệ / Invalid request",
        f"invalid fields: {names}",
        instance=request.url.path,
        extra={"detail_vi": f"Các trường không hợp lệ: {names}", "errors": fields},
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {
        404: ("not-found", "Không tìm thấy / Not found"),
        405: ("method-not-allowed", "Phương thức không được hỗ trợ / Method not allowed"),
        413: ("payload-too-large", "Dữ liệu gửi lên quá lớn / Payload too large"),
    }
    code, title = codes.get(exc.status_code, ("http-error", "Lỗi yêu cầu / Request error"))
    return problem(exc.status_code, code, title, str(exc.detail), instance=request.url.path)


def _internal_error(path: str) -> JSONResponse:
    return problem(
        500,
        "internal-error",
        "Lỗi hệ thống / Internal error",
        "an unexpected error occurred; it was logged",
        instance=path,
        extra={"detail_vi": "Đã xảy ra lỗi không mong muốn; lỗi đã được ghi lại"},
    )


class UnexpectedErrors:
    """The outermost middleware of the app: an exception no handler expects is logged and answered as a 500
    ``internal-error`` problem, and goes no further. (Starlette's ``Exception`` handler answers too, but then raises the
    exception again to the server, which logs "Exception in ASGI application" and drops the keep-alive connection.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            path = scope.get("path", "")
            log.exception("unexpected error on %s %s", scope.get("method"), path, exc_info=exc)
            if not started:  # else the body is cut short; the server closes that response as it must
                await _internal_error(path)(scope, receive, send)


def install(app: FastAPI) -> None:
    """The problem handlers; ``UnexpectedErrors`` is added by create_app last, so that it wraps every middleware."""
    app.add_exception_handler(errors.EngineError, _engine_error)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
