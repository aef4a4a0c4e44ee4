"""What a dry run says of one instance: whether it can move and why not (reasons, each with a code), and what would
happen to its open tasks (kept, closed, opened: element, name, lane, candidates, form and due time before and after)
and pending timers (kept, cancelled, started), read from the copy moved in memory (engine.instance_migration.move).
Also the report of an instance the filter named but did not select, and the result of one migration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.errors import EngineError
from phoihop.engine.execution.outcomes import RunOutcome
from phoihop.engine.execution.workflow_cache import LiveWorkflow
from phoihop.engine.instance_migration.plan import Versions
from phoihop.engine.instance_migration.tree import TreePlan, element_of
from phoihop.engine.store import instance_moves
from phoihop.engine.store import repository as repo

__all__ = ["Examined", "describe", "reason", "result", "task_before", "timer_item", "unselected"]


@dataclass
class Examined:
    """One instance checked against the plan: its report and, when it can move, the copy moved in memory."""

    report: dict[str, Any]
    workflow: Any = None
    outcome: RunOutcome | None = None
    prior: LiveWorkflow | None = None
    moved_tasks: list[dict[str, Any]] = field(default_factory=list)  # new values of the open human tasks kept


def reason(code: str, element_id: str | None, en: str, vi: str) -> dict[str, Any]:
    return {"code": code, "element_id": element_id, "message_en": en, "message_vi": vi, "blocking": True}


def task_before(row: Mapping[str, Any], workflow: Any, tree: TreePlan | None, versions: Versions) -> dict[str, Any]:
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


def timer_item(row: Mapping[str, Any], after: Any, *, blocked: bool = False) -> dict[str, Any]:
    outcome = "blocked" if blocked else ("kept" if after is not None else "cancelled")
    return {
        "task_id": row["task_id"],
        "element_from": row["element_id"],
        "element_to": after.element_id if after else None,
        "due_at_before": row["due_at"],
        "due_at_after": after.due_at if after else None,
        "outcome": outcome,
    }


def describe(
    executor: CommandExecutor,
    examined: Examined,
    open_rows: list[dict[str, Any]],
    timer_rows: list[repo.Row],
    versions: Versions,
    now: datetime,
) -> None:
    """Fill the report from the moved copy: each open task kept, closed or opened, each timer before/after."""
    assert examined.outcome is not None and examined.prior is not None
    workflow, report = examined.workflow, examined.report
    snapshot = executor.runtime.snapshot(workflow, examined.outcome)
    target_tasks = versions.target_model.user_tasks
    try:
        for row in open_rows:
            element = snapshot.open_tasks.get(row["id"])
            info = target_tasks.get(element) if element is not None else None
            item = task_before(row, workflow, None, versions)
            if element is None:
                report["tasks"].append({**item, "outcome": "closed", "element_to": None})
                continue
            groups = list(info.candidate_groups) if info else []
            if info is not None and info.candidate_groups_variable:
                groups += executor.groups_from_data(workflow, row["id"], info)
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
            new = executor.task_row(
                report["instance_id"],
                versions.key,
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
        report["reasons"].append(reason("task-not-buildable", exc.fields.get("element_id"), exc.detail, exc.detail_vi))
        return
    after = {t.task_id: t for t in snapshot.timers}
    report["timers"] = [timer_item(t, after.pop(t["task_id"], None)) for t in timer_rows]
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


def unselected(
    conn: Connection, versions: Versions, instance_ids: Sequence[str], selected: set[str]
) -> list[dict[str, Any]]:
    """Instances named in the filter that it did not select, each with the reason."""
    wanted = [i for i in dict.fromkeys(instance_ids) if i not in selected]
    found = instance_moves.instances_by_id(conn, [i for i in wanted if repo.is_id(i)])
    reports = []
    for instance_id in wanted:
        row = found.get(instance_id)
        if row is None:
            why = reason(
                "instance-not-found",
                None,
                f"instance {instance_id} not found",
                f"Không tìm thấy hồ sơ {instance_id}",
            )
        elif row["definition_id"] != versions.source["id"]:
            why = reason(
                "not-on-source-version",
                None,
                f"instance {instance_id} does not run on version {versions.source_version}",
                f"Hồ sơ {instance_id} không chạy trên phiên bản {versions.source_version}",
            )
        else:
            why = reason(
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
                "reasons": [why],
                "notes": [],
                "tasks": [],
                "timers": [],
            }
        )
    return reports


def result(
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
