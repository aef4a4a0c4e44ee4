"""The caller's inbox events for the live stream (``GET /api/v1/events/stream``): tasks created, claimed, unclaimed
and completed in the caller's agencies (candidate groups) or for the caller (candidate user, assignee), read from
the audit trail after a cursor (engine/store/inbox_events.py).

The cursor is an audit event id. On PostgreSQL ids are taken at insert but become visible at commit, so an event
with a lower id may appear after a higher one: each read looks ``LOOKBACK`` ids behind the cursor and ``InboxCursor``
remembers what it already sent there, so nothing is lost and nothing is sent twice. SQLite has one writer at a time,
so ids become visible in order: no look-back, and nothing read while the newest id has not moved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from phoihop.engine.model import Actor
from phoihop.engine.store import inbox_events as store
from phoihop.engine.store.database import Database

__all__ = ["LOOKBACK", "InboxCursor", "InboxEvent", "InboxEventReads"]

LOOKBACK = 200  # audit ids re-read behind the cursor (transactions committing out of id order)

InboxEventType = Literal["task.created", "task.claimed", "task.unclaimed", "task.completed"]
_TYPES: dict[str, InboxEventType] = {
    "task_claimed": "task.claimed",
    "task_unclaimed": "task.unclaimed",
    "task_completed": "task.completed",
}


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """``id``: ``<audit event id>-<task id>``, unique per change, the SSE ``id:`` line."""

    id: str
    type: InboxEventType
    at: datetime
    task_id: str
    instance_id: str
    process_key: str
    name: str | None
    status: str
    assignee: str | None
    candidate_groups: tuple[str, ...]


@dataclass
class InboxCursor:
    """Where one stream stands: the highest audit id read, and the changes already sent within ``LOOKBACK``."""

    position: int
    start: int = -1  # events up to here happened before the stream began (set from ``position``)
    sent: set[tuple[int, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.start < 0:
            self.start = self.position


def _concerns(actor: Actor, row: dict[str, Any]) -> bool:
    return (
        actor.id in (row["candidate_users"] or [])
        or bool(actor.groups & set(row["candidate_groups"] or []))
        or row["assignee"] == actor.id
    )


class InboxEventReads:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.lookback = LOOKBACK if db.dialect == "postgresql" else 0

    def cursor(self) -> InboxCursor:
        """A cursor at the newest audit event: the stream sends what happens from now on."""
        with self.db.transaction(write=False) as conn:
            return InboxCursor(store.last_event_id(conn))

    def read(self, actor: Actor, cursor: InboxCursor) -> list[InboxEvent]:
        """The events for ``actor`` since ``cursor`` (which moves on), oldest first."""
        with self.db.transaction(write=False) as conn:
            upto = store.last_event_id(conn)
            if upto <= cursor.position and not self.lookback:
                return []
            rows = store.inbox_changes(conn, max(cursor.start, cursor.position - self.lookback), upto)
        events = []
        for row in rows:
            key = (row["event_id"], row["task_id"])
            if key in cursor.sent:
                continue
            cursor.sent.add(key)
            if not _concerns(actor, row):
                continue
            # the task an event of a task kind names; any other task of the row was created by the event's command
            named = row["kind"] in _TYPES and row["event_task_id"] == row["task_id"]
            kind: InboxEventType = _TYPES[row["kind"]] if named else "task.created"
            events.append(
                InboxEvent(
                    id=f"{row['event_id']}-{row['task_id']}",
                    type=kind,
                    at=row["at"],
                    task_id=row["task_id"],
                    instance_id=row["instance_id"],
                    process_key=row["process_key"],
                    name=row["name"],
                    status=row["status"],
                    assignee=row["assignee"],
                    candidate_groups=tuple(row["candidate_groups"] or ()),
                )
            )
        cursor.position = max(cursor.position, upto)
        floor = cursor.position - self.lookback
        cursor.sent = {key for key in cursor.sent if key[0] > floor}
        return events
