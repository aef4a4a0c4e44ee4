"""The inbox text search through the live tasks' text index (issue 15.1): on SQLite an FTS5 table with the trigram
tokenizer (migration 0204) kept by triggers on ``human_task`` whichever statement changes a task, on PostgreSQL the
partial trigram index of migration 0202. Either way a search finds exactly the tasks the plain LIKE finds: live or
finished, any length of text, LIKE wildcards and FTS5 syntax in it taken literally, only the caller's tasks."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import bindparam, text

from phoihop.engine.clock import FakeClock
from phoihop.engine.commands.retention import Retention
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.search_text import fold
from phoihop.engine.store import human_tasks
from phoihop.engine.store.database import make_engine
from phoihop.engine.store.schema import alembic_config, pending_diff, upgrade

from .helpers import ADMIN, SKHCN, STP, deploy, open_tasks
from .test_schema_upgrade_of_versions import ROWS

APPLICANTS = ("Trần Thị Thu Hà", "Trần Thị Thu", "Lê Văn Đức", 'Công ty "Ánh Dương" 100%_x', "Ngô Thu")


def indexed(container: EngineContainer, phrase: str) -> set[str]:
    """The task ids the FTS5 table finds for ``phrase`` (SQLite)."""
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(
            text("SELECT task_id FROM human_task_live_search WHERE human_task_live_search MATCH :q"),
            {"q": '"' + phrase + '"'},
        ).all()
    return {r[0] for r in rows}


def test_the_live_text_index_follows_its_tasks(container: EngineContainer, clock: FakeClock) -> None:
    if container.db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 table is SQLite's (PostgreSQL: the partial trigram index of migration 0202)")
    deploy(container, "four_tasks.bpmn")
    instance_id, _ = container.instances.start(SKHCN, "four_tasks", variables={"applicant_name": "Trần Thị Thu Hà"})
    [first] = open_tasks(container, instance_id).values()
    assert indexed(container, "tran thi thu") == {first["id"]}  # written with the task
    container.tasks.claim(SKHCN, first["id"])
    assert indexed(container, "tran thi thu") == {first["id"]}  # claimed: still live
    container.tasks.complete(SKHCN, first["id"], {})
    [second] = open_tasks(container, instance_id).values()
    assert indexed(container, "tran thi thu") == {second["id"]}  # the finished one leaves, the next one comes in
    with container.db.transaction() as conn:  # a statement that changes the text (an instance move, a repair)
        conn.execute(
            text("UPDATE human_task SET search_text = 'kiem tra | le van duc' WHERE id = :id"), {"id": second["id"]}
        )
    assert (indexed(container, "tran thi thu"), indexed(container, "le van duc")) == (set(), {second["id"]})
    with container.db.transaction() as conn:
        conn.execute(text("UPDATE human_task SET status = 'cancelled' WHERE id = :id"), {"id": second["id"]})
    assert indexed(container, "le van duc") == set()
    with container.db.transaction() as conn:  # live again (a reopened task), then deleted (retention)
        conn.execute(text("UPDATE human_task SET status = 'open' WHERE id = :id"), {"id": second["id"]})
        assert conn.execute(text("SELECT count(*) FROM human_task_live_search")).scalar_one() == 1
        conn.execute(text("DELETE FROM task_candidate WHERE task_id = :id"), {"id": second["id"]})
        conn.execute(text("DELETE FROM human_task WHERE id = :id"), {"id": second["id"]})
        assert conn.execute(text("SELECT count(*) FROM human_task_live_search")).scalar_one() == 0


@pytest.mark.parametrize("common", [human_tasks.COMMON_TEXT, 1], ids=["rare", "common"])
def test_a_search_finds_what_the_plain_like_finds(
    container: EngineContainer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, common: int
) -> None:
    """``common`` 1: on SQLite every text the index finds reads the caller's tasks in order instead."""
    monkeypatch.setattr(human_tasks, "COMMON_TEXT", common)
    deploy(container, "four_tasks.bpmn")
    cases = {
        name: container.instances.start(SKHCN, "four_tasks", variables={"applicant_name": name})[0]
        for name in APPLICANTS
    }
    # one case's task finished: found among the completed tasks only (the index holds the live ones)
    [done] = open_tasks(container, cases["Lê Văn Đức"]).values()
    container.tasks.complete(SKHCN, done["id"], {})
    reads = TaskReads(container.db, clock)
    live = [t.id for t in reads.list_tasks(SKHCN, limit=100).items]
    with container.db.transaction(write=False) as conn:
        texts = conn.execute(
            text("SELECT instance_id, search_text FROM human_task WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": live},
        ).all()

    def like(searched: str) -> set[str]:  # what LIKE over every live task of the caller finds, in Python
        return {instance_id for instance_id, words in texts if fold(searched) in words}

    searches = {
        "tran thi thu": {cases["Trần Thị Thu Hà"], cases["Trần Thị Thu"]},
        "TRẦN THỊ THU HÀ": {cases["Trần Thị Thu Hà"]},
        "thu": {cases["Trần Thị Thu Hà"], cases["Trần Thị Thu"], cases["Ngô Thu"]},
        "th": like("th"),  # shorter than a trigram
        "le van duc": {cases["Lê Văn Đức"]},  # its next task, live
        '"anh duong"': {cases['Công ty "Ánh Dương" 100%_x']},  # FTS5's quote taken literally
        "100%_x": {cases['Công ty "Ánh Dương" 100%_x']},  # LIKE's wildcards taken literally
        "100%x": set(),
        "anh duong OR tran": set(),  # FTS5's operators taken literally
        "khong co ai": set(),
    }
    assert searches["th"] >= searches["thu"]
    for searched, expected in searches.items():
        page = reads.list_tasks(SKHCN, text=searched)
        assert {t.instance_id for t in page.items} == expected == like(searched), searched
        assert reads.count_tasks(SKHCN, text=searched) == (len(expected), False), searched
        counts = reads.count_choices(SKHCN, {"all": {"text": searched}, "open": {"text": searched, "status": "open"}})
        assert counts == {"all": (len(expected), False), "open": (len(expected), False)}, searched
    # another agency sees none of them, the admin all; the completed tasks are searched without the index
    assert reads.count_tasks(STP, text="tran thi thu") == (0, False)
    admin = {t.instance_id for t in reads.list_tasks(ADMIN, text="tran thi thu ha").items}
    assert admin == {cases["Trần Thị Thu Hà"]}
    completed = reads.list_tasks(SKHCN, text="le van duc", status="completed")
    assert [t.id for t in completed.items] == [done["id"]]


def rebuild(path: Path, how: str) -> Path:
    """The database at ``path`` after ``how``: ``vacuum`` rebuilds the file in place, ``dump`` restores the sqlite3
    shell's ``.dump`` of it into a new file (a backup kept as SQL text). SQLite's documentation lets either give a
    table without an INTEGER PRIMARY KEY new rowids; the dump does (its INSERTs name no rowid, so the holes that
    deleted rows left close), VACUUM in SQLite 3.40 keeps them for a table with an index. (Python's ``iterdump``
    cannot restore an FTS5 table: it writes the virtual table's rows and its shadow tables' both.)"""
    if how == "vacuum":
        with closing(sqlite3.connect(path, isolation_level=None)) as raw:
            raw.execute("VACUUM")
        return path
    shell = shutil.which("sqlite3")
    if shell is None:
        pytest.skip("the sqlite3 shell is not installed")
    restored = path.with_name("restored.db")
    dumped = subprocess.run([shell, str(path), ".dump"], check=True, capture_output=True).stdout
    subprocess.run([shell, str(restored)], input=dumped, check=True, capture_output=True)
    return restored


@pytest.mark.parametrize("how", ["vacuum", "dump"])
def test_the_live_text_index_keeps_its_tasks_when_the_file_is_rebuilt(
    container: EngineContainer, clock: FakeClock, db_url: str, tmp_path: Path, how: str
) -> None:
    """Cases purged by retention leave holes in ``human_task``'s rowids; a rebuild of the file may close them. The
    index must still hold exactly the live tasks afterwards, through the writes that follow: a new task may take a
    rowid a live task had before, a finished one must leave."""
    if container.db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 table is SQLite's (PostgreSQL: the partial trigram index of migration 0202)")
    deploy(container, "four_tasks.bpmn")
    names = ("Phạm Gia Bảo", "Vũ Minh Châu", "Đặng Quốc Dũng", "Bùi Thanh Giang", "Hoàng Lan Hương", "Lý Khánh Linh")
    started = {n: container.instances.start(SKHCN, "four_tasks", variables={"applicant_name": n})[0] for n in names}
    for purged in names[:3]:
        container.instances.cancel(ADMIN, started[purged])
    clock.advance(timedelta(days=60))
    retention = Retention(
        container.db,
        clock,
        container.dashboard,
        days=30,
        archive_dir=tmp_path / "archive",
        batch=10,
        contents=container.documents.content,
    )
    assert sorted(retention.run().purged) == sorted(started[n] for n in names[:3])
    container.db.engine.dispose()
    rebuilt = build_engine(f"sqlite:///{rebuild(Path(db_url.removeprefix('sqlite:///')), how)}", clock=clock)
    try:
        later = ("Trịnh Mai Anh", "Tạ Hữu Nghĩa", "Kiều Phương Thảo", "Mạc Đình Tuấn")
        for name in later:  # new tasks, new rowids: after a renumbering, the ones live tasks' index rows still carry
            started[name] = rebuilt.instances.start(SKHCN, "four_tasks", variables={"applicant_name": name})[0]
        [finished] = open_tasks(rebuilt, started[names[3]]).values()
        rebuilt.tasks.complete(SKHCN, finished["id"], {})  # its next task comes in, the finished one leaves
        reads = TaskReads(rebuilt.db, clock)
        for name in names[3:] + later:
            assert [t.instance_id for t in reads.list_tasks(SKHCN, text=name).items] == [started[name]], name
        with rebuilt.db.transaction(write=False) as conn:
            live = conn.execute(
                text("SELECT id FROM human_task WHERE status IN ('open', 'claimed', 'awaiting_approval')")
            ).scalars()
            assert sorted(conn.execute(text("SELECT task_id FROM human_task_live_search")).scalars()) == sorted(live)
    finally:
        rebuilt.close()


def test_migration_0204_fills_the_index_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, "0202")
            for statement in ROWS[:3]:  # a deployment, its definition, one instance
                conn.execute(text(statement))
            conn.execute(
                text(
                    "INSERT INTO human_task (id, instance_id, process_key, element_id, name, candidate_groups,"
                    " candidate_users, status, created_at, search_text) VALUES"
                    " ('t-open', :i, 'k', 'a', 'A', '[\"skhcn\"]', '[]', 'open', '2026-12-01 01:00:00',"
                    " 'tiep nhan | tran thi thu'),"
                    " ('t-done', :i, 'k', 'b', 'B', '[\"skhcn\"]', '[]', 'completed', '2026-12-01 01:00:00',"
                    " 'tiep nhan | tran thi thu')"
                ),
                {"i": "00000000-0000-7000-8000-000000000001"},
            )
        upgrade(url)
        with engine.begin() as conn:
            found = text("SELECT task_id FROM human_task_live_search WHERE human_task_live_search MATCH :q")
            assert conn.execute(found, {"q": '"tran thi thu"'}).scalars().all() == ["t-open"]
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.downgrade(config, "0202")
            tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'human_task_live%'")).all()
            assert tables == []
            conn.execute(text("UPDATE human_task SET status = 'completed' WHERE id = 't-open'"))  # no trigger left
        upgrade(url)
        with engine.begin() as conn:
            assert conn.execute(found, {"q": '"tran thi thu"'}).all() == []
    finally:
        engine.dispose()
    assert pending_diff(url) == []


def test_migration_0207_writes_the_index_again_keyed_by_task_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    index = "SELECT rowid, task_id FROM human_task_live_search ORDER BY task_id"
    try:
        with engine.begin() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, "0204")
            for statement in ROWS[:3]:  # a deployment, its definition, one instance
                conn.execute(text(statement))
            for task, status in (("t-a", "open"), ("t-b", "claimed"), ("t-c", "completed"), ("t-d", "open")):
                conn.execute(
                    text(
                        "INSERT INTO human_task (id, instance_id, process_key, element_id, name, candidate_groups,"
                        " candidate_users, status, created_at, search_text) VALUES (:t, :i, 'k', 'a', 'A',"
                        " '[\"skhcn\"]', '[]', :s, '2026-12-01 01:00:00', 'tiep nhan | tran thi thu')"
                    ),
                    {"t": task, "i": "00000000-0000-7000-8000-000000000001", "s": status},
                )
            # what a renumbering left: t-d's row overwritten by a task that took its rowid, t-a's row at a stale one
            conn.execute(text("DELETE FROM human_task_live_search WHERE task_id IN ('t-a', 't-d')"))
            conn.execute(
                text("INSERT INTO human_task_live_search (rowid, search_text, task_id) VALUES (9, 'x', 't-a')")
            )
        upgrade(url)
        with engine.begin() as conn:
            rows = conn.execute(text(index)).all()
            assert [task for _, task in rows] == ["t-a", "t-b", "t-d"]  # the live tasks, each once
            key = conn.execute(text("SELECT search_rowid, task_id FROM human_task_live_search_key ORDER BY task_id"))
            assert key.all() == rows
            conn.execute(text("DELETE FROM human_task WHERE id = 't-a'"))
            conn.execute(text("UPDATE human_task SET status = 'completed' WHERE id = 't-b'"))
            conn.execute(text("UPDATE human_task SET status = 'open', search_text = 'le van duc' WHERE id = 't-c'"))
            found = text("SELECT task_id FROM human_task_live_search WHERE human_task_live_search MATCH :q")
            assert conn.execute(found, {"q": '"tran thi thu"'}).scalars().all() == ["t-d"]
            assert conn.execute(found, {"q": '"le van duc"'}).scalars().all() == ["t-c"]
            assert conn.execute(text("SELECT task_id FROM human_task_live_search_key ORDER BY 1")).scalars().all() == [
                "t-c",
                "t-d",
            ]
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.downgrade(config, "0204")
            assert conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE '%live_search_key'")).all() == []
            rowids = text("SELECT t.rowid, t.id FROM human_task t WHERE t.status IN ('open', 'claimed') ORDER BY t.id")
            assert conn.execute(text(index)).all() == conn.execute(rowids).all()  # 0204's rows: the tasks' rowids
        upgrade(url)
        with engine.begin() as conn:
            assert [task for _, task in conn.execute(text(index))] == ["t-c", "t-d"]
    finally:
        engine.dispose()
    assert pending_diff(url) == []
