"""Files from other tools that validated clean and then answered 500 at every start (issue 12, section 2): each is
refused at validate and deploy with a finding naming the element, or runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from phoihop.engine.agencies import default_registry
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.definitions.lint.deployment import lint_files
from phoihop.engine.errors import InvalidDefinition, NotCandidate, ScriptError
from phoihop.engine.execution.sandbox import SandboxedEnvironment
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import Actor, Finding, SourceFile
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.engine.helpers import ADMIN, SKHCN, instance, open_tasks

ODD = Path(__file__).parent.parent / "fixtures" / "odd"
LEAD_OF_NONE = officer("lanh_dao_khac", "stp", roles=("lead",))  # a lead of an agency the task does not name


def compile_files(files: Sequence[SourceFile]) -> Deployment:
    return compile_deployment(files, agencies=default_registry(), check=check_source)


def odd(name: str, replace: dict[str, str] | None = None) -> list[SourceFile]:
    text = (ODD / name).read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return [SourceFile(name, text.encode("utf-8"))]


def errors(files: Sequence[SourceFile]) -> list[Finding]:
    return [f for f in lint_files(files, compile_files=compile_files) if f["severity"] == "error"]


def test_a_spiffworkflow_service_operator_is_refused_naming_the_task() -> None:
    found = errors(odd("service_operator.bpmn"))
    assert [f["element_id"] for f in found] == ["goi_api"]
    assert "no service operators are configured" in found[0]["message_en"]
    assert "http/GetRequest" in found[0]["message_en"]
    assert "chưa cấu hình" in found[0]["message_vi"]


EMPTY = '<bpmn:condition xsi:type="bpmn:tFormalExpression"/>'


@pytest.mark.parametrize("condition", [EMPTY, EMPTY.replace("/>", "> </bpmn:condition>")])
def test_a_conditional_start_event_with_an_empty_condition_is_refused_naming_it(condition: str) -> None:
    found = errors(odd("empty_condition.bpmn", {EMPTY: condition}))
    assert [f["element_id"] for f in found] == ["khi_du_dieu_kien"]
    assert "has no condition" in found[0]["message_en"]
    assert "chưa có điều kiện" in found[0]["message_vi"]


def test_a_conditional_event_without_a_condition_element_is_a_schema_error() -> None:
    assert [f["element_id"] for f in errors(odd("empty_condition.bpmn", {EMPTY: ""}))] == ["dieu_kien"]


def test_the_sandbox_refuses_an_empty_expression_as_a_script_error() -> None:
    environment = SandboxedEnvironment()
    for expression in (None, "", "  "):
        with pytest.raises(ScriptError, match="empty"):
            environment.evaluate(expression, {})


@pytest.mark.parametrize("name", ["service_operator.bpmn", "empty_condition.bpmn"])
def test_deploying_them_is_refused_before_any_start(container: EngineContainer, name: str) -> None:
    with pytest.raises(InvalidDefinition):
        container.deployments.deploy(OWNER, odd(name))


# --- accepted: a human task no one is named for, the abstract bpmn:task (issue 12.1) -------------------------------
def test_a_user_task_no_one_is_named_for_is_a_warning_and_an_error_only_when_strict() -> None:
    files = odd("no_candidates.bpmn")
    found = lint_files(files, compile_files=compile_files)
    assert [(f["element_id"], f["code"], f["severity"]) for f in found if f["code"] == "no-one-can-act"] == [
        ("xu_ly", "no-one-can-act", "warning")
    ]
    assert not [f for f in found if f["severity"] == "error"]
    assert "lead" in found[0]["message_en"] or any("lãnh đạo" in f["message_vi"] for f in found)
    strict = lint_files(files, compile_files=compile_files, strict=True)
    assert ("xu_ly", "error") in [(f["element_id"], f["severity"]) for f in strict if f["code"] == "no-one-can-act"]


def test_the_abstract_task_runs_straight_through_and_is_no_human_task() -> None:
    (process,) = compile_files(odd("no_candidates.bpmn")).processes
    assert set(process.user_tasks) == {"xu_ly"}


@pytest.mark.parametrize("actor", [ADMIN, LEAD_OF_NONE], ids=["admin", "lead"])
def test_an_admin_or_any_lead_claims_and_completes_a_task_no_one_is_named_for(
    container: EngineContainer, actor: Actor
) -> None:
    container.deployments.deploy(OWNER, odd("no_candidates.bpmn"))
    instance_id, _ = container.instances.start(INTEGRATOR, "khong_ai_nhan")
    task = open_tasks(container, instance_id)
    assert set(task) == {"xu_ly"}  # ghi_nhan ran straight through
    with pytest.raises(NotCandidate):
        container.tasks.claim(SKHCN, str(task["xu_ly"]["id"]))  # an officer of an agency is no candidate
    container.tasks.claim(actor, str(task["xu_ly"]["id"]))
    container.tasks.complete(actor, str(task["xu_ly"]["id"]), {})
    assert instance(container, instance_id)["status"] == "completed"


# --- accepted: XML in another declared encoding (issue 12.1) --------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "key", "text"), [("latin1.bpmn", "ma_latin1", "Café crème"), ("utf16.bpmn", "ma_utf16", "Tiếp nhận hồ sơ")]
)
def test_a_file_in_another_encoding_deploys_runs_and_is_kept_as_utf8(
    container: EngineContainer, name: str, key: str, text: str
) -> None:
    files = [SourceFile(name, (ODD / name).read_bytes())]
    assert not errors(files)
    (deployed,) = container.deployments.deploy(OWNER, files)
    assert deployed.name == text
    instance_id, _ = container.instances.start(INTEGRATOR, key)
    assert instance(container, instance_id)["status"] == "completed"
    (kept,) = compile_files(files).files
    assert kept.content.decode("utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert text in kept.content.decode("utf-8")


# --- SpiffWorkflow's messages in our words, naming the element (issue 12.1) -----------------------------------------
def test_spiffworkflow_parser_messages_become_ours_naming_the_element() -> None:
    found = {f["element_id"]: f for f in errors(odd("spiff_messages.bpmn"))}
    assert set(found) == {"tiep_nhan", "doc"}
    flows = found["tiep_nhan"]
    assert flows["message_en"].startswith("task tiep_nhan has 2 outgoing sequence flows (a2, a3)")
    assert "gateway" in flows["message_en"] and "cổng" in flows["message_vi"]
    data = found["doc"]
    assert data["message_en"].startswith("a data input association of doc reads 'start_b'")
    assert data["message_vi"].startswith("liên kết dữ liệu vào của doc đọc 'start_b'")
    for finding in found.values():
        assert "<Element" not in finding["message_en"] and "0x" not in finding["message_en"]
        assert not finding["message_vi"].startswith("lỗi cấu trúc quy trình")  # no English passed through


# --- camunda:initiator and ${initiator} (issue 12.1) ----------------------------------------------------------------
def test_the_initiator_is_stored_at_start_and_an_assignee_variable_assigns_the_task_to_them(
    container: EngineContainer,
) -> None:
    files = odd("initiator.bpmn")
    found = lint_files(files, compile_files=compile_files)
    assert not [f for f in found if f["severity"] == "error" or f["code"] in ("camunda-ignored", "no-one-can-act")]
    container.deployments.deploy(OWNER, files)
    instance_id, _ = container.instances.start(SKHCN, "nguoi_khoi_tao_xu_ly", variables={"nguoi_khoi_tao": "ke_khac"})
    task = open_tasks(container, instance_id)["bo_sung"]
    assert (task["assignee"], task["status"]) == (SKHCN.id, "claimed")  # the starter, not what the caller sent
    with pytest.raises(NotCandidate):  # the task names its assignee alone
        container.tasks.complete(officer("khac", "skhcn"), str(task["id"]), {})
    container.tasks.complete(SKHCN, str(task["id"]), {})
    assert instance(container, instance_id)["status"] == "completed"


def test_an_assignee_variable_that_is_unset_leaves_the_task_to_admins_only(container: EngineContainer) -> None:
    """A run-time assignment that names no one fails closed (review of the merge): not every lead of every agency
    may read the case and complete it, as for a task whose definition names no one (the lint's warning)."""
    files = odd("initiator.bpmn", {' camunda:initiator="nguoi_khoi_tao"': ""})
    container.deployments.deploy(OWNER, files)
    instance_id, _ = container.instances.start(INTEGRATOR, "nguoi_khoi_tao_xu_ly")
    task = open_tasks(container, instance_id)["bo_sung"]
    assert (task["assignee"], task["status"]) == (None, "open")
    assert not LEAD_OF_NONE.may_see_task(task)
    with pytest.raises(NotCandidate):
        container.tasks.complete(LEAD_OF_NONE, str(task["id"]), {})
    container.tasks.complete(ADMIN, str(task["id"]), {})
    assert instance(container, instance_id)["status"] == "completed"


def test_an_assignee_who_unclaims_stays_the_candidate_and_the_task_is_not_opened_to_leads(
    container: EngineContainer,
) -> None:
    container.deployments.deploy(OWNER, odd("initiator.bpmn"))
    instance_id, _ = container.instances.start(SKHCN, "nguoi_khoi_tao_xu_ly")
    task_id = str(open_tasks(container, instance_id)["bo_sung"]["id"])
    container.tasks.unclaim(SKHCN, task_id)
    task = open_tasks(container, instance_id)["bo_sung"]
    assert task["assignee"] is None and SKHCN.id in task["candidate_users"]
    assert not LEAD_OF_NONE.may_see_task(task)
    container.tasks.claim(SKHCN, task_id)
    container.tasks.complete(SKHCN, task_id, {})
