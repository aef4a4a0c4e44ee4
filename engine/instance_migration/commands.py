"""Moving running instances from one version of a process to another, safely and visibly.

A :class:`MigrationPlan` maps element ids of the source version to the target's: identity by default, explicit
pairs where ids changed. ``migration_dry_run`` tells, per instance chosen by a filter, whether it can move and why
not (``reasons``), and what would happen to its open tasks and pending timers - computed by moving a fresh copy of
the instance in memory and writing nothing. ``migrate_instances`` moves the chosen instances only, each in its own
transaction (lock → the same move → run to the next wait state → save like any command → point the instance at the
target definition), all or nothing per instance; a refused or failing instance is reported and the others go on.

What is kept, and why (engine/instance_migration/tree.py has the tree rules):

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
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.errors import EngineError, MigrationPlanInvalid
from phoihop.engine.execution import task_index
from phoihop.engine.execution.runtime import RunOutcome
from phoihop.engine.execution.workflow_cache import LiveWorkflow
from phoihop.engine.instance_migration.results import MigrationDryRun, MigrationExecution
from phoihop.engine.instance_migration.tree import TreePlan, element_of, is_live, live_tasks, plan_tree, rebuild
from phoihop.engine.instance_migration.variables import missing_variables
from phoihop.engine.model import Actor
from phoihop.engine.reads.versions import definition_not_found
from phoihop.engine.store import instance_moves as migration_rows
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


@dataclass
class _Versions:
    plan: MigrationPlan
    source: repo.Row
    target: repo.Row
    source_model: ProcessModel
    target_model: ProcessModel


@dataclass
class _Examined:
    report: dict[str, Any]
    workflow: Any = None
    outcome: RunOutcome | None = None
    prior: LiveWorkflow | None = None
    moved_tasks: list[dict[str, Any]] = field(default_factory=list)  # new values of the open human tasks kept


def _reason(code: str, element_id: str | None, en: str, vi: str) -> dict[str, Any]:
    return {"code": code, "element_id": element_id, "message_en": en, "message_vi": vi, "blocking": True}


def _elements(model: ProcessModel) -> set[str]:
    return {
        str(ts.bpmn_id)
        for spec in [model.spec, *model.subprocess_specs.values()]
        for ts in spec.task_specs.values()
        if getattr(ts, "bpmn_id", None)
    }


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
            rows, total = migration_rows.select_instances(
                uow.conn,
                versions.source["id"],
                statuses=selection.statuses,
                business_keys=selection.business_keys,
                instance_ids=selection.instance_ids,
                limit=min(max(limit, 1), MAX_INSTANCES),
            )
            reports = [self._examine(uow.conn, row, versions, uow.now).report for row in rows]
            reports += self._unselected(uow.conn, versions, selection, {r["id"] for r in rows})
        migratable = sum(1 for r in reports if r["migratable"])
        report = {
            **self._plan_out(versions),
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
                            **self._plan_out(versions),
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
        return MigrationExecution.of({**self._plan_out(versions), "results": results, "summary": counts})

    # --- one instance -----------------------------------------------------------------------------------------------
    def _migrate_one(self, actor: Actor, versions: _Versions, instance_id: str) -> dict[str, Any]:
        try:
            with self.executor.transaction() as uow:
                head = repo.lock_instance_head(uow.conn, instance_id)
                if head is None:
                    return self._result(
                        instance_id,
                        None,
                        "refused",
                        [
                            _reason(
                                "instance-not-found",
                                None,
                                f"instance {instance_id} not found",
                                f"Không tìm thấy hồ sơ {instance_id}",
                            )
                        ],
                        None,
                    )
                examined = self._examine(uow.conn, head, versions, uow.now)
                if not examined.report["migratable"]:
                    return self._result(
                        instance_id, head["business_key"], "refused", examined.report["reasons"], examined.report
                    )
                self._save_moved(uow, actor, head, versions, examined)
        except Exception as exc:  # one instance failing must not stop the others; it rolled back
            log.exception("migration of instance %s failed", instance_id)
            en = exc.detail if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
            vi = exc.detail_vi if isinstance(exc, EngineError) else f"Lỗi khi chuyển hồ sơ: {type(exc).__name__}"
            return self._result(instance_id, None, "failed", [_reason("migration-failed", None, en, vi)], None)
        return self._result(instance_id, head["business_key"], "migrated", [], examined.report)

    @staticmethod
    def _result(
        instance_id: str,
        business_key: str | None,
        status: str,
        reasons: list[dict[str, Any]],
        report: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "instance_id": instance_id,
            "business_key": business_key,
            "status": status,
            "migrated": status == "migrated",
            "reasons": reasons,
            "tasks": report["tasks"] if report else [],
            "timers": report["timers"] if report else [],
            "notes": report["notes"] if report else [],
        }

    def _save_moved(
        self, uow: Any, actor: Actor, head: Mapping[str, Any], versions: _Versions, examined: _Examined
    ) -> None:
        assert examined.outcome is not None and examined.prior is not None
        plan = versions.plan
        audit = {
            "kind": "instance_migrated",
            "data": {
                **self._plan_out(versions),
                "definition_before": versions.source["id"],
                "definition_after": versions.target["id"],
                "tasks": [
                    {k: t[k] for k in ("task_id", "element_from", "element_to", "assignee", "outcome")}
                    for t in examined.report["tasks"]
                ],
                "timers": [
                    {k: t[k] for k in ("task_id", "element_from", "element_to")} for t in examined.report["timers"]
                ],
            },
        }
        self.executor.save(
            uow, head, versions.target_model, examined.workflow, examined.outcome, examined.prior, actor, audit
        )
        migration_rows.switch_definition(uow.conn, head["id"], versions.target["id"])
        for moved in examined.moved_tasks:
            migration_rows.move_human_task(uow.conn, moved["id"], moved)
        for task in live_tasks(examined.workflow):  # an external task's row follows its element (no-op otherwise)
            if not getattr(task.task_spec, "manual", False):
                migration_rows.move_external_task(
                    uow.conn, str(task.id), element_of(task.task_spec), getattr(task.task_spec, "bpmn_name", None)
                )
        log.info(
            "instance %s migrated from %s v%d to v%d",
            head["id"],
            plan.source_key,
            plan.source_version,
            plan.target_version,
        )

    def _examine(self, conn: Connection, row: Mapping[str, Any], versions: _Versions, now: datetime) -> _Examined:
        """Load the instance fresh, check it against the plan and, when it can move, move the copy in memory."""
        instance_id = row["id"]
        report: dict[str, Any] = {
            "instance_id": instance_id,
            "business_key": row["business_key"],
            "status": row["status"],
            "migratable": False,
            "reasons": [],
            "notes": [],
            "tasks": [],
            "timers": [],
        }
        examined = _Examined(report)
        if row["definition_id"] != versions.source["id"]:
            report["reasons"].append(
                _reason(
                    "not-on-source-version",
                    None,
                    f"instance {instance_id} does not run on version {versions.plan.source_version}",
                    f"Hồ sơ {instance_id} không chạy trên phiên bản {versions.plan.source_version}",
                )
            )
            return examined
        if row["status"] != "running":
            report["reasons"].append(
                _reason(
                    "instance-not-running",
                    None,
                    f"instance {instance_id} is {row['status']}; only running instances move",
                    f"Hồ sơ {instance_id} đang ở trạng thái {row['status']}; chỉ hồ sơ đang xử lý mới chuyển được",
                )
            )
            return examined
        workflow, prior = self._load_fresh(conn, row, versions.source_model)
        open_rows = repo.tasks_of_instance(conn, instance_id, open_only=True)
        timer_rows = repo.instance_timers(conn, instance_id)
        target = versions.target_model
        tree = plan_tree(workflow, versions.plan.mapping, target.spec, target.subprocess_specs)
        waiting = [
            tree.targets[(id(workflow), t.id)].name
            for t in workflow.tasks.values()
            if is_live(t) and (id(workflow), t.id) in tree.targets
        ]
        findings = [*tree.findings, *missing_variables(target, waiting, prior.variables)]
        report["notes"] = [f.as_dict() for f in findings if not f.blocking]
        report["reasons"] = [f.as_dict() for f in findings if f.blocking]
        if report["reasons"]:
            report["tasks"] = [self._task_before(t, workflow, tree, versions) for t in open_rows]
            report["timers"] = [self._timer_item(t, None, blocked=True) for t in timer_rows]
            return examined
        self._move(examined, workflow, tree, prior, versions)
        if examined.outcome is not None:
            self._describe(examined, conn, open_rows, timer_rows, versions, now)
        report["migratable"] = not report["reasons"]
        return examined

    def _load_fresh(self, conn: Connection, row: Mapping[str, Any], model: ProcessModel) -> tuple[Any, LiveWorkflow]:
        """The instance as stored, never the cached object (which other commands may take)."""
        instance_id = row["id"]
        meta, _ = repo.instance_state(conn, instance_id)
        records = repo.task_records(conn, instance_id)
        workflow = self.executor.serializer.loads_split(
            meta, [(t, b) for t, _, b in records], model.spec, model.subprocess_specs
        )
        self.executor.runtime.attach(workflow, {t: seq for t, seq, _ in records})
        prior = LiveWorkflow(
            row["version"],
            workflow,
            frozenset(repo.open_task_ids(conn, instance_id)),
            tuple((t["element_id"], t["task_id"], t["due_at"]) for t in repo.instance_timers(conn, instance_id)),
            tuple(
                (m["message_name"], orjson.dumps(m["correlations"]).decode())
                for m in repo.instance_subscriptions(conn, instance_id)
            ),
            repo.instance_variables(conn, instance_id),
        )
        return workflow, prior

    def _move(
        self, examined: _Examined, workflow: Any, tree: TreePlan, prior: LiveWorkflow, versions: _Versions
    ) -> None:
        index = task_index.index_of(workflow)
        assert index is not None
        try:
            rebuild(workflow, tree, versions.target_model.subprocess_specs, lambda task: index.mark(task.id))
            outcome = self.executor.runtime.run(workflow)
        except Exception as exc:  # whatever SpiffWorkflow raises on a tree it cannot carry
            examined.report["reasons"].append(
                _reason(
                    "rebuild-failed",
                    None,
                    f"the instance cannot be rebuilt on the target version: {exc}",
                    f"Không dựng lại được hồ sơ trên phiên bản đích: {exc}",
                )
            )
            return
        if outcome.error is not None:
            error = outcome.error
            examined.report["reasons"].append(
                _reason(
                    "settle-error",
                    error.get("element_id"),
                    f"on the target version the instance would fail: {error.get('message')}",
                    f"Trên phiên bản đích hồ sơ sẽ gặp lỗi: {error.get('message_vi') or error.get('message')}",
                )
            )
            return
        examined.workflow, examined.outcome, examined.prior = workflow, outcome, prior

    def _describe(
        self,
        examined: _Examined,
        conn: Connection,
        open_rows: list[dict[str, Any]],
        timer_rows: list[repo.Row],
        versions: _Versions,
        now: datetime,
    ) -> None:
        """Fill the report from the moved copy: each open task kept, closed or opened, each timer before/after."""
        assert examined.outcome is not None and examined.prior is not None
        workflow, report = examined.workflow, examined.report
        snapshot = self.executor.runtime.snapshot(workflow, examined.outcome)
        target_tasks = versions.target_model.user_tasks
        try:
            for row in open_rows:
                element = snapshot.open_tasks.get(row["id"])
                info = target_tasks.get(element) if element is not None else None
                item = self._task_before(row, workflow, None, versions)
                if element is None:
                    report["tasks"].append({**item, "outcome": "closed", "element_to": None})
                    continue
                groups = list(info.candidate_groups) if info else []
                if info is not None and info.candidate_groups_variable:
                    groups += self.executor.groups_from_data(workflow, row["id"], info)
                moved = {
                    "id": row["id"],
                    "element_id": element,
                    "name": info.name if info else element,
                    "lane": info.lane if info else None,
                    "candidate_groups": list(dict.fromkeys(groups)),
                    "candidate_users": list(info.candidate_users) if info else [],
                    "documentation": info.documentation if info else None,
                    "form_key": info.form_key if info else None,
                    "required_role": info.required_role if info else None,
                }
                examined.moved_tasks.append(moved)
                report["tasks"].append(
                    {
                        **item,
                        "outcome": "kept",
                        "element_to": element,
                        "name_after": moved["name"],
                        "lane_after": moved["lane"],
                        "candidate_groups_after": moved["candidate_groups"],
                        "candidate_users_after": moved["candidate_users"],
                        "form_key_after": moved["form_key"],
                        "due_at_after": row["due_at"],
                        "due_date_rule_after": info.due_date if info else None,
                        "assignee_kept": True,
                    }
                )
            for task_id, element in snapshot.open_tasks.items():
                if task_id in examined.prior.open_tasks:
                    continue
                new = self.executor.task_row(
                    report["instance_id"],
                    versions.plan.source_key,
                    task_id,
                    target_tasks.get(element),
                    element,
                    now,
                    workflow,
                )
                report["tasks"].append(
                    {
                        "task_id": task_id,
                        "outcome": "opened",
                        "element_from": None,
                        "element_to": element,
                        "name_before": None,
                        "name_after": new["name"],
                        "status": new["status"],
                        "assignee": new["assignee"],
                        "assignee_kept": False,
                        "lane_before": None,
                        "lane_after": new["lane"],
                        "candidate_groups_before": [],
                        "candidate_groups_after": new["candidate_groups"],
                        "candidate_users_before": [],
                        "candidate_users_after": new["candidate_users"],
                        "form_key_before": None,
                        "form_key_after": new["form_key"],
                        "due_at_before": None,
                        "due_at_after": new["due_at"],
                        "due_date_rule_before": None,
                        "due_date_rule_after": target_tasks[element].due_date if element in target_tasks else None,
                    }
                )
        except EngineError as exc:  # a candidate variable or due date the target cannot compute
            report["reasons"].append(
                _reason("task-not-buildable", exc.fields.get("element_id"), exc.detail, exc.detail_vi)
            )
            return
        after = {t.task_id: t for t in snapshot.timers}
        report["timers"] = [self._timer_item(t, after.pop(t["task_id"], None)) for t in timer_rows]
        report["timers"] += [
            {
                "task_id": t.task_id,
                "element_from": None,
                "element_to": t.element_id,
                "due_at_before": None,
                "due_at_after": t.due_at,
                "outcome": "started",
            }
            for t in after.values()
        ]

    @staticmethod
    def _timer_item(row: Mapping[str, Any], after: Any, *, blocked: bool = False) -> dict[str, Any]:
        outcome = "blocked" if blocked else ("kept" if after is not None else "cancelled")
        return {
            "task_id": row["task_id"],
            "element_from": row["element_id"],
            "element_to": after.element_id if after else None,
            "due_at_before": row["due_at"],
            "due_at_after": after.due_at if after else None,
            "outcome": outcome,
        }

    def _task_before(
        self, row: Mapping[str, Any], workflow: Any, tree: TreePlan | None, versions: _Versions
    ) -> dict[str, Any]:
        info = versions.source_model.user_tasks.get(row["element_id"])
        element_to = None
        if tree is not None:
            target = tree.targets.get((id(workflow), UUID(row["id"])))
            element_to = element_of(target) if target is not None else None
        return {
            "task_id": row["id"],
            "outcome": "blocked" if tree is not None else "kept",
            "element_from": row["element_id"],
            "element_to": element_to,
            "name_before": row["name"],
            "name_after": None,
            "status": row["status"],
            "assignee": row["assignee"],
            "assignee_kept": False,
            "lane_before": row["lane"],
            "lane_after": None,
            "candidate_groups_before": row["candidate_groups"],
            "candidate_groups_after": None,
            "candidate_users_before": row["candidate_users"],
            "candidate_users_after": None,
            "form_key_before": row["form_key"],
            "form_key_after": None,
            "due_at_before": row["due_at"],
            "due_at_after": None,
            "due_date_rule_before": info.due_date if info else None,
            "due_date_rule_after": None,
        }

    # --- the plan ---------------------------------------------------------------------------------------------------
    def _versions(self, conn: Connection, plan: MigrationPlan) -> _Versions:
        source = repo.definition_by_version(conn, plan.source_key, plan.source_version)
        if source is None:
            raise definition_not_found(plan.source_key, plan.source_version)
        target = repo.definition_by_version(conn, plan.source_key, plan.target_version)
        if target is None:
            raise definition_not_found(plan.source_key, plan.target_version)
        source_model, target_model = self.executor.model(conn, source["id"]), self.executor.model(conn, target["id"])
        problems: list[dict[str, Any]] = []
        if plan.source_version == plan.target_version:
            problems.append(
                {
                    "field": "to_version",
                    "reason": "the target version is the source version",
                    "reason_vi": "phiên bản đích trùng phiên bản nguồn",
                }
            )
        source_ids, target_ids = _elements(source_model), _elements(target_model)
        for source_id, target_id in plan.mapping.items():
            if source_id not in source_ids:
                problems.append(
                    {
                        "source_id": source_id,
                        "target_id": target_id,
                        "reason": f"{source_id!r} is no element of version {plan.source_version}",
                        "reason_vi": f"{source_id!r} không phải phần tử của phiên bản {plan.source_version}",
                    }
                )
            if target_id not in target_ids:
                problems.append(
                    {
                        "source_id": source_id,
                        "target_id": target_id,
                        "reason": f"{target_id!r} is no element of version {plan.target_version}",
                        "reason_vi": f"{target_id!r} không phải phần tử của phiên bản {plan.target_version}",
                    }
                )
        if problems:
            first = problems[0]
            raise MigrationPlanInvalid(
                f"the migration plan does not apply: {first['reason']}",
                detail_vi=f"Kế hoạch chuyển phiên bản không áp dụng được: {first['reason_vi']}",
                problems=problems,
            )
        return _Versions(plan, source, target, source_model, target_model)

    @staticmethod
    def _plan_out(versions: _Versions) -> dict[str, Any]:
        plan = versions.plan
        return {
            "process_key": plan.source_key,
            "from_version": plan.source_version,
            "to_version": plan.target_version,
            "mapping": dict(plan.mapping),
        }

    @staticmethod
    def _unselected(
        conn: Connection, versions: _Versions, selection: InstanceFilter, selected: set[str]
    ) -> list[dict[str, Any]]:
        """Instances named in the filter that it did not select, each with the reason."""
        wanted = [i for i in dict.fromkeys(selection.instance_ids) if i not in selected]
        found = migration_rows.instances_by_id(conn, [i for i in wanted if repo.is_id(i)])
        reports = []
        for instance_id in wanted:
            row = found.get(instance_id)
            if row is None:
                reason = _reason(
                    "instance-not-found",
                    None,
                    f"instance {instance_id} not found",
                    f"Không tìm thấy hồ sơ {instance_id}",
                )
            elif row["definition_id"] != versions.source["id"]:
                reason = _reason(
                    "not-on-source-version",
                    None,
                    f"instance {instance_id} does not run on version {versions.plan.source_version}",
                    f"Hồ sơ {instance_id} không chạy trên phiên bản {versions.plan.source_version}",
                )
            else:
                reason = _reason(
                    "filtered-out",
                    None,
                    f"instance {instance_id} is {row['status']} or its business key is not in the filter",
                    f"Hồ sơ {instance_id} ({row['status']}) không khớp bộ lọc trạng thái hoặc mã hồ sơ",
                )
            reports.append(
                {
                    "instance_id": instance_id,
                    "business_key": row["business_key"] if row else None,
                    "status": row["status"] if row else None,
                    "migratable": False,
                    "reasons": [reason],
                    "notes": [],
                    "tasks": [],
                    "timers": [],
                }
            )
        return reports
