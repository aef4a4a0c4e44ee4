"""Human tasks (``bpmn:userTask``, ``bpmn:manualTask``) and who may act on them: the lane that lists a task and the
agency it names, ``camunda:candidateGroups`` (agency codes where they name one), ``candidateUsers``, ``assignee``,
``dueDate``, ``formKey`` and the task's ``camunda:properties`` (``requiredRole``, ``candidateGroupsVariable``). Read
by the catalog on compiled specs, and by the lint on files that do not compile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.definitions.camunda.attributes import camunda_attribute, camunda_properties
from phoihop.engine.definitions.structure import NSMAP, Document, problem
from phoihop.engine.model import Problem

__all__ = ["UserTaskModel", "human_task_models", "lanes_by_node", "user_task_model"]


@dataclass(frozen=True)
class UserTaskModel:
    """A human task (bpmn:userTask or bpmn:manualTask) and who may act on it."""

    element_id: str
    name: str
    lane: str | None
    agency: str | None  # agency code resolved from the lane
    candidate_groups: tuple[str, ...]  # camunda:candidateGroups (agency codes where they name one), else (agency,)
    candidate_users: tuple[str, ...]  # camunda:candidateUsers
    assignee: str | None  # camunda:assignee (literal)
    documentation: str | None
    due_date: str | None  # camunda:dueDate raw text: ISO 8601 literal or a sandboxed expression (working_days(5))
    form_key: str | None  # camunda:formKey
    properties: Mapping[str, str] = field(default_factory=dict, compare=False)  # camunda:properties
    required_role: str | None = None  # property requiredRole: only actors with this role claim and complete
    candidate_groups_variable: str | None = None  # property candidateGroupsVariable: agency code(s) from task data
    assignee_variable: str | None = None  # property assigneeVariable (camunda:assignee="${initiator}"): a user id


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))


def lanes_by_node(root: Any | None) -> dict[str, str]:
    """Element id → the name of the (innermost) lane whose flowNodeRef lists it, over every laneSet under ``root``."""
    found: dict[str, str] = {}
    if root is None:
        return found
    for lane in root.iter(f"{{{NSMAP['bpmn']}}}lane"):  # document order: a nested lane comes later
        for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP):
            if ref.text and ref.text.strip():
                found[ref.text.strip()] = (lane.get("name") or lane.get("id") or "").strip()
    return found


def user_task_model(
    element_id: str,
    element: Any,
    agencies: AgencyRegistry,
    lanes: Mapping[str, str],
    *,
    name: str | None = None,
    documentation: str | None = None,
    fallback_lane: str | None = None,
) -> UserTaskModel:
    """A human task's model from its XML element (camunda attributes and properties) and the lane that lists it
    (``fallback_lane``: SpiffWorkflow's, for a task no lane lists). Used by the catalog on compiled specs and by the
    lint on files that do not compile."""

    def camunda(attribute: str) -> str | None:
        return camunda_attribute(element, attribute) if element is not None else None

    # The lane that lists the task itself; SpiffWorkflow gives a task inside a subprocess the subprocess's lane, which
    # is wrong for a subprocess drawn across lanes (as Camunda Modeler lets one draw it).
    lane = lanes.get(element_id) or fallback_lane
    resolved = agencies.resolve(lane)
    agency = resolved.code if resolved else None
    groups = []
    for group in _split(camunda("candidateGroups")):
        named = agencies.resolve(group)
        groups.append(named.code if named else group)
    users, assignee = _split(camunda("candidateUsers")), camunda("assignee")
    properties = camunda_properties(element)
    groups_variable = properties.get("candidateGroupsVariable") or None
    if not groups and not users and assignee is None and agency is not None and groups_variable is None:
        groups = [agency]
    return UserTaskModel(
        element_id=element_id,
        name=name or element_id,
        lane=lane,
        agency=agency,
        candidate_groups=tuple(dict.fromkeys(groups)),
        candidate_users=users,
        assignee=assignee,
        documentation=documentation,
        due_date=camunda("dueDate"),
        form_key=camunda("formKey"),
        properties=MappingProxyType(properties),
        required_role=properties.get("requiredRole") or None,
        candidate_groups_variable=groups_variable,
        assignee_variable=properties.get("assigneeVariable") or None,
    )


def human_task_models(
    key: str,
    specs: Sequence[Any],
    documents: Mapping[str, Document],
    agencies: AgencyRegistry,
) -> tuple[dict[str, UserTaskModel], list[Problem]]:
    """The model of every human task of process ``key`` and its subprocesses (``specs``), by element id, and the
    problems: a task id used in two of them. (A task no one is named for is the lint's ``no-one-can-act`` warning.)"""
    tasks: dict[str, UserTaskModel] = {}
    owners: dict[str, str] = {}
    problems: list[Problem] = []
    for spec in specs:
        document = documents.get(spec.file)
        lanes = lanes_by_node(document.root if document else None)
        for task_spec in spec.task_specs.values():
            if not getattr(task_spec, "manual", False):  # userTask, manualTask (bpmn:task passes through)
                continue
            element = document.ids.get(task_spec.bpmn_id) if document else None
            file = spec.file or ""
            model = user_task_model(
                task_spec.bpmn_id,
                element,
                agencies,
                lanes,
                name=task_spec.bpmn_name,
                documentation=task_spec.documentation,
                fallback_lane=task_spec.lane,
            )
            if owners.setdefault(model.element_id, spec.name) != spec.name:
                problems.append(
                    problem(
                        file,
                        f"human task id {model.element_id!r} is used in both "
                        f"{owners[model.element_id]!r} and {spec.name!r}, reachable from {key!r}",
                        f"mã công việc {model.element_id!r} bị dùng ở cả {owners[model.element_id]!r} "
                        f"và {spec.name!r} trong quy trình {key!r}",
                        element=element,
                    )
                )
            tasks[model.element_id] = model
    return tasks, problems
