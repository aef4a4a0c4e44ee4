"""Restarts (issue 13.9 and 12.3): deploy-on-start skips a folder unchanged on disk without compiling it, never
replaces a version a process owner deployed later, runs after the port listens, and ``/readyz`` says when it is done.
In-process apps over one database (SQLite and PostgreSQL); each "restart" is a new app on the same database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from phoihop.app import create_app
from phoihop.engine.clock import FakeClock
from phoihop.engine.commands.startup_deploys import StartupDeploys
from phoihop.engine.container import build_engine
from phoihop.engine.definitions.catalog import DeploymentCache
from phoihop.engine.definitions.process_files import deployable_sets
from phoihop.engine.store.database import make_engine
from phoihop.engine.store.schema import alembic_config, current_revision, declared_head, head_revision
from phoihop.settings import Settings
from phoihop.startup import DEPLOYER, StartupWork
from tests.conftest import FIXTURES, TEST_SECRET

from .calls import ADMIN, DEFINITIONS, OWNER

FOUR = (FIXTURES / "engine" / "four_tasks.bpmn").read_bytes()
FOUR_V2 = FOUR.replace("Phân loại".encode(), "Phân loại hồ sơ".encode())
READY_POLLS = 600


@pytest.fixture
def processes(tmp_path: Path) -> Path:
    folder = tmp_path / "processes"
    (folder / "four_tasks").mkdir(parents=True)
    (folder / "four_tasks" / "four_tasks.bpmn").write_bytes(FOUR)
    return folder


@contextmanager
def server(db_url: str, processes: Path, clock: FakeClock) -> Iterator[TestClient]:
    """A server started on the database (schema upgraded, processes deployed on start) once ``/readyz`` is 200."""
    settings = Settings(
        env="test",
        database_url=db_url,
        secret_key=TEST_SECRET,
        deploy_on_start=True,
        run_scheduler=False,
        processes_dir=processes,
    )
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        work: StartupWork = client.app.state.startup  # type: ignore[attr-defined]
        assert work.done.wait(120), "start-up work did not end"
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready"}
        yield client


def versions(client: TestClient, key: str) -> list[dict[str, Any]]:
    response = client.get(f"{DEFINITIONS}/{key}/versions", headers=OWNER)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def deploy_events(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params={"kind": "deployed", "limit": 200}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["kind"] == "deployed"]


def test_a_restart_keeps_the_version_an_owner_deployed_later(
    db_url: str, processes: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with server(db_url, processes, clock) as first:
        assert [(v["version"], v["deployed_by"]) for v in versions(first, "four_tasks")] == [(1, "system:deploy")]
        owner = first.post(
            DEFINITIONS, files=[("files", ("four_tasks.bpmn", FOUR_V2, "application/xml"))], headers=OWNER
        )
        assert owner.status_code == 201 and owner.json()[0]["version"] == 2

    caplog.set_level(logging.INFO, logger="phoihop")
    caplog.clear()  # only what the restart says (the first start's lines may be captured too)
    with server(db_url, processes, clock) as restarted:  # processes/ unchanged on disk
        listed = {v["version"]: v for v in versions(restarted, "four_tasks")}
        assert sorted(listed) == [1, 2]  # nothing deployed again
        assert listed[2]["is_default"] and listed[2]["deployed_by"] == "owner"
        assert [e["actor"] for e in deploy_events(restarted)].count("system:deploy") == 1
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("deploy on start")]
    assert len(said) == 1 and "four_tasks: unchanged since the last start" in said[0]
    assert "not compiled" in said[0] and "kept the newer four_tasks v2 (owner)" in said[0]


def test_a_restart_with_nothing_changed_deploys_nothing_and_is_ready_before_warming(
    db_url: str, processes: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The skip is said in the log, no ``deployed`` audit event is added, and readiness comes before the warming of
    the compiled models (which only logs), in the start-up thread's own order."""
    with server(db_url, processes, clock) as first:
        assert [e["actor"] for e in deploy_events(first)] == ["system:deploy"]
    caplog.set_level(logging.INFO, logger="phoihop")
    caplog.clear()
    with server(db_url, processes, clock) as restarted:
        assert [v["version"] for v in versions(restarted, "four_tasks")] == [1]
        assert [e["actor"] for e in deploy_events(restarted)] == ["system:deploy"]  # still the first start's only
        work: StartupWork = restarted.app.state.startup  # type: ignore[attr-defined]
        assert work.summary == [line for line in work.summary if "unchanged since the last start" in line]
        assert len(work.summary) == 1 and "not compiled" in work.summary[0]
    said = [r.getMessage() for r in caplog.records if r.name == "phoihop"]
    ready = next(i for i, line in enumerate(said) if line.startswith("ready: deploy on start done"))
    warmed = next(i for i, line in enumerate(said) if "process version(s) compiled" in line)
    skipped = next(i for i, line in enumerate(said) if line.startswith("deploy on start: four_tasks: unchanged"))
    assert skipped < ready < warmed


def test_the_schema_check_reads_what_alembic_reads(db_url: str, tmp_path: Path) -> None:
    """A server at head does not import Alembic: the head comes from the migration files' revision lines and the
    database's revision from alembic_version; both agree with Alembic's own reading (at head, behind, empty)."""
    assert declared_head() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head_revision() == declared_head()
    behind = f"sqlite:///{tmp_path / 'behind.db'}"
    command.upgrade(alembic_config(behind), "0004")
    for url, expected in ((db_url, head_revision()), (behind, "0004"), (f"sqlite:///{tmp_path / 'empty.db'}", None)):
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                assert current_revision(conn) == expected
                assert MigrationContext.configure(conn).get_current_revision() == expected
        finally:
            engine.dispose()


def test_a_folder_changed_on_disk_is_deployed_and_says_so(db_url: str, processes: Path, clock: FakeClock) -> None:
    with server(db_url, processes, clock):
        pass
    (processes / "four_tasks" / "four_tasks.bpmn").write_bytes(FOUR_V2)
    with server(db_url, processes, clock) as restarted:
        assert [v["version"] for v in versions(restarted, "four_tasks")] == [1, 2]
        latest = deploy_events(restarted)[0]
        assert latest["actor"] == "system:deploy" and latest["data"]["version"] == 2
        assert "four_tasks changed on disk" in latest["data"]["change_note"]


def test_an_unchanged_folder_is_not_compiled(db_url: str, processes: Path, clock: FakeClock) -> None:
    """Counted through the engine's compiled-deployment cache (each compile lands in it): a fresh cache stays empty
    when every folder is unchanged, and gets the one changed folder."""

    def start() -> tuple[list[str], int]:
        compiled = DeploymentCache()
        engine = build_engine(db_url, clock=clock, deployments=compiled)
        try:
            outcomes = StartupDeploys(engine.deployments).run(DEPLOYER, deployable_sets(processes))
            return [o.action for o in outcomes], len(compiled)
        finally:
            engine.close()

    assert start() == (["deployed"], 1)
    assert start() == (["unchanged"], 0)
    assert start() == (["unchanged"], 0)
    (processes / "four_tasks" / "four_tasks.bpmn").write_bytes(FOUR_V2)
    assert start() == (["deployed"], 1)
    assert start() == (["unchanged"], 0)


def test_a_database_deployed_before_the_record_existed_is_adopted_not_compiled(
    db_url: str, processes: Path, clock: FakeClock
) -> None:
    engine = build_engine(db_url, clock=clock, deployments=DeploymentCache())
    try:
        engine.deployments.deploy(DEPLOYER, deployable_sets(processes)[0][1])  # as `phoihop serve` did before
    finally:
        engine.close()
    compiled = DeploymentCache()
    engine = build_engine(db_url, clock=clock, deployments=compiled)
    try:
        outcomes = StartupDeploys(engine.deployments).run(DEPLOYER, deployable_sets(processes))
        assert [o.action for o in outcomes] == ["adopted"] and len(compiled) == 0
        assert StartupDeploys(engine.deployments).warm() == 1 and len(compiled) == 1  # compiled when asked for
    finally:
        engine.close()


def test_readyz_says_why_until_the_start_up_work_is_done(db_url: str, processes: Path, clock: FakeClock) -> None:
    with server(db_url, processes, clock) as client:
        app: Any = client.app
        done = app.state.startup
        app.state.startup = StartupWork()  # as it is while deploy-on-start still runs
        starting = client.get("/readyz")
        assert starting.status_code == 503
        assert starting.headers["content-type"] == "application/problem+json"
        assert starting.json()["type"] == "/problems/starting" and starting.json()["detail_vi"]
        assert client.get("/healthz").status_code == 200  # alive all along

        failed = StartupWork()
        failed.error = "InvalidDefinition: broken.bpmn"
        failed.done.set()
        app.state.startup = failed
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["type"] == "/problems/startup-failed"
        assert "broken.bpmn" not in answer.text  # /readyz is public: what failed is in the server's log only

        app.state.startup = done
        assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_refuses_a_database_behind_the_code(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0004")
    settings = Settings(
        env="test", database_url=url, secret_key=TEST_SECRET, deploy_on_start=False, run_scheduler=False
    )
    with TestClient(create_app(settings, clock=clock, upgrade_schema=False), raise_server_exceptions=False) as client:
        client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["type"] == "/problems/schema-not-at-head"
        assert "0004" in answer.json()["detail"]
