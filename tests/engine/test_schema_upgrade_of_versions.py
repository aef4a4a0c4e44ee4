"""Migration 0004 on a database that already holds instances (and 0007, which fills the search text of its tasks, and
0110, which seals its audit events into the hash chain): SQLite rebuilds process_definition (to drop the
(key, content_hash) constraint) while instances and schedules reference it; every row and reference survives, and a
revert (an older content as a new version) is then allowed. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from phoihop.engine.store import audit_chain
from phoihop.engine.store.database import make_engine
from phoihop.engine.store.schema import alembic_config, head_revision, pending_diff, upgrade
from tests.conftest import PG_ADMIN_URL

ROWS = [
    "INSERT INTO deployment (id, content_hash, files, deployed_by, deployed_at)"
    " VALUES (1, 'h1', '[]', 'owner', '2026-11-01 01:00:00')",
    "INSERT INTO process_definition (id, key, version, name, content_hash, deployment_id, status, deployed_by,"
    " deployed_at, start_messages) VALUES (1, 'k', 1, 'Quy trình', 'h1', 1, 'active', 'owner',"
    " '2026-11-01 01:00:00', '[]')",
    "INSERT INTO process_instance (id, definition_id, process_key, status, state, serializer_version, version,"
    " variables, started_by, started_at) VALUES ('00000000-0000-7000-8000-000000000001', 1, 'k', 'running', '{}',"
    " '1.5', 1, '{}', 'portal', '2026-11-01 02:00:00')",
    "INSERT INTO instance_task (instance_id, seq, task_id, body)"
    " VALUES ('00000000-0000-7000-8000-000000000001', 1, 't1', '{}')",
    "INSERT INTO start_schedule (process_key, definition_id, element_id, timer_kind, timer_text, occurrence)"
    " VALUES ('k', 1, 'start', 'timeCycle', 'R/P1D', 0)",
    # events older than the audit chain (0110 seals them: verify passes right after the upgrade)
    "INSERT INTO audit_event (instance_id, at, actor, kind, data) VALUES ('00000000-0000-7000-8000-000000000001',"
    " '2026-11-01 02:00:00', 'portal', 'instance_started', '{\"variables\": {}}')",
    "INSERT INTO audit_event (instance_id, at, actor, kind, data) VALUES (NULL, '2026-11-01 03:00:00', 'owner',"
    " 'deployed', '{}')",
]
# a task written before migration 0007: its search text (folded name, case title, applicant) is filled by it
TASK = [
    'UPDATE process_instance SET business_key = \'HS-7\', variables = \'{"title": "Vướng mắc ở Đông Anh",'
    ' "applicant": {"name": "Công ty Ánh Dương"}}\'',
    "INSERT INTO human_task (id, instance_id, process_key, element_id, name, candidate_groups, candidate_users,"
    " status, created_at) VALUES ('00000000-0000-7000-8000-0000000000aa', '00000000-0000-7000-8000-000000000001',"
    " 'k', 'classify', 'Phân loại vướng mắc', '[\"skhcn\"]', '[]', 'open', '2026-11-01 02:00:00')",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("pg_database")  # skips (or fails under CI) without a server
    name = f"phoihop_test_mig_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrading_a_database_with_instances_keeps_every_row(fresh_url: str) -> None:
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            config = alembic_config(fresh_url)
            config.attributes["connection"] = conn
            command.upgrade(config, "0003")
        with engine.begin() as conn:
            for statement in ROWS + TASK:
                conn.execute(text(statement))

        upgrade(fresh_url)

        with engine.begin() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
            assert conn.execute(
                text("SELECT id, key, version, status, status_changed_at FROM process_definition")
            ).all() == [(1, "k", 1, "active", None)]
            assert conn.execute(text("SELECT definition_id FROM process_instance")).scalar_one() == 1
            assert conn.execute(text("SELECT definition_id FROM start_schedule")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM instance_task")).scalar_one() == 1
            assert conn.execute(text("SELECT search_text FROM human_task")).scalar_one() == (
                "phan loai vuong mac | hs-7 | vuong mac o dong anh | cong ty anh duong"
            )
            assert audit_chain.verify(conn) is None
            assert conn.execute(text("SELECT seq FROM audit_chain")).scalar_one() == 2
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            # a revert: version 2 repeats the content of version 1
            conn.execute(
                text(
                    "INSERT INTO process_definition (id, key, version, name, content_hash, deployment_id,"
                    " status, deployed_by, deployed_at, start_messages) VALUES (2, 'k', 2, 'Quy trình',"
                    " 'h1', 1, 'active', 'owner', '2026-11-02 01:00:00', '[]')"
                )
            )
    finally:
        engine.dispose()
    assert pending_diff(fresh_url) == []
