"""The Alembic migrations and the SQLModel tables agree on both databases, and upgrading is repeatable."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from phoihop.engine.store.database import normalize_url
from phoihop.engine.store.schema import pending_diff, upgrade


def test_models_and_migrations_agree(db_url: str) -> None:
    assert pending_diff(db_url) == []


def test_upgrade_is_idempotent_and_at_head(db_url: str) -> None:
    engine = create_engine(normalize_url(db_url))
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        upgrade(db_url)  # already at head: nothing to do, nothing breaks
        with engine.connect() as conn:
            after = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert len(before) == 1 and before == after
        tables = set(inspect(engine).get_table_names())
        assert {
            "process_definition",
            "process_instance",
            "human_task",
            "task_candidate",
            "timer",
            "message_subscription",
            "audit_event",
            "idempotency_key",
            "api_key",
        } <= tables
    finally:
        engine.dispose()
    assert pending_diff(db_url) == []
