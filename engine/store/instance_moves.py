"""Statements of instance migration (engine/instance_migration/commands.py): choosing the instances of a version,
moving an instance to another definition, and carrying its open human tasks and external tasks over to the target's
elements. A cold path: SQLAlchemy Core. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from phoihop.engine.store.tables import (
    Row,
    all_rows,
    external_task_table,
    human_task_table,
    instance_table,
    task_candidate_table,
)

_COLUMNS = (
    instance_table.c.id,
    instance_table.c.definition_id,
    instance_table.c.process_key,
    instance_table.c.business_key,
    instance_table.c.status,
    instance_table.c.version,
)


def select_instances(
    conn: Connection,
    definition_id: int,
    *,
    statuses: Sequence[str],
    business_keys: Sequence[str],
    instance_ids: Sequence[str],
    limit: int,
) -> tuple[list[Row], int]:
    """Instances of ``definition_id`` matching every filter given (an empty one matches all), oldest first, and how
    many match in all."""
    conditions: list[Any] = [instance_table.c.definition_id == definition_id]
    if statuses:
        conditions.append(instance_table.c.status.in_(list(statuses)))
    if business_keys:
        conditions.append(instance_table.c.business_key.in_(list(business_keys)))
    if instance_ids:
        conditions.append(instance_table.c.id.in_(list(instance_ids)))
    total = int(conn.execute(select(func.count()).select_from(instance_table).where(*conditions)).scalar_one())
    rows = all_rows(
        conn.execute(
            select(*_COLUMNS).where(*conditions).order_by(instance_table.c.started_at, instance_table.c.id).limit(limit)
        )
    )
    return rows, total


def instances_by_id(conn: Connection, instance_ids: Sequence[str]) -> dict[str, Row]:
    if not instance_ids:
        return {}
    rows = all_rows(conn.execute(select(*_COLUMNS).where(instance_table.c.id.in_(list(instance_ids)))))
    return {r["id"]: r for r in rows}


def switch_definition(conn: Connection, instance_id: str, definition_id: int) -> None:
    conn.execute(update(instance_table).where(instance_table.c.id == instance_id).values(definition_id=definition_id))


_MOVED_FIELDS = (
    "element_id",
    "name",
    "lane",
    "candidate_groups",
    "candidate_users",
    "documentation",
    "form_key",
    "required_role",
    "search_text",
)


def move_human_task(conn: Connection, task_id: str, values: dict[str, Any]) -> None:
    """Point an open human task at its target element (``values``: the ``_MOVED_FIELDS``); its assignee, status,
    times and due dates stay. Its candidate rows are replaced."""
    conn.execute(
        update(human_task_table).where(human_task_table.c.id == task_id).values(**{k: values[k] for k in _MOVED_FIELDS})
    )
    conn.execute(delete(task_candidate_table).where(task_candidate_table.c.task_id == task_id))
    candidates = [{"task_id": task_id, "kind": "group", "value": g} for g in values["candidate_groups"]]
    candidates += [{"task_id": task_id, "kind": "user", "value": u} for u in values["candidate_users"]]
    if candidates:
        conn.execute(insert(task_candidate_table), candidates)


def move_external_task(conn: Connection, task_id: str, element_id: str, name: str | None) -> None:
    conn.execute(
        update(external_task_table).where(external_task_table.c.id == task_id).values(element_id=element_id, name=name)
    )
