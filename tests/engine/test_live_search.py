"""The inbox text search through the live tasks' text index (issue 15.1): on SQLite an FTS5 table with the trigram
tokenizer (migration 0204) kept by triggers on ``human_task`` whichever statement changes a task, on PostgreSQL the
partial trigram index of migration 0202. Either way a search finds exactly the tasks the plain LIKE finds: live or
finished, any length of text, LIKE wildcards and FTS5 syntax in it taken literally, only the caller's tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import bindparam, text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
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
