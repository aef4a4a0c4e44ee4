"""The move itself. :func:`examine` loads an instance fresh (never the cached object), checks it against the plan
(on the source version, running, its task tree mappable by engine.instance_migration.tree, the variables the target
reads present) and, when it can move, moves that copy in memory and runs it to its next wait state on the target
version; the dry run stops there. :func:`save_moved` then saves the moved copy like any command, points the instance at
the target definition and carries its open human and external task rows along."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.execution import task_index
from phoihop.engine.execution.workflow_cache import LiveWorkflow
from phoihop.engine.instance_migration.description import Examined, describe, reason, task_before, timer_item
from phoihop.engine.instance_migration.plan import Versions, plan_out
from phoihop.engine.instance_migration.tree import TreePlan, element_of, is_live, live_tasks, plan_tree, rebuild
from phoihop.engine.instance_migration.variables import missing_variables
from phoihop.engine.model import Actor
from phoihop.engine.search_text import task_search_text
from phoihop.engine.store import instance_moves
from phoihop.engine.store import repository as repo

__all__ = ["examine", "save_moved"]

log = logging.getLogger("phoihop.migration")


def examine(
    executor: CommandExecutor, conn: Connection, row: Mapping[str, Any], versions: Versions, now: datetime
) -> Examined:
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
    examined = Examined(report)
    if row["definition_id"] != versions.source["id"]:
        report["reasons"].append(
            reason(
                "not-on-source-version",
                None,
                f"instance {instance_id} does not run on version {versions.source_version}",
                f"Hồ sơ {instance_id} không chạy trên phiên bản {versions.source_version}",
            )
        )
        return examined
    if row["status"] != "running":
        report["reasons"].append(
            reason(
                "instance-not-running",
                None,
                f"instance {instance_id} is {row['status']}; only running instances move",
                f"Hồ sơ {instance_id} đang ở trạng thái {row['status']}; chỉ hồ sơ đang xử lý mới chuyển được",
            )
        )
        return examined
    prior = executor.load(conn, row, versions.source_model)  # as stored: never the cached object others may take
    workflow = prior.workflow
    open_rows = repo.tasks_of_instance(conn, instance_id, open_only=True)
    timer_rows = repo.instance_timers(conn, instance_id)
    target = versions.target_model
    tree = plan_tree(workflow, versions.mapping, target.spec, target.subprocess_specs)
    waiting = [
        tree.targets[(id(workflow), t.id)].name
        for t in workflow.tasks.values()
        if is_live(t) and (id(workflow), t.id) in tree.targets
    ]
    findings = [*tree.findings, *missing_variables(target, waiting, prior.variables)]
    report["notes"] = [f.as_dict() for f in findings if not f.blocking]
    report["reasons"] = [f.as_dict() for f in findings if f.blocking]
    if report["reasons"]:
        report["tasks"] = [task_before(t, workflow, tree, versions) for t in open_rows]
        report["timers"] = [timer_item(t, None, blocked=True) for t in timer_rows]
        return examined
    _move_copy(executor, examined, workflow, tree, prior, versions)
    if examined.outcome is not None:
        describe(executor, examined, open_rows, timer_rows, versions, now)
    report["migratable"] = not report["reasons"]
    return examined


def _move_copy(
    executor: CommandExecutor,
    examined: Examined,
    workflow: Any,
    tree: TreePlan,
    prior: LiveWorkflow,
    versions: Versions,
) -> None:
    """Move the fresh copy onto the target's specs and run it to its next wait state; a failure is a reason."""
    index = task_index.index_of(workflow)
    assert index is not None
    try:
        rebuild(workflow, tree, versions.target_model.subprocess_specs, lambda task: index.mark(task.id))
        outcome = executor.runtime.run(workflow)
    except Exception as exc:  # whatever SpiffWorkflow raises on a tree it cannot carry
        examined.report["reasons"].append(
            reason(
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
            reason(
                "settle-error",
                error.get("element_id"),
                f"on the target version the instance would fail: {error.get('message')}",
                f"Trên phiên bản đích hồ sơ sẽ gặp lỗi: {error.get('message_vi') or error.get('message')}",
            )
        )
        return
    examined.workflow, examined.outcome, examined.prior = workflow, outcome, prior


def save_moved(
    executor: CommandExecutor, uow: Any, actor: Actor, head: Mapping[str, Any], versions: Versions, examined: Examined
) -> None:
    """Save the moved copy as the instance, on the target definition, with its open task rows carried along."""
    assert examined.outcome is not None and examined.prior is not None
    audit = {
        "kind": "instance_migrated",
        "data": {
            **plan_out(versions),
            "definition_before": versions.source["id"],
            "definition_after": versions.target["id"],
            "tasks": [
                {k: t[k] for k in ("task_id", "element_from", "element_to", "assignee", "outcome")}
                for t in examined.report["tasks"]
            ],
            "timers": [{k: t[k] for k in ("task_id", "element_from", "element_to")} for t in examined.report["timers"]],
        },
    }
    executor.save(uow, head, versions.target_model, examined.workflow, examined.outcome, examined.prior, actor, audit)
    instance_moves.switch_definition(uow.conn, head["id"], versions.target["id"])
    for moved in examined.moved_tasks:  # its search text follows its new name (engine/search_text.py)
        data = executor.runtime.task_data(examined.workflow, moved["id"])
        search_text = task_search_text(moved["name"], head["business_key"], data)
        instance_moves.move_human_task(uow.conn, moved["id"], {**moved, "search_text": search_text})
    for task in live_tasks(examined.workflow):  # an external task's row follows its element (no-op otherwise)
        if not getattr(task.task_spec, "manual", False):
            instance_moves.move_external_task(
                uow.conn, str(task.id), element_of(task.task_spec), getattr(task.task_spec, "bpmn_name", None)
            )
    log.info(
        "instance %s migrated from %s v%d to v%d",
        head["id"],
        versions.key,
        versions.source_version,
        versions.target_version,
    )
