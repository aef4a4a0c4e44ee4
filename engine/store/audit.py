"""The audit events of instances (``audit_event`` rows with an ``instance_id``): written by every command, read as an
instance's history. Events of no instance (deployments, version changes, calendar overrides) are in versions.py.
Never commits: the caller owns the transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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


_COLUMNS = ("instance_id", "at", "actor", "kind", "element_id", "task_id", "data", "request_id")
# a number written with an exponent: jsonb gives 1e20 back as 100000000000000000000, an integer, so the hash of the
# event as written would not be the hash of the event read back (such events are sealed after reading them back).
# The quick look finds digit-e-digit anywhere, in strings too (an id such as "…-4e3a-…"); only when it does are the
# strings skipped to see whether a number outside them has the exponent.
_EXPONENT = re.compile(r"\d[eE][+-]?\d")
_STRING_OR_EXPONENT_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?[eE][+-]?\d+)')


def reads_back_otherwise(data: str) -> bool:
    """Whether the JSON text ``data`` holds a number written with an exponent (outside its strings)."""
    if _EXPONENT.search(data) is None:
        return False
    return any(match.group(1) for match in _STRING_OR_EXPONENT_NUMBER.finditer(data))


def insert_audit(
    conn: Connection, events: list[dict[str, Any]], *, webhook_events: Sequence[Mapping[str, Any]] = ()
) -> None:
    """Each event carries the id of the request that caused it (engine/correlation.py), when there is one; the
    transaction seals them into the audit chain before it commits (store/audit_chain.py), and inserts them then,
    already sealed (on PostgreSQL in the commit's trip); with them, in the same trip, the webhook events they
    carry (store/outbox.py) and the ``NOTIFY`` of the live streams (store/inbox_events.py). ``webhook_events``: the
    command's other webhook events (tasks created, dossier status), published with the audit's in one go (on SQLite
    one read of the live webhooks for the command, not two)."""
    if not events:
        outbox.publish_deferred(conn, webhook_events)
        return
    request_id = correlation.request_id.get()
    rows = [
        {
            "element_id": None,
            "task_id": None,
            "request_id": request_id,
            **e,
            "data": rawsql.js(e["data"]),
        }
        for e in events
    ]
    if not any(reads_back_otherwise(row["data"]) for row in rows):
        audit_chain.buffer(conn, [{name: row[name] for name in _COLUMNS} for row in rows])
    else:
        rawsql.run(conn, _INSERT_AUDIT, [{**row, "at": rawsql.ts(conn, row["at"])} for row in rows])
        audit_chain.mark(conn)
    write_hooks.emit(conn, "audit", events)
    outbox.from_audit(conn, events, webhook_events)  # the webhook events, in the command's own transaction
    notify_inbox(conn)  # the live streams (store/inbox_events.py)


def history(conn: Connection, instance_id: str) -> list[Row]:
    audit_chain.spill(conn)  # this transaction's own events too
    return all_rows(
        conn.execute(select(audit_table).where(audit_table.c.instance_id == instance_id).order_by(audit_table.c.id))
    )
