"""What instances wait on besides human tasks: their timers (``timer``) and message subscriptions
(``message_subscription``). Never commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select

from phoihop.engine.store.tables import Row, all_rows, instance_table, one, subscription_table, timer_table
from phoihop.engine.store.types import UtcDateTime


# --- timers -----------------------------------------------------------------------------------------------------------
def replace_timers(conn: Connection, instance_id: str, timers: list[dict[str, Any]]) -> list[int]:
    """Make the instance's timer rows ``timers``. A row whose timer is unchanged (same task, element, due time) is
    kept with its retry bookkeeping; returns the incident ids of parked rows that went away."""
    existing = {
        (r["task_id"], r["element_id"], r["due_at"]): r
        for r in all_rows(conn.execute(select(timer_table).where(timer_table.c.instance_id == instance_id)))
    }
    wanted = [t for t in timers if (t["task_id"], t["element_id"], t["due_at"]) not in existing]
    keys = {(t["task_id"], t["element_id"], t["due_at"]) for t in timers}
    gone = [r for k, r in existing.items() if k not in keys]
    if gone:
        conn.execute(delete(timer_table).where(timer_table.c.id.in_([r["id"] for r in gone])))
    if wanted:
        conn.execute(insert(timer_table), [{"instance_id": instance_id, **t} for t in wanted])
    return [r["incident_id"] for r in gone if r["incident_id"] is not None]


def instance_timers(conn: Connection, instance_id: str) -> list[Row]:
    return all_rows(
        conn.execute(select(timer_table).where(timer_table.c.instance_id == instance_id).order_by(timer_table.c.id))
    )


def _ready(now: datetime) -> Any:
    """Due, not waiting out a retry backoff, not parked on an incident."""
    return and_(
        timer_table.c.due_at < now,
        or_(timer_table.c.retry_at.is_(None), timer_table.c.retry_at <= now),
        timer_table.c.incident_id.is_(None),
    )


def due_timers(conn: Connection, now: datetime, limit: int) -> list[Row]:
    # strictly before now: SpiffWorkflow fires a timer only once its due time has passed (due < now)
    stmt = (
        select(timer_table.c.id, timer_table.c.instance_id, timer_table.c.due_at)
        .where(_ready(now))
        .order_by(func.coalesce(timer_table.c.retry_at, timer_table.c.due_at), timer_table.c.id)
        .limit(limit)
    )
    return all_rows(conn.execute(stmt))


def ready_timer(conn: Connection, timer_id: int, now: datetime) -> Row | None:
    """The timer row if it is still there and ready to fire (read under the instance's lock)."""
    return one(conn.execute(select(timer_table).where(timer_table.c.id == timer_id, _ready(now))))


def held_timers(conn: Connection, instance_id: str, *, firing: str | None = None) -> list[str]:
    """Task ids of the instance's timers that only their own job may fire: any that failed before (in a retry
    backoff, due for a retry, or parked on an incident), but ``firing`` (the task id the calling job fires)."""
    stmt = select(timer_table.c.task_id).where(
        timer_table.c.instance_id == instance_id,
        or_(timer_table.c.incident_id.is_not(None), timer_table.c.attempts > 0),
    )
    return [r[0] for r in conn.execute(stmt) if r[0] != firing]


def next_timer_due(conn: Connection) -> datetime | None:
    when = func.coalesce(timer_table.c.retry_at, timer_table.c.due_at, type_=UtcDateTime())
    value: datetime | None = conn.execute(select(func.min(when)).where(timer_table.c.incident_id.is_(None))).scalar()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# --- message subscriptions --------------------------------------------------------------------------------------------
def replace_subscriptions(conn: Connection, instance_id: str, subscriptions: list[dict[str, Any]]) -> None:
    conn.execute(delete(subscription_table).where(subscription_table.c.instance_id == instance_id))
    if subscriptions:
        conn.execute(insert(subscription_table), [{"instance_id": instance_id, **s} for s in subscriptions])


def instance_subscriptions(conn: Connection, instance_id: str) -> list[Row]:
    return all_rows(conn.execute(select(subscription_table).where(subscription_table.c.instance_id == instance_id)))


def subscriptions_for(conn: Connection, message_name: str, business_key: str | None) -> list[Row]:
    stmt = (
        select(
            subscription_table.c.instance_id,
            subscription_table.c.correlations,
            instance_table.c.variables,
            instance_table.c.business_key,
        )
        .join(instance_table, instance_table.c.id == subscription_table.c.instance_id)
        .where(
            subscription_table.c.message_name == message_name,
            instance_table.c.status.in_(("running", "incident", "error")),
        )
    )
    if business_key is not None:
        stmt = stmt.where(subscription_table.c.business_key == business_key)
    return all_rows(conn.execute(stmt.order_by(subscription_table.c.id)))
