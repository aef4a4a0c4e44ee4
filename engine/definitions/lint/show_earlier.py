"""``show-earlier-unset``: a task form's ``"x-show-earlier"`` (the earlier answers its task screen shows read-only,
issue 10.3) names a field that no earlier step asks for: neither the process's start form nor the form of a human task
that comes before the task in the flow (inside a sub-process: before it, or before the sub-process). The officer would
see "Chưa có" for ever. ``show-earlier-invalid``: the key is not a list of field names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.definitions.forms.display import SHOW_EARLIER
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.definitions.lint.human_tasks import task_files
from phoihop.engine.definitions.lint.variables import LintUnsure, variables_set_in
from phoihop.engine.model import Finding

__all__ = ["show_earlier_findings"]


def form_field_names(schema: Mapping[str, Any]) -> set[str]:
    """The top-level fields of a form's JSON Schema."""
    properties = schema.get("properties")
    return {str(name) for name in properties} if isinstance(properties, Mapping) else set()


def _spec_graph(process: ProcessModel) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Element id → the element ids flowing into it (within its process or sub-process), and the id of the
    sub-process element that runs each sub-process spec."""
    into: dict[str, set[str]] = {}
    runs: dict[str, str] = {}
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None) or task_spec.name
            sources = into.setdefault(element, set())
            for before in task_spec.inputs:
                if before is not None:
                    sources.add(getattr(before, "bpmn_id", None) or before.name)
            called = getattr(task_spec, "spec", None)
            if isinstance(called, str):
                runs.setdefault(called, element)
    return into, runs


def _before(element_id: str, into: Mapping[str, set[str]], parent: Mapping[str, str]) -> set[str]:
    """Every element from which ``element_id`` can be reached (its sub-process's predecessors included)."""
    seen: set[str] = set()
    stack = [element_id]
    while stack:
        current = stack.pop()
        for source in into.get(current, ()):
            if source not in seen:
                seen.add(source)
                stack.append(source)
        outer = parent.get(current)
        if outer is not None and outer not in seen:
            seen.add(outer)
            stack.append(outer)
    return seen


def _parents(process: ProcessModel, runs: Mapping[str, str]) -> dict[str, str]:
    """Element id inside a sub-process → the sub-process element around it."""
    parent: dict[str, str] = {}
    for name, spec in process.subprocess_specs.items():
        outer = runs.get(name)
        if outer is None:
            continue
        for task_spec in spec.task_specs.values():
            parent.setdefault(getattr(task_spec, "bpmn_id", None) or task_spec.name, outer)
    return parent


def set_outside_forms(trees: Mapping[str, Any]) -> set[str] | None:
    """The variables the deployment's BPMN and DMN files set outside forms (scripts, decision outputs, result and
    collection variables, the engine's own), as the ``unset-variable`` lint reads them; None when data may come from
    where lint cannot see (a message payload, a call activity's output): then any name may be set."""
    try:
        return variables_set_in(trees)
    except LintUnsure:
        return None


def show_earlier_findings(
    processes: tuple[ProcessModel, ...],
    elements: Mapping[str, Mapping[str, Any]],
    trees: Mapping[str, Any] | None = None,
) -> Iterator[Finding]:
    """Findings for each ``x-show-earlier`` field of a task form that no earlier form asks for and nothing else in the
    deployment sets (a script, a decision, a message's variable: those are shown once the case has them)."""
    elsewhere = set_outside_forms(trees) if trees is not None else set()
    for process in processes:
        files = task_files(process)
        graph: tuple[dict[str, set[str]], dict[str, str]] | None = None
        start_fields = form_field_names(process.start_form.schema) if process.start_form is not None else set()
        for element_id, task in process.user_tasks.items():
            form = process.forms.get(task.form_key) if task.form_key else None
            if form is None or SHOW_EARLIER not in form.schema:
                continue
            file = files.get(element_id, "")
            element = elements.get(file, {}).get(element_id)
            shown = form.schema[SHOW_EARLIER]
            if not isinstance(shown, list) or not all(isinstance(name, str) for name in shown):
                yield finding_at(
                    "show-earlier-invalid",
                    "error",
                    file,
                    element,
                    element_id,
                    f"{element_id}: form {form.name}: {SHOW_EARLIER} must be a list of field names",
                    f"{element_id}: biểu mẫu {form.name}: {SHOW_EARLIER} phải là danh sách tên trường",
                )
                continue
            if graph is None:
                into, runs = _spec_graph(process)
                graph = into, _parents(process, runs)
            earlier = set(start_fields)
            for before in _before(element_id, *graph):
                other = process.user_tasks.get(before)
                other_form = process.forms.get(other.form_key) if other is not None and other.form_key else None
                if other_form is not None:
                    earlier.update(form_field_names(other_form.schema))
            for name in shown:
                if name in earlier or elsewhere is None or name in elsewhere:
                    continue
                yield finding_at(
                    "show-earlier-unset",
                    "warning",
                    file,
                    element,
                    element_id,
                    f"{element_id}: form {form.name} shows the earlier field {name!r} ({SHOW_EARLIER}), but neither "
                    "the start form nor the form of a step before it asks for that field",
                    f"{element_id}: biểu mẫu {form.name} hiển thị trường {name!r} của bước trước ({SHOW_EARLIER}), "
                    "nhưng cả biểu mẫu khởi tạo lẫn biểu mẫu của các bước trước đều không có trường này",
                )
