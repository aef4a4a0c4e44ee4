"""Statements of the officers' web app reads (engine.reads.instance_views): inbox text search, the dossier labels of
listed tasks, and what an instance is waiting for (timers, external tasks, messages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, select

from phoihop.engine.store.human_tasks import LIVE_STATUSES, TRIGRAM, LiveTextMatch
from phoihop.engine.store.tables import (
    definition_table,
    external_task_table,
    human_task_table,
    instance_table,
    subscription_table,
    timer_table,
)

_LIKE_ESCAPE = "\\"


def _contains(text: str) -> str:
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def task_text_clause(folded: str, *, live: bool = False) -> Any:
    """Tasks whose search text (engine/search_text.py: name, business key, dossier code, case title, applicant, all
    folded) contains ``folded``, the query folded the same way (LIKE wildcards in it match literally). ``live``: the
    tasks searched are live ones only, so on SQLite the FTS5 index of the live tasks' text (migration 0204) may find
    them first (a text of at least 3 characters)."""
    contains = human_task_table.c.search_text.like(_contains(folded), escape=_LIKE_ESCAPE)
    if not live or len(folded) < TRIGRAM:
        return contains
    return and_(LiveTextMatch(folded), contains)


def instance_labels(conn: Connection, instance_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{instance id: {business_key, dossier_code, process_name}}`` of the given instances (the name of the version
    each runs on)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(
            instance_table.c.id, instance_table.c.business_key, instance_table.c.dossier_code, definition_table.c.name
        )
        .join(definition_table, definition_table.c.id == instance_table.c.definition_id)
        .where(instance_table.c.id.in_(ids))
    )
    return {
        r.id: {"business_key": r.business_key, "dossier_code": r.dossier_code, "process_name": r.name} for r in rows
    }


def waiting_elements(conn: Connection, instance_id: str) -> tuple[list[str], list[str]]:
    """``(element ids, message names)`` the instance waits on besides its human tasks: timers and external tasks
    not finished, and the messages it is subscribed to."""
    timers = [
        r[0] for r in conn.execute(select(timer_table.c.element_id).where(timer_table.c.instance_id == instance_id))
    ]
    external = [
        r[0]
        for r in conn.execute(
            select(external_task_table.c.element_id).where(
                external_task_table.c.instance_id == instance_id,
                external_task_table.c.status.in_(("open", "locked", "incident")),
            )
        )
    ]
    messages = [
        r[0]
        for r in conn.execute(
            select(subscription_table.c.message_name).where(subscription_table.c.instance_id == instance_id)
        )
    ]
    return sorted(set(timers + external)), sorted(set(messages))


def open_task_elements(conn: Connection, instance_id: str) -> list[str]:
    return sorted(
        {
            r[0]
            for r in conn.execute(
                select(human_task_table.c.element_id).where(
                    human_task_table.c.instance_id == instance_id,
                    human_task_table.c.status.in_(LIVE_STATUSES),
                )
            )
        }
    )
