"""``unset-variable``: a due date (``camunda:dueDate``) or a timer expression that names a variable nothing in the
deployment sets. Such a task or timer fails when it is reached (the timer's job runs out of retries into an incident),
so the owner hears of it at deploy instead.

What sets a variable: start and task form fields (the deployment's forms, ``camunda:formField``), names assigned in
scripts (script tasks, pre- and post-scripts), DMN outputs and result variables, message variables, data objects,
input/output parameters and the engine's own (``scheduled_at``, the dossier code...). The rule is conservative: a
name set anywhere in the deployment counts as set (not only by an earlier step), and a deployment where data can come
from where the lint cannot see (message payloads without a message variable, service and external tasks, call
activities, a script that does not parse) gets no finding at all.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from phoihop.engine.definitions.catalog import Deployment, ProcessModel
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.definitions.structure import BPMN_SUFFIXES, DMN_SUFFIXES, local_name
from phoihop.engine.dossier import CODE_VARIABLE, STATUS_VARIABLE
from phoihop.engine.model import Finding
from phoihop.engine.time.deadlines import APPOINTMENT_VARIABLE
from phoihop.engine.variables import due_at_for

__all__ = ["unset_variable_findings"]

ENGINE_VARIABLES = frozenset({CODE_VARIABLE, STATUS_VARIABLE, APPOINTMENT_VARIABLE, "scheduled_at"})
_SCRIPTS = frozenset({"script", "preScript", "postScript"})
_UNSEEN_SOURCES = frozenset({"serviceTask", "sendTask", "callActivity"})
_NAMED = frozenset(
    {
        "formField",
        "dataObject",
        "inputParameter",
        "outputParameter",
        "output",
        "inputData",
        "inputDataItem",
        "outputDataItem",
    }
)
_NAMING_TEXT = frozenset({"loopDataInputRef", "loopDataOutputRef"})
_MESSAGE_CATCHERS = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent"})
_BUILTINS = frozenset(dir(builtins))
_REFERENCE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # any moment: only whether a literal parses matters
_ISO_LIKE = re.compile(r"R\d*/\S+|P[0-9A-Z.,]*|\d{4}-?(?:W\d{2}|\d{2})\S*")  # invalid ISO: due-date-invalid says so


class _Unsure(Exception):
    """Data may come from where the lint cannot see."""


def _assigned(script: str) -> set[str]:
    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise _Unsure from None
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("globals", "locals"):
            raise _Unsure
    return names


def _form_fields(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for name, sub in properties.items():
                yield str(name)
                yield from _form_fields(sub)
        for value in schema.values():
            if isinstance(value, (dict, list)):
                yield from _form_fields(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _form_fields(item)


def _set_in_xml(root: Any) -> set[str]:
    """The names a BPMN or DMN tree sets; ``_Unsure`` when data may come from elsewhere."""
    names: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        kind = local_name(element)
        if kind in _UNSEEN_SOURCES or (kind == "receiveTask" and not _names_variable(element)):
            raise _Unsure
        if kind == "messageEventDefinition":
            parent = element.getparent()
            if parent is not None and local_name(parent) in _MESSAGE_CATCHERS and not _names_variable(element):
                raise _Unsure
        if kind in _SCRIPTS and (element.text or "").strip():
            names |= _assigned(element.text)
        elif kind in _NAMED:
            names.update(v for v in (element.get("id"), element.get("name")) if v)
        elif (kind.endswith("Variable") or kind in _NAMING_TEXT) and (element.text or "").strip():
            names.add(element.text.strip())
        names.update(value for attr, value in element.attrib.items() if str(attr).endswith("Variable") and value)
    return names


def _names_variable(element: Any) -> bool:
    return any(str(attr).endswith("Variable") for attr in element.attrib) or any(
        isinstance(child.tag, str) and local_name(child).endswith("Variable") for child in element.iter()
    )


def _read_names(expression: str) -> set[str]:
    """The variables an expression reads (names that are not called); empty when unsure (comprehensions, lambdas)."""
    text = expression.strip()
    if not text or _is_literal(text) or _ISO_LIKE.fullmatch(text):
        return set()
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return set()
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    if any(isinstance(n, (ast.Lambda, ast.comprehension, ast.NamedExpr)) for n in ast.walk(tree)):
        return set()
    return {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in called
    } - _BUILTINS


def _is_literal(text: str) -> bool:
    try:
        return due_at_for(text, _REFERENCE_TIME) is not None
    except Exception:  # whatever the ISO parsers raise: not a literal (another rule reports it)
        return False


def _timer_expressions(process: ProcessModel) -> Iterator[tuple[str, str, str]]:
    """(file, element id, expression) of every timer of a running instance (not the timer start event)."""
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            definitions = [getattr(task_spec, "event_definition", None)]
            definitions += list(getattr(definitions[0], "event_definitions", None) or [])
            for definition in definitions:
                expression = getattr(definition, "expression", None)
                if definition is None or not isinstance(expression, str) or "Timer" not in type(definition).__name__:
                    continue
                if process.start_timer is not None and task_spec.bpmn_id == process.start_timer.element_id:
                    continue
                yield spec.file or "", task_spec.bpmn_id, expression


LintUnsure = _Unsure  # raised by variables_set_in when data may come from where lint cannot see


def variables_set_in(trees: Mapping[str, Any]) -> set[str]:
    """Every variable the BPMN and DMN files of ``trees`` set outside forms, and the engine's own; ``LintUnsure``
    when data may come from where lint cannot see."""
    known = set(ENGINE_VARIABLES)
    for name, tree in trees.items():
        if name.lower().endswith(BPMN_SUFFIXES + DMN_SUFFIXES):
            known |= _set_in_xml(tree.getroot())
    return known


def unset_variable_findings(
    deployment: Deployment, trees: Mapping[str, Any], elements: Mapping[str, Mapping[str, Any]]
) -> list[Finding]:
    """Warnings for due dates and timers naming a variable nothing sets (``trees``: parsed BPMN and DMN files by
    name; ``elements``: each BPMN file's elements by id, for the finding's line)."""
    try:
        known = set(ENGINE_VARIABLES)
        for name, tree in trees.items():
            if name.lower().endswith(BPMN_SUFFIXES + DMN_SUFFIXES):
                known |= _set_in_xml(tree.getroot())
    except _Unsure:
        return []
    for process in deployment.processes:
        for form in process.forms.values():
            known.update(_form_fields(form.schema))
        if process.start_form is not None:
            known.update(_form_fields(process.start_form.schema))
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for process in deployment.processes:
        due_dates = ((t.element_id, t.due_date) for t in process.user_tasks.values() if t.due_date)
        file_of = _task_files(process)
        checks: Iterable[tuple[str, str, str, str]] = [
            (file_of.get(element_id, ""), element_id, text, "due") for element_id, text in due_dates
        ] + [(file, element_id, text, "timer") for file, element_id, text in _timer_expressions(process)]
        for file, element_id, text, what in checks:
            for variable in sorted(_read_names(text) - known):
                if (element_id, variable) in seen:
                    continue
                seen.add((element_id, variable))
                findings.append(_finding(file, elements.get(file, {}).get(element_id), element_id, variable, what))
    return findings


def _task_files(process: ProcessModel) -> dict[str, str]:
    files: dict[str, str] = {}
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            files.setdefault(task_spec.bpmn_id, spec.file or "")
    return files


def _finding(file: str, element: Any, element_id: str, variable: str, what: str) -> Finding:
    if what == "due":
        en_what, vi_what = "its camunda:dueDate", "thời hạn camunda:dueDate của công việc"
    else:
        en_what, vi_what = "its timer", "hẹn giờ"
    return finding_at(
        "unset-variable",
        "warning",
        file,
        element,
        element_id,
        f"{element_id}: {en_what} names the variable {variable!r}, which no form field, script, decision or message "
        "of the process sets; it fails when reached (a timer becomes an incident)",
        f"{element_id}: {vi_what} dùng biến {variable!r} nhưng không có trường biểu mẫu, kịch bản, bảng quyết định hay "
        "thông điệp nào của quy trình gán giá trị cho biến này; khi đến bước này sẽ lỗi (hẹn giờ thành sự cố)",
    )
