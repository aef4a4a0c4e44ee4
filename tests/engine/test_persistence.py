"""Persistence: restart on a new container, spec-less state in serializer format 1.5, version checks on load,
serializer round-trips at every step compared with live-cache runs, and task data isolation for nested data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.errors import EngineError
from phoihop.engine.execution.serializer import SERIALIZER_VERSION, StateVersionError
from tests.conftest import INTEGRATOR, empty_database
from tests.engine.helpers import (
    HTKC,
    SKHCN,
    STP,
    UBND,
    audit_kinds,
    bpmn,
    deploy,
    deploy_xml,
    history,
    instance,
    lane,
    load_workflow,
    open_tasks,
    raw_state,
    redump,
    set_raw_state,
    spiff_tasks,
    state_dict,
    stored_document,
    task_id,
    tasks,
)


# --- restart --------------------------------------------------------------------------------------------------------
def test_instance_continues_on_a_new_container_after_restart(db_url: str, clock: FakeClock) -> None:
    first = build_engine(db_url, clock=clock)
    try:
        deploy(first, "four_tasks.bpmn")
        instance_id, _ = first.instances.start(
            INTEGRATOR, "four_tasks", business_key="HS-R", variables={"ho_so": {"chi_tiet": {"so_trang": 4}}}
        )
        first.tasks.complete(SKHCN, task_id(first, instance_id, "t1"), {"buoc1": "xong"})
        first.tasks.complete(SKHCN, task_id(first, instance_id, "t2"), {"buoc2": "xong"})
        assert first.executor.cache.hits == 2  # t1 and t2 reused the live workflow left by the command before
    finally:
        first.close()

    second = build_engine(db_url, clock=clock)  # empty live cache, specs compiled again from stored sources
    try:
        assert set(open_tasks(second, instance_id)) == {"t3"}
        second.tasks.complete(SKHCN, task_id(second, instance_id, "t3"), {"buoc3": "xong"})
        assert second.executor.cache.misses == 1 and second.executor.cache.hits == 0
        second.tasks.complete(SKHCN, task_id(second, instance_id, "t4"), {"buoc4": "xong"})
        assert second.executor.cache.hits == 1
        row = instance(second, instance_id)
        assert row["status"] == "completed"
        assert row["ended_at"] == clock.now()
        assert row["version"] == 5  # start + four completions
        assert {k: row["variables"][k] for k in ("buoc1", "buoc2", "buoc3", "buoc4")} == dict.fromkeys(
            ("buoc1", "buoc2", "buoc3", "buoc4"), "xong"
        )
        assert row["variables"]["ho_so"] == {"chi_tiet": {"so_trang": 4}}
        assert [t["status"] for t in tasks(second, instance_id)] == ["completed"] * 4
        assert audit_kinds(second, instance_id)[-1] == "instance_completed"
    finally:
        second.close()


def test_stored_state_has_no_spec_and_format_1_5(container: EngineContainer) -> None:
    deploy(container, "parallel.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "parallel_review")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    state, column_version = raw_state(container, instance_id)
    stored = orjson.loads(state)
    assert SERIALIZER_VERSION == "1.5"
    assert column_version == "1.5"
    assert instance(container, instance_id)["serializer_version"] == "1.5"
    assert stored["serializer_version"] == "1.5"
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert "task_specs" not in state  # no spec fragment anywhere in the text
    assert {"root", "subprocesses", "data", "correlations"} <= set(stored)
    document = stored_document(container, instance_id)
    assert document["tasks"] and all("task_spec" in record for record in document["tasks"].values())
    assert not any("spec" in record and isinstance(record["spec"], dict) for record in document["tasks"].values())
    assert len(state) < 15_000


@pytest.mark.parametrize("bad_version", ["9.9", None])
def test_wrong_serializer_version_is_refused_clearly_on_load(
    container: EngineContainer, bad_version: str | None
) -> None:
    deploy(container, "four_tasks.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks")
    stored = state_dict(container, instance_id)
    if bad_version is None:
        del stored["serializer_version"]
    else:
        stored["serializer_version"] = bad_version
    set_raw_state(container, instance_id, orjson.dumps(stored).decode())
    container.executor.cache.clear()
    t1 = task_id(container, instance_id, "t1")

    with pytest.raises(StateVersionError) as caught:
        container.tasks.complete(SKHCN, t1, {})
    assert isinstance(caught.value, EngineError)
    assert caught.value.code == "state-version"
    assert repr(bad_version) in caught.value.detail and "1.5" in caught.value.detail
    # nothing moved
    assert set(open_tasks(container, instance_id)) == {"t1"}
    assert instance(container, instance_id)["version"] == 1
    assert "task_completed" not in audit_kinds(container, instance_id)


# --- serializer round-trip at every step vs. the live cache ---------------------------------------------------------
Command = Callable[[EngineContainer, str], Any]


def _complete(element_id: str, actor: Any, variables: dict[str, Any]) -> Command:
    return lambda c, iid: c.tasks.complete(actor, task_id(c, iid, element_id), variables)


SCENARIOS: dict[str, tuple[str, str, dict[str, Any], list[Command]]] = {
    "parallel": (
        "parallel.bpmn",
        "parallel_review",
        {"ho_so": {"chi_tiet": {"loai": "du_an"}}},
        [
            _complete("receive", SKHCN, {"phan_loai": "A"}),
            _complete("board", HTKC, {"board_ok": True, "y_kien_ban": {"noi_dung": "đồng ý"}}),
            _complete("legal", STP, {"legal_ok": True}),
            _complete("decide", UBND, {"quyet_dinh": "phê duyệt"}),
        ],
    ),
    "parallel_propose": (
        "parallel.bpmn",
        "parallel_review",
        {},
        [
            _complete("receive", SKHCN, {}),
            _complete("legal", STP, {"legal_ok": False}),
            _complete("board", HTKC, {"board_ok": True}),
            _complete("propose", SKHCN, {"huong_dan": "bổ sung"}),
        ],
    ),
    "scripts": (
        "scripts.bpmn",
        "scripted",
        {"so_luong": 3, "chia_cho": 4},
        [
            _complete("fill", SKHCN, {"ghi_chu": "đủ", "ho_so": {"chi_tiet": {"so_ban": 2}}}),
            _complete("b", SKHCN, {"b_xong": True}),
            _complete("a", SKHCN, {"a_xong": True}),
        ],
    ),
}


def _run_scenario(container: EngineContainer, name: str, *, roundtrip: bool) -> dict[str, Any]:
    file, key, variables, commands = SCENARIOS[name]
    deploy(container, file)
    instance_id, _ = container.instances.start(INTEGRATOR, key, variables=variables)
    snapshots = []
    for command in commands:
        if roundtrip:
            container.executor.cache.clear()
            # the stored state survives a loads→dumps cycle unchanged
            assert redump(container, load_workflow(container, instance_id)) == stored_document(container, instance_id)
        command(container, instance_id)
        row = instance(container, instance_id)
        snapshots.append((row["status"], row["variables"], sorted(open_tasks(container, instance_id))))
    row = instance(container, instance_id)
    return {
        "status": row["status"],
        "variables": row["variables"],
        "version": row["version"],
        "steps": snapshots,
        "tasks": sorted((t["element_id"], t["status"], t["completed_by"]) for t in tasks(container, instance_id)),
        "audit": [(e["kind"], e["element_id"], e["actor"]) for e in history(container, instance_id)],
        "hits": container.executor.cache.hits,
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_serializer_round_trip_at_every_step_matches_the_cached_run(
    db_url: str, clock: FakeClock, scenario: str
) -> None:
    outcomes = {}
    for roundtrip in (False, True):
        container = build_engine(f"{db_url}", clock=clock)
        try:
            outcomes[roundtrip] = _run_scenario(container, scenario, roundtrip=roundtrip)
        finally:
            container.close()
        empty_database(db_url)
    cached, roundtripped = outcomes[False], outcomes[True]
    assert cached["hits"] == len(SCENARIOS[scenario][3])  # every command reused the live workflow
    assert roundtripped["hits"] == 0
    for key in ("status", "variables", "version", "steps", "tasks", "audit"):
        assert roundtripped[key] == cached[key], key
    assert cached["status"] == "completed"


def test_scenario_outcomes(container: EngineContainer) -> None:
    """What the round-trip comparison compares is itself right (not just equal in both modes)."""
    parallel = _run_scenario(container, "parallel", roundtrip=False)
    assert parallel["variables"]["legal_ok"] is True and parallel["variables"]["board_ok"] is True
    assert parallel["variables"]["y_kien_ban"] == {"noi_dung": "đồng ý"}
    assert ("decide", "completed", UBND.id) in parallel["tasks"]
    assert not any(t[0] == "propose" for t in parallel["tasks"])
    scripts = _run_scenario(container, "scripts", roundtrip=False)
    assert scripts["variables"]["tong"] == 6 and scripts["variables"]["ket_qua"] == 25
    assert scripts["variables"]["a_xong"] is True and scripts["variables"]["b_xong"] is True
    assert ("element_completed", "compute", "system") in scripts["audit"]


# --- task data isolation --------------------------------------------------------------------------------------------
ISOLATION = bpmn(
    "tach_du_lieu",
    """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="nhap" name="Nhập hồ sơ"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:scriptTask id="sua_a" name="Sửa A"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>ho_so["chi_tiet"]["nguon"] = "A"
ho_so["chi_tiet"]["a"] = 1
ho_so["chi_tiet"]["ds"].append("A")</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="sua_b" name="Sửa B"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>ho_so["chi_tiet"]["nguon"] = "B"
ho_so["chi_tiet"]["b"] = 2
ho_so["chi_tiet"]["ds"].append("B")</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="xem_a" name="Xem A"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="xem_b" name="Xem B"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f6</bpmn:incoming><bpmn:incoming>f7</bpmn:incoming>
      <bpmn:outgoing>f8</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="tong_hop" name="Tổng hợp"><bpmn:incoming>f8</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="nhap"/>
    <bpmn:sequenceFlow id="f1" sourceRef="nhap" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="sua_a"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="sua_b"/>
    <bpmn:sequenceFlow id="f4" sourceRef="sua_a" targetRef="xem_a"/>
    <bpmn:sequenceFlow id="f5" sourceRef="sua_b" targetRef="xem_b"/>
    <bpmn:sequenceFlow id="f6" sourceRef="xem_a" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="xem_b" targetRef="join"/>
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="tong_hop"/>
    <bpmn:sequenceFlow id="f9" sourceRef="tong_hop" targetRef="end"/>
""",
    lanes=lane(
        "Lane_skhcn", "skhcn", "start", "nhap", "split", "sua_a", "sua_b", "xem_a", "xem_b", "join", "tong_hop", "end"
    ),
)

ORIGINAL = {"chi_tiet": {"nguon": "goc", "ds": ["goc"]}, "ma": "HS-ISO"}


def _data(workflow: Any, element_id: str) -> dict[str, Any]:
    (task,) = spiff_tasks(workflow, element_id)
    found: dict[str, Any] = task.data["ho_so"]
    return found


def _check_branches(workflow: Any) -> None:
    assert _data(workflow, "nhap") == ORIGINAL  # the completed task keeps what it had
    assert _data(workflow, "xem_a")["chi_tiet"] == {"nguon": "A", "a": 1, "ds": ["goc", "A"]}
    assert _data(workflow, "xem_b")["chi_tiet"] == {"nguon": "B", "b": 2, "ds": ["goc", "B"]}
    assert _data(workflow, "sua_a")["chi_tiet"]["nguon"] == "A"
    assert _data(workflow, "sua_b")["chi_tiet"]["nguon"] == "B"
    assert _data(workflow, "split")["chi_tiet"] == ORIGINAL["chi_tiet"]


def test_branch_scripts_editing_nested_data_do_not_leak(container: EngineContainer) -> None:
    deploy_xml(container, "isolation.bpmn", ISOLATION)
    instance_id, _ = container.instances.start(INTEGRATOR, "tach_du_lieu")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "nhap"), {"ho_so": ORIGINAL})
    assert set(open_tasks(container, instance_id)) == {"xem_a", "xem_b"}

    live = container.executor.cache._entries[instance_id].workflow  # the object the next command will reuse
    _check_branches(live)
    _check_branches(load_workflow(container, instance_id))  # and what was stored

    container.tasks.complete(SKHCN, task_id(container, instance_id, "xem_a"), {})
    stored = load_workflow(container, instance_id)
    _check_branches(stored)
    assert _data(stored, "xem_b")["chi_tiet"]["nguon"] == "B"  # still open, untouched by A's completion
    container.tasks.complete(SKHCN, task_id(container, instance_id, "xem_b"), {})
    merged = load_workflow(container, instance_id)
    _check_branches(merged)
    (final,) = spiff_tasks(merged, "tong_hop")
    assert final.state == TaskState.READY
    detail = final.data["ho_so"]["chi_tiet"]
    assert detail["a"] == 1 and detail["b"] == 2  # both branches' edits reach the join
    container.tasks.complete(SKHCN, task_id(container, instance_id, "tong_hop"), {})
    assert instance(container, instance_id)["status"] == "completed"


def test_caller_mutating_its_form_afterwards_does_not_change_the_instance(container: EngineContainer) -> None:
    deploy(container, "four_tasks.bpmn")
    start_vars = {"ho_so": {"chi_tiet": {"so_trang": 1}}}
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks", variables=start_vars)
    form = {"ket_qua": {"chi_tiet": {"dat": True}}}
    container.tasks.complete(SKHCN, task_id(container, instance_id, "t1"), form)
    start_vars["ho_so"]["chi_tiet"]["so_trang"] = 999  # e.g. a caller reusing its request objects
    form["ket_qua"]["chi_tiet"]["dat"] = False
    container.tasks.complete(SKHCN, task_id(container, instance_id, "t2"), {})  # reuses the live workflow
    assert container.executor.cache.hits == 2
    stored = load_workflow(container, instance_id)
    (t1,) = spiff_tasks(stored, "t1")
    assert t1.data["ket_qua"] == {"chi_tiet": {"dat": True}}
    assert stored.task_tree.data["ho_so"] == {"chi_tiet": {"so_trang": 1}}
    variables = instance(container, instance_id)["variables"]
    assert variables["ho_so"] == {"chi_tiet": {"so_trang": 1}}
    assert variables["ket_qua"] == {"chi_tiet": {"dat": True}}
