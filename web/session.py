"""The web app's cookies: the session (who is signed in), the CSRF tokens, the OIDC sign-in state and the language.

- Session: kept server-side (engine.commands.web_sessions: the ``web_session`` table); the cookie carries only a
  random value (256 bits) whose SHA-256 names the row, which holds the identity (sub, name, groups, roles), the
  session's CSRF token and its expiry (PHOIHOP_SESSION_TTL_MINUTES after signing in). Signing out and an admin's
  "sign out everywhere" revoke the row: the cookie stops working at once. Cookie: HttpOnly, SameSite=Lax, Secure
  unless PHOIHOP_ENV=dev (PHOIHOP_COOKIE_SECURE overrides). The value is no JWT, so it is never an API bearer token.
- CSRF: every POST carries a token, in the form field ``csrf_token`` or the header ``X-CSRF-Token`` (htmx, set by
  static/app.js). Signed in, it must equal the session's own token (bound to the session); before signing in (the
  sign-in form), it must equal the ``phoihop_csrf`` cookie (double submit).
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from phoihop.engine.commands.web_sessions import ActiveSession, WebSessions
from phoihop.engine.errors import StoreUnavailable
from phoihop.settings import Settings

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LANG_COOKIE",
    "OIDC_COOKIE",
    "SESSION_COOKIE",
    "CsrfRefused",
    "SignInRequired",
    "WebSession",
    "check_csrf",
    "current_session",
    "read_signed",
    "session_of",
    "set_cookie",
    "sign",
    "web_sessions",
]

SESSION_COOKIE = "phoihop_session"
CSRF_COOKIE = "phoihop_csrf"
OIDC_COOKIE = "phoihop_oidc"
LANG_COOKIE = "phoihop_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ALGORITHM = "HS256"


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page. ``expired``: a cookie was there but is no longer
    valid."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class CsrfRefused(Exception):
    """A state-changing request without the right CSRF token: 403."""


WebSession = ActiveSession  # who is signed in, the session's CSRF token, when it ends


def sign(secret: str, claims: dict[str, Any], *, audience: str, ttl: timedelta, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return jwt.encode(
        {**claims, "aud": audience, "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())},
        secret,
        algorithm=ALGORITHM,
    )


def read_signed(secret: str, token: str | None, *, audience: str) -> dict[str, Any] | None:
    """The claims of a token ``sign`` made for ``audience``, or None (absent, forged, expired, other audience)."""
    if not token:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=audience, options={"require": ["exp", "aud"]}
        )
    except jwt.InvalidTokenError:
        return None
    return claims


def web_sessions(request: Request) -> WebSessions:
    sessions: WebSessions = request.app.state.container.web_sessions
    return sessions


_LOOKED_UP = "phoihop_web_session"  # request.state attribute: the session, looked up once per request


async def current_session(request: Request) -> WebSession | None:
    """The live session of the request's cookie (one primary-key read, in the thread pool), looked up once per
    request."""
    if hasattr(request.state, _LOOKED_UP):
        found: WebSession | None = getattr(request.state, _LOOKED_UP)
        return found
    token = request.cookies.get(SESSION_COOKIE)
    found = await run_in_threadpool(_find, request, token) if token else None
    setattr(request.state, _LOOKED_UP, found)
    return found


def _find(request: Request, token: str | None) -> WebSession | None:
    """The session of ``token``, its person acting also with the delegations in force for them now (ủy quyền)."""
    found = web_sessions(request).find(token)
    if found is None:
        return None
    return dataclasses.replace(found, actor=request.app.state.container.delegations.extend(found.actor))


def session_of(request: Request) -> WebSession | None:
    """The session as ``current_session`` found it; looked up here (blocking) only when nothing did before (an
    error page drawn before any dependency ran)."""
    if hasattr(request.state, _LOOKED_UP):
        found: WebSession | None = getattr(request.state, _LOOKED_UP)
        return found
    token = request.cookies.get(SESSION_COOKIE)
    try:
        found = _find(request, token) if token else None
    except StoreUnavailable:  # the page says the database is busy: drawn without the person's name, not as a 500
        return None
    setattr(request.state, _LOOKED_UP, found)
    return found


def set_cookie(
    response: Response,
    settings: Settings,
    name: str,
    value: str,
    *,
    max_age: int,
    path: str = "/",
    http_only: bool = True,
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=http_only, samesite="lax", secure=settings.secure_cookies
    )


async def check_csrf(request: Request) -> None:
    """Refuse (CsrfRefused) a POST whose token does not match: the session's when signed in, else the
    ``phoihop_csrf`` cookie's."""
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    session = await current_session(request)
    expected = session.csrf if session is not None else request.cookies.get(CSRF_COOKIE)
    if not submitted or not expected or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise CsrfRefused("missing or wrong CSRF token")
