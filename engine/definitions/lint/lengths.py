"""Names longer than the columns that will store them (``name-too-long``, always an error): the process id and
name, every element id, and a human task's name, lane, candidate groups and users, assignee and form key, message
names and external-task topics. Without this rule such a deployment was stored, then every start failed (PostgreSQL
refuses the row; SQLite keeps it). The limits come from the store's column sizes (``NAME_LIMITS`` of
engine.store.tables), handed in by the deploy and validate commands: the definitions never touch the database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition

from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.model import Finding

__all__ = ["WHAT", "length_findings"]

# limit name → how a finding names the value (English, Vietnamese)
WHAT: dict[str, tuple[str, str]] = {
    "process_key": ("the process id", "mã quy trình (id)"),
    "process_name": ("the process name", "tên quy trình"),
    "element_id": ("the element id", "mã phần tử (id)"),
    "task_name": ("the task name", "tên công việc"),
    "lane": ("the lane name", "tên làn (lane)"),
    "candidate": ("a candidate group or user", "nhóm hoặc người được giao (candidateGroups/candidateUsers)"),
    "assignee": ("camunda:assignee", "người xử lý camunda:assignee"),
    "form_key": ("camunda:formKey", "biểu mẫu camunda:formKey"),
    "message_name": ("the message name", "tên thông điệp"),
    "topic": ("the external task topic", "chủ đề (topic) của công việc bên ngoài"),
}


def _shown(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "…"


def _message_names(task_spec: Any) -> Iterator[str]:
    definition = getattr(task_spec, "event_definition", None)
    found = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
    for item in found:
        if isinstance(item, MessageEventDefinition) and isinstance(item.name, str):
            yield item.name


def _names(process: ProcessModel) -> Iterator[tuple[str, str, str, str]]:
    """(limit name, value, element id, file) of every name of ``process`` that the store keeps."""
    file = process.spec.file or ""
    yield "process_key", process.key, process.key, file
    if process.name:
        yield "process_name", process.name, process.key, file
    files: dict[str, str] = {}
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            element_id = getattr(task_spec, "bpmn_id", None)
            if not isinstance(element_id, str):
                continue
            files.setdefault(element_id, spec.file or "")
            yield "element_id", element_id, element_id, files[element_id]
            topic = getattr(task_spec, "topic", None)
            if isinstance(topic, str):
                yield "topic", topic, element_id, files[element_id]
            for name in _message_names(task_spec):
                yield "message_name", name, element_id, files[element_id]
    for element_id, task in process.user_tasks.items():
        where = files.get(element_id, file)
        yield "task_name", task.name, element_id, where
        if task.lane:
            yield "lane", task.lane, element_id, where
        for value in (*task.candidate_groups, *task.candidate_users):
            yield "candidate", value, element_id, where
        if task.assignee:
            yield "assignee", task.assignee, element_id, where
        if task.form_key:
            yield "form_key", task.form_key, element_id, where


def length_findings(
    processes: tuple[ProcessModel, ...],
    elements: Mapping[str, Mapping[str, Any]],
    limits: Mapping[str, int],
) -> list[Finding]:
    """One error for each name of ``processes`` longer than its limit (``elements``: file → id → XML element, for
    the line); each value is reported once per element."""
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for process in processes:
        for kind, value, element_id, file in _names(process):
            limit = limits.get(kind)
            if limit is None or len(value) <= limit or (kind, value, element_id) in seen:
                continue
            seen.add((kind, value, element_id))
            what_en, what_vi = WHAT[kind]
            findings.append(
                finding_at(
                    "name-too-long",
                    "error",
                    file,
                    elements.get(file, {}).get(element_id),
                    element_id,
                    f"{what_en} {_shown(value)!r} of {_shown(element_id)} is {len(value)} characters long; "
                    f"at most {limit} characters can be stored",
                    f"{what_vi} {_shown(value)!r} của {_shown(element_id)} dài {len(value)} ký tự; "
                    f"chỉ lưu được tối đa {limit} ký tự",
                )
            )
    return findings
