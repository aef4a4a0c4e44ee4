"""Reading the audit trail: the audit events that belong to no instance (an instance's own events are its history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from phoihop.engine.errors import Forbidden
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import JsonObject, Page, page_bounds
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["MAX_AUDIT_PAGE", "AuditEvent", "AuditReads"]

MAX_AUDIT_PAGE = 200


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """An event of no instance: ``process_key`` for a definition event; ``data`` its before and after values,
    version, change note or reason, ... (free-form)."""

    id: int
    at: datetime
    actor: str
    kind: str
    process_key: str | None
    data: JsonObject


class AuditReads:
    def __init__(self, db: Database) -> None:
        self.db = db

    def audit_trail(
        self,
        actor: Actor,
        *,
        kind: str | None = None,
        process_key: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[AuditEvent]:
        """The audit events that belong to no instance, newest first (process owners and admins): deployments,
        suspensions, activations and default-version changes of process keys (``process_key`` set), and the
        others engine-wide (calendar overrides, ...)."""
        if not (actor.is_admin or "process-owner" in actor.roles):
            raise Forbidden(
                "the audit trail is for process owners and admins",
                detail_vi="Chỉ chủ quy trình và quản trị viên được xem nhật ký thay đổi quy trình",
                required_roles=["process-owner", "admin"],
            )
        limit, offset = page_bounds(limit, offset, MAX_AUDIT_PAGE)
        with self.db.transaction(write=False) as conn:
            rows, total = repo.audit_trail(
                conn, kind=kind, process_key=process_key, since=since, limit=limit, offset=offset
            )
        events = tuple(AuditEvent(r["id"], r["at"], r["actor"], r["kind"], r["process_key"], r["data"]) for r in rows)
        return Page(events, total, limit, offset)
