"""Best-effort check, before moving an instance to another version: does the path ahead need a variable it lacks?

From each element the instance waits at, the target version's elements ahead are walked. Each one that evaluates an
expression when reached - a gateway's outgoing conditions, a timer, a user task's ``camunda:dueDate`` - and each user
task naming its agency by a variable (``candidateGroupsVariable``) needs names. A name is fine when the instance has
it, when it is a data object or a function of the sandbox, or when a step between the waiting element and the one
that needs it provides it: a user task's form declares it, a script assigns it, a decision table outputs it. Steps
whose output cannot be known (a message, a subprocess, an external task, a user task without a form) may provide
anything, so nothing after them is reported.

Expressions are read with Python's ``ast`` (names loaded, minus those bound inside the expression and those called
as functions); scripts are not checked, only read for what they assign.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.control import EventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.specs.StartTask import StartTask

from phoihop.engine.definitions.catalog import ProcessModel
from phoihop.engine.execution.script_functions import FUNCTIONS
from phoihop.engine.instance_migration.tree import Finding, element_of
from phoihop.engine.variables import due_at_for

__all__ = ["expression_names", "missing_variables"]

ANYTHING = "*"  # a step that may provide any variable
_KNOWN = frozenset(dir(builtins)) | frozenset(FUNCTIONS)


def expression_names(text: str) -> set[str]:
    """Variables a Python expression reads (empty when it does not parse: deploy already compiled it)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return set()
    loaded: set[str] = set()
    bound: set[str] = set()
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called.add(node.func.id)
    return loaded - bound - called - _KNOWN


def _assigned(script: str) -> set[str]:
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return {ANYTHING}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _schema_properties(schema: Any, depth: int = 0) -> Iterator[str]:
    if not isinstance(schema, Mapping) or depth > 20:
        return
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        yield from (k for k in properties if isinstance(k, str))
    for keyword in ("allOf", "anyOf", "oneOf"):
        for member in schema.get(keyword) or []:
            yield from _schema_properties(member, depth + 1)
    for keyword in ("then", "else"):
        yield from _schema_properties(schema.get(keyword), depth + 1)


def _provides(spec: TaskSpec, model: ProcessModel) -> set[str]:
    if getattr(spec, "manual", False):
        task = model.user_tasks.get(element_of(spec))
        form = model.forms.get(task.form_key or "") if task is not None else None
        return set(_schema_properties(form.schema)) if form is not None else {ANYTHING}
    if isinstance(spec, ScriptTask):
        return _assigned(str(getattr(spec, "script", "") or ""))
    if isinstance(spec, BusinessRuleTaskMixin):
        table = getattr(getattr(spec, "dmnEngine", None), "decision_table", None)
        names = {getattr(o, "name", None) for o in getattr(table, "outputs", None) or []}
        return {n for n in names if isinstance(n, str)} or {ANYTHING}
    if isinstance(spec, CatchingEvent):
        quiet = isinstance(spec.event_definition, NoneEventDefinition | TimerEventDefinition)
        return set() if quiet else {ANYTHING}
    if isinstance(spec, ThrowingEvent | MultiChoice | EventSplit | Join | StartTask) or type(spec).__name__ in (
        "SimpleBpmnTask",
        "ParallelGateway",
        "EventBasedGateway",
    ):
        return set()
    return {ANYTHING}  # service and external tasks, subprocesses, receive tasks...


def _needs(spec: TaskSpec, model: ProcessModel) -> Iterator[tuple[str, str, str, set[str]]]:
    """(what, what_vi, expression, names) for each expression evaluated when ``spec`` is reached."""
    for condition, output in getattr(spec, "cond_task_specs", None) or []:
        args = getattr(condition, "args", None)
        if args and isinstance(args[0], str):
            yield (
                f"the condition towards {output}",
                f"điều kiện rẽ nhánh sang {output}",
                args[0],
                expression_names(args[0]),
            )
    definition = getattr(spec, "event_definition", None)
    expression = getattr(definition, "expression", None)
    if isinstance(definition, TimerEventDefinition) and isinstance(expression, str):
        yield "the timer", "hẹn giờ", expression, expression_names(expression)
    task = model.user_tasks.get(element_of(spec)) if getattr(spec, "manual", False) else None
    if task is not None and task.due_date and _is_expression(task.due_date):
        yield "the due date", "hạn xử lý", task.due_date, expression_names(task.due_date)
    if task is not None and task.candidate_groups_variable:
        name = task.candidate_groups_variable
        yield "the agency that acts on it", "cơ quan xử lý", name, {name}


def _is_expression(text: str) -> bool:
    try:
        return due_at_for(text, datetime(2000, 1, 1, tzinfo=UTC)) is None
    except Exception:  # an unparsable literal is read as an expression
        return True


def _reach(starts: Iterable[TaskSpec], step: str) -> set[str]:
    seen: set[str] = set()
    pending = list(starts)
    while pending:
        spec = pending.pop()
        for following in getattr(spec, step):
            if following.name not in seen:
                seen.add(following.name)
                pending.append(following)
    return seen


def missing_variables(model: ProcessModel, waiting: Iterable[str], variables: Mapping[str, Any]) -> list[Finding]:
    """Findings ``variable-missing`` for the elements ahead of ``waiting`` (target spec names) in ``model``."""
    specs = model.spec.task_specs
    starts = [specs[name] for name in dict.fromkeys(waiting) if name in specs]
    ahead = _reach(starts, "outputs")
    start_names = {s.name for s in starts}
    known = set(variables) | set(getattr(model.spec, "data_objects", {}) or {})
    findings: list[Finding] = []
    reported: set[tuple[str, str]] = set()
    for name in sorted(ahead - start_names):
        spec = specs[name]
        needs = list(_needs(spec, model))
        if not needs:
            continue
        before = (_reach([spec], "inputs") & (ahead | start_names)) - {name}
        provided: set[str] = set()
        for provider in before:
            provided |= _provides(specs[provider], model)
        if ANYTHING in provided:
            continue
        element = element_of(spec)
        for what, what_vi, expression, names in needs:
            for variable in sorted(names - known - provided):
                if (element, variable) in reported:
                    continue
                reported.add((element, variable))
                findings.append(
                    Finding(
                        "variable-missing",
                        element,
                        f"{what} of {element} ({expression}) needs variable {variable!r}, which the instance does not "
                        "have and no step before it provides",
                        f"{what_vi} của {element} ({expression}) cần biến {variable!r} mà hồ sơ chưa có và không bước "
                        "nào trước đó cung cấp",
                    )
                )
    return findings
