"""The people the system knows (``person``): recorded when someone signs in to the web app or first uses a bearer
token, with their name, agencies and roles as their identity said then. Notifications are addressed from it, and
mentions (``@skhcn.an``) are resolved against it. There is no other user directory: the identity provider (or the
token issuer) stays the source of truth."""

from __future__ import annotations

from phoihop.engine.clock import Clock
from phoihop.engine.model import Actor
from phoihop.engine.store import people as store
from phoihop.engine.store.database import Database
from phoihop.engine.store.unit_of_work import unit_of_work


class People:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def seen(self, actor: Actor, *, email: str | None = None) -> None:
        """Record ``actor`` as they are now (the email only when the identity gives one)."""
        if not actor.roles & {"officer", "lead", "admin", "process-owner"}:
            return  # integrated systems and role-less identities are not people to notify
        with unit_of_work(self.db, self.clock.now) as uow:
            store.upsert_person(
                uow.conn,
                actor.id,
                name=actor.name or actor.id,
                groups=sorted(actor.groups),
                roles=sorted(actor.roles),
                now=uow.now,
                email=email,
            )
