"""API keys for integrators (X-API-Key). Only a SHA-256 of the key is stored: keys are 256-bit random values,
so a fast hash is enough (no dictionary to guess from), and lookup stays one indexed query."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from phoihop.engine.clock import Clock
from phoihop.engine.errors import InvalidInput
from phoihop.engine.model import ROLES, Actor
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

PREFIX = "phk_"


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    """An API key as listed: never the key itself (only its hash is stored), nor the hash."""

    id: int
    name: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeys:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(self, name: str, *, roles: Iterable[str], groups: Iterable[str] = ()) -> str:
        roles, groups = sorted(set(roles)), sorted(set(groups))
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not name:
            raise InvalidInput(
                f"unknown roles {unknown} or empty name", detail_vi="Vai trò không hợp lệ hoặc tên rỗng", field="roles"
            )
        key = PREFIX + secrets.token_urlsafe(32)
        with self.db.transaction() as conn:
            repo.insert_api_key(
                conn, name=name, key_hash=hash_key(key), roles=roles, groups=groups, created_at=self.clock.now()
            )
        return key

    def authenticate(self, key: str) -> Actor | None:
        if not key.startswith(PREFIX) or len(key) > 200:
            return None
        with self.db.transaction(write=False) as conn:
            row = repo.api_key_by_hash(conn, hash_key(key))
        if row is None:
            return None
        return Actor.of(f"apikey:{row['name']}", name=row["name"], roles=row["roles"], groups=row["groups"])

    def list(self) -> list[ApiKeyView]:
        with self.db.transaction(write=False) as conn:
            rows = repo.list_api_keys(conn)
        return [
            ApiKeyView(r["id"], r["name"], tuple(r["roles"]), tuple(r["groups"]), r["created_at"], r["revoked_at"])
            for r in rows
        ]

    def revoke(self, name: str) -> bool:
        with self.db.transaction() as conn:
            return repo.revoke_api_key(conn, name, self.clock.now())
