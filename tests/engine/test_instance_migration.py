"""Migrating running instances of the ``escalation`` process from version 1 to a version 2 changed as process owners
change it, on SQLite and PostgreSQL. Version 1 is the project's process as it stood before issue 10 (kept in
tests/fixtures/instance_migration/escalation_v1, so these tests of the migration machinery do not follow every later
correction of processes/escalation):

- a task added after the waiting one (``check_completeness`` between ``classify`` and ``route``),
- a task removed (the separate guidance step ``guide`` and its overdue escalation),
- a task renamed (``legal_review`` → ``legal_appraisal``, with a new name: an explicit mapping),
- a task moved to another lane (``classify`` goes to the one-stop centre: its candidates change),
- a gateway condition changed (Sở Tài chính is consulted only above 500 million đồng, a new form field).

The clock is Monday 2/3/2026, 09:00 in Hanoi; the instances wait at ``classify`` (claimed and not), at
``legal_review`` (claimed, its overdue timer pending) and at ``guide``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import DefinitionNotFound, Forbidden, MigrationPlanInvalid, NotCandidate
from phoihop.engine.execution.task_index import index_of
from phoihop.engine.instance_migration.commands import InstanceFilter, MigrationPlan
from phoihop.engine.instance_migration.results import (
    DryRunSummary,
    ExecutionSummary,
    MigrationDryRun,
    MigrationExecution,
)
from phoihop.engine.instance_migration.tree import plan_tree, rebuild
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.store import instance_moves
from tests.conftest import OWNER, officer
from tests.processes.escalation_steps import HANOI, hanoi

from .helpers import history, instance, load_workflow, open_tasks, timers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instance_migration"
PROCESS_DIR = FIXTURES / "escalation_v1"
PROCESSES = Path(__file__).resolve().parents[2] / "processes"
B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
C = "{http://camunda.org/schema/1.0/bpmn}"
START = hanoi(2026, 3, 2, 9)
RENAMED = {"legal_review": "legal_appraisal"}
PLAN = MigrationPlan("escalation", 1, 2, RENAMED)
REPORT = {
    "reporting_agency": "syt",
    "title": "Vướng mắc khi thử nghiệm nền tảng khám bệnh từ xa",
    "description": "Quy định hiện hành chưa cho phép kê đơn điện tử sau khám từ xa; đơn vị đã rà soát nhưng "
    "chưa tháo gỡ được trong phạm vi thẩm quyền.",
    "category": "policy",
    "urgent": False,
}
REPORTER = officer("lan", "syt")
SKHCN = officer("an", "skhcn")
STP_LEAD = officer("duc", "stp", roles=("lead",))
LEAD = officer("cuong", "skhcn", roles=("lead", "officer"))


# --- version 2, made from the project's own process -------------------------------------------------------------------
def escalation_v1_files() -> list[SourceFile]:
    return [SourceFile(p.name, p.read_bytes()) for p in sorted(PROCESS_DIR.iterdir()) if p.is_file()]


def _ids(root: Any) -> dict[str, Any]:
    return {e.get("id"): e for e in root.iter() if isinstance(e.tag, str) and e.get("id")}


def _remove(root: Any, ids: set[str]) -> None:
    """Elements, their diagram shapes and every flowNodeRef, incoming and outgoing naming them."""
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        named = (
            element.tag in (f"{B}flowNodeRef", f"{B}incoming", f"{B}outgoing") and (element.text or "").strip() in ids
        )
        if element.get("id") in ids or element.get("bpmnElement") in ids or named:
            element.getparent().remove(element)


def _rename(root: Any, old: str, new: str) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ("id", "attachedToRef", "sourceRef", "targetRef", "bpmnElement"):
            if element.get(attribute) == old:
                element.set(attribute, new)
        if element.tag == f"{B}flowNodeRef" and (element.text or "").strip() == old:
            element.text = new


def _child(parent: Any, tag: str, value: str | None = None, **attributes: str) -> Any:
    child = etree.SubElement(parent, tag, attributes)
    child.text = value
    return child


def escalation_v2_bpmn() -> bytes:
    root = etree.fromstring((PROCESS_DIR / "escalation.bpmn").read_bytes())
    # a task removed: the guidance step (and its overdue escalation); guidance now goes straight to the outcome
    _remove(
        root,
        {
            "guide",
            "guide_overdue",
            "log_guide_overdue",
            "urge_guide",
            "flow_guided",
            "flow_guide_overdue",
            "flow_guide_logged",
            "flow_guide_urged",
        },
    )
    ids = _ids(root)
    ids["flow_guidance"].set("targetRef", "merge_outcome")
    incoming = etree.Element(f"{B}incoming")
    incoming.text = "flow_guidance"
    ids["merge_outcome"].find(f"{B}outgoing").addprevious(incoming)
    # a task added after the waiting one: the dossier is checked for completeness before it is routed
    ids["flow_to_route"].set("targetRef", "check_completeness")
    ids["route"].find(f"{B}incoming").text = "flow_checked"
    task = etree.Element(
        f"{B}userTask",
        {
            "id": "check_completeness",
            "name": "Kiểm tra tính đầy đủ của hồ sơ",
            f"{C}formKey": "check_completeness.form.json",
            f"{C}dueDate": "working_days(2)",
        },
    )
    _child(
        task,
        f"{B}documentation",
        "Sở KH&CN kiểm tra hồ sơ báo cáo đủ thông tin và tài liệu kèm theo trước khi "
        "định hướng xử lý. Căn cứ: Điều 7.1. Giả định: thời hạn 2 ngày làm việc.",
    )
    _child(task, f"{B}incoming", "flow_to_route")
    _child(task, f"{B}outgoing", "flow_checked")
    ids["classify"].addnext(task)
    ids["flow_to_route"].addnext(
        etree.Element(
            f"{B}sequenceFlow", {"id": "flow_checked", "sourceRef": "check_completeness", "targetRef": "route"}
        )
    )
    _child(ids["Lane_skhcn"], f"{B}flowNodeRef", "check_completeness")
    # a task renamed: the legal review becomes an appraisal of the mechanism
    _rename(root, "legal_review", "legal_appraisal")
    ids = _ids(root)
    ids["legal_appraisal"].set("name", "Thẩm định cơ chế, chính sách")
    # a task moved to another lane: the one-stop centre receives and classifies
    for ref in list(ids["Lane_skhcn"].iterfind(f"{B}flowNodeRef")):
        if ref.text in ("classify", "classify_overdue"):
            ids["Lane_skhcn"].remove(ref)
    lane = _child(ids["LaneSet_escalation"], f"{B}lane", id="Lane_ttpvhcc", name="Trung tâm Phục vụ hành chính công")
    _child(lane, f"{B}documentation", "Bộ phận một cửa tiếp nhận, phân loại vướng mắc. Căn cứ: Điều 7.1.")
    _child(lane, f"{B}flowNodeRef", "classify")
    _child(lane, f"{B}flowNodeRef", "classify_overdue")
    # a gateway condition changed: Sở Tài chính gives an opinion only above 500 million đồng
    ids["flow_to_finance_opinion"].find(f"{B}conditionExpression").text = "needs_funding and estimated_cost > 500000000"
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def escalation_v2_files(*, estimated_cost_field: bool = True) -> list[SourceFile]:
    """Version 2's folder; without ``estimated_cost_field`` nobody asks for the amount the new condition reads."""
    files = {f.name: f.content for f in escalation_v1_files()}
    del files["guide.form.json"]
    files["escalation.bpmn"] = escalation_v2_bpmn()
    files["check_completeness.form.json"] = (FIXTURES / "check_completeness.form.json").read_bytes()
    if estimated_cost_field:
        form = json.loads(files["classify.form.json"])
        form["properties"]["estimated_cost"] = {"type": "integer", "minimum": 0, "title": "Kinh phí dự kiến (đồng)"}
        files["classify.form.json"] = json.dumps(form, ensure_ascii=False, indent=2).encode("utf-8")
    return [SourceFile(name, content) for name, content in sorted(files.items())]


# --- instances on version 1 -------------------------------------------------------------------------------------------
def start(container: EngineContainer) -> str:
    instance_id, _ = container.instances.start(REPORTER, "escalation", variables=REPORT)
    return instance_id


def task_of(container: EngineContainer, instance_id: str, element_id: str) -> dict[str, Any]:
    found = open_tasks(container, instance_id)
    assert element_id in found, (element_id, sorted(found))
    return found[element_id]


def classify(container: EngineContainer, instance_id: str, **fields: Any) -> None:
    container.tasks.complete(SKHCN, task_of(container, instance_id, "classify")["id"], fields)


@pytest.fixture
def cases(container: EngineContainer, clock: FakeClock) -> dict[str, str]:
    """Version 1 deployed, four instances waiting, then version 2 deployed."""
    clock.set(START)
    container.deployments.deploy(OWNER, escalation_v1_files())
    claimed, unclaimed, legal, guided = (start(container) for _ in range(4))
    container.tasks.claim(SKHCN, task_of(container, claimed, "classify")["id"])
    classify(
        container,
        legal,
        resolution_path="escalate",
        needs_legal_review=True,
        needs_htkc_opinion=False,
        needs_funding=False,
    )
    container.tasks.claim(STP_LEAD, task_of(container, legal, "legal_review")["id"])
    classify(container, guided, resolution_path="guidance")
    container.deployments.deploy(OWNER, escalation_v2_files())
    return {"claimed": claimed, "unclaimed": unclaimed, "legal": legal, "guided": guided}


def fingerprint(container: EngineContainer) -> dict[str, list[Any]]:
    """Every row a migration could touch."""
    queries = {
        "instances": "SELECT id, definition_id, version, status, state, variables FROM process_instance",
        "records": "SELECT instance_id, seq, task_id, body FROM instance_task",
        "tasks": "SELECT id, element_id, name, lane, assignee, status, due_at, form_key FROM human_task",
        "candidates": "SELECT task_id, kind, value FROM task_candidate",
        "timers": "SELECT instance_id, task_id, element_id, due_at FROM timer",
        "audit": "SELECT id, kind FROM audit_event",
    }
    with container.db.transaction(write=False) as conn:
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(text(sql))) for name, sql in queries.items()
        }


def by_instance(report: MigrationDryRun | MigrationExecution) -> dict[str, Any]:
    items = report.instances if isinstance(report, MigrationDryRun) else report.results
    return {item.instance_id: item for item in items}


# --- dry run ----------------------------------------------------------------------------------------------------------
def test_dry_run_tells_what_would_happen_and_writes_nothing(container: EngineContainer, cases: dict[str, str]) -> None:
    before = fingerprint(container)
    report = container.instance_migration.dry_run(OWNER, PLAN, InstanceFilter())
    assert fingerprint(container) == before
    assert report.total == 4 and report.summary == DryRunSummary(listed=4, migratable=3, not_migratable=1)
    found = by_instance(report)

    claimed = found[cases["claimed"]]
    assert claimed.migratable and claimed.reasons == ()
    [task] = claimed.tasks
    assert task.outcome == "kept" and task.element_from == task.element_to == "classify"
    assert task.assignee == "an" and task.assignee_kept and task.status == "claimed"
    assert task.lane_before == "Sở Khoa học và Công nghệ"
    assert task.lane_after == "Trung tâm Phục vụ hành chính công"
    assert (task.candidate_groups_before, task.candidate_groups_after) == (("skhcn",), ("ttpvhcc",))
    assert task.due_at_after == task.due_at_before == hanoi(2026, 3, 9)
    [timer] = claimed.timers
    assert timer.outcome == "kept" and timer.element_to == "classify_overdue"
    assert timer.due_at_after == timer.due_at_before == hanoi(2026, 3, 9)

    legal = found[cases["legal"]]
    assert legal.migratable
    [task] = legal.tasks
    assert (task.element_from, task.element_to) == ("legal_review", "legal_appraisal")
    assert (task.name_before, task.name_after) == ("Thẩm định pháp lý", "Thẩm định cơ chế, chính sách")
    assert task.assignee == "duc" and task.candidate_groups_after == ("stp",)
    [timer] = legal.timers
    assert timer.element_to == "legal_review_overdue" and timer.due_at_after == hanoi(2026, 3, 11)

    guided = found[cases["guided"]]
    assert not guided.migratable
    assert {(r.code, r.element_id) for r in guided.reasons} == {
        ("element-removed", "guide"),
        ("element-removed", "guide_overdue"),
    }
    assert all(r.message_vi and r.message_en for r in guided.reasons)
    assert [t.outcome for t in guided.tasks] == ["blocked"]


def test_dry_run_filters_by_business_key_status_and_instance(container: EngineContainer, cases: dict[str, str]) -> None:
    chosen = InstanceFilter(instance_ids=(cases["legal"], cases["guided"], "01a00000-0000-7000-8000-000000000000"))
    report = container.instance_migration.dry_run(OWNER, PLAN, chosen)
    found = by_instance(report)
    assert set(found) == {cases["legal"], cases["guided"], "01a00000-0000-7000-8000-000000000000"}
    assert [r.code for r in found["01a00000-0000-7000-8000-000000000000"].reasons] == ["instance-not-found"]
    container.instances.cancel(LEAD, cases["unclaimed"], reason="Trùng hồ sơ")
    everyone = InstanceFilter(statuses=("running", "cancelled"))
    cancelled = by_instance(container.instance_migration.dry_run(OWNER, PLAN, everyone))[cases["unclaimed"]]
    assert [r.code for r in cancelled.reasons] == ["instance-not-running"]
    running_only = by_instance(container.instance_migration.dry_run(OWNER, PLAN, InstanceFilter()))
    assert cases["unclaimed"] not in running_only


def test_a_variable_the_new_condition_needs_blocks_when_nothing_provides_it(
    container: EngineContainer, cases: dict[str, str]
) -> None:
    container.deployments.deploy(OWNER, escalation_v2_files(estimated_cost_field=False))  # version 3
    report = container.instance_migration.dry_run(OWNER, MigrationPlan("escalation", 1, 3, RENAMED), InstanceFilter())
    found = by_instance(report)
    claimed = found[cases["claimed"]]
    assert not claimed.migratable
    [reason] = claimed.reasons
    assert reason.code == "variable-missing" and reason.element_id == "consult_split"
    assert "estimated_cost" in reason.message_en and "estimated_cost" in reason.message_vi
    assert found[cases["legal"]].migratable  # past the gateway: the condition is behind it
    # with version 2, the classification form asks for the amount: nothing is missing
    assert by_instance(container.instance_migration.dry_run(OWNER, PLAN, InstanceFilter()))[cases["claimed"]].migratable


# --- execute ----------------------------------------------------------------------------------------------------------
def test_execute_moves_the_chosen_instances_and_refuses_the_one_at_a_removed_task(
    container: EngineContainer, cases: dict[str, str]
) -> None:
    v1 = instance(container, cases["unclaimed"])["definition_id"]
    untouched = {i: instance(container, i) for i in (cases["unclaimed"], cases["guided"])}
    guided_tasks = open_tasks(container, cases["guided"])
    claimed_task = task_of(container, cases["claimed"], "classify")
    legal_task = task_of(container, cases["legal"], "legal_review")
    legal_timers = timers(container, cases["legal"])

    result = container.instance_migration.migrate(OWNER, PLAN, [cases["claimed"], cases["legal"], cases["guided"]])
    assert result.summary == ExecutionSummary(migrated=2, refused=1, failed=0)
    outcome = by_instance(result)
    assert outcome[cases["guided"]].status == "refused"
    assert {r.code for r in outcome[cases["guided"]].reasons} == {"element-removed"}

    # the refused and the unchosen instances are exactly as they were
    for instance_id, row in untouched.items():
        assert instance(container, instance_id) == row and row["definition_id"] == v1
    assert open_tasks(container, cases["guided"]) == guided_tasks

    # moved: same task rows, claims and due dates; the target's element, name, lane and candidates
    claimed = instance(container, cases["claimed"])
    assert claimed["definition_id"] != v1
    moved = task_of(container, cases["claimed"], "classify")
    assert moved["id"] == claimed_task["id"] and moved["assignee"] == "an" and moved["status"] == "claimed"
    assert moved["due_at"] == claimed_task["due_at"] and moved["warn_at"] == claimed_task["warn_at"]
    assert moved["lane"] == "Trung tâm Phục vụ hành chính công" and moved["candidate_groups"] == ["ttpvhcc"]
    with container.db.transaction(write=False) as conn:
        candidates = conn.execute(
            text("SELECT kind, value FROM task_candidate WHERE task_id = :id"), {"id": moved["id"]}
        ).all()
    assert [tuple(c) for c in candidates] == [("group", "ttpvhcc")]

    renamed = task_of(container, cases["legal"], "legal_appraisal")
    assert renamed["id"] == legal_task["id"] and renamed["assignee"] == "duc"
    assert renamed["name"] == "Thẩm định cơ chế, chính sách" and renamed["due_at"] == legal_task["due_at"]
    assert renamed["search_text"].startswith("tham dinh co che, chinh sach")  # the inbox search finds the new name
    if container.db.engine.dialect.name == "sqlite":  # the live tasks' text index (migrations 0204, 0207) follows
        with container.db.transaction(write=False) as conn:
            found = text("SELECT task_id FROM human_task_live_search WHERE human_task_live_search MATCH :q")
            assert conn.execute(found, {"q": '"tham dinh co che"'}).scalars().all() == [renamed["id"]]
    assert [(t["task_id"], t["due_at"]) for t in timers(container, cases["legal"])] == [
        (t["task_id"], t["due_at"]) for t in legal_timers
    ]

    # audited: on each instance, and once for the batch with no instance
    event = next(e for e in history(container, cases["legal"]) if e["kind"] == "instance_migrated")
    assert event["actor"] == "owner"
    assert {k: event["data"][k] for k in ("process_key", "from_version", "to_version", "mapping")} == {
        "process_key": "escalation",
        "from_version": 1,
        "to_version": 2,
        "mapping": RENAMED,
    }
    assert event["data"]["tasks"][0]["element_to"] == "legal_appraisal"
    assert not any(e["kind"] == "instance_migrated" for e in history(container, cases["guided"]))
    with container.db.transaction(write=False) as conn:
        batch = conn.execute(
            text("SELECT instance_id, process_key, actor, data FROM audit_event WHERE kind = 'instances_migrated'")
        ).all()
    [(no_instance, key, actor, data)] = batch
    data = json.loads(data) if isinstance(data, str) else data
    assert (no_instance, key, actor) == (None, "escalation", "owner")
    assert sorted(data["migrated"]) == sorted([cases["claimed"], cases["legal"]])
    assert data["refused"] == [{"instance_id": cases["guided"], "codes": ["element-removed", "element-removed"]}]


def test_a_migrated_instance_goes_on_along_version_2(container: EngineContainer, cases: dict[str, str]) -> None:
    container.instance_migration.migrate(OWNER, PLAN, [cases["claimed"], cases["unclaimed"]])
    # the assignee completes the claimed task, although the lane moved to the one-stop centre
    classify(
        container,
        cases["claimed"],
        resolution_path="escalate",
        needs_legal_review=False,
        needs_htkc_opinion=False,
        needs_funding=True,
        estimated_cost=120_000_000,
    )
    added = task_of(container, cases["claimed"], "check_completeness")  # the step version 2 added
    assert added["candidate_groups"] == ["skhcn"] and added["due_at"] == hanoi(2026, 3, 4)
    container.tasks.complete(SKHCN, added["id"], {"dossier_complete": True})
    # version 2's condition: 120 million đồng needs no opinion of Sở Tài chính (version 1 would have asked it)
    assert set(open_tasks(container, cases["claimed"])) == {"propose"}
    # the unclaimed one is now the one-stop centre's: Sở KH&CN's officer no longer is a candidate
    one_stop = officer("khanh", "ttpvhcc")
    task = task_of(container, cases["unclaimed"], "classify")
    with pytest.raises(NotCandidate):
        container.tasks.claim(SKHCN, task["id"])
    container.tasks.complete(
        one_stop,
        task["id"],
        {
            "resolution_path": "escalate",
            "needs_legal_review": False,
            "needs_htkc_opinion": False,
            "needs_funding": True,
            "estimated_cost": 900_000_000,
        },
    )
    container.tasks.complete(
        SKHCN, task_of(container, cases["unclaimed"], "check_completeness")["id"], {"dossier_complete": True}
    )
    assert set(open_tasks(container, cases["unclaimed"])) == {"finance_opinion"}


def test_a_pending_boundary_timer_survives_and_fires_on_version_2(
    container: EngineContainer, clock: FakeClock, cases: dict[str, str]
) -> None:
    container.instance_migration.migrate(OWNER, PLAN, [cases["legal"]])
    clock.set(hanoi(2026, 3, 11) + timedelta(seconds=1))  # the legal review's 7 working days have passed
    assert container.timers.fire_due_timers() >= 1
    found = open_tasks(container, cases["legal"])
    assert set(found) == {"legal_appraisal", "urge_legal_review"}
    assert found["legal_appraisal"]["assignee"] == "duc"  # non-interrupting: the appraisal goes on
    assert [e["kind"] for e in history(container, cases["legal"])][-3:] == [
        "timer_fired",
        "element_completed",
        "element_completed",
    ]
    container.tasks.complete(
        STP_LEAD,
        found["legal_appraisal"]["id"],
        {
            "legal_opinion": "Phù hợp Luật Thủ đô 2024",
            "legal_risk": "low",
            "recommends_legal_change": False,
            "legal_document": "45/STP-VBPQ",
        },
    )
    assert set(open_tasks(container, cases["legal"])) == {"urge_legal_review", "propose"}


def test_a_failing_instance_rolls_back_alone(
    container: EngineContainer, cases: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    switch = instance_moves.switch_definition
    before = instance(container, cases["legal"])
    records_before = fingerprint(container)["records"]

    def failing(conn: Any, instance_id: str, definition_id: int) -> None:
        if instance_id == cases["legal"]:
            raise RuntimeError("disk full")
        switch(conn, instance_id, definition_id)

    monkeypatch.setattr(instance_moves, "switch_definition", failing)
    result = container.instance_migration.migrate(OWNER, PLAN, [cases["claimed"], cases["legal"]])
    outcome = by_instance(result)
    assert outcome[cases["legal"]].status == "failed"
    assert outcome[cases["legal"]].reasons[0].code == "migration-failed"
    assert outcome[cases["claimed"]].status == "migrated"
    assert instance(container, cases["legal"]) == before  # its state, version and variables: as they were
    legal_records = [r for r in fingerprint(container)["records"] if r[0] == cases["legal"]]
    assert legal_records == [r for r in records_before if r[0] == cases["legal"]]
    assert task_of(container, cases["legal"], "legal_review")["name"] == "Thẩm định pháp lý"
    assert not any(e["kind"] == "instance_migrated" for e in history(container, cases["legal"]))
    # it still works on version 1
    container.tasks.complete(
        STP_LEAD,
        task_of(container, cases["legal"], "legal_review")["id"],
        {"legal_opinion": "Phù hợp", "legal_risk": "low", "recommends_legal_change": False, "legal_document": "1/STP"},
    )
    assert set(open_tasks(container, cases["legal"])) == {"propose"}


# --- plans and permissions --------------------------------------------------------------------------------------------
def test_bad_plans_are_refused_before_anything(container: EngineContainer, cases: dict[str, str]) -> None:
    migration = container.instance_migration
    with pytest.raises(DefinitionNotFound):
        migration.dry_run(OWNER, MigrationPlan("escalation", 1, 9), InstanceFilter())
    with pytest.raises(DefinitionNotFound):
        migration.migrate(OWNER, MigrationPlan("khong_co", 1, 2), [cases["claimed"]])
    with pytest.raises(MigrationPlanInvalid) as refused:
        migration.dry_run(
            OWNER,
            MigrationPlan("escalation", 1, 2, {"legal_appraisal": "legal_review", "guide": "nowhere"}),
            InstanceFilter(),
        )
    assert [(p["source_id"], p["target_id"]) for p in refused.value.fields["problems"]] == [
        ("legal_appraisal", "legal_review"),
        ("legal_appraisal", "legal_review"),
        ("guide", "nowhere"),
    ]
    with pytest.raises(MigrationPlanInvalid):
        migration.dry_run(OWNER, MigrationPlan("escalation", 2, 2), InstanceFilter())
    with pytest.raises(Forbidden):
        migration.migrate(SKHCN, PLAN, [cases["claimed"]])
    admin = Actor.of("root", roles=("admin",))
    assert migration.dry_run(admin, PLAN, InstanceFilter()).summary.listed == 4


def index_marker(index: Any) -> Any:
    return lambda task: index.mark(task.id)


def test_moving_onto_the_same_spec_keeps_every_task_that_is_not_a_prediction(
    container: EngineContainer, cases: dict[str, str]
) -> None:
    """The tree rules on their own, on an identity move: every finished and waiting task stays exactly (id, state,
    place in the tree, data); predictions are made again from the waiting tasks (SpiffWorkflow's own prediction of a
    live task, as its ``reset_branch`` makes it), reaching at least every element predicted before."""
    kept = TaskState.FINISHED_MASK | TaskState.READY | TaskState.WAITING

    def tasks(workflow: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (
                str(t.id),
                t.task_spec.name,
                t.state,
                str(t.parent.id) if t.parent else None,
                sorted(str(c.id) for c in t.children if c.state & kept),
                repr(t.data),
                repr(t.internal_data),
            )
            for t in workflow.tasks.values()
            if t.state & kept
        )

    def predicted(workflow: Any) -> set[str]:
        return {t.task_spec.name for t in workflow.tasks.values() if not t.state & kept}

    for instance_id in cases.values():
        workflow = load_workflow(container, instance_id)
        before, predicted_before = tasks(workflow), predicted(workflow)
        tree = plan_tree(workflow, {}, workflow.spec, workflow.subprocess_specs)
        assert tree.findings == [] and tree.prune == []
        index = index_of(workflow)
        assert index is not None
        rebuild(workflow, tree, workflow.subprocess_specs, index_marker(index))
        assert tasks(workflow) == before
        assert predicted_before <= predicted(workflow)


def test_due_dates_given_under_version_1_stay_when_version_2_changes_the_rule(
    container: EngineContainer, clock: FakeClock
) -> None:
    clock.set(START)
    container.deployments.deploy(OWNER, escalation_v1_files())
    waiting = start(container)
    due = task_of(container, waiting, "classify")["due_at"]
    files = {f.name: f.content for f in escalation_v1_files()}
    files["escalation.bpmn"] = files["escalation.bpmn"].replace(
        b'camunda:dueDate="working_days(1 if urgent else 5)"', b'camunda:dueDate="working_days(1 if urgent else 3)"'
    )
    container.deployments.deploy(OWNER, [SourceFile(n, c) for n, c in files.items()])
    report = container.instance_migration.dry_run(OWNER, MigrationPlan("escalation", 1, 2), InstanceFilter())
    [task] = report.instances[0].tasks
    assert (task.due_date_rule_before, task.due_date_rule_after) == (
        "working_days(1 if urgent else 5)",
        "working_days(1 if urgent else 3)",
    )
    assert task.due_at_before == task.due_at_after == due == START.astimezone(HANOI).replace(day=9, hour=17, minute=0)
    container.instance_migration.migrate(OWNER, MigrationPlan("escalation", 1, 2), [waiting])
    assert task_of(container, waiting, "classify")["due_at"] == due


# --- a subprocess in progress (processes/green_lane) ------------------------------------------------------------------
def green_lane_files(*, renamed: bool) -> list[SourceFile]:
    folder = PROCESSES / "green_lane"
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    if renamed:  # the appraisal step inside the subprocess "processing" gets a new id
        files["green_lane.bpmn"] = (
            files["green_lane.bpmn"]
            .replace(b'"appraise_skhcn"', b'"appraise_dossier"')
            .replace(b">appraise_skhcn<", b">appraise_dossier<")
        )
    return [SourceFile(name, content) for name, content in files.items()]


def test_a_task_inside_a_subprocess_in_progress_moves_when_its_id_maps(
    container: EngineContainer, clock: FakeClock
) -> None:
    clock.set(START)
    container.deployments.deploy(OWNER, green_lane_files(renamed=False))
    portal = Actor.of("portal", roles=("integrator",))
    dossier = {
        "applicant": {
            "name": "Công ty Cổ phần Công nghệ Sông Hồng",
            "id_number": "0109876543",
            "email": "phaply@songhong.vn",
            "phone": "0912 345 678",
        },
        "procedure_code": "KHCN-01",
        "documents": [{"name": "Đơn đề nghị"}],
    }
    waiting, _ = container.instances.start(portal, "green_lane", variables=dossier)
    one_stop = officer("khanh", "ttpvhcc")
    container.tasks.complete(
        one_stop,
        task_of(container, waiting, "check_completeness")["id"],
        {"outcome": "complete", "routing": "confirm"},
    )
    appraisal = task_of(container, waiting, "appraise_skhcn")
    assert load_workflow(container, waiting).subprocesses  # it waits inside "processing"
    container.deployments.deploy(OWNER, green_lane_files(renamed=True))

    unmapped = container.instance_migration.dry_run(OWNER, MigrationPlan("green_lane", 1, 2), InstanceFilter())
    [item] = unmapped.instances
    assert [(r.code, r.element_id) for r in item.reasons] == [("subprocess-not-mappable", "appraise_skhcn")]

    plan = MigrationPlan("green_lane", 1, 2, {"appraise_skhcn": "appraise_dossier"})
    assert container.instance_migration.migrate(OWNER, plan, [waiting]).summary.migrated == 1
    moved = task_of(container, waiting, "appraise_dossier")
    assert moved["id"] == appraisal["id"] and moved["due_at"] == appraisal["due_at"]
    container.tasks.complete(
        LEAD, moved["id"], {"appraisal_recommendation": "approve", "appraisal_opinion": "Đủ điều kiện"}
    )
    assert set(open_tasks(container, waiting)) == {"consult_htkc", "consult_stp"}  # the opinions still due
