"""What the store keeps about callers: the idempotency keys of their requests, and their API keys. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from phoihop.engine.store.tables import Row, all_rows, api_key_table, idempotency_table, insert_ignore, one


def reserve_idempotency_key(
    conn: Connection, *, caller: str, key: str, request_hash: str, instance_id: str, at: datetime
) -> bool:
    stmt = (
        insert_ignore(conn, idempotency_table)
        .values(caller=caller, key=key, request_hash=request_hash, instance_id=instance_id, created_at=at)
        .on_conflict_do_nothing()
        .returning(idempotency_table.c.key)
    )
    return conn.execute(stmt).first() is not None  # rowcount is not reliable for ON CONFLICT on every driver


def idempotency_record(conn: Connection, caller: str, key: str) -> Row | None:
    return one(
        conn.execute(
            select(idempotency_table).where(idempotency_table.c.caller == caller, idempotency_table.c.key == key)
        )
    )


def insert_api_key(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(api_key_table).values(**values).returning(api_key_table.c.id)).scalar_one())


def api_key_by_hash(conn: Connection, key_hash: str) -> Row | None:
    return one(
        conn.execute(
            select(api_key_table).where(api_key_table.c.key_hash == key_hash, api_key_table.c.revoked_at.is_(None))
        )
    )


def list_api_keys(conn: Connection) -> list[Row]:
    return all_rows(conn.execute(select(api_key_table).order_by(api_key_table.c.id)))


def revoke_api_key(conn: Connection, name: str, at: datetime) -> bool:
    result = conn.execute(
        update(api_key_table)
        .where(api_key_table.c.name == name, api_key_table.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount == 1)
