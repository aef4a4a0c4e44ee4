"""User tasks in Camunda: a JUEL ``camunda:dueDate`` becomes Python; ``camunda:candidateGroups="${var}"`` becomes
the property ``candidateGroupsVariable`` (the agency code(s) read from ``var`` when the task is created);
``camunda:assignee="${var}"`` (``${initiator}``) the property ``assigneeVariable`` (the user id read from ``var``); any
other expression in ``camunda:assignee`` or ``camunda:candidateUsers`` is refused (name the user literally)."""

from __future__ import annotations

from typing import Any

from phoihop.engine.definitions.camunda.attributes import camunda_attribute
from phoihop.engine.definitions.camunda.edits import extension_elements, sub_element
from phoihop.engine.definitions.camunda.expressions import python_of
from phoihop.engine.definitions.camunda.juel import JuelRefused, looks_like_juel, translate
from phoihop.engine.definitions.camunda.rewrite import CODE_JUEL, Rewrite
from phoihop.engine.definitions.structure import CAMUNDA_NS, NSMAP

__all__ = ["rewrite_user_tasks"]

_C = f"{{{CAMUNDA_NS}}}"


def rewrite_user_tasks(rewrite: Rewrite) -> None:
    """dueDate, assignee, candidateUsers and candidateGroups of every user task of the document."""
    for task in rewrite.document.root.iterfind(".//bpmn:userTask", NSMAP):
        tid = task.get("id")
        due = camunda_attribute(task, "dueDate")
        if due is not None and (due.startswith("=") or looks_like_juel(due)):
            python = python_of(rewrite, due, task, ("camunda:dueDate", "thời hạn camunda:dueDate"))
            task.set(_C + "dueDate", python if python is not None else "P1D")
        assignee = camunda_attribute(task, "assignee")
        if assignee is not None and looks_like_juel(assignee) and _variable_of(assignee) is not None:
            del task.attrib[_C + "assignee"]  # ${initiator}: the user id held by one variable, read at creation
            _set_property(task, "assigneeVariable", str(_variable_of(assignee)))
        for attribute in ("assignee", "candidateUsers"):
            value = camunda_attribute(task, attribute)
            if value is not None and looks_like_juel(value):
                rewrite.refuse(
                    task,
                    f"task {tid}: camunda:{attribute} {value!r} is an expression; name the user "
                    'literally, or give the agency from data with camunda:candidateGroups="${var}" '
                    "(property candidateGroupsVariable)",
                    f"công việc {tid}: camunda:{attribute} {value!r} là biểu thức; hãy ghi trực tiếp người "
                    'xử lý, hoặc lấy cơ quan từ dữ liệu bằng camunda:candidateGroups="${biến}" (thuộc '
                    "tính candidateGroupsVariable)",
                    CODE_JUEL,
                )
                del task.attrib[_C + attribute]
        groups = camunda_attribute(task, "candidateGroups")
        if groups is not None and looks_like_juel(groups):
            _groups_variable(rewrite, task, groups)


def _groups_variable(rewrite: Rewrite, task: Any, groups: str) -> None:
    tid = task.get("id")
    del task.attrib[_C + "candidateGroups"]
    try:
        variable = translate(groups).variable
    except JuelRefused as exc:
        rewrite.refuse(
            task,
            f"task {tid}: camunda:candidateGroups {groups!r}: {exc.reason}",
            f"công việc {tid}: camunda:candidateGroups {groups!r}: {exc.reason_vi}",
            CODE_JUEL,
        )
        return
    if variable is None:
        rewrite.refuse(
            task,
            f"task {tid}: camunda:candidateGroups {groups!r} must be one variable (${{agency}}) "
            "holding the agency code or a list of codes",
            f"công việc {tid}: camunda:candidateGroups {groups!r} phải là một biến (${{co_quan}}) chứa mã "
            "cơ quan hoặc danh sách mã",
            CODE_JUEL,
        )
        return
    properties = task.find(f"bpmn:extensionElements/{_C}properties", NSMAP)
    declared = list(properties) if properties is not None else []
    existing = [p for p in declared if p.get("name") == "candidateGroupsVariable"]
    if any((p.get("value") or "").strip() != variable for p in existing):
        rewrite.refuse(
            task,
            f"task {tid}: camunda:candidateGroups {groups!r} and the property "
            "candidateGroupsVariable name different variables",
            f"công việc {tid}: camunda:candidateGroups {groups!r} và thuộc tính candidateGroupsVariable "
            "chỉ tới hai biến khác nhau",
            CODE_JUEL,
        )
        return
    if not existing:
        _set_property(task, "candidateGroupsVariable", variable)


def _variable_of(text: str) -> str | None:
    """The one variable ``text`` (``${name}``) names, else None."""
    try:
        return translate(text).variable
    except JuelRefused:
        return None


def _set_property(task: Any, name: str, value: str) -> None:
    properties = task.find(f"bpmn:extensionElements/{_C}properties", NSMAP)
    if properties is None:
        properties = sub_element(extension_elements(task), _C + "properties", task)
    sub_element(properties, _C + "property", task, name=name, value=value)
