"""What instances wait on besides human tasks: their timers (``timer``) and message subscriptions
(``message_subscription``). Never commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from phoihop.engine.store.tables import Row, all_rows, instance_table, subscription_table, timer_table


# --- timers -----------------------------------------------------------------------------------------------------------
def replace_timers(conn: Connection, instance_id: str, timers: list[dict[str, Any]]) -> None:
    conn.execute(delete(timer_table).where(timer_table.c.instance_id == instance_id))
    if timers:
        conn.execute(insert(timer_table), [{"instance_id": instance_id, **t} for t in timers])


def instance_timers(conn: Connection, instance_id: str) -> list[Row]:
    return all_rows(conn.execute(select(timer_table).where(timer_table.c.instance_id == instance_id)))


def due_timers(conn: Connection, now: datetime, limit: int) -> list[Row]:
    # strictly before now: SpiffWorkflow fires a timer only once its due time has passed (due < now)
    stmt = (
        select(timer_table.c.id, timer_table.c.instance_id, timer_table.c.due_at)
        .where(timer_table.c.due_at < now)
        .order_by(timer_table.c.due_at)
        .limit(limit)
    )
    return all_rows(conn.execute(stmt))


def timer_exists(conn: Connection, timer_id: int) -> bool:
    return conn.execute(select(timer_table.c.id).where(timer_table.c.id == timer_id)).first() is not None


def next_timer_due(conn: Connection) -> datetime | None:
    value: datetime | None = conn.execute(select(func.min(timer_table.c.due_at))).scalar()
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
        .where(subscription_table.c.message_name == message_name, instance_table.c.status == "running")
    )
    if business_key is not None:
        stmt = stmt.where(subscription_table.c.business_key == business_key)
    return all_rows(conn.execute(stmt.order_by(subscription_table.c.id)))
