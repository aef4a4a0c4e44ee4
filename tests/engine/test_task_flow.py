"""Send-back (trả lại) and officers' drafts approved by a lead (engine/commands/task_flow.py), on SQLite and
PostgreSQL: the workflow state, the human_task rows, the send-back records and the audit trail as stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from phoihop.engine.agencies import default_registry
from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.lint.deployment import lint_deployment
from phoihop.engine.errors import NotAssignee, NotCandidate, ReturnTargetInvalid, RoleRequired, TaskNotOpen
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.engine.helpers import (
    SKHCN,
    STP,
    fixture_source,
    history,
    instance,
    load_workflow,
    open_tasks,
    task_id,
    tasks,
    timers,
)

SKHCN_LEAD = officer("lanh_dao_skhcn", "skhcn", roles=("lead", "officer"))
STP_LEAD = officer("lanh_dao_stp", "stp", roles=("lead", "officer"))
HTKC_OFFICER = officer("can_bo_htkc", "htkc")
UBND_LEAD = officer("lanh_dao_ubnd", "ubnd", roles=("lead", "officer"))


def _parallel_at_decide(container: EngineContainer, clock: FakeClock) -> str:
    """parallel.bpmn with receive, legal, then board completed (in that order): ``decide`` is open for ubnd."""
    container.deployments.deploy(OWNER, [fixture_source("parallel.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "parallel_review")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    clock.advance(60)
    container.tasks.complete(STP, task_id(container, instance_id, "legal"), {"legal_ok": True})
    clock.advance(60)
    container.tasks.complete(HTKC_OFFICER, task_id(container, instance_id, "board"), {"board_ok": True})
    assert set(open_tasks(container, instance_id)) == {"decide"}
    return instance_id


def _rows(container: EngineContainer, instance_id: str, element_id: str) -> list[dict[str, object]]:
    return [t for t in tasks(container, instance_id) if t["element_id"] == element_id]


def test_send_back_across_a_parallel_join_reopens_that_branch_and_the_join_waits_for_it(
    container: EngineContainer, clock: FakeClock
) -> None:
    instance_id = _parallel_at_decide(container, clock)
    decide = task_id(container, instance_id, "decide")
    (old_legal,) = _rows(container, instance_id, "legal")

    returned = container.task_flow.send_back(UBND_LEAD, decide, "  Thiếu ý kiến pháp lý về thẩm quyền  ", "legal")

    assert returned.task.element_id == "legal" and returned.task.status == "open"
    assert returned.task.id != old_legal["id"]  # a new row; the completed one stays in the history
    assert set(open_tasks(container, instance_id)) == {"legal"}
    assert {t["id"]: t["status"] for t in _rows(container, instance_id, "legal")} == {
        old_legal["id"]: "completed",
        returned.task.id: "open",
    }
    assert [t["status"] for t in _rows(container, instance_id, "decide")] == ["returned"]
    assert [t["status"] for t in _rows(container, instance_id, "board")] == ["completed"]  # kept, not reopened
    event = next(e for e in history(container, instance_id) if e["kind"] == "task_returned")
    assert event["actor"] == UBND_LEAD.id and event["task_id"] == decide
    assert event["data"]["reason"] == "Thiếu ý kiến pháp lý về thẩm quyền"
    assert event["data"]["kind"] == "send_back" and event["data"]["agency"] == "ubnd"
    assert event["data"]["reopened_task_id"] == returned.task.id
    assert event["data"]["reopened_element_id"] == "legal"
    assert event["data"]["variables"] == {"legal_ok": True, "board_ok": True}  # the returned work, as it was

    # the join waits for the legal branch again, keeps the board's answer and goes on once legal is done
    container.tasks.complete(STP, returned.task.id, {"legal_ok": False})
    assert set(open_tasks(container, instance_id)) == {"propose"}  # legal_ok False: the default flow
    workflow = load_workflow(container, instance_id)  # a restart reads the same consistent state
    (propose,) = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "propose" and t.state == 16]
    assert propose.data["board_ok"] is True and propose.data["legal_ok"] is False


def test_send_back_by_default_reopens_the_most_recent_earlier_human_step(
    container: EngineContainer, clock: FakeClock
) -> None:
    instance_id = _parallel_at_decide(container, clock)

    returned = container.task_flow.send_back(UBND_LEAD, task_id(container, instance_id, "decide"), "Bổ sung")

    assert returned.task.element_id == "board"  # completed after legal
    assert set(open_tasks(container, instance_id)) == {"board"}
    container.tasks.complete(HTKC_OFFICER, returned.task.id, {"board_ok": True})
    assert set(open_tasks(container, instance_id)) == {"decide"}


def test_send_back_from_a_parallel_branch_closes_the_other_branch_as_returned(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, [fixture_source("parallel.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "parallel_review")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    legal, board = task_id(container, instance_id, "legal"), task_id(container, instance_id, "board")

    returned = container.task_flow.send_back(STP_LEAD, legal, "Hồ sơ thiếu giấy phép")

    assert returned.task.element_id == "receive"
    assert set(open_tasks(container, instance_id)) == {"receive"}
    statuses = {t["id"]: t["status"] for t in tasks(container, instance_id)}
    assert statuses[legal] == "returned" and statuses[board] == "returned"
    container.tasks.complete(SKHCN, returned.task.id, {})
    assert set(open_tasks(container, instance_id)) == {"legal", "board"}


def test_send_back_refuses_a_step_that_is_not_earlier_on_the_path_and_changes_nothing(
    container: EngineContainer, clock: FakeClock
) -> None:
    instance_id = _parallel_at_decide(container, clock)
    decide = task_id(container, instance_id, "decide")
    before = instance(container, instance_id)["version"]

    with pytest.raises(ReturnTargetInvalid) as refused:
        container.task_flow.send_back(UBND_LEAD, decide, "Sai", "propose")  # never completed
    assert refused.value.fields["element_id"] == "propose"
    assert set(refused.value.fields["targets"]) == {"receive", "legal", "board"}
    assert "propose" in refused.value.detail_vi
    with pytest.raises(ReturnTargetInvalid):
        container.task_flow.send_back(UBND_LEAD, decide, "Sai", "decide")  # itself
    assert set(open_tasks(container, instance_id)) == {"decide"}
    assert instance(container, instance_id)["version"] == before
    assert "task_returned" not in [e["kind"] for e in history(container, instance_id)]


def test_only_a_lead_of_the_tasks_agency_sends_it_back(container: EngineContainer, clock: FakeClock) -> None:
    instance_id = _parallel_at_decide(container, clock)
    decide = task_id(container, instance_id, "decide")
    with pytest.raises(RoleRequired):
        container.task_flow.send_back(officer("can_bo_ubnd", "ubnd"), decide, "Không được")
    with pytest.raises(NotCandidate):
        container.task_flow.send_back(SKHCN_LEAD, decide, "Đơn vị khác")
    assert set(open_tasks(container, instance_id)) == {"decide"}


def test_on_return_continue_keeps_the_time_left_and_restart_counts_again(
    container: EngineContainer, clock: FakeClock
) -> None:
    container.deployments.deploy(OWNER, [fixture_source("drafted_reply.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "drafted_reply")
    receive = open_tasks(container, instance_id)["receive"]
    clock.advance(timedelta(days=2))
    container.tasks.complete(SKHCN, receive["id"], {})
    left = receive["due_at"] - clock.now()
    reply = open_tasks(container, instance_id)["reply"]
    clock.advance(timedelta(days=10))

    back = container.task_flow.send_back(STP_LEAD, reply["id"], "Trả lại bộ phận tiếp nhận")

    assert back.task.element_id == "receive"
    assert back.task.due_at == clock.now() + left  # onReturn="continue": the time it had left
    container.tasks.complete(SKHCN, back.task.id, {})
    reply = open_tasks(container, instance_id)["reply"]
    container.tasks.complete(STP_LEAD, reply["id"], {})  # a lead's complete is final
    check = open_tasks(container, instance_id)["check"]
    again = container.task_flow.send_back(STP_LEAD, check["id"], "Dự thảo chưa đạt")
    assert again.task.element_id == "reply"
    assert again.task.due_at == open_tasks(container, instance_id)["reply"]["due_at"]
    assert again.task.due_at is not None and again.task.due_at > clock.now() + timedelta(days=2)  # restart: P3D anew


def test_an_officers_draft_waits_for_a_lead_who_approves_it_with_the_drafts_data(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, [fixture_source("drafted_reply.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "drafted_reply")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    reply = task_id(container, instance_id, "reply")

    drafted = container.tasks.complete(STP, reply, {"answer": "Đồng ý"})

    assert drafted.task.status == "awaiting_approval" and drafted.task.assignee == STP.id
    assert set(open_tasks(container, instance_id)) == {"reply"}  # the workflow did not move
    assert "answer" not in instance(container, instance_id)["variables"]
    lead_inbox = container.task_reads.list_tasks(STP_LEAD).items
    assert [(t.id, t.status) for t in lead_inbox] == [(reply, "awaiting_approval")]
    assert [t.status for t in container.task_reads.list_tasks(STP).items] == ["awaiting_approval"]  # waiting
    assert container.task_reads.list_tasks(officer("can_bo_stp_khac", "stp")).items == ()  # not another's work
    with pytest.raises(TaskNotOpen):
        container.tasks.complete(STP, reply, {"answer": "Sửa"})
    with pytest.raises(RoleRequired):
        container.task_flow.approve(STP, reply)

    approved = container.task_flow.approve(STP_LEAD, reply, "Đồng ý ban hành")

    assert approved.task.status == "completed" and approved.task.completed_by == STP_LEAD.id
    assert approved.task.assignee == STP.id  # the drafter
    assert set(open_tasks(container, instance_id)) == {"check"}
    assert instance(container, instance_id)["variables"]["answer"] == "Đồng ý"
    kinds = [e["kind"] for e in history(container, instance_id) if e["task_id"] == reply]
    assert kinds == ["task_draft_submitted", "task_approved", "task_completed"]
    event = next(e for e in history(container, instance_id) if e["kind"] == "task_approved")
    assert event["data"]["comment"] == "Đồng ý ban hành" and event["data"]["drafted_by"] == STP.id


def test_a_returned_draft_goes_back_to_its_drafter_who_submits_it_again(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, [fixture_source("drafted_reply.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "drafted_reply")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    reply = task_id(container, instance_id, "reply")
    container.tasks.complete(STP, reply, {"answer": "Bản 1"})

    back = container.task_flow.send_back(STP_LEAD, reply, "Sửa căn cứ pháp lý")

    assert back.task.id == reply and back.task.status == "claimed" and back.task.assignee == STP.id
    detail = container.task_reads.get_task_detail(STP, reply)
    assert detail.returned is not None and detail.returned.reason == "Sửa căn cứ pháp lý"
    assert detail.returned.by == STP_LEAD.id and detail.returned.kind == "draft_returned"
    assert detail.draft is not None and detail.draft.data == {"answer": "Bản 1"}
    event = next(e for e in history(container, instance_id) if e["kind"] == "task_returned")
    assert event["data"]["kind"] == "draft_returned" and event["data"]["reopened_task_id"] == reply
    with pytest.raises(NotAssignee):  # the drafter's again, not any officer's
        container.tasks.complete(officer("can_bo_stp_khac", "stp"), reply, {"answer": "X"})

    container.tasks.complete(STP, reply, {"answer": "Bản 2"})
    container.task_flow.approve(STP_LEAD, reply)

    assert instance(container, instance_id)["variables"]["answer"] == "Bản 2"
    assert set(open_tasks(container, instance_id)) == {"check"}


def test_a_leads_own_complete_of_a_task_needing_approval_is_final(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, [fixture_source("drafted_reply.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "drafted_reply")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "receive"), {})
    reply = task_id(container, instance_id, "reply")

    done = container.tasks.complete(STP_LEAD, reply, {"answer": "Lãnh đạo trả lời"})

    assert done.task.status == "completed"
    assert set(open_tasks(container, instance_id)) == {"check"}
    assert "task_draft_submitted" not in [e["kind"] for e in history(container, instance_id)]


def test_the_lint_refuses_an_unknown_approval_or_on_return_value() -> None:
    text = fixture_source("drafted_reply.bpmn").content.decode()
    good = lint_deployment(
        compile_deployment([SourceFile("d.bpmn", text.encode())], agencies=default_registry(), check=check_source)
    )
    assert not [f for f in good if f["code"] in ("approval-invalid", "on-return-invalid")]
    bad = text.replace('value="lead"', 'value="chief"').replace('value="continue"', 'value="later"')

    findings = lint_deployment(
        compile_deployment([SourceFile("d.bpmn", bad.encode())], agencies=default_registry(), check=check_source)
    )

    found = {(f["element_id"], f["code"], f["severity"]) for f in findings if f["code"].endswith("-invalid")}
    assert found == {("reply", "approval-invalid", "error"), ("receive", "on-return-invalid", "error")}
    assert any("chief" in f["message_vi"] and "lead" in f["message_vi"] for f in findings)


def test_send_back_to_a_task_with_a_boundary_timer_sets_its_timer_again(
    container: EngineContainer, clock: FakeClock
) -> None:
    container.deployments.deploy(OWNER, [fixture_source("timers.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "timed_review")
    container.tasks.complete(SKHCN, task_id(container, instance_id, "review"), {})
    clock.advance(timedelta(days=1, seconds=1))
    container.scheduler.run_once()  # the one-day wait ends
    after_wait = task_id(container, instance_id, "after_wait")
    assert [t["element_id"] for t in timers(container, instance_id)] == []

    back = container.task_flow.send_back(SKHCN_LEAD, after_wait, "Xem xét lại")

    assert back.task.element_id == "review"
    assert [(t["element_id"], t["due_at"]) for t in timers(container, instance_id)] == [
        ("deadline", clock.now() + timedelta(hours=2))
    ]
    clock.advance(timedelta(hours=2, seconds=1))
    container.scheduler.run_once()  # the boundary timer of the reopened review fires
    assert set(open_tasks(container, instance_id)) == {"escalate"}
    assert [t["status"] for t in tasks(container, instance_id) if t["id"] == back.task.id] == ["cancelled"]
