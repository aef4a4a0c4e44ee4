"""The "6 rõ" rules for human tasks (user and manual tasks): who acts on it (rõ trách nhiệm: ``no-one-can-act``,
``lane-not-agency``, ``unknown-group``), what is to be done (rõ việc: ``no-documentation``), by when (rõ thời gian:
``no-due-date``, and ``due-date-invalid``, always an error), and with what result (rõ sản phẩm: ``no-form``); the
properties of a lead's control are known values (``approval-invalid``, ``on-return-invalid``: errors).

Read from a compiled deployment's task models, or from the XML alone for files that do not compile
(:func:`xml_task_findings`), so an owner fixing a file sees every error and warning at once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.definitions.expressions import Check
from phoihop.engine.definitions.human_tasks import UserTaskModel, lanes_by_node, user_task_model
from phoihop.engine.definitions.lint.findings import finding_at, settled
from phoihop.engine.definitions.structure import BPMN_NS, BPMN_SUFFIXES
from phoihop.engine.definitions.task_flow import (
    APPROVAL_PROPERTY,
    APPROVAL_VALUES,
    ON_RETURN_PROPERTY,
    ON_RETURN_VALUES,
)
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import InvalidDefinition
from phoihop.engine.model import Finding, Severity, SourceFile
from phoihop.engine.variables import due_at_for

__all__ = ["task_files", "task_findings", "xml_task_findings"]

_REFERENCE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # any moment: only whether a due date parses matters
_ISO_LIKE = re.compile(r"R\d*/\S+|P[0-9A-Z.,]*|\d{4}-?(?:W\d{2}|\d{2})\S*")  # as catalog_expressions reads timers


def _parses(text: str) -> bool:
    try:
        return due_at_for(text, _REFERENCE_TIME) is not None
    except Exception:  # OverflowError for P99999999999999999999D, and whatever else the ISO parsers raise
        return False


def _due_date_error(text: str, check: Check) -> tuple[str, str] | None:
    """Why ``camunda:dueDate`` cannot give a due time, or None: an ISO 8601 duration or date(-time), quoted or not,
    or a sandboxed expression (``working_days(5)``) evaluated when the task is created."""
    if _parses(text):
        return None
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    else:
        if isinstance(literal, str) and _parses(literal.strip()):
            return None
        return (
            f"{text} is a constant that is not an ISO 8601 duration (P3D, PT4H) or date-time",
            f"{text} là hằng số nhưng không phải khoảng thời gian (P3D, PT4H) hay thời điểm ISO 8601",
        )
    if _ISO_LIKE.fullmatch(text.strip()):
        return (
            f"{text} looks like ISO 8601 but is not a valid duration or date-time",
            f"{text} có dạng ISO 8601 nhưng không phải khoảng thời gian hay thời điểm hợp lệ",
        )
    try:
        check(text, "eval")
    except Exception as exc:  # ScriptError/SandboxViolation from the sandbox; anything else a checker raises
        en, vi = getattr(exc, "detail", str(exc)), getattr(exc, "detail_vi", str(exc))
        return (
            f"{text} is neither ISO 8601 nor a valid expression: {en}",
            f"{text} không phải ISO 8601 cũng không phải biểu thức hợp lệ: {vi}",
        )
    return None


_AGENCIES = default_registry()


def task_findings(task: UserTaskModel, file: str, element: Any, check: Check) -> Iterator[Finding]:
    tid = task.element_id

    def gap(code: str, en: str, vi: str, severity: Severity = "warning") -> Finding:
        return finding_at(code, severity, file, element, tid, en, vi)

    explicit_groups = task.agency is None and bool(task.candidate_groups)
    named = task.candidate_groups or task.candidate_users or task.assignee or task.assignee_variable
    if not (named or task.candidate_groups_variable):
        where_en = f"in lane {task.lane!r} (no known agency)" if task.lane else "outside any lane"
        where_vi = f"trong làn {task.lane!r} (không khớp cơ quan nào)" if task.lane else "không thuộc làn nào"
        yield gap(
            "no-one-can-act",
            f"no one is named to act on task {tid} {where_en}: only an admin or a lead (any agency's) can claim and "
            "complete it; put it in an agency's lane or add camunda:candidateGroups, camunda:candidateUsers or "
            "camunda:assignee (rõ trách nhiệm)",
            f"công việc {tid} {where_vi} chưa giao cho ai: chỉ quản trị viên hoặc lãnh đạo (của bất kỳ cơ quan nào) "
            "mới nhận và hoàn thành được; hãy đặt vào làn của cơ quan hoặc khai báo camunda:candidateGroups, "
            "camunda:candidateUsers hay camunda:assignee (rõ trách nhiệm)",
        )
    elif task.agency is None and task.candidate_groups_variable is None and not explicit_groups:
        where_en = f"lane {task.lane!r} names no agency" if task.lane else "it is in no lane"
        where_vi = f"làn {task.lane!r} không phải tên cơ quan" if task.lane else "công việc không thuộc làn nào"
        yield gap(
            "lane-not-agency",
            f"task {tid}: {where_en}; put it in an agency's lane, or name the agency with "
            "camunda:candidateGroups or the property candidateGroupsVariable (rõ trách nhiệm)",
            f"công việc {tid}: {where_vi}; hãy đặt vào làn của cơ quan, hoặc chỉ rõ cơ quan bằng "
            "camunda:candidateGroups hay thuộc tính candidateGroupsVariable (rõ trách nhiệm)",
        )
    unknown = [group for group in task.candidate_groups if _AGENCIES.resolve(group) is None]
    if unknown:
        listed = ", ".join(unknown)
        yield gap(
            "unknown-group",
            f"task {tid}: camunda:candidateGroups names {listed}, which is no agency code or name; only users "
            "whose token carries that group could act on it (rõ người)",
            f"công việc {tid}: camunda:candidateGroups ghi {listed}, không phải mã hay tên cơ quan nào; chỉ "
            "người có nhóm đó trong mã truy cập mới xử lý được (rõ người)",
        )
    if not (task.documentation or "").strip():
        yield gap(
            "no-documentation",
            f"task {tid} has no documentation saying what is to be done (rõ việc)",
            f"công việc {tid} chưa có mô tả (bpmn:documentation) nêu rõ việc phải làm (rõ việc)",
        )
    if task.due_date is None:
        yield gap(
            "no-due-date",
            f"task {tid} has no camunda:dueDate (rõ thời gian)",
            f"công việc {tid} chưa có thời hạn camunda:dueDate (rõ thời gian)",
        )
    else:
        error = _due_date_error(task.due_date, check)
        if error is not None:
            yield gap(
                "due-date-invalid",
                f"task {tid}: camunda:dueDate {error[0]}",
                f"công việc {tid}: thời hạn camunda:dueDate {error[1]}",
                severity="error",
            )
    yield from _flow_findings(task, gap)
    if task.form_key is None:
        yield gap(
            "no-form",
            f"task {tid} has no camunda:formKey naming the form of its result (rõ sản phẩm)",
            f"công việc {tid} chưa có biểu mẫu kết quả camunda:formKey (rõ sản phẩm)",
        )


def _flow_findings(task: UserTaskModel, gap: Any) -> Iterator[Finding]:
    """``approval`` and ``onReturn`` (engine/definitions/task_flow.py): an unknown value is an error, never a task
    that silently skips the lead's approval or counts its deadline some other way."""
    rules = (
        ("approval-invalid", APPROVAL_PROPERTY, APPROVAL_VALUES),
        ("on-return-invalid", ON_RETURN_PROPERTY, ON_RETURN_VALUES),
    )
    for code, name, allowed in rules:
        value = task.properties.get(name)
        if value is not None and value not in allowed:
            listed = ", ".join(f'"{v}"' for v in allowed)
            yield gap(
                code,
                f"task {task.element_id}: camunda:property {name} is {value!r}; it must be one of {listed}",
                f"công việc {task.element_id}: thuộc tính {name} là {value!r}; giá trị hợp lệ: {listed}",
                severity="error",
            )


def task_files(process: ProcessModel) -> dict[str, str]:
    """Element id of each human task → the file of the (sub)process spec holding it."""
    files: dict[str, str] = {}
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if task_spec.bpmn_id in process.user_tasks:
                files.setdefault(task_spec.bpmn_id, spec.file or "")
    return files


_HUMAN_TASKS = ("userTask", "manualTask")


def xml_task_findings(files: Sequence[SourceFile], *, strict: bool, check: Check) -> list[Finding]:
    """The "6 rõ" findings of every human task read from the XML alone, for a deployment that does not compile (its
    errors come first): an owner fixing a file sees every error and warning at once. A file that does not parse
    gives none."""
    findings: list[Finding] = []
    for source in files:
        if not source.name.lower().endswith(BPMN_SUFFIXES):
            continue
        try:
            root = parse_xml(source.content, filename=source.name).getroot()
        except InvalidDefinition:
            continue
        lanes = lanes_by_node(root)
        for tag in _HUMAN_TASKS:
            for element in root.iter(f"{{{BPMN_NS}}}{tag}"):
                element_id = element.get("id")
                if element_id:
                    task = user_task_model(
                        element_id,
                        element,
                        _AGENCIES,
                        lanes,
                        name=element.get("name"),
                        documentation=element.findtext(f"{{{BPMN_NS}}}documentation"),
                    )
                    findings += task_findings(task, source.name, element, check)
    return settled(findings, strict=strict)
