"""The webhook outbox: events written in the transaction of the command that caused them, and their deliveries.

``publish`` runs inside a command's transaction (never commits): for each event some live webhook wants, one
``outbox_event`` row and one ``webhook_delivery`` row per such webhook. ``from_audit`` derives the events from the
audit events a command inserts (engine/store/audit.py calls it), so a command that rolls back leaves no event and a
committed one never loses its events.

The delivery side (engine/commands/webhooks.py) claims due deliveries with a lease in short transactions of its own:
``claim_due`` locks candidate rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer), so two
workers never hold one delivery at once; ``finish`` records an attempt only while the worker's lease still holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import Connection

from phoihop.engine.clock import utc_text
from phoihop.engine.store import rawsql
from phoihop.engine.store.models import DeadlineAnnouncement, OutboxEvent, Webhook, WebhookAttempt, WebhookDelivery

webhook_table = Webhook.__table__  # type: ignore[attr-defined]
outbox_event_table = OutboxEvent.__table__  # type: ignore[attr-defined]
webhook_delivery_table = WebhookDelivery.__table__  # type: ignore[attr-defined]
webhook_attempt_table = WebhookAttempt.__table__  # type: ignore[attr-defined]
deadline_announcement_table = DeadlineAnnouncement.__table__  # type: ignore[attr-defined]

EventType = Literal[
    "instance.started",
    "instance.ended",
    "task.created",
    "task.claimed",
    "task.completed",
    "task.returned",
    "dossier.status_changed",
    "deadline.warning",
    "deadline.overdue",
    "incident",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# audit event kind → (event type, what data the event adds)
AUDIT_KINDS: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "instance_started": ("instance.started", {}),
    "instance_completed": ("instance.ended", {"outcome": "completed"}),
    "instance_cancelled": ("instance.ended", {"outcome": "cancelled"}),
    "task_claimed": ("task.claimed", {}),
    "task_completed": ("task.completed", {}),
    "task_returned": ("task.returned", {}),
    "instance_error": ("incident", {"source": "instance"}),
    "incident_created": ("incident", {"source": "job"}),
}

_LIVE_WEBHOOKS = "SELECT id, events, process_key FROM webhook WHERE deleted_at IS NULL"
_PROCESS_KEYS = "SELECT id, process_key FROM process_instance WHERE id = :id"
_INSERT_EVENT = (
    "INSERT INTO outbox_event (id, type, occurred_at, instance_id, process_key, data)"
    " VALUES (:id, :type, :occurred_at, :instance_id, :process_key, :data@json)"
)
_INSERT_DELIVERY = (
    "INSERT INTO webhook_delivery (event_id, webhook_id, status, attempts, next_attempt_at, created_at)"
    " VALUES (:event_id, :webhook_id, 'pending', 0, :at, :at)"
)


def _wants(webhook: Mapping[str, Any], event_type: str, process_key: str | None) -> bool:
    events = rawsql.js_out(webhook["events"]) or []
    if events and event_type not in events:
        return False
    return webhook["process_key"] is None or webhook["process_key"] == process_key


# PostgreSQL: one statement for a command's events (one JSON array, made rows again by the server), deferred
# (store/rawsql.py): it leaves with the command's commit, costs no trip of its own, and reads the webhooks (and each
# instance's process key) on the server, in the same transaction. One statement rather than one per event: each
# costs psycopg its parameter adaptation and pipeline bookkeeping, and the server a Bind/Execute.
_PUBLISH_DEFERRED = (
    "WITH ev AS MATERIALIZED (SELECT u.o, u.id, u.type, u.occurred_at, u.instance_id, COALESCE(u.process_key,"
    " (SELECT i.process_key FROM process_instance i WHERE i.id = u.instance_id)) AS process_key, u.data"
    " FROM ROWS FROM (jsonb_to_recordset(CAST(:events AS jsonb)) AS (id varchar, type varchar,"
    " occurred_at timestamptz, instance_id varchar, process_key varchar, data jsonb))"
    " WITH ORDINALITY AS u(id, type, occurred_at, instance_id, process_key, data, o)),"
    " wanting AS (SELECT ev.o, ev.id AS event_id, w.id AS webhook_id, ev.occurred_at FROM ev, webhook w"
    " WHERE w.deleted_at IS NULL"
    " AND CASE jsonb_typeof(w.events) WHEN 'array' THEN jsonb_array_length(w.events) = 0"
    " OR w.events ? CAST(ev.type AS text) WHEN 'object' THEN w.events = '{}' OR w.events ? CAST(ev.type AS text)"
    " ELSE true END"
    " AND (w.process_key IS NULL OR w.process_key = ev.process_key)),"
    " event AS (INSERT INTO outbox_event (id, type, occurred_at, instance_id, process_key, data)"
    " SELECT ev.id, ev.type, ev.occurred_at, ev.instance_id, ev.process_key, ev.data FROM ev"
    " WHERE EXISTS (SELECT 1 FROM wanting WHERE wanting.o = ev.o) ORDER BY ev.o RETURNING id)"
    " INSERT INTO webhook_delivery (event_id, webhook_id, status, attempts, next_attempt_at, created_at)"
    " SELECT wanting.event_id, wanting.webhook_id, 'pending', 0, wanting.occurred_at, wanting.occurred_at"
    " FROM wanting WHERE wanting.event_id IN (SELECT id FROM event) ORDER BY wanting.o, wanting.webhook_id"
)


def publish_deferred(conn: Connection, events: Sequence[Mapping[str, Any]]) -> None:
    """``publish`` without waiting: on PostgreSQL the events leave with the command's commit (the webhooks that want
    them are chosen there, by the same rules as ``_wants``); on SQLite, ``publish``."""
    if not events:
        return
    if conn.dialect.name != "postgresql":
        publish(conn, events)
        return
    rows = [
        {
            "id": str(uuid.uuid4()),
            "type": event["type"],
            "occurred_at": rawsql.ts(conn, event["occurred_at"]).isoformat(),
            "instance_id": event.get("instance_id"),
            "process_key": event.get("process_key"),
            "data": event.get("data") or {},
        }
        for event in events
    ]
    rawsql.defer(conn, _PUBLISH_DEFERRED, {"events": rawsql.js(rows)})


def publish(conn: Connection, events: Sequence[Mapping[str, Any]]) -> int:
    """Write ``events`` (``type``, ``occurred_at``, ``instance_id``, ``data`` and, when known, ``process_key``) to
    the outbox for the webhooks that want them; returns how many deliveries were queued."""
    if not events:
        return 0
    webhooks = rawsql.run(conn, _LIVE_WEBHOOKS).all()
    if not webhooks:
        return 0
    keys: dict[str, str | None] = {}
    event_rows: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for event in events:
        instance_id = event.get("instance_id")
        process_key = event.get("process_key")
        if process_key is None and instance_id is not None:
            if instance_id not in keys:
                row = rawsql.run(conn, _PROCESS_KEYS, {"id": instance_id}).first()
                keys[instance_id] = row["process_key"] if row else None
            process_key = keys[instance_id]
        wanting = [w["id"] for w in webhooks if _wants(w, event["type"], process_key)]
        if not wanting:
            continue
        event_id = str(uuid.uuid4())
        at = rawsql.ts(conn, event["occurred_at"])
        event_rows.append(
            {
                "id": event_id,
                "type": event["type"],
                "occurred_at": at,
                "instance_id": instance_id,
                "process_key": process_key,
                "data": rawsql.js(event.get("data") or {}),
            }
        )
        deliveries += [{"event_id": event_id, "webhook_id": w, "at": at} for w in wanting]
    if event_rows:
        rawsql.run(conn, _INSERT_EVENT, event_rows)
        rawsql.run(conn, _INSERT_DELIVERY, deliveries)
    return len(deliveries)


def from_audit(
    conn: Connection, audit_events: Sequence[Mapping[str, Any]], also: Sequence[Mapping[str, Any]] = ()
) -> None:
    """The webhook events of the audit events a command writes (kinds in ``AUDIT_KINDS``), then ``also``, deferred."""
    events: list[Mapping[str, Any]] = []
    for audit in audit_events:
        mapped = AUDIT_KINDS.get(audit["kind"])
        if mapped is None:
            continue
        event_type, extra = mapped
        data = {
            "kind": audit["kind"],
            "actor": audit.get("actor"),
            "element_id": audit.get("element_id"),
            "task_id": audit.get("task_id"),
            **(audit.get("data") or {}),
            **extra,
        }
        events.append(
            {"type": event_type, "occurred_at": audit["at"], "instance_id": audit.get("instance_id"), "data": data}
        )
    publish_deferred(conn, [*events, *also])


# ---- task deadlines: found by the delivery worker's scan, announced once per task and kind ------------------------

_DEADLINE_COLUMNS = {"warning": "warn_at", "overdue": "due_at"}
_CROSSED = (
    "SELECT t.id, t.instance_id, t.process_key, t.element_id, t.name, t.due_at, t.assignee, t.candidate_groups"
    " FROM human_task t WHERE t.status IN ('open', 'claimed') AND t.{column} IS NOT NULL AND t.{column} <= :now"
    " AND NOT EXISTS (SELECT 1 FROM deadline_announcement a WHERE a.task_id = t.id AND a.kind = :kind)"
    " ORDER BY t.{column} LIMIT :limit"
)
_ANNOUNCE = (
    "INSERT INTO deadline_announcement (task_id, kind, at) VALUES (:task_id, :kind, :at)"
    " ON CONFLICT (task_id, kind) DO NOTHING"
)


def any_live_webhook(conn: Connection) -> bool:
    return rawsql.run(conn, _LIVE_WEBHOOKS + " LIMIT 1").first() is not None


def announce_deadlines(conn: Connection, now: datetime, *, limit: int = 200) -> int:
    """``deadline.warning`` (past ``warn_at``) and ``deadline.overdue`` (past ``due_at``) of open tasks, each once per
    task: the announcement row's primary key decides between workers (a concurrent insert of the same key waits for
    the first transaction, then inserts nothing). Nothing is scanned while no webhook is live."""
    if not rawsql.run(conn, _LIVE_WEBHOOKS).all():
        return 0
    events: list[dict[str, Any]] = []
    t_now = rawsql.ts(conn, now)
    for kind, column in _DEADLINE_COLUMNS.items():
        rows = rawsql.run(conn, _CROSSED.format(column=column), {"now": t_now, "kind": kind, "limit": limit}).all()
        for row in rows:
            inserted = rawsql.run(conn, _ANNOUNCE, {"task_id": row["id"], "kind": kind, "at": t_now}).rowcount
            if inserted != 1:
                continue
            due_at = rawsql.ts_out(row["due_at"])
            events.append(
                {
                    "type": f"deadline.{kind}",
                    "occurred_at": now,
                    "instance_id": row["instance_id"],
                    "process_key": row["process_key"],
                    "data": {
                        "task_id": row["id"],
                        "element_id": row["element_id"],
                        "name": row["name"],
                        "due_at": utc_text(due_at) if due_at is not None else None,
                        "assignee": row["assignee"],
                        "candidate_groups": rawsql.js_out(row["candidate_groups"]),
                    },
                }
            )
    publish(conn, events)
    return len(events)


# ---- the delivery side: short transactions of the delivery worker -------------------------------------------------

_DUE = (
    "SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= :now"
    " AND (lease_until IS NULL OR lease_until <= :now) ORDER BY next_attempt_at, id LIMIT :limit"
)
_TAKE = (
    "UPDATE webhook_delivery SET lease_until = :lease_until, lease_token = :token"
    " WHERE id = :id AND status = 'pending' AND (lease_until IS NULL OR lease_until <= :now)"
)
_CLAIMED = (
    "SELECT d.id, d.event_id, d.webhook_id, d.attempts, d.lease_token, e.type, e.occurred_at, e.instance_id,"
    " e.process_key, e.data, w.url, w.secret, w.key_id, w.deleted_at"
    " FROM webhook_delivery d JOIN outbox_event e ON e.id = d.event_id JOIN webhook w ON w.id = d.webhook_id"
    " WHERE d.lease_token = :token"
)


def claim_due(conn: Connection, now: datetime, *, limit: int, lease: timedelta) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due deliveries to this worker (one token for the batch) with what sending them needs."""
    due_sql = _DUE + (" FOR UPDATE SKIP LOCKED" if conn.dialect.name == "postgresql" else "")
    t_now = rawsql.ts(conn, now)
    ids = [r["id"] for r in rawsql.run(conn, due_sql, {"now": t_now, "limit": limit}).all()]
    if not ids:
        return []
    token = str(uuid.uuid4())
    rawsql.run(
        conn,
        _TAKE,
        [{"id": i, "now": t_now, "lease_until": rawsql.ts(conn, now + lease), "token": token} for i in ids],
    )
    rows = rawsql.run(conn, _CLAIMED, {"token": token}).all()
    return [rawsql.row_out(r, times=("occurred_at", "deleted_at"), jsons=("data",)) for r in rows]


_FINISH = (
    "UPDATE webhook_delivery SET status = :status, attempts = :attempts, next_attempt_at = :next_attempt_at,"
    " lease_until = NULL, lease_token = NULL, last_status_code = :status_code, last_error = :error,"
    " delivered_at = :delivered_at WHERE id = :id AND lease_token = :token"
)
_INSERT_ATTEMPT = (
    "INSERT INTO webhook_attempt (delivery_id, at, status_code, error, duration_ms)"
    " VALUES (:delivery_id, :at, :status_code, :error, :duration_ms)"
)


def finish(
    conn: Connection,
    delivery_id: int,
    token: str,
    *,
    status: str,
    attempts: int,
    at: datetime,
    next_attempt_at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> bool:
    """Record one attempt of a leased delivery; False (nothing written) when the lease was lost meanwhile."""
    updated = rawsql.run(
        conn,
        _FINISH,
        {
            "id": delivery_id,
            "token": token,
            "status": status,
            "attempts": attempts,
            "next_attempt_at": rawsql.ts(conn, next_attempt_at),
            "status_code": status_code,
            "error": error,
            "delivered_at": rawsql.ts(conn, at) if status == "delivered" else None,
        },
    ).rowcount
    if updated != 1:
        return False
    rawsql.run(
        conn,
        _INSERT_ATTEMPT,
        {
            "delivery_id": delivery_id,
            "at": rawsql.ts(conn, at),
            "status_code": status_code,
            "error": error,
            "duration_ms": duration_ms,
        },
    )
    return True


_NEXT_DUE = (
    "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END) AS due"
    " FROM webhook_delivery WHERE status = 'pending'"
)


def next_due(conn: Connection) -> datetime | None:
    """When a pending delivery can next be claimed: its next attempt, or the end of the lease another worker holds on
    it (a leased delivery is not due to anyone else, so waiting workers sleep until the lease ends, not spin)."""
    row = rawsql.run(conn, _NEXT_DUE).first()
    return rawsql.ts_out(row["due"]) if row else None
