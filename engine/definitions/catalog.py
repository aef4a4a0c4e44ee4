"""Parse, validate and compile a deployment (BPMN/DMN and form files) into SpiffWorkflow specs, cached by content hash.

``compile_deployment`` either returns a :class:`Deployment` whose every executable process has a spec, its subprocess
specs and the model of each human task, or raises one :class:`~engine.errors.InvalidDefinition` (``UnsafeXml`` when a
file is hostile) listing every problem found. Steps: safe XML parsing (engine.definitions.xmlsafe); XSD and reference
checks (engine.definitions.structure); every expression compiled with the sandbox checker and ISO timers made runnable
(engine.definitions.expressions); ``*.form.json`` forms compiled (engine.definitions.forms) and every camunda:formKey
naming one checked; Camunda 7 constructs (JUEL, formData, decisionRef, input/output) rewritten for the Spiff parser
(engine.definitions.camunda.dialect); SpiffWorkflow parsing; human-task candidates resolved against the agency registry
(engine.definitions.human_tasks).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.definitions.camunda.attributes import camunda_properties
from phoihop.engine.definitions.camunda.dialect import translate_camunda
from phoihop.engine.definitions.consultations import TacitConsent, tacit_consents
from phoihop.engine.definitions.dmn.tables import split_decisions
from phoihop.engine.definitions.end_commands import EndCommand, end_commands
from phoihop.engine.definitions.expressions import Check, check_expressions
from phoihop.engine.definitions.forms.files import (
    PATTERN_CODE,
    START_FORM,
    Form,
    compile_forms,
    is_camunda_form_file,
    is_form_file,
)
from phoihop.engine.definitions.human_tasks import UserTaskModel, human_task_models
from phoihop.engine.definitions.loops import check_loops
from phoihop.engine.definitions.spiff_messages import spiff_problem
from phoihop.engine.definitions.structure import (
    BPMN_SUFFIXES,
    CAMUNDA_NS,
    DMN_SUFFIXES,
    NSMAP,
    Document,
    check_documents,
    decision_ids,
    problem,
    read_documents,
)
from phoihop.engine.definitions.xmlsafe import DEFAULT_MAX_BYTES, to_utf8
from phoihop.engine.errors import InvalidDefinition, UnsafeXml
from phoihop.engine.execution.external_task_spec import PhoihopBpmnParser
from phoihop.engine.model import Problem, SourceFile

__all__ = [
    "Deployment",
    "DeploymentCache",
    "ProcessModel",
    "StartTimer",
    "compile_deployment",
    "content_hash",
]


@dataclass(frozen=True)
class StartTimer:
    """A none-less start event with a timer: ``kind`` is timeDate, timeDuration or timeCycle, ``text`` its ISO value."""

    element_id: str
    kind: str
    text: str


@dataclass(frozen=True)
class ProcessModel:
    key: str  # executable process id
    name: str | None
    spec: Any = field(compare=False)  # BpmnProcessSpec
    subprocess_specs: dict[str, Any] = field(compare=False)
    user_tasks: Mapping[str, UserTaskModel] = field(compare=False)  # by element id, subprocesses included
    start_message_names: tuple[str, ...]
    documentation: str | None
    properties: Mapping[str, str] = field(default_factory=dict, compare=False)  # process-level camunda:properties
    start_timer: StartTimer | None = None  # a timer start event: the scheduler starts an instance at each due time
    start_form: Form | None = field(default=None, compare=False)  # what the integrator sends (engine.definitions.forms)
    forms: Mapping[str, Form] = field(default_factory=dict, compare=False)  # the deployment's forms, by file name
    initiator_variable: str | None = None  # camunda:initiator of the start event: the starter's id is stored in it
    # engine commands run when an end event is reached, by element id (engine.definitions.end_commands)
    end_commands: Mapping[str, EndCommand] = field(default_factory=dict, compare=False)
    # interrupting boundary timers "<task>_tacit_consent", by element id (engine.definitions.consultations)
    tacit_consents: Mapping[str, TacitConsent] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Deployment:
    content_hash: str  # sha256 hex over sorted (name, content) of all files
    files: tuple[SourceFile, ...]  # sorted by name
    processes: tuple[ProcessModel, ...]  # every executable process in the BPMN files
    # the decision ids of the DMN files (engine.commands.decisions); alone they deploy too
    decisions: tuple[str, ...] = ()

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
        problems = [
            *problems[:MAX_PROBLEMS],
            problem("", f"{hidden} more problems not listed", f"còn {hidden} lỗi khác không liệt kê"),
        ]
    first = problems[0]
    where = f"{first['file']}" + (f" ({first['element_id']})" if first.get("element_id") else "")
    others = len(problems) - 1
    more, more_vi = (f" and {others} more", f" và {others} lỗi khác") if others else ("", "")
    error = UnsafeXml if unsafe else InvalidDefinition
    raise error(
        f"the process definition cannot be deployed: {where}: {first['reason']}{more}",
        detail_vi=f"không thể triển khai quy trình: {where}: {first['reason_vi']}{more_vi}",
        problems=problems,
    )


def _executable_process_ids(documents: Sequence[Document]) -> list[tuple[str, Document]]:
    processes = [
        (element, document)
        for document in documents
        if document.kind == "bpmn"
        for element in document.root.iterfind("bpmn:process", NSMAP)
    ]
    marked = [(p.get("id"), d) for p, d in processes if p.get("isExecutable") == "true"]
    # None marked: every process, except those marked "false" (SpiffWorkflow cannot build a spec for them).
    return marked or [(p.get("id"), d) for p, d in processes if p.get("isExecutable") is None]


def _start_messages(spec: Any) -> tuple[str, ...]:
    names: list[str] = []
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent):
            definition = task_spec.event_definition
            nested = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
            names += [d.name for d in nested if isinstance(d, MessageEventDefinition) and d.name]
    return tuple(dict.fromkeys(names))


def _initiator(process: Any) -> str | None:
    """The variable camunda:initiator of a start event of ``process`` names (Camunda stores the starter's id in it)."""
    for start in process.iterfind("bpmn:startEvent", NSMAP) if process is not None else ():
        name = (start.get(f"{{{CAMUNDA_NS}}}initiator") or "").strip()
        if name:
            return name
    return None


def _start_timer(spec: Any, document: Document | None) -> StartTimer | None:
    """The timer of the top-level start event, read from the XML (SpiffWorkflow keeps only the evaluated form)."""
    for task_spec in spec.task_specs.values():
        if not isinstance(task_spec, StartEvent) or document is None:
            continue
        element = document.ids.get(task_spec.bpmn_id)
        timer = element.find("bpmn:timerEventDefinition", NSMAP) if element is not None else None
        if timer is None:
            continue
        for kind in ("timeCycle", "timeDate", "timeDuration"):
            text = timer.findtext(f"bpmn:{kind}", None, NSMAP)
            if text is not None:
                return StartTimer(task_spec.bpmn_id, kind, text.strip().strip("'\""))
    return None


def _build_processes(
    documents: Sequence[Document],
    agencies: AgencyRegistry,
) -> tuple[list[ProcessModel], list[Problem]]:
    by_name = {document.name: document for document in documents}
    # SpiffWorkflow's Spiff dialect plus Camunda external tasks (engine.execution.external_task_spec); validated
    # already against VALIDATOR's schema, collecting all errors
    parser = PhoihopBpmnParser(validator=None)
    problems: list[Problem] = []
    for document in documents:
        try:
            if document.kind == "bpmn":
                parser.add_bpmn_xml(document.tree, filename=document.name)
            else:
                # one document per decision (engine.definitions.dmn.tables)
                for _, single in split_decisions(document.root):
                    parser.add_dmn_xml(single, filename=document.name)
        except Exception as exc:  # ValidationException, or the KeyError/AttributeError of a 3.2.0 parser bug
            problems.append(spiff_problem(exc, by_name, document.name))
    if problems:
        return [], problems
    models: list[ProcessModel] = []
    for key, document in _executable_process_ids(documents):
        element = document.ids.get(key)
        try:
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
        except Exception as exc:
            found = spiff_problem(exc, by_name, document.name)
            if found["element_id"] is None:
                found.update(element_id=key, line=element.sourceline if element is not None else None)
            problems.append(found)
            continue
        tasks, task_problems = human_task_models(key, [spec, *subprocess_specs.values()], by_name, agencies)
        problems += task_problems
        commands, command_problems = end_commands(element, document.name)
        problems += command_problems
        consents = tacit_consents([spec, *subprocess_specs.values()], by_name, tasks, agencies)
        models.append(
            ProcessModel(
                key=key,
                name=element.get("name") if element is not None else None,
                spec=spec,
                subprocess_specs=subprocess_specs,
                user_tasks=MappingProxyType(tasks),
                start_message_names=_start_messages(spec),
                documentation=element.findtext("bpmn:documentation", None, NSMAP) if element is not None else None,
                properties=MappingProxyType(camunda_properties(element)),
                start_timer=_start_timer(spec, document),
                initiator_variable=_initiator(element),
                end_commands=MappingProxyType(commands),
                tacit_consents=MappingProxyType(consents),
            )
        )
    if not models and not problems and (not decision_ids(documents) or any(d.kind == "bpmn" for d in documents)):
        marked = [p for d in documents if d.kind == "bpmn" for p in d.root.iterfind("bpmn:process", NSMAP)]
        hint, hint_vi = (
            (
                ' (isExecutable="false", as bpmn.io saves a new diagram: set isExecutable="true")',
                ' (isExecutable="false" như bpmn.io lưu sơ đồ mới: hãy đặt isExecutable="true")',
            )
            if marked
            else ("", "")
        )
        problems.append(
            problem(
                documents[0].name if documents else "",
                f"the deployment has no executable process{hint}",
                f"gói triển khai không có quy trình thực thi được (isExecutable){hint_vi}",
                element=marked[0] if marked else None,
            )
        )
    return models, problems


def compile_deployment(
    files: Sequence[SourceFile], *, agencies: AgencyRegistry, check: Check, max_bytes: int = DEFAULT_MAX_BYTES
) -> Deployment:
    """Parse, validate and compile ``files``; raise one InvalidDefinition (or UnsafeXml) listing every problem.
    BPMN and DMN files in another encoding than UTF-8 are kept (``Deployment.files``) converted to UTF-8."""
    ordered = tuple(sorted((_in_utf8(f, max_bytes) for f in files), key=lambda f: (f.name, f.content)))
    documents, problems, unsafe = read_documents(ordered, max_bytes)
    if unsafe:
        _raise(problems, unsafe=True)
    problems += check_documents(documents)  # the files that could be read, even when another one could not
    if problems:  # SpiffWorkflow's own messages on a schema-invalid file would only mislead
        _raise(problems)
    problems = [found for document in documents if document.kind == "bpmn" for found in check_loops(document)]
    if problems:  # SpiffWorkflow's parser and every instance start would recurse without end
        _raise(problems)
    camunda_forms = {f.name: f.content for f in ordered if is_camunda_form_file(f.name)}
    camunda = translate_camunda(documents, camunda_forms)  # Camunda 7 constructs rewritten (JUEL, formData, forms...)
    problems = camunda.problems + check_expressions(documents, check)
    forms, form_problems = compile_forms((f.name, f.content) for f in ordered)
    problems += _named_by_users(form_problems, documents)
    problems += _form_key_problems(documents, {f.name for f in ordered if is_form_file(f.name)})
    forms.update(camunda.forms)
    models, spiff_problems = _build_processes(documents, agencies)
    reported = {(p["file"], p["element_id"]) for p in problems}
    problems += [p for p in spiff_problems if p["element_id"] is None or (p["file"], p["element_id"]) not in reported]
    if problems:
        _raise(problems)
    return Deployment(
        content_hash=content_hash(ordered),
        files=ordered,
        decisions=tuple(decision_ids(documents)),
        processes=_with_forms(models, documents, forms),
    )


def _in_utf8(source: SourceFile, max_bytes: int) -> SourceFile:
    """A BPMN/DMN file declaring another encoding (ISO-8859-1, UTF-16...) as UTF-8, as the store keeps files; one that
    is not text in its encoding stays as it is, for read_documents to report."""
    if not source.name.lower().endswith(BPMN_SUFFIXES + DMN_SUFFIXES) or len(source.content) > max_bytes:
        return source
    try:
        content = to_utf8(source.content, filename=source.name)
    except UnsafeXml:
        return source
    return source if content is source.content else replace(source, content=content)


# --- forms ----------------------------------------------------------------------------------------------------------
_FORM_KEY = f"{{{CAMUNDA_NS}}}formKey"


def _form_key_problems(documents: Sequence[Document], form_files: set[str]) -> list[Problem]:
    """A camunda:formKey naming a ``*.form.json`` (user task or start event) must name a file of the deployment."""
    problems: list[Problem] = []
    for document in documents:
        if document.kind != "bpmn":
            continue
        for element in document.root.iter():
            key = (element.get(_FORM_KEY) or "").strip() if isinstance(element.tag, str) else ""
            if is_form_file(key) and key not in form_files:
                problems.append(
                    problem(
                        document.name,
                        f"camunda:formKey {key!r} names no form file of the deployment",
                        f"camunda:formKey {key!r} không trỏ tới tệp biểu mẫu nào trong gói triển khai",
                        element=element,
                    )
                )
    return problems


def _named_by_users(problems: list[Problem], documents: Sequence[Document]) -> list[Problem]:
    """A form's pattern problems (PATTERN_CODE) name the BPMN elements whose camunda:formKey uses the form (the
    executable processes for a ``start.form.json`` no element names): the owner sees where the field is filled in."""
    users: dict[str, list[str]] = {}
    for document in documents:
        for element in document.root.iter() if document.kind == "bpmn" else ():
            key = (element.get(_FORM_KEY) or "").strip() if isinstance(element.tag, str) else ""
            if key and element.get("id"):
                users.setdefault(key, []).append(element.get("id"))
    for found in problems:
        if found.get("code") != PATTERN_CODE:
            continue
        elements = users.get(found["file"]) or (
            [key for key, _ in _executable_process_ids(documents)] if found["file"] == START_FORM else []
        )
        if elements:
            listed = ", ".join(elements)
            found.update(
                element_id=elements[0],
                reason=f"{found['reason']} (used by {listed})",
                reason_vi=f"{found['reason_vi']} (dùng ở {listed})",
            )
    return problems


def _start_form(process: Any, forms: Mapping[str, Form], *, only_process: bool) -> Form | None:
    """The form named by the process's none start event, else ``start.form.json`` when it is the only process."""
    for start in process.iterfind("bpmn:startEvent", NSMAP) if process is not None else ():
        if any(isinstance(child.tag, str) and child.tag.endswith("EventDefinition") for child in start):
            continue  # a message, timer or signal start event: its data comes with the event
        key = (start.get(_FORM_KEY) or "").strip()
        if key:
            return forms.get(key)  # None for a formKey that is not a JSON form (an external form)
    return forms.get(START_FORM) if only_process else None


def _with_forms(
    models: Sequence[ProcessModel],
    documents: Sequence[Document],
    forms: Mapping[str, Form],
) -> tuple[ProcessModel, ...]:
    elements = {key: document.ids.get(key) for key, document in _executable_process_ids(documents)}
    shared = MappingProxyType(dict(forms))
    return tuple(
        replace(
            model, forms=shared, start_form=_start_form(elements.get(model.key), forms, only_process=len(models) == 1)
        )
        for model in models
    )


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

    def get_or_compile(
        self, files: Sequence[SourceFile], *, agencies: AgencyRegistry, check: Check, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> Deployment:
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
