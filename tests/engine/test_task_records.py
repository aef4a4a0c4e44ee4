"""The per-task state records: what a command writes must restore to exactly the live workflow.

After every command the workflow restored from the stored records (meta + one row per task) serializes to the same
document as the live object the cache keeps; and a loop's commands rewrite a bounded number of records.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from phoihop.engine.container import EngineContainer
from phoihop.engine.store import repository as repo
from tests.engine.helpers import ADMIN, LEAD, deploy, load_workflow


def _restored_state(container: EngineContainer, instance_id: str) -> dict[str, Any]:
    state: dict[str, Any] = orjson.loads(container.executor.serializer.dumps(load_workflow(container, instance_id)))
    return state


def _live_state(container: EngineContainer, instance_id: str) -> dict[str, Any] | None:
    entry = container.executor.cache._entries.get(instance_id)
    if entry is None:
        return None
    state: dict[str, Any] = orjson.loads(container.executor.serializer.dumps(entry.workflow))
    return state


def _answers(element_id: str, step: int) -> dict[str, Any]:
    return {
        "legal_ok": True,
        "board_ok": step % 2 == 0,
        "tiep_tuc": step < 6,
        "so_luong": step + 1,
        "chia_cho": 3,
        "ho_so": {"buoc": step, "noi_dung": {"phan": element_id}},
    }


@pytest.mark.parametrize(
    ("fixture", "key"),
    [
        ("parallel.bpmn", "parallel_review"),
        ("loop.bpmn", "looped"),
        ("scripts.bpmn", "scripted"),
        ("four_tasks.bpmn", "four_tasks"),
    ],
)
def test_restored_records_equal_the_live_workflow_after_every_command(
    container: EngineContainer, fixture: str, key: str
) -> None:
    deploy(container, fixture)
    instance_id, _ = container.instances.start(LEAD, key, variables={"ho_so": {"ma": "HS-01"}})
    step = 0
    while True:
        live = _live_state(container, instance_id)
        if live is not None:
            assert _restored_state(container, instance_id) == live, f"records diverge after step {step}"
        instance = container.instance_reads.get_instance(ADMIN, instance_id)
        if instance.status != "running":
            break
        task = instance.open_tasks[0]
        container.tasks.complete(LEAD, task.id, _answers(task.element_id, step))
        step += 1
    assert instance.status == "completed"
    assert step >= 3


def test_a_loop_step_rewrites_a_bounded_number_of_records(container: EngineContainer) -> None:
    deploy(container, "loop.bpmn")
    instance_id, _ = container.instances.start(LEAD, "looped", variables={"tiep_tuc": True})
    written: list[int] = []
    original = repo.write_task_records

    def counting(conn: Any, iid: str, records: list[tuple[str, int, str]], removed: list[str]) -> None:
        written.append(len(records))
        original(conn, iid, records, removed)

    repo.write_task_records = counting  # type: ignore[assignment]
    try:
        for i in range(30):
            task_id = container.task_reads.open_task_ids(LEAD, instance_id)[0]
            container.tasks.complete(LEAD, task_id, {"tiep_tuc": i < 29})
    finally:
        repo.write_task_records = original  # type: ignore[assignment]
    with container.db.transaction(write=False) as conn:
        total_records = len(repo.task_records(conn, instance_id))
    assert total_records > 60  # the history keeps growing ...
    assert max(written[5:]) <= max(written[:5]) + 2  # ... but each step writes about the same few records
