"""Retention (issue 14, item 12): instances that finished before the month ``days`` ago are archived as JSON and
purged (``phoihop retention run``; off unless ``PHOIHOP_RETENTION_DAYS`` is set).

A run:

1. verifies the audit chain and stops when it is broken (a purge must not destroy the evidence of tampering);
2. keeps the dashboard's figures of every past month before the cutoff month that is not kept yet
   (``dashboard_month``): the dashboard counts from task and instance rows (engine/store/dashboard.py), so a month
   is frozen before any of its rows go, and ``Dashboard.figures`` reads it from there ever after;
3. purges in batches of ``batch`` instances, each in its own short transaction: lock the batch's instances (PostgreSQL:
   ``FOR UPDATE SKIP LOCKED``, so two runs never purge one instance and a command on another instance never waits),
   write each one's archive ``<archive_dir>/<YYYY>/<MM>/<instance id>.json`` (month it ended, Hanoi time; written
   to a temporary file and renamed, before the delete commits: a failed delete leaves an archive that the next run
   rewrites), delete every row that names them, record the audit positions deleted as gaps of the chain
   (``audit_gap``) and write one ``instances_purged`` audit event naming the instances and the gaps, sealed into
   the chain (``verify`` accepts a gap only when such an event declares it);
4. deletes document contents no document names any more (content is shared by SHA-256): ``document_content`` rows
   in the batch's transaction, files of the folder store after it commits.

``phoihop worker`` runs it too when ``PHOIHOP_RETENTION_IN_WORKER`` is on (``job``: a few batches per round, once an
hour; several workers share it safely: batches are locked with SKIP LOCKED and months kept once).

The cutoff is the first day of the month ``days`` before now (Hanoi time): whole months are purged, so every month
from the cutoff on still counts from its rows, and every month before it has been kept.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from phoihop.engine.clock import Clock, utc_text
from phoihop.engine.errors import EngineError
from phoihop.engine.reads.dashboard import Dashboard, Month, figures_to_json
from phoihop.engine.store import audit_chain
from phoihop.engine.store import retention as store
from phoihop.engine.store.audit import insert_audit
from phoihop.engine.store.database import Database

log = logging.getLogger("phoihop.retention")
ACTOR = "system:retention"
PURGED_KIND = audit_chain.PURGED_KIND


class _Contents(Protocol):
    kind: str


class ChainBroken(EngineError):
    """The audit chain does not verify: retention refuses to purge."""

    code = "audit-chain-broken"
    title_vi = "Chuỗi nhật ký kiểm tra bị phá vỡ"
    title_en = "Audit chain broken"


@dataclass
class RetentionReport:
    cutoff: datetime
    dry_run: bool
    months_kept: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)  # instance ids (dry run: those that would be)
    archives: list[Path] = field(default_factory=list)
    batches: int = 0
    contents_deleted: int = 0


class Retention:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        dashboard: Dashboard,
        *,
        days: int,
        archive_dir: Path,
        batch: int = 50,
        contents: _Contents | None = None,
    ) -> None:
        if days < 1:
            raise ValueError("retention days must be at least 1")
        self.db = db
        self.clock = clock
        self.dashboard = dashboard
        self.days = days
        self.archive_dir = archive_dir
        self.batch = batch
        self.contents = contents
        self._next_job: datetime | None = None

    def job(self, *, every: timedelta = timedelta(hours=1), max_batches: int = 20) -> int:
        """One bounded step for the worker's loop (``PHOIHOP_RETENTION_IN_WORKER``): at most ``max_batches`` batches,
        at most once per ``every`` (the rest waits for the next step); never raises. Returns how many were purged."""
        now = self.clock.now()
        if self._next_job is not None and now < self._next_job:
            return 0
        try:
            report = self.run(max_batches=max_batches)
        except Exception:  # a broken chain or a database hiccup: said in the log, tried again next time
            log.exception("retention step failed")
            self._next_job = now + every
            return 0
        # a step that filled its batches leaves more to do: go on in the next round
        self._next_job = now if report.batches >= max_batches else now + every
        return len(report.purged)

    def cutoff(self, now: datetime) -> datetime:
        return Month.of(now - timedelta(days=self.days)).start

    def run(self, *, dry_run: bool = False, max_batches: int | None = None) -> RetentionReport:
        now = self.clock.now()
        cutoff = self.cutoff(now)
        report = RetentionReport(cutoff=cutoff, dry_run=dry_run)
        with self.db.transaction(write=False) as conn:
            broken = audit_chain.verify(conn)
            earliest = store.earliest_activity(conn)
            kept = store.kept_months(conn)
        if broken is not None:
            raise ChainBroken(
                f"the audit chain is broken at event {broken.event_id} ({broken.reason}): nothing purged",
                detail_vi=f"Chuỗi nhật ký kiểm tra bị phá vỡ tại sự kiện {broken.event_id}: không xóa hồ sơ nào",
            )
        report.months_kept = self._keep_months(earliest, cutoff, kept, now, dry_run)
        if dry_run:
            with self.db.transaction(write=False) as conn:
                report.purged = store.finished_before(conn, cutoff, 1_000_000)
            return report
        while max_batches is None or report.batches < max_batches:
            if not self._batch(cutoff, now, report):
                break
        return report

    def _keep_months(
        self, earliest: datetime | None, cutoff: datetime, kept: set[str], now: datetime, dry_run: bool
    ) -> list[str]:
        if earliest is None:
            return []
        month, last = Month.of(earliest), Month.of(cutoff).previous()
        months = []
        while month <= last:
            if str(month) not in kept:
                if not dry_run:
                    figures = figures_to_json(self.dashboard.count(month, now))
                    with self.db.transaction() as conn:
                        store.keep_month(conn, str(month), figures, now)
                months.append(str(month))
            month = month.next()
        return months

    def _batch(self, cutoff: datetime, now: datetime, report: RetentionReport) -> bool:
        """Purge one batch in one transaction; False when nothing was left."""
        orphans: set[str] = set()
        with self.db.transaction() as conn:
            ids = store.lock_finished(conn, store.finished_before(conn, cutoff, self.batch), cutoff)
            if not ids:
                return False
            archives = [self._write(store.archive(conn, instance_id)) for instance_id in ids]
            positions, hashes = store.purge(conn, ids)
            orphans = store.unreferenced(conn, hashes)
            if self.contents is None or self.contents.kind == "database":
                store.delete_contents(conn, orphans)
            insert_audit(
                conn,
                [
                    {
                        "instance_id": None,
                        "at": now,
                        "actor": ACTOR,
                        "kind": PURGED_KIND,
                        "data": {
                            "instances": ids,
                            "gaps": audit_chain.runs(positions),
                            "cutoff": utc_text(cutoff),
                            "archive_dir": str(self.archive_dir),
                        },
                    }
                ],
            )
        report.batches += 1
        report.purged.extend(ids)
        report.archives.extend(archives)
        report.contents_deleted += len(orphans)
        if self.contents is not None and self.contents.kind == "folder":
            self._unlink(orphans)
        log.info("retention: purged %d instance(s), archived under %s", len(ids), self.archive_dir)
        return True

    def _unlink(self, orphans: set[str]) -> None:
        path_of: Any = getattr(self.contents, "path", None)
        if path_of is None:
            return
        with self.db.transaction(write=False) as conn:
            still = store.unreferenced(conn, orphans)  # an upload of the same bytes since: keep its file
        for sha in still:
            path_of(sha).unlink(missing_ok=True)

    def _write(self, archive: dict[str, Any]) -> Path:
        instance = archive["instance"]
        ended = Month.of(instance["ended_at"])
        folder = self.archive_dir / f"{ended.year:04d}" / f"{ended.month:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{instance['id']}.json"
        temporary = target.with_suffix(".json.tmp")
        with temporary.open("wb") as out:
            out.write(orjson.dumps(archive, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(target)
        return target
