"""The web app's sessions, kept server-side: the browser's cookie carries only a random value, the database its
SHA-256 (the ``web_session`` row: who, their agencies and roles, the session's CSRF token, expiry, revocation).
Signing out revokes the row at once; an admin revokes every session of a person ("sign out everywhere"). Like API
keys, the value is 256 random bits, so a fast hash is enough and the lookup is one primary-key read."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from phoihop.engine.clock import Clock
from phoihop.engine.errors import InvalidInput
from phoihop.engine.model import ROLES, Actor
from phoihop.engine.store import people
from phoihop.engine.store import web_sessions as store
from phoihop.engine.store.database import Database

TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often per session (reads stay reads)
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """A live session: who is signed in, the session's CSRF token, when it ends."""

    actor: Actor
    csrf: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str  # the cookie's value: shown once, never stored
    session: ActiveSession


@dataclass(frozen=True, slots=True)
class SessionsRevoked:
    user_id: str
    sessions_revoked: int


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class WebSessions:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def open(self, actor: Actor, *, ttl: timedelta) -> OpenedSession:
        """A new session of ``actor`` for ``ttl``; expired sessions of everyone are purged on the way (one indexed
        DELETE per sign-in keeps the table at the live sessions)."""
        now = self.clock.now()
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session = ActiveSession(actor, csrf, now + ttl)
        with self.db.transaction() as conn:
            store.purge_expired_sessions(conn, now)
            store.insert_session(
                conn,
                id=session_id(token),
                user_id=actor.id,
                name=actor.name[:300],
                groups=sorted(actor.groups),
                roles=sorted(actor.roles),
                csrf=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=session.expires_at,
                revoked_at=None,
            )
            if actor.name.strip() and actor.name != actor.id:  # pages name people by it, not by their login id
                people.remember_person(conn, actor.id, actor.name.strip()[:300], now)
        return OpenedSession(token, session)

    def find(self, token: str | None) -> ActiveSession | None:
        """The live session whose cookie value is ``token``; None when absent, unknown, revoked or expired."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        now = self.clock.now()
        key = session_id(token)
        with self.db.transaction(write=False) as conn:
            row = store.active_session(conn, key, now)
        if row is None:
            return None
        if now - row["last_seen_at"] >= TOUCH_EVERY:
            with self.db.transaction() as conn:
                store.touch_session(conn, key, now)
        actor = Actor.of(
            row["user_id"],
            name=row["name"] or row["user_id"],
            groups=[str(g) for g in row["groups"]],
            roles=[str(r) for r in row["roles"] if r in ROLES],
        )
        return ActiveSession(actor, row["csrf"], row["expires_at"])

    def revoke(self, token: str | None) -> bool:
        """Sign out: the session of ``token`` stops at once (False when there was none)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return False
        with self.db.transaction() as conn:
            return store.revoke_session(conn, session_id(token), self.clock.now())

    def revoke_user(self, actor: Actor, user_id: str) -> SessionsRevoked:
        """Sign ``user_id`` out everywhere (role admin): every live session of that person stops at once."""
        actor.require_role("admin")
        if not user_id or len(user_id) > 200:
            raise InvalidInput(
                "user_id must be 1 to 200 characters", detail_vi="Mã người dùng phải dài 1–200 ký tự", field="user_id"
            )
        with self.db.transaction() as conn:
            count = store.revoke_user_sessions(conn, user_id, self.clock.now())
        return SessionsRevoked(user_id, count)

    def purge_expired(self) -> int:
        with self.db.transaction() as conn:
            return store.purge_expired_sessions(conn, self.clock.now())
