"""human_task.search_text: the folded text the inbox search finds a task by (issue 10.3), filled for existing rows

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:00:00
"""
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# a copy of engine/search_text.py as it was at this revision: a migration keeps meaning what it meant
_CASE_TEXT_VARIABLES = ("dossier_code", "title", "procedure_name", "technology_name", "applicant_name", "period")
_D = str.maketrans({"đ": "d", "Đ": "d"})


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def _search_text(name: str | None, business_key: str | None, variables: dict[str, Any]) -> str:
    parts: list[str] = [name or "", business_key or ""]
    parts += [v for v in (variables.get(k) for k in _CASE_TEXT_VARIABLES) if isinstance(v, str)]
    applicant = variables.get("applicant")
    if isinstance(applicant, dict):
        parts += [v for v in (applicant.get("name"), applicant.get("representative")) if isinstance(v, str)]
    return " | ".join(_fold(p) for p in parts if p.strip())


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch:
        batch.add_column(sa.Column('search_text', sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT t.id, t.name, i.business_key, i.variables FROM human_task t"
            " JOIN process_instance i ON i.id = t.instance_id"
        )
    ).all()
    updates = []
    for task_id, name, business_key, variables in rows:
        data = json.loads(variables) if isinstance(variables, str) else (variables or {})
        updates.append({"id": task_id, "text": _search_text(name, business_key, data if isinstance(data, dict) else {})})
    if updates:
        conn.execute(sa.text("UPDATE human_task SET search_text = :text WHERE id = :id"), updates)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch:
        batch.drop_column('search_text')
