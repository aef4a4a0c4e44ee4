"""SQLite live search: an FTS5 table of the live tasks' folded search text with the trigram tokenizer (SQLite >= 3.34),
``human_task_live_search``, kept by triggers on ``human_task`` (a task enters it when written or turned live, leaves it
when it is no longer live or deleted, follows a change of its text), so an inbox text search on SQLite finds its few
rows by the index, as PostgreSQL's partial trigram index of migration 0202 does, instead of testing the text of every
live task of the caller's agency; nothing on PostgreSQL (issue 15.1)

The FTS rows take their task's rowid (the triggers find a task's row by it) and carry the task's id (what a read
joins on, with the row's own search condition tested again): after a VACUUM that renumbered rowids, downgrading and
upgrading this revision writes the table again.

Revision ID: 0204
Revises: 0202
Create Date: 2026-12-07 22:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0204"
down_revision: str | None = "0202"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "human_task_live_search"
_LIVE = "('open', 'claimed', 'awaiting_approval')"  # the live statuses, as migrations 0201-0203 write them

_SQLITE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(search_text, task_id UNINDEXED, tokenize = 'trigram')",
    f"""INSERT INTO {TABLE} (rowid, search_text, task_id)
    SELECT rowid, search_text, id FROM human_task WHERE status IN {_LIVE} AND search_text IS NOT NULL""",
    f"""CREATE TRIGGER human_task_live_search_insert AFTER INSERT ON human_task
    FOR EACH ROW WHEN NEW.status IN {_LIVE} AND NEW.search_text IS NOT NULL
    BEGIN INSERT OR REPLACE INTO {TABLE} (rowid, search_text, task_id) VALUES (NEW.rowid, NEW.search_text, NEW.id);
    END""",
    f"""CREATE TRIGGER human_task_live_search_update AFTER UPDATE OF status, search_text ON human_task
    FOR EACH ROW WHEN (OLD.status IN {_LIVE}) IS NOT (NEW.status IN {_LIVE}) OR OLD.search_text IS NOT NEW.search_text
    BEGIN
        DELETE FROM {TABLE} WHERE rowid = OLD.rowid AND task_id = OLD.id;
        INSERT OR REPLACE INTO {TABLE} (rowid, search_text, task_id)
        SELECT NEW.rowid, NEW.search_text, NEW.id WHERE NEW.status IN {_LIVE} AND NEW.search_text IS NOT NULL;
    END""",
    f"""CREATE TRIGGER human_task_live_search_delete AFTER DELETE ON human_task
    FOR EACH ROW WHEN OLD.status IN {_LIVE}
    BEGIN DELETE FROM {TABLE} WHERE rowid = OLD.rowid AND task_id = OLD.id; END""",
)
_SQLITE_DOWN = (
    "DROP TRIGGER human_task_live_search_delete",
    "DROP TRIGGER human_task_live_search_update",
    "DROP TRIGGER human_task_live_search_insert",
    f"DROP TABLE {TABLE}",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _SQLITE_DOWN:
        op.execute(statement)
