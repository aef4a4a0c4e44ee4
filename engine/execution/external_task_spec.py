"""External tasks in SpiffWorkflow: a ``bpmn:serviceTask`` with ``camunda:type="external" camunda:topic="…"``
(what Camunda Modeler writes) waits in the workflow until an integrator's worker completes it over the API.

- ``PhoihopBpmnParser`` is SpiffWorkflow's Spiff-dialect parser whose service tasks of type external become
  :class:`ExternalServiceTask` (SpiffWorkflow 3.2 otherwise demands a ``spiffworkflow:serviceTaskOperator``).
  Other Camunda service tasks (``camunda:class``, ``delegateExpression``, ``expression``) are refused with a message
  that says what to write instead.
- An :class:`ExternalServiceTask` runs like any engine task, but its run returns None: SpiffWorkflow leaves it
  STARTED, a state no engine step touches. :func:`external_waits` lists those tasks for the store.
- Completing it (:func:`release`) marks it done and makes it READY again; the engine loop (``Runtime.run``) then
  runs it as it runs every other task (post-script, data outputs, step limit, error handling), and this time its run
  returns True. A BPMN error (:func:`throw_error`) fires the error boundary event attached to it instead.

Nothing here touches the store.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask as ServiceTaskMixin
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, SpiffTaskParser
from SpiffWorkflow.spiff.specs.defaults import NoneTask, ServiceTask
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.execution import task_index

__all__ = [
    "ExternalServiceTask",
    "ExternalWait",
    "PassThroughTask",
    "PhoihopBpmnParser",
    "ServiceTaskUnsupported",
    "external_waits",
    "has_external_tasks",
    "release",
    "throw_error",
    "waiting_rows",
    "waiting_task",
]

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_RELEASED = "external_completed"  # internal data flag: the worker completed it, the next run finishes the task
_CAMUNDA_IMPLEMENTATIONS = ("class", "delegateExpression", "expression")  # attributes; a connector is an element


class ExternalServiceTask(ServiceTaskMixin, SpiffBpmnTask):  # type: ignore[misc]
    """A service task done by an external worker fetching tasks of ``topic`` (Camunda's external task pattern)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, priority: int = 0, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.priority = priority

    def _execute(self, task: Any) -> bool | None:
        # None: SpiffWorkflow marks the task STARTED and leaves it for the worker; True once a worker completed it
        return True if task.internal_data.get(_RELEASED) else None


class ServiceTaskUnsupported(ValidationException):  # type: ignore[misc]
    """A service task this engine cannot run; ``message_vi`` is the Vietnamese reason (engine.definitions.catalog shows
    it)."""

    def __init__(self, message: str, message_vi: str, node: Any, file_name: str | None) -> None:
        super().__init__(message, node=node, file_name=file_name)
        self.message_vi = message_vi


class PhoihopServiceTaskParser(ServiceTaskParser):  # type: ignore[misc]
    def _refuse(self, message: str, message_vi: str) -> None:
        raise ServiceTaskUnsupported(message, message_vi, self.node, self.filename)

    def create_task(self) -> Any:
        node, element_id = self.node, self.node.get("id")
        kind = node.get(f"{{{CAMUNDA_NS}}}type")
        if kind is None:
            named = [a for a in _CAMUNDA_IMPLEMENTATIONS if node.get(f"{{{CAMUNDA_NS}}}{a}") is not None]
            if named or node.find(f"{{*}}extensionElements/{{{CAMUNDA_NS}}}connector") is not None:
                what = f"camunda:{named[0]}" if named else "camunda:connector"
                self._refuse(
                    f"service task {element_id!r}: {what} runs Java code inside Camunda, which this engine "
                    'cannot do; make it an external task (camunda:type="external" camunda:topic="...") '
                    "that a worker fetches and completes over the external-task API",
                    f"công việc tự động {element_id!r}: {what} là mã Java chạy trong Camunda, máy chủ này "
                    'không chạy được; hãy chuyển thành công việc bên ngoài (camunda:type="external" '
                    'camunda:topic="...") để hệ thống tích hợp nhận và hoàn thành qua API',
                )
            operator = node.find(f"{{*}}extensionElements/{{{SPIFF_NS}}}serviceTaskOperator")
            if operator is not None:  # SpiffWorkflow would build it, and every start would fail (NotImplementedError)
                name = operator.get("id") or operator.get("name") or ""
                self._refuse(
                    f"service task {element_id!r} calls the SpiffWorkflow service operator {name!r}, but no service "
                    'operators are configured on this server; make it an external task (camunda:type="external" '
                    'camunda:topic="...") that a worker fetches and completes over the external-task API',
                    f"công việc tự động {element_id!r} gọi service operator {name!r} của SpiffWorkflow, nhưng máy chủ "
                    "này chưa cấu hình service operator nào; hãy chuyển thành công việc bên ngoài "
                    '(camunda:type="external" camunda:topic="...") để hệ thống tích hợp nhận và hoàn thành qua API',
                )
            return super().create_task()  # SpiffWorkflow's own error: a service task without an operator
        if kind != "external":
            self._refuse(
                f'service task {element_id!r}: camunda:type={kind!r} is not supported, only "external"',
                f'công việc tự động {element_id!r}: camunda:type={kind!r} không được hỗ trợ, chỉ dùng "external"',
            )
        topic = (node.get(f"{{{CAMUNDA_NS}}}topic") or "").strip()
        if not topic or "{" in topic or len(topic) > 200:
            self._refuse(
                f"external task {element_id!r} needs camunda:topic, a literal topic name of at most 200 "
                "characters (no expression)",
                f"công việc bên ngoài {element_id!r} cần camunda:topic là tên chủ đề cố định, tối đa 200 "
                "ký tự (không dùng biểu thức)",
            )
        priority_text = (node.get(f"{{{CAMUNDA_NS}}}taskPriority") or "0").strip()
        if not re.fullmatch(r"[+-]?\d{1,9}", priority_text):
            self._refuse(
                f"external task {element_id!r}: camunda:taskPriority must be a whole number, got {priority_text!r}",
                f"công việc bên ngoài {element_id!r}: camunda:taskPriority phải là số nguyên, không phải "
                f"{priority_text!r}",
            )
        extensions = self.parse_extensions()
        return ExternalServiceTask(
            self.spec,
            self.bpmn_id,
            topic,
            int(priority_text),
            prescript=extensions.get("preScript"),
            postscript=extensions.get("postScript"),
            **self.bpmn_attributes,
        )


class PassThroughTask(NoneTask):  # type: ignore[misc]
    """The abstract ``bpmn:task`` (no type): it runs straight through, as Camunda runs it. SpiffWorkflow 3.2 makes it a
    manual task that someone must complete, which no one here is named for."""

    def __init__(self, wf_spec: Any, bpmn_id: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class PhoihopBpmnParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's Spiff-dialect parser, with Camunda external tasks and the abstract task passing through."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[Any, Any]]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("task"): (SpiffTaskParser, PassThroughTask),
        full_tag("serviceTask"): (PhoihopServiceTaskParser, ServiceTask),
    }


# --- running --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExternalWait:
    """An external task waiting for a worker: what its row in the store holds."""

    task_id: str
    element_id: str
    name: str | None
    topic: str
    priority: int


_HAS_EXTERNAL: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def has_external_tasks(spec: Any, subprocess_specs: Mapping[str, Any]) -> bool:
    """Whether a compiled process (or a subprocess it calls) has external tasks; remembered per spec object."""
    found = _HAS_EXTERNAL.get(spec)
    if found is None:
        found = _HAS_EXTERNAL[spec] = any(
            isinstance(task_spec, ExternalServiceTask)
            for process in (spec, *subprocess_specs.values())
            for task_spec in process.task_specs.values()
        )
    return found


def waiting_rows(
    spec: Any,
    subprocess_specs: Mapping[str, Any],
    workflow: Any,
    *,
    waits: bool,
) -> list[dict[str, Any]] | None:
    """What the store's ``external_task`` rows of the instance must be after a command: one dict per waiting
    external task (none unless ``waits``: the instance's branches still wait, ``Snapshot.waits``); None for a process
    without external tasks."""
    if not has_external_tasks(spec, subprocess_specs):
        return None
    return [vars(wait) for wait in external_waits(workflow).values()] if waits else []


def _started(workflow: Any) -> list[Any]:
    index = task_index.index_of(workflow)
    if index is None:
        return list(workflow.get_tasks(state=TaskState.STARTED))
    return list(index.with_state(TaskState.STARTED))


def external_waits(workflow: Any) -> dict[str, ExternalWait]:
    """The external tasks the workflow waits on (subprocesses included), by task id."""
    waits: dict[str, ExternalWait] = {}
    for task in _started(workflow):
        spec = task.task_spec
        if isinstance(spec, ExternalServiceTask) and not task.internal_data.get(_RELEASED):
            waits[str(task.id)] = ExternalWait(str(task.id), spec.bpmn_id, spec.bpmn_name, spec.topic, spec.priority)
    return waits


def waiting_task(workflow: Any, task_id: str) -> Any | None:
    """The workflow's waiting external task ``task_id``, or None (unknown, or not waiting any more)."""
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, TypeError):
        return None
    if task is None or task.state != TaskState.STARTED or not isinstance(task.task_spec, ExternalServiceTask):
        return None
    return task if not task.internal_data.get(_RELEASED) else None


def release(task: Any, variables: Mapping[str, Any]) -> None:
    """A worker completed ``task`` (see :func:`waiting_task`): set its variables and hand it back to the engine loop,
    which finishes it the next time it runs (``Runtime.run``)."""
    task.set_data(**variables)
    task._set_internal_data(**{_RELEASED: True})
    task._set_state(TaskState.READY)


def throw_error(task: Any, code: str, variables: Mapping[str, Any]) -> bool:
    """A worker reported BPMN error ``code`` on ``task``: fire the error boundary event attached to it that catches
    the code (the one naming it, else one catching every error). False when none does: nothing changed."""
    parent = task.parent
    boundaries = [
        sibling
        for sibling in (parent.children if parent is not None else [])
        if sibling is not task
        and sibling.state == TaskState.WAITING
        and isinstance(sibling.task_spec, BoundaryEvent)
        and isinstance(sibling.task_spec.event_definition, ErrorEventDefinition)
    ]
    named = [b for b in boundaries if b.task_spec.event_definition.code == code]
    catch_all = [b for b in boundaries if b.task_spec.event_definition.code is None]
    chosen = (named or catch_all)[:1]
    if not chosen:
        return False
    boundary = chosen[0]
    definition = boundary.task_spec.event_definition
    boundary.task_spec.catch(boundary, BpmnEvent(definition, payload=dict(variables)))
    boundary.task_spec._update(boundary)
    boundary.set_data(**variables)
    return True
