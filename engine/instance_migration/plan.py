"""The two versions a migration plan moves instances between: both found, both compiled, and the plan checked against
them (not the same version; every mapped id an element of its version), or ``MigrationPlanInvalid`` listing why not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.errors import MigrationPlanInvalid
from phoihop.engine.reads.versions import definition_not_found
from phoihop.engine.store import repository as repo

__all__ = ["Versions", "load_versions", "plan_out"]


@dataclass(frozen=True)
class Versions:
    """A checked plan: the key, its source and target versions (rows and compiled models) and the element mapping."""

    key: str
    source_version: int
    target_version: int
    mapping: Mapping[str, str]  # source element id -> target element id
    source: repo.Row
    target: repo.Row
    source_model: ProcessModel
    target_model: ProcessModel


def _elements(model: ProcessModel) -> set[str]:
    return {
        str(ts.bpmn_id)
        for spec in [model.spec, *model.subprocess_specs.values()]
        for ts in spec.task_specs.values()
        if getattr(ts, "bpmn_id", None)
    }


def load_versions(
    executor: CommandExecutor,
    conn: Connection,
    key: str,
    source_version: int,
    target_version: int,
    mapping: Mapping[str, str],
) -> Versions:
    """Both versions of ``key`` with their compiled models, once the plan is checked against them."""
    source = repo.definition_by_version(conn, key, source_version)
    if source is None:
        raise definition_not_found(key, source_version)
    target = repo.definition_by_version(conn, key, target_version)
    if target is None:
        raise definition_not_found(key, target_version)
    source_model, target_model = executor.model(conn, source["id"]), executor.model(conn, target["id"])
    problems: list[dict[str, Any]] = []
    if source_version == target_version:
        problems.append(
            {
                "field": "to_version",
                "reason": "the target version is the source version",
                "reason_vi": "phiên bản đích trùng phiên bản nguồn",
            }
        )
    source_ids, target_ids = _elements(source_model), _elements(target_model)
    for source_id, target_id in mapping.items():
        if source_id not in source_ids:
            problems.append(
                {
                    "source_id": source_id,
                    "target_id": target_id,
                    "reason": f"{source_id!r} is no element of version {source_version}",
                    "reason_vi": f"{source_id!r} không phải phần tử của phiên bản {source_version}",
                }
            )
        if target_id not in target_ids:
            problems.append(
                {
                    "source_id": source_id,
                    "target_id": target_id,
                    "reason": f"{target_id!r} is no element of version {target_version}",
                    "reason_vi": f"{target_id!r} không phải phần tử của phiên bản {target_version}",
                }
            )
    if problems:
        first = problems[0]
        raise MigrationPlanInvalid(
            f"the migration plan does not apply: {first['reason']}",
            detail_vi=f"Kế hoạch chuyển phiên bản không áp dụng được: {first['reason_vi']}",
            problems=problems,
        )
    return Versions(key, source_version, target_version, mapping, source, target, source_model, target_model)


def plan_out(versions: Versions) -> dict[str, Any]:
    """The plan as reports and audit events show it."""
    return {
        "process_key": versions.key,
        "from_version": versions.source_version,
        "to_version": versions.target_version,
        "mapping": dict(versions.mapping),
    }
