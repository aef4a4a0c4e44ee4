"""Errors on pages, in the page's language: the engine's errors (403 not your agency's task, 404, 409 ...) as an HTML
page, or as a fragment swapped into the page's message area for htmx requests; no session → the sign-in page;
a refused CSRF token → 403. The API keeps its problem+json (phoihop/problems.py): only routes built with ``WebRoute``
answer in HTML."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse

from phoihop.auth import Unauthenticated
from phoihop.engine.errors import EngineError, StoreUnavailable
from phoihop.problems import headers_for, status_for
from phoihop.web.i18n import pick
from phoihop.web.session import SESSION_COOKIE, CsrfRefused, SignInRequired, session_of
from phoihop.web.templating import PageContext, language, render

__all__ = ["WebRoute", "error_page", "html_not_found"]

log = logging.getLogger("phoihop.web")
API_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/static/", "/problems/")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _context(request: Request) -> PageContext:
    settings = request.app.state.settings
    return PageContext(request, settings, session_of(request), language(request))


def error_page(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    code: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """The error as a page, or (htmx) as a message fragment the page shows in its #flash area."""
    context = _context(request)
    values: dict[str, Any] = {"status": status, "title": title, "detail": detail, "code": code}
    if is_htmx(request):
        return render(
            context,
            "_flash.html",
            {"kind": "error", "message": f"{title}: {detail}"},
            status=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", **(headers or {})},
        )
    return render(context, "error.html", values, status=status, headers=headers)


def sign_in_redirect(request: Request, *, expired: bool) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = request.headers.get("hx-current-url") or "/"
    url = f"/dang-nhap?next={quote(target, safe='/')}" + ("&thong_bao=het-han" if expired else "")
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    response = RedirectResponse(url, status_code=303)
    if expired:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def _handle(request: Request, exc: Exception) -> Response:
    t = _context(request).t
    lang = t.lang
    if isinstance(exc, SignInRequired):
        return sign_in_redirect(request, expired=exc.expired)
    if isinstance(exc, CsrfRefused):
        return error_page(request, 403, t("error.csrf_title"), t("error.csrf"), code="csrf")
    if isinstance(exc, EngineError):
        status = status_for(exc)
        if isinstance(exc, StoreUnavailable):
            log.warning("database unavailable on %s: %s", request.url.path, exc.__cause__ or exc)
        elif status >= 500:
            log.error("server-side engine error on %s: %s", request.url.path, exc)
        return error_page(
            request,
            status,
            exc.title_vi if lang == "vi" else exc.title_en,
            pick(lang, exc.detail_vi, exc.detail),
            code=exc.code,
            headers=headers_for(exc),
        )
    if isinstance(exc, Unauthenticated):
        return error_page(
            request, 401, t("signin.failed"), pick(lang, exc.detail_vi, exc.detail), code="unauthenticated"
        )
    assert isinstance(exc, RequestValidationError)
    fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
    return error_page(request, 422, t("error.invalid_request"), fields, code="invalid-request")


class WebRoute(APIRoute):
    """A route whose errors become pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInRequired, CsrfRefused, EngineError, Unauthenticated, RequestValidationError) as exc:
                return await _handle(request, exc)

        return page_handler


def html_not_found(
    api_handler: Callable[[Request, Any], Response | Awaitable[Response]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A 404 of a path outside the API, asked for by a browser, as a page; everything else as the API answers."""

    async def handler(request: Request, exc: Exception) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        if (
            isinstance(exc, StarletteHTTPException)
            and exc.status_code == 404
            and wants_html
            and not request.url.path.startswith(API_PREFIXES)
        ):
            t = _context(request).t
            return error_page(request, 404, t("error.not_found"), t("error.not_found_detail"), code="not-found")
        answer = api_handler(request, exc)
        return answer if isinstance(answer, Response) else await answer

    return handler
