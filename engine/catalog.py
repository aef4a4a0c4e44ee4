"""Parse, validate and compile a deployment (a set of BPMN/DMN files) into SpiffWorkflow specs, cached by content hash.

``compile_deployment`` either returns a :class:`Deployment` whose every executable process has a spec, its subprocess
specs and the model of each human task, or raises one :class:`~engine.errors.InvalidDefinition` (``UnsafeXml`` when a
file is hostile) listing every problem found. Steps: safe XML parsing (engine.xmlsafe); XSD and reference checks
(engine.catalog_structure); every expression compiled with the sandbox checker and ISO timers made runnable
(engine.catalog_expressions); SpiffWorkflow parsing; human-task candidates resolved against the agency registry.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.agencies import AgencyRegistry
from engine.catalog_expressions import Check, Mode, check_expressions
from engine.catalog_structure import CAMUNDA_NS, NSMAP, Document, Problem, check_documents, problem, read_documents
from engine.errors import InvalidDefinition, UnsafeXml
from engine.xmlsafe import DEFAULT_MAX_BYTES

__all__ = [
    "Check", "Deployment", "DeploymentCache", "Mode", "ProcessModel", "SourceFile", "UserTaskModel",
    "compile_deployment", "content_hash",
]

@dataclass(frozen=True)
class SourceFile:
    name: str
    content: bytes


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
    due_date: str | None  # camunda:dueDate raw text
    form_key: str | None  # camunda:formKey


@dataclass(frozen=True)
class ProcessModel:
    key: str  # executable process id
    name: str | None
    spec: Any = field(compare=False)  # BpmnProcessSpec
    subprocess_specs: dict[str, Any] = field(compare=False)
    user_tasks: Mapping[str, UserTaskModel] = field(compare=False)  # by element id, subprocesses included
    start_message_names: tuple[str, ...]
    documentation: str | None


@dataclass(frozen=True)
class Deployment:
    content_hash: str  # sha256 hex over sorted (name, content) of all files
    files: tuple[SourceFile, ...]  # sorted by name
    processes: tuple[ProcessModel, ...]  # every executable process in the BPMN files

    def process(self, key: str) -> ProcessModel | None:
        return next((model for model in self.processes if model.key == key), None)


def content_hash(files: Sequence[SourceFile]) -> str:
    """SHA-256 over the files sorted by name, each name and content length-prefixed: independent of order."""
    digest = hashlib.sha256()
    for source in sorted(files, key=lambda f: (f.name, f.content)):
        name = source.name.encode("utf-8", "surrogatepass")
        for part in (name, source.content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


MAX_PROBLEMS = 200  # listed in one error; the rest are counted


def _raise(problems: list[Problem], *, unsafe: bool = False) -> None:
    problems = sorted(problems, key=lambda found: (found["file"], found.get("line") or 0))
    if len(problems) > MAX_PROBLEMS:
        hidden = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], problem("", f"{hidden} more problems not listed",
                                                      f"còn {hidden} lỗi khác không liệt kê")]
    first = problems[0]
    where = f"{first['file']}" + (f" ({first['element_id']})" if first.get("element_id") else "")
    others = len(problems) - 1
    more, more_vi = (f" and {others} more", f" và {others} lỗi khác") if others else ("", "")
    error = UnsafeXml if unsafe else InvalidDefinition
    raise error(f"the process definition cannot be deployed: {where}: {first['reason']}{more}",
                detail_vi=f"không thể triển khai quy trình: {where}: {first['reason_vi']}{more_vi}", problems=problems)


def _executable_process_ids(documents: Sequence[Document]) -> list[tuple[str, Document]]:
    processes = [(element, document) for document in documents if document.kind == "bpmn"
                 for element in document.root.iterfind("bpmn:process", NSMAP)]
    marked = [(p.get("id"), d) for p, d in processes if p.get("isExecutable") == "true"]
    # None marked: every process, except those marked "false" (SpiffWorkflow cannot build a spec for them).
    return marked or [(p.get("id"), d) for p, d in processes if p.get("isExecutable") is None]


def _spiff_problem(exc: Exception, documents: Mapping[str, Document], fallback_file: str) -> Problem:
    """A SpiffWorkflow failure as a problem; the line is looked up by element id (ValidationException has none)."""
    spiff = isinstance(exc, ValidationException)
    named_file = getattr(exc, "file_name", None)
    file: str = named_file if spiff and isinstance(named_file, str) and named_file in documents else fallback_file
    element_id = (getattr(exc, "id", "") or None) if spiff else None
    message = (str(exc.args[0]) if exc.args else str(exc)) if spiff else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, RecursionError) or "RecursionError" in message:  # each outgoing flow is parsed recursively
        return problem(file, "the process is too long for SpiffWorkflow's recursive parser (a chain of about 480 "
                             "elements or more): split it into call activities",
                       "quy trình quá dài cho bộ phân tích của SpiffWorkflow (chuỗi khoảng 480 phần tử trở lên): "
                       "hãy tách thành các quy trình con (call activity)", element_id=element_id)
    if not spiff:  # KeyError, AttributeError, TypeError... from a parser bug
        return problem(file, f"SpiffWorkflow could not parse this file ({message})",
                       f"SpiffWorkflow không đọc được tệp này ({message})")
    element = documents[file].ids.get(element_id) if element_id and file in documents else None
    line = getattr(exc, "line_number", None)
    line = line if isinstance(line, int) and line > 0 else None
    return problem(file, message, f"lỗi cấu trúc quy trình: {message}", element=element, element_id=element_id,
                   line=line)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))


def _user_task(task_spec: Any, element: Any, agencies: AgencyRegistry) -> UserTaskModel:
    def camunda(attribute: str) -> str | None:
        value = element.get(f"{{{CAMUNDA_NS}}}{attribute}") if element is not None else None
        return (value.strip() or None) if value is not None else None

    lane = task_spec.lane
    resolved = agencies.resolve(lane)
    agency = resolved.code if resolved else None
    groups = []
    for group in _split(camunda("candidateGroups")):
        named = agencies.resolve(group)
        groups.append(named.code if named else group)
    users, assignee = _split(camunda("candidateUsers")), camunda("assignee")
    if not groups and not users and assignee is None and agency is not None:
        groups = [agency]
    return UserTaskModel(
        element_id=task_spec.bpmn_id, name=task_spec.bpmn_name or task_spec.bpmn_id, lane=lane, agency=agency,
        candidate_groups=tuple(dict.fromkeys(groups)), candidate_users=users, assignee=assignee,
        documentation=task_spec.documentation, due_date=camunda("dueDate"), form_key=camunda("formKey"),
    )


def _human_tasks(key: str, specs: Sequence[Any], documents: Mapping[str, Document], agencies: AgencyRegistry,
                 ) -> tuple[dict[str, UserTaskModel], list[Problem]]:
    tasks: dict[str, UserTaskModel] = {}
    owners: dict[str, str] = {}
    problems: list[Problem] = []
    for spec in specs:
        document = documents.get(spec.file)
        for task_spec in spec.task_specs.values():
            if not getattr(task_spec, "manual", False):  # userTask, manualTask, and an untyped bpmn:task
                continue
            element = document.ids.get(task_spec.bpmn_id) if document else None
            file = spec.file or ""
            model = _user_task(task_spec, element, agencies)
            if owners.setdefault(model.element_id, spec.name) != spec.name:
                problems.append(problem(file, f"human task id {model.element_id!r} is used in both "
                                              f"{owners[model.element_id]!r} and {spec.name!r}, reachable from {key!r}",
                                        f"mã công việc {model.element_id!r} bị dùng ở cả {owners[model.element_id]!r} "
                                        f"và {spec.name!r} trong quy trình {key!r}", element=element))
            if not model.candidate_groups and not model.candidate_users and model.assignee is None:
                lane_en = f"in lane {model.lane!r}" if model.lane else "outside any lane"
                lane_vi = f"trong làn {model.lane!r}" if model.lane else "không thuộc làn nào"
                problems.append(problem(
                    file, f"no one can act on task {model.element_id} {lane_en}: the lane names no known agency "
                          "and the task has no camunda:candidateGroups, camunda:candidateUsers or camunda:assignee",
                    f"không ai có thể xử lý công việc {model.element_id} {lane_vi}: tên làn không khớp cơ quan nào và "
                    "công việc không khai báo camunda:candidateGroups, camunda:candidateUsers hoặc camunda:assignee",
                    element=element, element_id=model.element_id, lane=model.lane))
            tasks[model.element_id] = model
    return tasks, problems


def _start_messages(spec: Any) -> tuple[str, ...]:
    names: list[str] = []
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent):
            definition = task_spec.event_definition
            nested = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
            names += [d.name for d in nested if isinstance(d, MessageEventDefinition) and d.name]
    return tuple(dict.fromkeys(names))


def _build_processes(documents: Sequence[Document], agencies: AgencyRegistry,
                     ) -> tuple[list[ProcessModel], list[Problem]]:
    by_name = {document.name: document for document in documents}
    parser = SpiffBpmnParser(validator=None)  # validated already, against VALIDATOR's schema, collecting all errors
    problems: list[Problem] = []
    for document in documents:
        try:
            if document.kind == "bpmn":
                parser.add_bpmn_xml(document.tree, filename=document.name)
            else:
                parser.add_dmn_xml(document.root, filename=document.name)
        except Exception as exc:  # ValidationException, or the KeyError/AttributeError of a 3.2.0 parser bug
            problems.append(_spiff_problem(exc, by_name, document.name))
    if problems:
        return [], problems
    models: list[ProcessModel] = []
    for key, document in _executable_process_ids(documents):
        element = document.ids.get(key)
        try:
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
        except Exception as exc:
            found = _spiff_problem(exc, by_name, document.name)
            if found["element_id"] is None:
                found.update(element_id=key, line=element.sourceline if element is not None else None)
            problems.append(found)
            continue
        tasks, task_problems = _human_tasks(key, [spec, *subprocess_specs.values()], by_name, agencies)
        problems += task_problems
        models.append(ProcessModel(
            key=key, name=element.get("name") if element is not None else None, spec=spec,
            subprocess_specs=subprocess_specs, user_tasks=MappingProxyType(tasks),
            start_message_names=_start_messages(spec),
            documentation=element.findtext("bpmn:documentation", None, NSMAP) if element is not None else None,
        ))
    if not models and not problems:
        problems.append(problem(documents[0].name if documents else "", "the deployment has no executable process",
                                "gói triển khai không có quy trình thực thi được (isExecutable)"))
    return models, problems


def compile_deployment(files: Sequence[SourceFile], *, agencies: AgencyRegistry, check: Check,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> Deployment:
    """Parse, validate and compile ``files``; raise one InvalidDefinition (or UnsafeXml) listing every problem."""
    ordered = tuple(sorted(files, key=lambda f: (f.name, f.content)))
    documents, problems, unsafe = read_documents(ordered, max_bytes)
    if problems:
        _raise(problems, unsafe=unsafe)
    problems = check_documents(documents)
    if problems:  # SpiffWorkflow's own messages on a schema-invalid file would only mislead
        _raise(problems)
    problems = check_expressions(documents, check)
    models, spiff_problems = _build_processes(documents, agencies)
    reported = {(p["file"], p["element_id"]) for p in problems}
    problems += [p for p in spiff_problems if p["element_id"] is None or (p["file"], p["element_id"]) not in reported]
    if problems:
        _raise(problems)
    return Deployment(content_hash=content_hash(ordered), files=ordered, processes=tuple(models))


class DeploymentCache:
    """A thread-safe LRU of compiled deployments keyed by content hash: every instance of a version shares its specs.

    The key is the content alone, so one cache should serve one (agencies, check) configuration.
    """

    def __init__(self, max_entries: int = 64) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: OrderedDict[str, Deployment] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Deployment | None:
        with self._lock:
            deployment = self._entries.get(key)
            if deployment is not None:
                self._entries.move_to_end(key)
            return deployment

    def get_or_compile(self, files: Sequence[SourceFile], *, agencies: AgencyRegistry, check: Check,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> Deployment:
        key = content_hash(files)
        cached = self.get(key)
        if cached is not None:
            return cached
        # Compiled outside the lock: two threads may both compile a new version; the first one stored wins.
        deployment = compile_deployment(files, agencies=agencies, check=check, max_bytes=max_bytes)
        with self._lock:
            stored = self._entries.setdefault(key, deployment)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
            return stored

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
