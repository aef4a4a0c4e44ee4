"""Backup and restore (issue 14, item 13; docs/production.md): a database with an instance and its audit trail,
written by the engine, is dumped by the real ``pg_dump -Fc``, restored by ``pg_restore`` into a new database, and a
server on the restored database serves the instance and its history; ``phoihop audit verify`` passes on it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from phoihop.app import create_app
from phoihop.cli import main
from phoihop.engine.clock import FakeClock
from phoihop.engine.container import build_engine
from phoihop.settings import Settings
from tests.conftest import INTEGRATOR, PG_ADMIN_URL, TEST_SECRET, auth, empty_database
from tests.engine.helpers import SKHCN, bpmn, deploy_xml, lane, task_id

pytestmark = pytest.mark.skipif(
    shutil.which("pg_dump") is None or shutil.which("pg_restore") is None, reason="pg_dump/pg_restore not installed"
)

TWO_STEPS = bpmn(
    "backup_two_steps",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Thẩm định"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Phê duyệt"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>""",
    lanes=lane("L1", "Sở Khoa học và Công nghệ", "start", "review", "approve", "end"),
)


def _libpq(url: str) -> list[str]:
    """pg_dump/pg_restore connection options of a SQLAlchemy URL."""
    parsed = make_url(url)
    return ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]


@pytest.fixture
def restored_url(pg_database: str) -> Iterator[str]:
    name = f"{make_url(pg_database).database}_restored"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:  # disposed whatever fails: a connection left open warns (ResourceWarning) in a later test of the worker
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield pg_database.rsplit("/", 1)[0] + f"/{name}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def test_a_dump_restored_into_a_new_database_is_served(
    pg_database: str, restored_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_database(pg_database)
    container = build_engine(pg_database, clock=FakeClock())
    try:
        deploy_xml(container, "backup_two_steps.bpmn", TWO_STEPS)
        instance_id, _ = container.instances.start(INTEGRATOR, "backup_two_steps", variables={"ma_ho_so": "HS-001"})
        container.tasks.complete(SKHCN, task_id(container, instance_id, "review"), {"ket_qua": "đạt"})
    finally:
        container.close()

    dump = tmp_path / "phoihop.dump"
    source = make_url(pg_database).database or ""
    subprocess.run(["pg_dump", "-Fc", *_libpq(pg_database), "-d", source, "-f", str(dump)], check=True)
    target = make_url(restored_url).database or ""
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", *_libpq(restored_url), "-d", target, str(dump)], check=True
    )

    settings = Settings(
        env="test",
        database_url=restored_url,
        secret_key=TEST_SECRET,
        deploy_on_start=False,
        run_scheduler=False,
        processes_dir=Path("processes"),
    )
    with TestClient(create_app(settings, clock=FakeClock()), raise_server_exceptions=False) as client:
        assert client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        lead = auth("lead1", groups="skhcn", roles="lead,admin")
        shown = client.get(f"/api/v1/process-instances/{instance_id}", headers=lead)
        assert shown.status_code == 200, shown.text
        assert shown.json()["process_key"] == "backup_two_steps"
        history = client.get(f"/api/v1/process-instances/{instance_id}/history", headers=lead)
        assert history.status_code == 200, history.text
        kinds = [event["kind"] for event in history.json()]
        assert "instance_started" in kinds and kinds.count("task_completed") == 1, kinds
        # the restored server goes on working: the next task is completed on the restored database
        tasks = client.get(f"/api/v1/tasks?process_instance_id={instance_id}", headers=lead)
        assert tasks.status_code == 200, tasks.text

    monkeypatch.setenv("PHOIHOP_DATABASE_URL", restored_url)
    monkeypatch.setenv("PHOIHOP_ENV", "dev")
    assert main(["audit", "verify"]) == 0
