"""The ``phoihop`` command as an operator reads it (issue 14.6): one line about the schema, no Alembic set-up
noise, and the API-key example of docs/api.md working as written."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phoihop import cli
from phoihop.engine.store.schema import head_revision
from tests.api.calls import deploy
from tests.conftest import TEST_SECRET


@pytest.fixture
def command_env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("PHOIHOP_DATABASE_URL", db_url)
    monkeypatch.setenv("PHOIHOP_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("PHOIHOP_ENV", "test")


def test_upgrade_schema_says_what_it_did_in_one_line_without_alembic_noise(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("PHOIHOP_DATABASE_URL", url)
    monkeypatch.setenv("PHOIHOP_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("PHOIHOP_ENV", "test")
    caplog.set_level(logging.DEBUG)  # whatever the root logger lets through, alembic must not speak at INFO
    head = head_revision()

    assert cli.main(["upgrade-schema"]) == 0
    first = capsys.readouterr()
    assert first.out.splitlines() == [f"database schema upgraded from (empty database) to revision {head}: {url}"]
    assert cli.main(["migrate"]) == 0
    second = capsys.readouterr()
    assert second.out.startswith(f"database schema already at revision {head}: ")
    alembic_lines = [
        r.getMessage() for r in caplog.records if r.name.startswith("alembic") and r.levelno < logging.WARNING
    ]
    assert alembic_lines == []
    assert "Context impl" not in first.err + second.err
    assert "Running upgrade" not in first.err + second.err


def test_the_api_key_example_of_the_docs_works_as_written(
    command_env: None, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = Path("docs/api.md").read_text(encoding="utf-8")
    example = docs.split("## API keys for integrated systems", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    create = re.search(r"phoihop (apikey create [^#\n]+?)\s+#", example)
    assert create is not None
    curl = re.search(r'curl -H "X-API-Key: phk_\.\.\." "\$BASE(/api/v1/[^"]+)"', example)
    assert curl is not None

    assert cli.main(create.group(1).split()) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("phk_")
    deploy(client, "four_tasks.bpmn")
    started = client.post(
        "/api/v1/process-instances",
        json={"process_key": "four_tasks", "business_key": "HS-2026-0001"},
        headers={"X-API-Key": key},
    )
    assert started.status_code == 201, started.text
    listed = client.get(curl.group(1), headers={"X-API-Key": key})
    assert listed.status_code == 200, listed.text
    assert [item["business_key"] for item in listed.json()["items"]] == ["HS-2026-0001"]

    assert cli.main(["apikey", "list"]) == 0
    assert capsys.readouterr().out.startswith("portal\troles=integrator")
    assert cli.main(["apikey", "revoke", "--name", "portal"]) == 0
    assert client.get(curl.group(1), headers={"X-API-Key": key}).status_code == 401
