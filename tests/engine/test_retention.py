"""Retention (issue 14, item 12): instances finished before the month ``days`` ago are archived as JSON (instance,
variables, tasks, history, documents' names and hashes) and purged in batches; the dashboard's past months keep their
figures (kept in ``dashboard_month`` before the purge); the audit chain still verifies (the purged positions are gaps
declared by a sealed ``instances_purged`` event), and a deletion dressed up as a gap is still found."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from phoihop.cli import main
from phoihop.engine.clock import FakeClock
from phoihop.engine.commands.retention import ChainBroken, Retention
from phoihop.engine.container import EngineContainer
from phoihop.engine.store import audit_chain
from tests.conftest import INTEGRATOR
from tests.document_files import pdf
from tests.engine.helpers import ADMIN, SKHCN, bpmn, deploy_xml, lane, run_threads, task_id

TWO_STEPS = bpmn(
    "kept_two_steps",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Thẩm định"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>""",
    lanes=lane("L1", "Sở Khoa học và Công nghệ", "start", "review", "end"),
)


def _count(container: EngineContainer, sql: str, **params: object) -> int:
    with container.db.transaction(write=False) as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _verify(container: EngineContainer) -> audit_chain.Broken | None:
    with container.db.transaction(write=False) as conn:
        return audit_chain.verify(conn)


def _retention(container: EngineContainer, tmp_path: Path, batch: int = 1) -> Retention:
    return Retention(
        container.db,
        container.clock,
        container.dashboard,
        days=30,
        archive_dir=tmp_path / "archive",
        batch=batch,
        contents=container.documents.content,
    )


def _history(container: EngineContainer, clock: FakeClock) -> tuple[list[str], str, bytes]:
    """Two instances finished in January 2026 (one with a document), then one still running in March."""
    deploy_xml(container, "kept_two_steps.bpmn", TWO_STEPS)
    finished = []
    content = pdf("Ho so luu tru")
    for number in range(2):
        instance_id, _ = container.instances.start(INTEGRATOR, "kept_two_steps", variables={"so": number})
        if number == 0:
            container.documents.add(SKHCN, instance_id, io.BytesIO(content), name="to-trinh.pdf")
        clock.advance(timedelta(hours=2))
        container.tasks.complete(SKHCN, task_id(container, instance_id, "review"), {"ket_qua": "đạt"})
        finished.append(instance_id)
    clock.advance(timedelta(days=60))
    running, _ = container.instances.start(INTEGRATOR, "kept_two_steps")
    return finished, running, content


def test_finished_instances_are_archived_and_purged_and_the_trail_and_dashboard_stay_correct(
    container: EngineContainer, clock: FakeClock, tmp_path: Path
) -> None:
    finished, running, content = _history(container, clock)
    clock.advance(timedelta(days=40))  # now mid-April: the cutoff is 1 March, January's instances go
    january = container.dashboard.figures(ADMIN, "2026-01")
    assert january.totals.completed == 2 and january.totals.instances_completed == 2
    retention = _retention(container, tmp_path)

    dry = retention.run(dry_run=True)
    assert sorted(dry.purged) == sorted(finished) and "2026-01" in dry.months_kept
    assert _count(container, "SELECT COUNT(*) FROM dashboard_month") == 0
    assert _count(container, "SELECT COUNT(*) FROM process_instance") == 3

    store = container.documents.content
    sha = hashlib.sha256(content).hexdigest()
    if store.kind == "folder":
        assert store.path(sha).exists()  # type: ignore[attr-defined]
    else:
        assert _count(container, "SELECT COUNT(*) FROM document_content WHERE sha256 = :s", s=sha) == 1
    report = retention.run()
    assert sorted(report.purged) == sorted(finished) and report.batches == 2  # one instance per transaction
    assert report.months_kept == ["2026-01", "2026-02"]
    for instance_id in finished:
        for table in ("process_instance WHERE id", "human_task WHERE instance_id", "audit_event WHERE instance_id"):
            assert _count(container, f"SELECT COUNT(*) FROM {table} = :i", i=instance_id) == 0
        assert _count(container, "SELECT COUNT(*) FROM document WHERE instance_id = :i", i=instance_id) == 0
    assert _count(container, "SELECT COUNT(*) FROM process_instance WHERE id = :i", i=running) == 1
    assert container.instance_reads.history(ADMIN, running)  # the running case keeps its history

    archive = orjson.loads((tmp_path / "archive" / "2026" / "01" / f"{finished[0]}.json").read_bytes())
    assert archive["instance"]["id"] == finished[0] and archive["instance"]["status"] == "completed"
    assert archive["variables"]["so"] == 0 and archive["variables"]["ket_qua"] == "đạt"
    assert [task["element_id"] for task in archive["tasks"]] == ["review"]
    assert {"instance_started", "document_added", "task_completed"} <= {e["kind"] for e in archive["history"]}
    assert [(d["name"], d["sha256"]) for d in archive["documents"]] == [
        ("to-trinh.pdf", hashlib.sha256(content).hexdigest())
    ]

    assert report.contents_deleted == 1  # the bytes nobody names any more are gone from either store
    assert _count(container, "SELECT COUNT(*) FROM document_content WHERE sha256 = :s", s=sha) == 0
    if store.kind == "folder":
        assert not store.path(sha).exists()  # type: ignore[attr-defined]
    # the dashboard's January still shows what it showed, though its rows are gone
    assert container.dashboard.figures(ADMIN, "2026-01") == january
    # the chain verifies over the purged positions; the purge itself is an event of the chain
    assert _verify(container) is None
    assert _count(container, "SELECT COUNT(*) FROM audit_event WHERE kind = 'instances_purged'") == 2
    # the two instances' events were next to each other in the chain: the second batch's gap joined the first's
    assert _count(container, "SELECT COUNT(*) FROM audit_gap") == 1
    # a second run finds nothing more
    again = retention.run()
    assert again.purged == [] and again.months_kept == []


def test_a_deletion_dressed_up_as_a_gap_and_a_deletion_after_a_purge_are_found(
    container: EngineContainer, clock: FakeClock, tmp_path: Path
) -> None:
    _history(container, clock)
    clock.advance(timedelta(days=40))
    assert len(_retention(container, tmp_path, batch=10).run().purged) == 2
    assert _verify(container) is None
    with container.db.transaction() as conn:
        victim = conn.execute(
            text(
                "SELECT id, chain_seq, chain_hash FROM audit_event WHERE instance_id IS NULL"
                " AND kind <> 'instances_purged' ORDER BY chain_seq"
            )
        ).first()  # the deployment's event: no instance chain to catch it, only the global chain
        assert victim is not None
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": victim.id})
    broken = _verify(container)
    assert broken is not None and "deleted" in broken.reason
    with container.db.transaction() as conn:  # hide it as a gap: no retention event declares it
        conn.execute(
            text("INSERT INTO audit_gap (first_seq, last_seq, last_hash) VALUES (:s, :s, :h)"),
            {"s": victim.chain_seq, "h": victim.chain_hash},
        )
    hidden = _verify(container)
    assert hidden is not None and "no retention run declared" in hidden.reason
    # and retention refuses to purge over a broken chain
    with pytest.raises(ChainBroken):
        _retention(container, tmp_path).run()


def test_the_command_is_off_by_default_and_says_what_a_dry_run_would_do(
    container: EngineContainer,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PHOIHOP_DATABASE_URL", db_url)
    monkeypatch.setenv("PHOIHOP_ENV", "dev")
    monkeypatch.delenv("PHOIHOP_RETENTION_DAYS", raising=False)
    assert main(["retention", "run"]) == 0
    assert "retention is off" in capsys.readouterr().out
    monkeypatch.setenv("PHOIHOP_RETENTION_DAYS", "30")
    monkeypatch.setenv("PHOIHOP_RETENTION_ARCHIVE_DIR", str(tmp_path / "archive"))
    assert main(["retention", "run", "--dry-run"]) == 0
    assert "dry run: 0 instance(s)" in capsys.readouterr().out
    assert not (tmp_path / "archive").exists()


def test_the_worker_step_purges_a_few_batches_then_waits(
    container: EngineContainer, clock: FakeClock, tmp_path: Path
) -> None:
    finished, _, _ = _history(container, clock)
    clock.advance(timedelta(days=40))
    retention = _retention(container, tmp_path, batch=1)
    assert retention.job(max_batches=1) == 1  # a full step: more may be left, the next round goes on
    assert retention.job(max_batches=1) == 1
    assert retention.job(max_batches=1) == 0  # nothing left: the next step is in an hour
    container.instances.start(INTEGRATOR, "kept_two_steps")
    assert retention.job(max_batches=1) == 0
    assert (
        _count(container, "SELECT COUNT(*) FROM process_instance WHERE id IN (:a, :b)", a=finished[0], b=finished[1])
        == 0
    )
    assert _verify(container) is None


def test_two_runs_at_once_purge_each_instance_once_and_the_chain_verifies(
    container: EngineContainer, clock: FakeClock, tmp_path: Path
) -> None:
    finished, _, _ = _history(container, clock)
    clock.advance(timedelta(days=40))
    runs = [_retention(container, tmp_path, batch=1), _retention(container, tmp_path, batch=1)]
    results = run_threads([runs[0].run, runs[1].run])
    assert all(outcome == "ok" for outcome, _ in results), results
    purged = [instance for _, report in results for instance in report.purged]
    assert sorted(purged) == sorted(finished)  # each once
    assert _count(container, "SELECT COUNT(*) FROM dashboard_month WHERE month = '2026-01'") == 1
    assert _verify(container) is None
