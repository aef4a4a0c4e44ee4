"""Statements of instance migration (engine/instance_migration/commands.py): choosing the instances of a version,
moving an instance to another definition, and carrying its open human tasks and external tasks over to the target's
elements. A cold path: SQLAlchemy Core. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from phoihop.engine.store.tables import ET, HT, PI, TC, Row, all_rows

_COLUMNS = (PI.c.id, PI.c.definition_id, PI.c.process_key, PI.c.business_key, PI.c.status, PI.c.version)


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
    conditions: list[Any] = [PI.c.definition_id == definition_id]
    if statuses:
        conditions.append(PI.c.status.in_(list(statuses)))
    if business_keys:
        conditions.append(PI.c.business_key.in_(list(business_keys)))
    if instance_ids:
        conditions.append(PI.c.id.in_(list(instance_ids)))
    total = int(conn.execute(select(func.count()).select_from(PI).where(*conditions)).scalar_one())
    rows = all_rows(conn.execute(select(*_COLUMNS).where(*conditions).order_by(PI.c.started_at, PI.c.id).limit(limit)))
    return rows, total


def instances_by_id(conn: Connection, instance_ids: Sequence[str]) -> dict[str, Row]:
    if not instance_ids:
        return {}
    rows = all_rows(conn.execute(select(*_COLUMNS).where(PI.c.id.in_(list(instance_ids)))))
    return {r["id"]: r for r in rows}


def switch_definition(conn: Connection, instance_id: str, definition_id: int) -> None:
    conn.execute(update(PI).where(PI.c.id == instance_id).values(definition_id=definition_id))


_MOVED_FIELDS = (
    "element_id",
    "name",
    "lane",
    "candidate_groups",
    "candidate_users",
    "documentation",
    "form_key",
    "required_role",
)


def move_human_task(conn: Connection, task_id: str, values: dict[str, Any]) -> None:
    """Point an open human task at its target element (``values``: the ``_MOVED_FIELDS``); its assignee, status,
    times and due dates stay. Its candidate rows are replaced."""
    conn.execute(update(HT).where(HT.c.id == task_id).values(**{k: values[k] for k in _MOVED_FIELDS}))
    conn.execute(delete(TC).where(TC.c.task_id == task_id))
    candidates = [{"task_id": task_id, "kind": "group", "value": g} for g in values["candidate_groups"]]
    candidates += [{"task_id": task_id, "kind": "user", "value": u} for u in values["candidate_users"]]
    if candidates:
        conn.execute(insert(TC), candidates)


def move_external_task(conn: Connection, task_id: str, element_id: str, name: str | None) -> None:
    conn.execute(update(ET).where(ET.c.id == task_id).values(element_id=element_id, name=name))
