"""The web app's cookies: the signed session (who is signed in), the CSRF tokens, the OIDC sign-in state and the
language.

- Session: a JWT signed with the app secret (HS256 pinned), audience ``phoihop-web``, expiring after
  PHOIHOP_SESSION_TTL_MINUTES, holding the identity (sub, name, groups, roles) and the session's CSRF token. The
  audience keeps it from being accepted as an API bearer token (the API's decoder refuses any ``aud``). Cookie:
  HttpOnly, SameSite=Lax, Secure unless PHOIHOP_ENV=dev (PHOIHOP_COOKIE_SECURE overrides).
- CSRF: every POST carries a token, in the form field ``csrf_token`` or the header ``X-CSRF-Token`` (htmx, set by
  static/app.js). Signed in, it must equal the session's own token (bound to the session); before signing in (the
  sign-in form), it must equal the ``phoihop_csrf`` cookie (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response

from phoihop.engine.model import ROLES, Actor
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
    "issue_session",
    "read_session",
    "read_signed",
    "set_cookie",
    "sign",
]

SESSION_COOKIE = "phoihop_session"
CSRF_COOKIE = "phoihop_csrf"
OIDC_COOKIE = "phoihop_oidc"
LANG_COOKIE = "phoihop_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ALGORITHM = "HS256"
SESSION_AUDIENCE = "phoihop-web"


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page. ``expired``: a cookie was there but is no longer
    valid."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class CsrfRefused(Exception):
    """A state-changing request without the right CSRF token: 403."""


@dataclass(frozen=True)
class WebSession:
    actor: Actor
    csrf: str
    expires_at: datetime


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


def issue_session(settings: Settings, actor: Actor, *, now: datetime | None = None) -> str:
    claims = {
        "sub": actor.id,
        "name": actor.name,
        "groups": sorted(actor.groups),
        "roles": sorted(actor.roles),
        "csrf": secrets.token_urlsafe(32),
    }
    return sign(
        settings.secret, claims, audience=SESSION_AUDIENCE, ttl=timedelta(minutes=settings.session_ttl_minutes), now=now
    )


def read_session(settings: Settings, token: str | None) -> WebSession | None:
    claims = read_signed(settings.secret, token, audience=SESSION_AUDIENCE)
    if claims is None:
        return None
    sub, csrf = claims.get("sub"), claims.get("csrf")
    groups, roles = claims.get("groups"), claims.get("roles")
    if not (
        isinstance(sub, str)
        and sub
        and isinstance(csrf, str)
        and csrf
        and isinstance(groups, list)
        and isinstance(roles, list)
    ):
        return None
    actor = Actor.of(
        sub,
        name=str(claims.get("name") or sub),
        groups=[str(g) for g in groups],
        roles=[str(r) for r in roles if r in ROLES],
    )
    return WebSession(actor, csrf, datetime.fromtimestamp(int(claims["exp"]), UTC))


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


async def check_csrf(request: Request, settings: Settings) -> None:
    """Refuse (CsrfRefused) a POST whose token does not match: the session's when signed in, else the
    ``phoihop_csrf`` cookie's."""
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    session = read_session(settings, request.cookies.get(SESSION_COOKIE))
    expected = session.csrf if session is not None else request.cookies.get(CSRF_COOKIE)
    if not submitted or not expected or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise CsrfRefused("missing or wrong CSRF token")
