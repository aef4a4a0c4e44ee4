"""Schema only through Alembic: ``upgrade(url)`` brings a database to head (``upgrade_if_needed`` first compares the
database's revision with the scripts' head, one query); ``pending_diff`` compares models.

A server that finds its database at head never imports Alembic (a tenth of its start-up CPU): the database's
revision is read from ``alembic_version`` with plain SQL, and the scripts' head from the ``revision`` and
``down_revision`` lines of the migration files (Alembic's ScriptDirectory, which imports each script, is the fallback
when those lines are not plain strings; tests/api/test_restart.py checks that both readings agree)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text
from sqlmodel import SQLModel

from phoihop.engine.store import models  # noqa: F401
from phoihop.engine.store.dashboard import OPEN_TASK_COUNT_TABLE
from phoihop.engine.store.database import make_engine, normalize_url
from phoihop.engine.store.human_tasks import LIVE_SEARCH_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

# The Alembic scripts are package data of phoihop (phoihop/migrations: in a checkout, the link to migrations/; in an
# installed wheel, the folder itself), found through the package, wherever it is installed.
ALEMBIC_DIR = Path(str(files("phoihop").joinpath("migrations")))


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(slug)s")
    return config


SCHEMA_LOCK = 0x70686F69686F70  # "phoihop": the advisory lock id that serializes schema upgrades on PostgreSQL


def upgrade(url: str) -> str | None:
    """Bring the database to head and return the revision it was at before (None: an empty database). Servers and
    workers started together on a fresh database take turns: PostgreSQL through an advisory lock, SQLite through the
    write lock its BEGIN IMMEDIATE takes."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # Batch operations rebuild a table (copy, drop, rename) that other tables reference; its DROP would
                # fail on their rows. Foreign keys are off for the upgrade (the pragma is ignored inside a
                # transaction, so before BEGIN) and checked once before the commit instead (Alembic's own advice).
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SCHEMA_LOCK})
                before = current_revision(conn)
                from alembic import command

                config = alembic_config(url)
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the schema upgrade left rows with dangling foreign keys: {broken[:10]}")
        return before
    finally:
        engine.dispose()


_REVISION_LINE = re.compile(r"""^(down_revision|revision)\b[^=\n]*=\s*(?:(None)|['"]([^'"]+)['"])\s*$""", re.M)


def declared_head() -> str | None:
    """The head as the migration files' own ``revision``/``down_revision`` lines name it: the one revision no other
    revises. None when a file does not say it in plain strings (a merge's tuple) or the lines name no single head."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (ALEMBIC_DIR / "versions").glob("*.py"):
        found = {name: none or value for name, none, value in _REVISION_LINE.findall(script.read_text("utf-8"))}
        if set(found) != {"revision", "down_revision"}:
            return None
        revisions.add(found["revision"])
        if found["down_revision"] != "None":
            revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 and revised <= revisions else None


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision of the Alembic scripts shipped with this code (read once per process)."""
    head = declared_head()
    if head is None:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None: never migrated); Alembic's own reading when it holds several."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) <= 1:
        return str(rows[0]) if rows else None
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def at_head(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:  # a read: on SQLite a plain BEGIN, never the write lock
            return current_revision(conn.execution_options(phoihop_write=False)) == head_revision()
    finally:
        engine.dispose()


def upgrade_if_needed(url: str) -> bool:
    """Bring the database to head unless it is there already (one query, no migration environment); True when an
    upgrade ran."""
    if at_head(url):
        return False
    upgrade(url)
    return True


# indexes a migration creates only on one database, so the models do not declare them: PostgreSQL with pg_trgm
# (migrations 0201, 0202); SQLite's live tasks warned today, read only with its open task counts (0206)
DATABASE_DEPENDENT_INDEXES = frozenset(
    {"ix_human_task_search_trgm", "ix_human_task_live_search_trgm", "ix_human_task_live_warn"}
)


# SQLite's FTS5 table of migration 0204 (and the shadow tables FTS5 keeps beside it, and migration 0207's
# human_task_live_search_key: the task's id → its FTS row), outside the models
DATABASE_DEPENDENT_TABLE = LIVE_SEARCH_TABLE
# SQLite's open task counts of migration 0206 (engine/store/dashboard.py: PostgreSQL keeps none), outside the models
SQLITE_ONLY_TABLES = frozenset({OPEN_TASK_COUNT_TABLE})


def _declared_in_models(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and ((name or "").startswith(DATABASE_DEPENDENT_TABLE) or name in SQLITE_ONLY_TABLES):
        return False
    return not (type_ == "index" and name in DATABASE_DEPENDENT_INDEXES)


def pending_diff(url: str) -> list[Any]:
    """Differences between the SQLModel tables and the migrated database (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _declared_in_models}
            )
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()
