"""Regressions for defects a code review found: each test failed before its fix."""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from phoihop.engine.commands.messages import Delivery
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import InvalidVariables, MessageNotCorrelated, TaskNotOpen
from phoihop.engine.variables import check_variables
from tests.conftest import INTEGRATOR
from tests.engine.helpers import LEAD, SKHCN, deploy, instance, load_workflow
from tests.engine.test_messages import waiting_for_supplement


def test_a_delivery_that_one_instance_refuses_still_reaches_the_others(
    container: EngineContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SpiffWorkflow raises WorkflowException when a waiting event's correlation values do not match the payload.
    That instance is skipped (no 500, no rollback of the other deliveries)."""
    deploy(container, "messages.bpmn")
    refusing = waiting_for_supplement(container, "HS-901", nhom="A")
    accepting = waiting_for_supplement(container, "HS-902", nhom="A")
    refusing_root = str(load_workflow(container, refusing).task_tree.id)
    original = MessageEventDefinition.get_correlations

    def correlations(self: Any, task: Any, payload: Any) -> Any:
        if str(task.workflow.task_tree.id) == refusing_root:
            raise WorkflowException("correlation values do not match")
        return original(self, task, payload)

    monkeypatch.setattr(MessageEventDefinition, "get_correlations", correlations)

    delivered = container.messages.correlate(
        INTEGRATOR,
        "bo_sung_ho_so",
        correlation_keys={"nhom": "A"},
        variables={"ban_sao_cccd": "da_nop"},
        all_instances=True,
    )

    assert delivered == [Delivery(instance_id=accepting, started=False)]
    assert instance(container, refusing)["status"] == "running"
    assert instance(container, accepting)["variables"]["ban_sao_cccd"] == "da_nop"


def test_a_message_every_waiting_instance_refuses_is_not_correlated(
    container: EngineContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(container, "messages.bpmn")
    waiting_for_supplement(container, "HS-903")

    def refuse(self: Any, task: Any, payload: Any) -> Any:
        raise WorkflowException("correlation values do not match")

    monkeypatch.setattr(MessageEventDefinition, "get_correlations", refuse)
    with pytest.raises(MessageNotCorrelated):
        container.messages.correlate(INTEGRATOR, "bo_sung_ho_so", business_key="HS-903")


def test_claiming_a_task_cancelled_meanwhile_is_task_not_open(container: EngineContainer) -> None:
    deploy(container, "four_tasks.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks")
    task_id = container.task_reads.open_task_ids(SKHCN, instance_id)[0]
    container.instances.cancel(LEAD, instance_id)
    with pytest.raises(TaskNotOpen):
        container.tasks.claim(SKHCN, task_id)


@pytest.mark.parametrize("variables", [{"a": "\ud800"}, {"\udc00": 1}, {"a": {"b": ["ok", "\udfff"]}}])
def test_lone_surrogates_are_refused_as_variables(variables: dict[str, Any]) -> None:
    with pytest.raises(InvalidVariables):
        check_variables(variables)
