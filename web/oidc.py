"""Sign-in with OpenID Connect: the authorization code flow with PKCE (S256) as a public client — no client secret
exists in the app or the page. State, nonce and the PKCE verifier travel in a short-lived signed cookie between the
redirect and the callback; the ID token is verified against the provider's JWKS (phoihop.auth.OidcVerifier: RS256
pinned, exp/iss/aud required, nonce checked)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from phoihop.auth import OidcVerifier, Unauthenticated
from phoihop.settings import Settings
from phoihop.web.session import read_signed, sign

__all__ = ["OidcStart", "begin", "exchange_code", "finish_state"]

STATE_AUDIENCE = "phoihop-web-oidc"
STATE_TTL = timedelta(minutes=10)
CALLBACK_PATH = "/dang-nhap/oidc/callback"


@dataclass(frozen=True)
class OidcStart:
    url: str  # where to send the browser
    state_cookie: str  # what the callback needs back


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def begin(settings: Settings, verifier: OidcVerifier, redirect_uri: str, next_path: str) -> OidcStart:
    """The authorization request (may fetch the discovery document: call from a thread)."""
    assert settings.oidc_client_id is not None
    state, nonce, code_verifier = (secrets.token_urlsafe(32) for _ in range(3))
    endpoint = verifier.endpoint("authorization_endpoint", settings.oidc_authorization_url)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(code_verifier),
            "code_challenge_method": "S256",
        }
    )
    cookie = sign(
        settings.secret,
        {"state": state, "nonce": nonce, "verifier": code_verifier, "next": next_path, "redirect_uri": redirect_uri},
        audience=STATE_AUDIENCE,
        ttl=STATE_TTL,
    )
    return OidcStart(f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", cookie)


def finish_state(settings: Settings, cookie: str | None, state: str | None) -> dict[str, Any]:
    """The sign-in's saved state, if the callback's ``state`` is the one this browser was sent with."""
    saved = read_signed(settings.secret, cookie, audience=STATE_AUDIENCE)
    if saved is None or not state or not secrets.compare_digest(str(saved.get("state", "")), state):
        raise Unauthenticated(
            "the sign-in state does not match (expired, or started in another browser)",
            "Phiên đăng nhập không khớp (đã hết hạn hoặc bắt đầu từ trình duyệt khác)",
        )
    return saved


def exchange_code(settings: Settings, verifier: OidcVerifier, code: str, saved: dict[str, Any]) -> dict[str, Any]:
    """Trade the code for tokens at the token endpoint (with the PKCE verifier, no secret) and return the verified
    claims of the ID token. Blocking: call from a thread."""
    assert settings.oidc_client_id is not None
    endpoint = verifier.endpoint("token_endpoint", settings.oidc_token_url)
    try:
        response = httpx.post(
            endpoint,
            timeout=15,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": saved["redirect_uri"],
                "client_id": settings.oidc_client_id,
                "code_verifier": saved["verifier"],
            },
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthenticated(
            f"the token endpoint did not answer: {exc}", "Hệ thống định danh không phản hồi khi đổi mã đăng nhập"
        ) from None
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        error = body.get("error") if isinstance(body, dict) else None
        raise Unauthenticated(
            f"the identity provider refused the code ({error or response.status_code})",
            "Hệ thống định danh từ chối mã đăng nhập",
        )
    return verifier.claims(body["id_token"], audience=settings.oidc_client_id, nonce=str(saved["nonce"]))
