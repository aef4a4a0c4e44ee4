"""The audit events of instances (``audit_event`` rows with an ``instance_id``): written by every command, read as an
instance's history. Events of no instance (deployments, version changes, calendar overrides) are in versions.py.
Never commits: the caller owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from phoihop.engine import correlation
from phoihop.engine.store import audit_chain, outbox, rawsql, write_hooks
from phoihop.engine.store.inbox_events import notify_inbox
from phoihop.engine.store.tables import Row, all_rows, audit_table

_INSERT_AUDIT = (
    "INSERT INTO audit_event (instance_id, at, actor, kind, element_id, task_id, data, request_id) VALUES"
    " (:instance_id, :at, :actor, :kind, :element_id, :task_id, :data@json, :request_id)"
)


def insert_audit(conn: Connection, events: list[dict[str, Any]]) -> None:
    """Each event carries the id of the request that caused it (engine/correlation.py), when there is one; the
    transaction seals them into the audit chain before it commits (store/audit_chain.py)."""
    if events:
        request_id = correlation.request_id.get()
        rawsql.run(
            conn,
            _INSERT_AUDIT,
            [
                {
                    "element_id": None,
                    "task_id": None,
                    "request_id": request_id,
                    **e,
                    "at": rawsql.ts(conn, e["at"]),
                    "data": rawsql.js(e["data"]),
                }
                for e in events
            ],
        )
        audit_chain.mark(conn)
        write_hooks.emit(conn, "audit", events)
        outbox.from_audit(conn, events)  # the webhook events they carry, in the command's own transaction
        notify_inbox(conn)  # the live streams (store/inbox_events.py)


def history(conn: Connection, instance_id: str) -> list[Row]:
    return all_rows(
        conn.execute(select(audit_table).where(audit_table.c.instance_id == instance_id).order_by(audit_table.c.id))
    )
