"""Shared helpers for the engine-level tests (service, timers, messages, concurrency, persistence).

They read rows straight from the database (never through the live-object cache) so a test asserts what is stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

from phoihop.engine.container import EngineContainer
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.store import repository as repo
from tests.conftest import OWNER, officer

ENGINE_FIXTURES = Path(__file__).parent.parent / "fixtures" / "engine"

ADMIN = Actor.of("quan_tri", name="Quản trị", roles=("admin",))
LEAD = officer("lanh_dao", "skhcn", "stp", "htkc", "ubnd", "vp-ubnd", "ttpvhcc", roles=("lead", "officer"))
SKHCN = officer("can_bo_skhcn", "skhcn")
STP = officer("can_bo_stp", "stp")
HTKC = officer("can_bo_htkc", "htkc")
UBND = officer("can_bo_ubnd", "ubnd")
VP_UBND = officer("can_bo_vp", "vp-ubnd")
MOT_CUA = officer("can_bo_mot_cua", "ttpvhcc")


def fixture_source(name: str) -> SourceFile:
    return SourceFile(name, (ENGINE_FIXTURES / name).read_bytes())


def deploy(container: EngineContainer, *names: str) -> None:
    for name in names:
        container.deployments.deploy(OWNER, [fixture_source(name)])


def deploy_xml(container: EngineContainer, name: str, xml: str) -> None:
    container.deployments.deploy(OWNER, [SourceFile(name, xml.encode("utf-8"))])


def bpmn(process_id: str, body: str, *, lanes: str) -> str:
    """A minimal BPMN document: ``lanes`` is the laneSet body, ``body`` the flow elements."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_{process_id}"
    targetNamespace="http://phoihop/test">
  <bpmn:collaboration id="Collab_{process_id}"><bpmn:participant id="P_{process_id}" processRef="{process_id}"/>
  </bpmn:collaboration>
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:laneSet id="ls_{process_id}">{lanes}</bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>
"""


def lane(lane_id: str, name: str, *refs: str) -> str:
    nodes = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs)
    return f'<bpmn:lane id="{lane_id}" name="{name}">{nodes}</bpmn:lane>'


# --- reading rows -----------------------------------------------------------------------------------------------------
def instance(container: EngineContainer, instance_id: str) -> dict[str, Any]:
    with container.db.transaction(write=False) as conn:
        row = repo.get_instance(conn, instance_id)
    assert row is not None, instance_id
    return row


def raw_state(container: EngineContainer, instance_id: str) -> tuple[str, str]:
    with container.db.transaction(write=False) as conn:
        return repo.instance_state(conn, instance_id)


def set_raw_state(container: EngineContainer, instance_id: str, state: str) -> None:
    with container.db.transaction() as conn:
        conn.execute(text("UPDATE process_instance SET state = :s WHERE id = :id"), {"s": state, "id": instance_id})


def tasks(container: EngineContainer, instance_id: str, *, open_only: bool = False) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        return repo.tasks_of_instance(conn, instance_id, open_only=open_only)


def open_tasks(container: EngineContainer, instance_id: str) -> dict[str, dict[str, Any]]:
    """Open human tasks by element id (asserts at most one open task per element)."""
    found = tasks(container, instance_id, open_only=True)
    by_element = {t["element_id"]: t for t in found}
    assert len(by_element) == len(found), found
    return by_element


def task_id(container: EngineContainer, instance_id: str, element_id: str) -> str:
    found = open_tasks(container, instance_id)
    assert element_id in found, (element_id, sorted(found))
    return str(found[element_id]["id"])


def history(container: EngineContainer, instance_id: str) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        return [dict(r) for r in repo.history(conn, instance_id)]


def audit_kinds(container: EngineContainer, instance_id: str) -> list[str]:
    return [e["kind"] for e in history(container, instance_id)]


def count(container: EngineContainer, sql: str, **params: Any) -> int:
    with container.db.transaction(write=False) as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def timers(container: EngineContainer, instance_id: str) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        return [dict(r) for r in repo.instance_timers(conn, instance_id)]


def subscriptions(container: EngineContainer, instance_id: str) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        return [dict(r) for r in repo.instance_subscriptions(conn, instance_id)]


def load_workflow(container: EngineContainer, instance_id: str) -> Any:
    """Deserialize the stored state (as a restarted server would: the meta document plus one record per task),
    with the sandboxed engine and the task index attached."""
    executor = container.executor
    with container.db.transaction(write=False) as conn:
        head = repo.get_instance(conn, instance_id)
        assert head is not None
        model = executor.model(conn, head["definition_id"])
        state, _ = repo.instance_state(conn, instance_id)
        records = repo.task_records(conn, instance_id)
    workflow = executor.serializer.loads_split(
        state, [(t, b) for t, _, b in records], model.spec, model.subprocess_specs
    )
    executor.runtime.attach(workflow, {t: seq for t, seq, _ in records})
    return workflow


def stored_document(container: EngineContainer, instance_id: str) -> dict[str, Any]:
    """The stored state as {"meta": workflow-level dict, "tasks": {task id: record}}."""
    with container.db.transaction(write=False) as conn:
        state, _ = repo.instance_state(conn, instance_id)
        records = repo.task_records(conn, instance_id)
    return {"meta": orjson.loads(state), "tasks": {t: orjson.loads(b) for t, _, b in records}}


def redump(container: EngineContainer, workflow: Any) -> dict[str, Any]:
    """``workflow`` serialized again, in the shape of :func:`stored_document`."""
    serializer = container.executor.serializer
    return {
        "meta": orjson.loads(serializer.dumps_meta(workflow)),
        "tasks": {str(k): orjson.loads(serializer.dumps_task(t)) for k, t in workflow.tasks.items()},
    }


def spiff_tasks(workflow: Any, element_id: str) -> list[Any]:
    return [t for t in workflow.get_tasks() if getattr(t.task_spec, "bpmn_id", None) == element_id]


def state_dict(container: EngineContainer, instance_id: str) -> dict[str, Any]:
    state, _ = raw_state(container, instance_id)
    loaded: dict[str, Any] = orjson.loads(state)
    return loaded


# --- threads ----------------------------------------------------------------------------------------------------------
def run_threads(functions: Iterable[Callable[[], Any]], *, timeout: float = 30.0) -> list[tuple[str, Any]]:
    """Run each function in its own thread, all released together by a barrier.
    Returns ("ok", result) or ("error", exception) per function, in order."""
    functions = list(functions)
    barrier = threading.Barrier(len(functions))
    results: list[tuple[str, Any]] = [("pending", None)] * len(functions)

    def worker(index: int, function: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = ("ok", function())
        except BaseException as exc:  # reported to the test
            results[index] = ("error", exc)

    threads = [threading.Thread(target=worker, args=(i, f), daemon=True) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads did not finish in time"
    return results


def call_with_timeout(function: Callable[[], Any], timeout: float) -> Any:
    """Run ``function`` in a daemon thread; fail (instead of hanging the suite) if it does not return in time."""
    outcome: list[tuple[str, Any]] = []

    def worker() -> None:
        try:
            outcome.append(("ok", function()))
        except BaseException as exc:
            outcome.append(("error", exc))

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"did not return within {timeout}s")
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value
