"""Bearer tokens → an engine Actor: our own JWT (HS256 pinned, exp required) and, when OIDC is configured, the
identity provider's (RS256 pinned, verified against its JWKS, exp/iss/aud required)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from phoihop.engine.model import ROLES, Actor

ALGORITHM = "HS256"
OIDC_ALGORITHM = "RS256"
CLOCK_LEEWAY_SECONDS = 30  # clock skew tolerated between the identity provider and this server


class Unauthenticated(Exception):
    def __init__(self, detail: str, detail_vi: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_vi = detail_vi


def issue_token(
    secret: str,
    *,
    sub: str,
    name: str = "",
    groups: Iterable[str] = (),
    roles: Iterable[str] = (),
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": sub,
        "name": name,
        "groups": sorted(set(groups)),
        "roles": sorted(set(roles)),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def actor_from_token(secret: str, token: str) -> Actor:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"], "verify_signature": True}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired", "Mã xác thực đã hết hạn") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}", "Mã xác thực không hợp lệ") from None
    groups, roles = claims.get("groups", []), claims.get("roles", [])
    if not isinstance(groups, list) or not isinstance(roles, list) or not isinstance(claims["sub"], str):
        raise Unauthenticated("invalid token claims", "Thông tin trong mã xác thực không hợp lệ")
    return Actor.of(
        claims["sub"],
        name=str(claims.get("name", "")),
        groups=[str(g) for g in groups],
        roles=[str(r) for r in roles if r in ROLES],
    )


@dataclass(frozen=True)
class ClaimNames:
    """Where the provider puts a person's name, agencies (groups) and roles; a dotted path reaches nested claims
    (Keycloak: ``realm_access.roles``)."""

    name: str = "name"
    groups: str = "groups"
    roles: str = "roles"


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def actor_from_claims(claims: Mapping[str, Any], names: ClaimNames = ClaimNames()) -> Actor:
    """An Actor from verified OIDC claims. Groups are agency codes (a leading "/" of a group path is dropped);
    roles outside ROLES are dropped."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated("the token has no subject", "Mã xác thực không có định danh người dùng")
    name = _claim(claims, names.name)
    if not isinstance(name, str) or not name:
        name = claims.get("preferred_username") if isinstance(claims.get("preferred_username"), str) else sub
    groups = [g.lstrip("/") for g in _strings(_claim(claims, names.groups)) if g.lstrip("/")]
    roles = [r for r in _strings(_claim(claims, names.roles)) if r in ROLES]
    return Actor.of(sub, name=str(name), groups=groups, roles=roles)


class OidcVerifier:
    """Tokens of the OpenID Connect provider: signature checked against its JWKS (keys fetched and cached by
    PyJWKClient, refetched for an unknown ``kid``), algorithm pinned to RS256, ``exp``, ``iss``, ``aud`` and
    ``sub`` required. Endpoints not configured come from the issuer's discovery document. Network calls block:
    callers on the event loop use a thread."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        claim_names: ClaimNames = ClaimNames(),
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.claim_names = claim_names
        self._jwks_url = jwks_url
        self._timeout = timeout
        self._discovery: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def discovery(self) -> dict[str, Any]:
        """``<issuer>/.well-known/openid-configuration``, fetched once; its ``issuer`` must be ours."""
        with self._lock:
            if self._discovery is not None:
                return self._discovery
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthenticated(
                f"the identity provider's discovery document is unavailable: {exc}",
                "Không đọc được cấu hình của hệ thống định danh",
            ) from None
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise Unauthenticated(
                "the identity provider's discovery document names another issuer",
                "Cấu hình của hệ thống định danh không khớp với issuer đã khai báo",
            )
        with self._lock:
            self._discovery = document
        return document

    def endpoint(self, name: str, configured: str | None = None) -> str:
        """A configured endpoint, else the discovery document's ``name`` (authorization_endpoint, ...)."""
        if configured:
            return configured
        value = self.discovery().get(name)
        if not isinstance(value, str) or not value:
            raise Unauthenticated(
                f"the identity provider's discovery document has no {name}",
                f"Cấu hình của hệ thống định danh thiếu {name}",
            )
        return value

    def _jwks_client(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self.endpoint("jwks_uri", self._jwks_url)
            with self._lock:
                if self._jwks is None:
                    self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=600, timeout=int(self._timeout))
        return self._jwks

    def claims(self, token: str, *, audience: str | None = None, nonce: str | None = None) -> dict[str, Any]:
        """The verified claims of ``token`` (``audience``: another expected aud, as the client id of an ID token;
        ``nonce``: the one the sign-in sent)."""
        try:
            key = self._jwks_client().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[OIDC_ALGORITHM],
                audience=audience or self.audience,
                issuer=self.issuer,
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthenticated(
                f"the identity provider's keys are unavailable: {exc}", "Không lấy được khóa của hệ thống định danh"
            ) from None
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired", "Mã xác thực đã hết hạn") from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise Unauthenticated(f"invalid token: {exc}", "Mã xác thực không hợp lệ") from None
        if nonce is not None and claims.get("nonce") != nonce:
            raise Unauthenticated(
                "the ID token's nonce does not match the sign-in", "Mã định danh không khớp với lượt đăng nhập"
            )
        return claims

    def actor(self, token: str) -> tuple[Actor, float]:
        claims = self.claims(token)
        return actor_from_claims(claims, self.claim_names), float(claims["exp"])


class TokenVerifier:
    """Verifies bearer tokens, remembering verified ones until they expire: a token is checked once, not on
    every request (HMAC and claim checks were a tenth of a request's time). Bounded LRU; expiry is re-checked
    on every hit, so a cached token never outlives its ``exp``. An RS256 token goes to the OIDC provider's
    verifier when one is configured; every other token must be our HS256 one."""

    def __init__(self, secret: str, *, oidc: OidcVerifier | None = None, capacity: int = 10_000) -> None:
        self._secret = secret
        self.oidc = oidc
        self._capacity = capacity
        self._cache: OrderedDict[str, tuple[Actor, float]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, token: str) -> Actor | None:
        """The actor of a token verified before and not expired (no I/O: safe on the event loop)."""
        now = time.time()
        with self._lock:
            hit = self._cache.get(token)
            if hit is not None and hit[1] > now:
                self._cache.move_to_end(token)
                return hit[0]
        return None

    def actor(self, token: str) -> Actor:
        """Verify ``token`` (may fetch the provider's keys: call it from a thread on the event loop)."""
        hit = self.cached(token)
        if hit is not None:
            return hit
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}", "Mã xác thực không hợp lệ") from None
        if algorithm == OIDC_ALGORITHM and self.oidc is not None:
            actor, expires = self.oidc.actor(token)
        else:
            actor = actor_from_token(self._secret, token)
            expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        with self._lock:
            self._cache[token] = (actor, expires)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return actor
