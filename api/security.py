"""Bearer tokens (JWT, HS256 pinned, exp required) and API keys → an engine Actor."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from engine.actors import ROLES, Actor

ALGORITHM = "HS256"


class Unauthenticated(Exception):
    def __init__(self, detail: str, detail_vi: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_vi = detail_vi


def issue_token(secret: str, *, sub: str, name: str = "", groups: Iterable[str] = (), roles: Iterable[str] = (),
                ttl: timedelta = timedelta(hours=8), now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {"sub": sub, "name": name, "groups": sorted(set(groups)), "roles": sorted(set(roles)),
              "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def actor_from_token(secret: str, token: str) -> Actor:
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM],
                                            options={"require": ["exp", "sub"], "verify_signature": True})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired", "Mã xác thực đã hết hạn") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}", "Mã xác thực không hợp lệ") from None
    groups, roles = claims.get("groups", []), claims.get("roles", [])
    if not isinstance(groups, list) or not isinstance(roles, list) or not isinstance(claims["sub"], str):
        raise Unauthenticated("invalid token claims", "Thông tin trong mã xác thực không hợp lệ")
    return Actor.of(claims["sub"], name=str(claims.get("name", "")), groups=[str(g) for g in groups],
                    roles=[str(r) for r in roles if r in ROLES])


class TokenVerifier:
    """Verifies bearer tokens, remembering verified ones until they expire: a token is checked once, not on
    every request (HMAC and claim checks were a tenth of a request's time). Bounded LRU; expiry is re-checked
    on every hit, so a cached token never outlives its ``exp``."""

    def __init__(self, secret: str, *, capacity: int = 10_000) -> None:
        self._secret = secret
        self._capacity = capacity
        self._cache: OrderedDict[str, tuple[Actor, float]] = OrderedDict()
        self._lock = threading.Lock()

    def actor(self, token: str) -> Actor:
        now = time.time()
        with self._lock:
            hit = self._cache.get(token)
            if hit is not None and hit[1] > now:
                self._cache.move_to_end(token)
                return hit[0]
        actor = actor_from_token(self._secret, token)
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        with self._lock:
            self._cache[token] = (actor, expires)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return actor
