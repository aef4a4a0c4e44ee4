"""Moving running instances from one version of a process to another, safely and visibly.

A :class:`MigrationPlan` maps element ids of the source version to the target's: identity by default, explicit
pairs where ids changed. ``dry_run`` tells, per instance chosen by a filter, whether it can move and why
not (``reasons``), and what would happen to its open tasks and pending timers - computed by moving a fresh copy of
the instance in memory and writing nothing. ``migrate`` moves the chosen instances only, each in its own
transaction (lock → the same move → run to the next wait state → save like any command → point the instance at the
target definition), all or nothing per instance; a refused or failing instance is reported and the others go on.

The plan is checked by engine.instance_migration.plan, each instance examined and moved by
engine.instance_migration.move and described by engine.instance_migration.description. What is kept, and why
(engine/instance_migration/tree.py has the tree rules):

- Task ids. An open human task is the same row after the move: its assignee and claim stay, its element, name,
  lane, candidates, documentation, form and required role become the target element's.
- Due times. A task's ``due_at`` and a pending timer's due time were given when the step began, under the rules in
  force then (as a dossier's ``ngày hẹn trả`` is); a target with another ``camunda:dueDate`` or timer applies to
  steps reached after the move. The report shows both rules.
- History. Completed steps stay in the audit trail; in the task tree a completed step whose element is gone is
  spliced out, unless a later step depends on it (then the instance is refused).

Each moved instance gets an ``instance_migrated`` event (actor, versions, plan); each execution a definition event
``instances_migrated`` (``instance_id`` NULL) listing what moved, what was refused and what failed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.errors import EngineError
from phoihop.engine.instance_migration.description import reason, result, unselected
from phoihop.engine.instance_migration.move import examine, save_moved
from phoihop.engine.instance_migration.plan import Versions, load_versions, plan_out
from phoihop.engine.instance_migration.results import MigrationDryRun, MigrationExecution
from phoihop.engine.model import Actor
from phoihop.engine.store import instance_moves
from phoihop.engine.store import repository as repo

__all__ = ["InstanceFilter", "InstanceMigration", "MigrationPlan"]

log = logging.getLogger("phoihop.migration")
MAX_INSTANCES = 1000


@dataclass(frozen=True)
class MigrationPlan:
    source_key: str
    source_version: int
    target_version: int
    mapping: Mapping[str, str] = field(default_factory=dict)  # source element id -> target element id


@dataclass(frozen=True)
class InstanceFilter:
    statuses: tuple[str, ...] = ("running",)
    business_keys: tuple[str, ...] = ()
    instance_ids: tuple[str, ...] = ()


class InstanceMigration:
    """Dry runs and migrations of running instances between two versions of one key (role process-owner, or admin)."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    # --- entry points -----------------------------------------------------------------------------------------------
    def dry_run(
        self, actor: Actor, plan: MigrationPlan, selection: InstanceFilter, *, limit: int = 100
    ) -> MigrationDryRun:
        """Per instance of the source version matching ``selection``: migratable or why not, and what would happen
        to its open tasks and timers. Writes nothing."""
        actor.require_role("process-owner")
        with self.executor.transaction(write=False) as uow:
            versions = self._versions(uow.conn, plan)
            rows, total = instance_moves.select_instances(
                uow.conn,
                versions.source["id"],
                statuses=selection.statuses,
                business_keys=selection.business_keys,
                instance_ids=selection.instance_ids,
                limit=min(max(limit, 1), MAX_INSTANCES),
            )
            reports = [examine(self.executor, uow.conn, row, versions, uow.now).report for row in rows]
            reports += unselected(uow.conn, versions, selection.instance_ids, {r["id"] for r in rows})
        migratable = sum(1 for r in reports if r["migratable"])
        report = {
            **plan_out(versions),
            "instances": reports,
            "total": total,
            "summary": {"listed": len(reports), "migratable": migratable, "not_migratable": len(reports) - migratable},
        }
        return MigrationDryRun.of(report)

    def migrate(self, actor: Actor, plan: MigrationPlan, instance_ids: Sequence[str]) -> MigrationExecution:
        """Move ``instance_ids`` (only those) to the target version, each in its own transaction."""
        actor.require_role("process-owner")
        with self.executor.transaction(write=False) as uow:
            versions = self._versions(uow.conn, plan)
        results = [self._migrate_one(actor, versions, instance_id) for instance_id in sorted(set(instance_ids))]
        counts = {
            status: sum(1 for r in results if r["status"] == status) for status in ("migrated", "refused", "failed")
        }
        with self.executor.transaction() as uow:
            repo.insert_definition_audit(
                uow.conn,
                [
                    {
                        "process_key": plan.source_key,
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "instances_migrated",
                        "data": {
                            **plan_out(versions),
                            "summary": counts,
                            "migrated": [r["instance_id"] for r in results if r["status"] == "migrated"],
                            "refused": [
                                {"instance_id": r["instance_id"], "codes": [x["code"] for x in r["reasons"]]}
                                for r in results
                                if r["status"] == "refused"
                            ],
                            "failed": [
                                {"instance_id": r["instance_id"], "codes": [x["code"] for x in r["reasons"]]}
                                for r in results
                                if r["status"] == "failed"
                            ],
                        },
                    }
                ],
            )
        return MigrationExecution.of({**plan_out(versions), "results": results, "summary": counts})

    # --- one instance -----------------------------------------------------------------------------------------------
    def _migrate_one(self, actor: Actor, versions: Versions, instance_id: str) -> dict[str, Any]:
        try:
            with self.executor.transaction() as uow:
                head = repo.lock_instance_head(uow.conn, instance_id)
                if head is None:
                    return result(
                        instance_id,
                        None,
                        "refused",
                        [
                            reason(
                                "instance-not-found",
                                None,
                                f"instance {instance_id} not found",
                                f"Không tìm thấy hồ sơ {instance_id}",
                            )
                        ],
                        None,
                    )
                examined = examine(self.executor, uow.conn, head, versions, uow.now)
                if not examined.report["migratable"]:
                    return result(
                        instance_id, head["business_key"], "refused", examined.report["reasons"], examined.report
                    )
                save_moved(self.executor, uow, actor, head, versions, examined)
        except Exception as exc:  # one instance failing must not stop the others; it rolled back
            log.exception("migration of instance %s failed", instance_id)
            en = exc.detail if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
            vi = exc.detail_vi if isinstance(exc, EngineError) else f"Lỗi khi chuyển hồ sơ: {type(exc).__name__}"
            return result(instance_id, None, "failed", [reason("migration-failed", None, en, vi)], None)
        return result(instance_id, head["business_key"], "migrated", [], examined.report)

    def _versions(self, conn: Connection, plan: MigrationPlan) -> Versions:
        return load_versions(
            self.executor, conn, plan.source_key, plan.source_version, plan.target_version, plan.mapping
        )
