"""Signing in and out, and the language switch.

- PHOIHOP_ENV=dev: the sign-in page lists the demo officers (web/demo_users.py); choosing one signs in.
- OIDC configured (PHOIHOP_OIDC_ISSUER, ...): "sign in with your organisation account" runs the authorization code
  flow with PKCE (web/oidc.py); the callback verifies the ID token and opens the session.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phoihop.auth import TokenVerifier, Unauthenticated, actor_from_claims
from phoihop.engine.commands.web_sessions import OpenedSession
from phoihop.engine.model import Actor
from phoihop.web import oidc
from phoihop.web.demo_users import DEMO_USERS, demo_user
from phoihop.web.deps import AnyPage, CsrfChecked
from phoihop.web.errors import WebRoute, error_page
from phoihop.web.i18n import LANGUAGES, pick
from phoihop.web.session import LANG_COOKIE, OIDC_COOKIE, SESSION_COOKIE, set_cookie, web_sessions
from phoihop.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

NOTICES = {"da-dang-xuat": "signin.signed_out", "het-han": "signin.expired"}


def safe_next(target: str | None) -> str:
    """A local path to return to after signing in; anything else (another site, //host, \\host, control characters
    a browser would drop) → the inbox."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x21 or c == "\x7f" for c in target)
    ):
        return "/"
    return target


async def _signed_in(context: AnyPage, actor: Actor, target: str, *, email: str | None = None) -> Response:
    """Open a server-side session of ``actor`` (engine.commands.web_sessions) and give the browser its cookie; a
    session this browser held before is revoked."""
    ttl = timedelta(minutes=context.settings.session_ttl_minutes)
    sessions, previous = web_sessions(context.request), context.request.cookies.get(SESSION_COOKIE)

    container = context.request.app.state.container

    def open_session() -> OpenedSession:
        sessions.revoke(previous)
        # the directory of people (phân công, ủy quyền): in dev, every demo user at once; the person signing in is
        # recorded by the session they open (engine/commands/web_sessions.py)
        demo = context.settings.env == "dev" and demo_user(actor.id) is not None
        for person in DEMO_USERS if demo else ():
            container.delegations.record_person(
                Actor.of(person.sub, name=person.name, groups=person.groups, roles=person.roles)
            )
        return sessions.open(actor, ttl=ttl, email=email)

    opened = await run_in_threadpool(open_session)
    response = RedirectResponse(safe_next(target), status_code=303)
    set_cookie(response, context.settings, SESSION_COOKIE, opened.token, max_age=int(ttl.total_seconds()))
    return response


@router.get("/dang-nhap")
async def sign_in_page(context: AnyPage, next: str = "/", thong_bao: str | None = None) -> Response:
    if context.session is not None and thong_bao is None:
        return RedirectResponse(safe_next(next), status_code=303)
    context.new_csrf = context.request.cookies.get("phoihop_csrf") or secrets.token_urlsafe(32)
    notice = NOTICES.get(thong_bao or "")
    return render(
        context,
        "signin.html",
        {
            "demo_users": DEMO_USERS if context.settings.env == "dev" else (),
            "next": safe_next(next),
            "oidc_enabled": context.settings.oidc_enabled,
            "notice": context.t(notice) if notice else None,
        },
    )


@router.post("/dang-nhap/thu", dependencies=[CsrfChecked])
async def sign_in_demo(
    context: AnyPage, sub: Annotated[str, Form(max_length=100)], next: Annotated[str, Form(max_length=2000)] = "/"
) -> Response:
    """Development sign-in as a demo user (404 outside PHOIHOP_ENV=dev)."""
    user = demo_user(sub) if context.settings.env == "dev" else None
    if user is None:
        t = context.t
        return error_page(context.request, 404, t("error.not_found"), t("error.not_found_detail"))
    actor = Actor.of(user.sub, name=user.name, groups=user.groups, roles=user.roles)
    return await _signed_in(context, actor, next)


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


def _redirect_uri(context: AnyPage) -> str:
    configured = context.settings.oidc_redirect_url
    return configured or str(context.request.base_url).rstrip("/") + oidc.CALLBACK_PATH


@router.get("/dang-nhap/oidc")
async def sign_in_oidc(context: AnyPage, next: str = "/") -> Response:
    provider = _verifier(context.request).oidc
    if provider is None:
        t = context.t
        return error_page(context.request, 404, t("error.not_found"), t("signin.unavailable"))
    start = await run_in_threadpool(oidc.begin, context.settings, provider, _redirect_uri(context), safe_next(next))
    response = RedirectResponse(start.url, status_code=303)
    set_cookie(
        response,
        context.settings,
        OIDC_COOKIE,
        start.state_cookie,
        max_age=int(oidc.STATE_TTL.total_seconds()),
        path="/dang-nhap/oidc",
    )
    return response


@router.get(oidc.CALLBACK_PATH)
async def oidc_callback(
    context: AnyPage,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    provider = _verifier(context.request).oidc
    t = context.t
    if provider is None:
        return error_page(context.request, 404, t("error.not_found"), t("signin.unavailable"))
    if error or not code:
        detail = f"{error or 'no code'}{': ' + error_description if error_description else ''}"
        return error_page(context.request, 401, t("signin.failed"), detail, code="unauthenticated")
    try:
        saved = oidc.finish_state(context.settings, context.request.cookies.get(OIDC_COOKIE), state)
        claims = await run_in_threadpool(oidc.exchange_code, context.settings, provider, code, saved)
        actor = actor_from_claims(claims, provider.claim_names)
    except Unauthenticated as exc:
        return error_page(
            context.request,
            401,
            t("signin.failed"),
            pick(context.lang, exc.detail_vi, exc.detail),
            code="unauthenticated",
        )
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    response = await _signed_in(context, actor, str(saved.get("next") or "/"), email=email)
    response.delete_cookie(OIDC_COOKIE, path="/dang-nhap/oidc")
    return response


@router.post("/dang-xuat", dependencies=[CsrfChecked])
async def sign_out(context: AnyPage) -> Response:
    """Revoke the session server-side (a copy of the cookie stops working too), then drop the cookie."""
    await run_in_threadpool(web_sessions(context.request).revoke, context.request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/dang-nhap?thong_bao=da-dang-xuat", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=context.settings.secure_cookies, httponly=True, samesite="lax"
    )
    return response


def _referring_path(request: Request) -> str | None:
    """The page the switch was clicked on (its URL may have moved since it was drawn: htmx pushes filters into it)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.scheme != request.url.scheme:
        return None
    return referer.path + (f"?{referer.query}" if referer.query else "")


@router.get("/ngon-ngu")
async def switch_language(context: AnyPage, lang: str = "vi", next: str = "/") -> Response:
    response = RedirectResponse(safe_next(_referring_path(context.request) or next), status_code=303)
    set_cookie(response, context.settings, LANG_COOKIE, lang if lang in LANGUAGES else "vi", max_age=365 * 86400)
    return response
