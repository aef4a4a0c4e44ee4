"""Camunda 7 files (as Camunda Modeler saves them) rewritten, at deploy, into what SpiffWorkflow's Spiff parser runs.

One dialect runs: the Spiff parser (``engine.execution.external_task_spec.PhoihopBpmnParser``), whose specs the
serializer, the sandbox and the external tasks are built on. SpiffWorkflow's own ``CamundaParser`` builds more specs
from Camunda files, but it cannot be mixed with the Spiff serializer, drops
``camunda:assignee``/``candidateGroups``/``dueDate``, raises ``KeyError`` on a business rule task without
``camunda:decisionRef`` and runs JUEL as Python just the same. So :func:`translate_camunda` rewrites the parsed trees
before the catalog compiles them (after the XSD and reference checks, before every expression is compiled by the
sandbox checker):

- JUEL (``${…}``, ``#{…}``, engine.definitions.camunda.juel) in sequence-flow and event conditions, loop expressions,
  timers, ``camunda:dueDate``, ``camunda:in sourceExpression`` and input/output parameters becomes the Python it means;
- ``camunda:candidateGroups="${var}"`` becomes the property ``candidateGroupsVariable`` (the agency code(s) read from
  ``var`` when the task is created); an expression in ``camunda:assignee`` or ``camunda:candidateUsers`` is refused;
- ``camunda:decisionRef`` becomes ``spiffworkflow:calledDecisionId``; ``camunda:resultVariable`` with
  ``camunda:mapDecisionResult`` (singleEntry, singleResult, collectEntries, resultList) becomes a post-script building
  that variable from the decision's outputs;
- ``camunda:inputOutput`` parameters (a literal text, or one ``${…}``) become pre-/post-script assignments, and
  ``camunda:in``/``camunda:out`` (``source``, ``sourceExpression``, ``target``) of a call activity likewise;
- ``camunda:formData`` becomes a JSON Schema form (engine.definitions.camunda.forms, engine.definitions.forms) named by
  the element's ``camunda:formKey``, or ``generated:<element id>`` when it has none;
- refused, each a problem naming the element and the text: JUEL outside the subset, FEEL (``=…``) and other
  Camunda 8 (``zeebe:``) extensions, scripts not in Python (``scriptFormat``), execution and task listeners, Java
  implementations (``camunda:class``, ``delegateExpression``, ``expression``, ``type``) on anything but a service task
  (engine.execution.external_task_spec judges those), cron timers, ``camunda:collection`` multi-instance.

Refused texts are replaced by a neutral one so the later checks do not report them twice (the deployment is refused
anyway). :func:`ignored_attributes` lists what is read but has no effect here, for the lint to warn about.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from phoihop.engine.definitions.camunda.forms import form_schema, is_variable
from phoihop.engine.definitions.camunda.juel import JuelRefused, is_juel, looks_like_juel, translate
from phoihop.engine.definitions.expressions import owner
from phoihop.engine.definitions.forms import Form, is_form_file, parse_form
from phoihop.engine.definitions.structure import BPMN_NS, CAMUNDA_NS, NSMAP, SPIFF_NS, Document, local_name, problem
from phoihop.engine.errors import InvalidDefinition
from phoihop.engine.model import Problem

__all__ = [
    "CODE_CAMUNDA",
    "CODE_FEEL",
    "CODE_JUEL",
    "GENERATED_FORM_PREFIX",
    "Dialect",
    "ignored_attributes",
    "translate_camunda",
]

CODE_JUEL = "juel-unsupported"
CODE_FEEL = "feel-unsupported"
CODE_CAMUNDA = "camunda-unsupported"
GENERATED_FORM_PREFIX = "generated:"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_C = f"{{{CAMUNDA_NS}}}"
_NEUTRAL = {
    "condition": "False",
    "value": "None",
    "timeDuration": "'PT1H'",
    "timeCycle": "'R1/PT1H'",
    "timeDate": "'2026-01-01T00:00:00+07:00'",
}
_CRON = re.compile(r"\S+(?:\s+\S+){4,6}")
_TASKS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
# (path, kind, English, Vietnamese): the BPMN elements whose text is an expression
_EXPRESSIONS: tuple[tuple[str, str, str, str], ...] = (
    (".//bpmn:sequenceFlow/bpmn:conditionExpression", "condition", "condition", "điều kiện"),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "condition", "event condition", "điều kiện sự kiện"),
    (
        ".//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality",
        "value",
        "multi-instance cardinality",
        "số lượng đa thực thể",
    ),
    (
        ".//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition",
        "condition",
        "multi-instance completion condition",
        "điều kiện hoàn thành đa thực thể",
    ),
    (".//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "condition", "loop condition", "điều kiện lặp"),
    (".//bpmn:timerEventDefinition/bpmn:timeDate", "timer", "timer timeDate", "bộ hẹn giờ timeDate"),
    (".//bpmn:timerEventDefinition/bpmn:timeDuration", "timer", "timer timeDuration", "bộ hẹn giờ timeDuration"),
    (".//bpmn:timerEventDefinition/bpmn:timeCycle", "timer", "timer timeCycle", "bộ hẹn giờ timeCycle"),
)


@dataclass
class Dialect:
    """What :func:`translate_camunda` found: problems, and the forms generated from ``camunda:formData``."""

    problems: list[Problem] = field(default_factory=list)
    forms: dict[str, Form] = field(default_factory=dict)


def _camunda(element: Any, name: str) -> str | None:
    value = element.get(_C + name)
    return value.strip() if value is not None and value.strip() else None


class _Rewriter:
    def __init__(self, document: Document, decisions: Mapping[str, Any]) -> None:
        self.document = document
        self.decisions = decisions
        self.result = Dialect()
        self._schemas: dict[str, tuple[str, dict[str, Any]]] = {}  # form name → (first element id, schema)

    def refuse(self, element: Any, en: str, vi: str, code: str = CODE_CAMUNDA, line: int | None = None) -> None:
        self.result.problems.append(problem(self.document.name, en, vi, element=element, line=line, code=code))

    # --- expressions ------------------------------------------------------------------------------------------------
    def python_of(self, text: str, element: Any, what: tuple[str, str], line: int | None = None) -> str | None:
        """The Python for an expression text written in Camunda (JUEL) or Python; None after reporting a refusal."""
        stripped = text.strip()
        if stripped.startswith("="):
            self.refuse(
                element,
                f"{what[0]} {stripped!r} is FEEL (Camunda 8), which this engine does not run: write "
                "a JUEL ${…} or Python expression",
                f"{what[1]} {stripped!r} là FEEL (Camunda 8), máy chủ này không chạy được: hãy viết biểu thức "
                "JUEL ${…} hoặc Python",
                CODE_FEEL,
                line,
            )
            return None
        if is_juel(stripped) or (looks_like_juel(stripped) and not _parses(stripped)):
            try:
                return translate(stripped).python
            except JuelRefused as exc:
                self.refuse(
                    element,
                    f"{what[0]} {stripped!r}: {exc.reason}",
                    f"{what[1]} {stripped!r}: {exc.reason_vi}",
                    CODE_JUEL,
                    line,
                )
                return None
        return text

    def expressions(self) -> None:
        for path, kind, what_en, what_vi in _EXPRESSIONS:
            for element in self.document.root.iterfind(path, NSMAP):
                text = element.text or ""
                target = owner(element)
                language = (element.get("language") or "").strip().lower()
                if language not in ("", "python", "juel") or element.get(_C + "resource") is not None:
                    shown = f"language {element.get('language')!r}" if language else "camunda:resource"
                    self.refuse(
                        target,
                        f"{what_en}: {shown} is not supported, only Python or JUEL ${{…}} "
                        "expressions written in the element",
                        f"{what_vi}: không hỗ trợ {shown}, chỉ dùng biểu thức Python hoặc JUEL ${{…}} viết "
                        "trong phần tử",
                        line=element.sourceline,
                    )
                    element.text = _neutral(kind, element)
                    continue
                if not text.strip():
                    continue
                if kind == "timer" and local_name(element) == "timeCycle" and _CRON.fullmatch(text.strip()):
                    self.refuse(
                        target,
                        f"{what_en} {text.strip()!r}: cron expressions are not supported, write an ISO "
                        "8601 repetition such as R3/PT1H",
                        f"{what_vi} {text.strip()!r}: không hỗ trợ biểu thức cron, hãy viết chu kỳ ISO 8601 "
                        "như R3/PT1H",
                        line=element.sourceline,
                    )
                    element.text = _neutral(kind, element)
                    continue
                python = self.python_of(text, target, (what_en, what_vi), element.sourceline)
                element.text = _neutral(kind, element) if python is None else python

    def scripts(self) -> None:
        for task in self.document.root.iterfind(".//bpmn:scriptTask", NSMAP):
            script_format = (task.get("scriptFormat") or "").strip()
            if script_format.lower() not in ("", "python"):
                self.refuse(
                    task,
                    f"script task {task.get('id')}: scriptFormat {script_format!r} is not supported, "
                    "scripts are Python",
                    f"công việc kịch bản {task.get('id')}: không hỗ trợ scriptFormat {script_format!r}, kịch "
                    "bản phải viết bằng Python",
                )
                _replace_script(task, "pass")
            for attribute in ("resource", "resultVariable"):
                if task.get(_C + attribute) is not None:
                    self.refuse(
                        task,
                        f"script task {task.get('id')}: camunda:{attribute} is not supported (write the "
                        "script in the task, assign variables in it)",
                        f"công việc kịch bản {task.get('id')}: không hỗ trợ camunda:{attribute} (viết kịch bản "
                        "ngay trong công việc và gán biến trong đó)",
                    )

    # --- unsupported extensions ---------------------------------------------------------------------------------
    def unsupported(self) -> None:
        root = self.document.root
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            zeebe_element = element.tag.startswith(f"{{{ZEEBE_NS}}}")
            if zeebe_element or any(a.startswith(f"{{{ZEEBE_NS}}}") for a in element.attrib):
                target = owner(element) if zeebe_element else element
                self.refuse(
                    target,
                    f"Camunda 8 (Zeebe) extension {_short(element.tag)} is not supported: save the "
                    "file for Camunda 7 (Camunda Platform) in Camunda Modeler",
                    f"không hỗ trợ phần mở rộng Camunda 8 (Zeebe) {_short(element.tag)}: hãy lưu tệp cho "
                    "Camunda 7 (Camunda Platform) trong Camunda Modeler",
                )
                continue
            name = local_name(element)
            if element.tag in (_C + "executionListener", _C + "taskListener"):
                self.refuse(
                    owner(element),
                    f"camunda:{name} runs Java or script code inside Camunda, which this "
                    "engine cannot do: remove it, or model the work as a script task or an "
                    "external task",
                    f"camunda:{name} chạy mã Java hoặc kịch bản bên trong Camunda, máy chủ này không làm được: "
                    "hãy bỏ đi, hoặc mô hình hóa bằng công việc kịch bản hay công việc bên ngoài",
                    line=element.sourceline,
                )
            elif element.tag.startswith(f"{{{BPMN_NS}}}") and name != "serviceTask":
                implemented = [
                    a for a in ("class", "delegateExpression", "expression", "type") if element.get(_C + a) is not None
                ]
                if implemented:
                    target = owner(element) if name.endswith("EventDefinition") else element
                    self.refuse(
                        target,
                        f"camunda:{implemented[0]} on a {name} runs Java code inside Camunda, which "
                        "this engine cannot do: only a service task can be an external task "
                        '(camunda:type="external")',
                        f"camunda:{implemented[0]} trên {name} là mã Java chạy trong Camunda, máy chủ này "
                        "không chạy được: chỉ công việc tự động (service task) mới là công việc bên ngoài "
                        '(camunda:type="external")',
                    )
            if name == "multiInstanceLoopCharacteristics" and element.get(_C + "collection") is not None:
                self.refuse(
                    owner(element),
                    "camunda:collection is not supported: give the collection with "
                    "bpmn:loopDataInputRef and the element with bpmn:inputDataItem",
                    "không hỗ trợ camunda:collection: hãy khai báo tập dữ liệu bằng bpmn:loopDataInputRef và "
                    "phần tử bằng bpmn:inputDataItem",
                    line=element.sourceline,
                )

    # --- human tasks ------------------------------------------------------------------------------------------------
    def human_tasks(self) -> None:
        for task in self.document.root.iterfind(".//bpmn:userTask", NSMAP):
            tid = task.get("id")
            due = _camunda(task, "dueDate")
            if due is not None and (due.startswith("=") or looks_like_juel(due)):
                python = self.python_of(due, task, ("camunda:dueDate", "thời hạn camunda:dueDate"))
                task.set(_C + "dueDate", python if python is not None else "P1D")
            for attribute in ("assignee", "candidateUsers"):
                value = _camunda(task, attribute)
                if value is not None and looks_like_juel(value):
                    self.refuse(
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
            groups = _camunda(task, "candidateGroups")
            if groups is not None and looks_like_juel(groups):
                self.groups_variable(task, groups)

    def groups_variable(self, task: Any, groups: str) -> None:
        tid = task.get("id")
        del task.attrib[_C + "candidateGroups"]
        try:
            variable = translate(groups).variable
        except JuelRefused as exc:
            self.refuse(
                task,
                f"task {tid}: camunda:candidateGroups {groups!r}: {exc.reason}",
                f"công việc {tid}: camunda:candidateGroups {groups!r}: {exc.reason_vi}",
                CODE_JUEL,
            )
            return
        if variable is None:
            self.refuse(
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
            self.refuse(
                task,
                f"task {tid}: camunda:candidateGroups {groups!r} and the property "
                "candidateGroupsVariable name different variables",
                f"công việc {tid}: camunda:candidateGroups {groups!r} và thuộc tính candidateGroupsVariable "
                "chỉ tới hai biến khác nhau",
                CODE_JUEL,
            )
            return
        if not existing:
            if properties is None:
                properties = _sub(_extensions(task), _C + "properties", task)
            _sub(properties, _C + "property", task, name="candidateGroupsVariable", value=variable)

    # --- decisions --------------------------------------------------------------------------------------------------
    def business_rules(self) -> None:
        for task in self.document.root.iterfind(".//bpmn:businessRuleTask", NSMAP):
            reference = _camunda(task, "decisionRef")
            spiff = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NSMAP)
            if reference is not None and spiff is None:
                _sub(_extensions(task), f"{{{SPIFF_NS}}}calledDecisionId", task).text = reference
            decision = reference if spiff is None else (spiff.text or "").strip()
            if decision is None:
                continue
            variable = _camunda(task, "resultVariable")
            if variable is not None and decision in self.decisions:
                script = self.decision_result(task, variable, self.decisions[decision])
                if script is not None:
                    _add_script(task, "postScript", script, first=False)

    def decision_result(self, task: Any, variable: str, decision: Any) -> str | None:
        tid = task.get("id")
        mapping = _camunda(task, "mapDecisionResult") or "resultList"
        namespace = decision.tag[1:].split("}", 1)[0]
        table = decision.find(f"{{{namespace}}}decisionTable")
        outputs = [
            (o.get("name") or o.get("label") or "").strip()
            for o in (table.findall(f"{{{namespace}}}output") if table is not None else [])
        ]
        bad = [o for o in outputs if not is_variable(o)] if outputs else ["(none)"]
        if not is_variable(variable) or bad:
            self.refuse(
                task,
                f"business rule task {tid}: camunda:resultVariable {variable!r} needs a variable name "
                f"and decision outputs named as variables (not {', '.join(bad or [variable])})",
                f"công việc quy tắc {tid}: camunda:resultVariable {variable!r} cần tên biến hợp lệ và các cột "
                f"đầu ra đặt tên như biến (không phải {', '.join(bad or [variable])})",
            )
            return None
        collect = (table.get("hitPolicy") or "UNIQUE").upper() == "COLLECT" if table is not None else False
        single = len(outputs) == 1
        row = "{" + ", ".join(f"{o!r}: {o}" for o in outputs) + "}"
        if mapping in ("singleEntry", "collectEntries") and not single:
            self.refuse(
                task,
                f"business rule task {tid}: camunda:mapDecisionResult={mapping!r} needs a decision with "
                f"one output, this one has {len(outputs)}",
                f"công việc quy tắc {tid}: camunda:mapDecisionResult={mapping!r} cần bảng quyết định có một "
                f"cột đầu ra, bảng này có {len(outputs)}",
            )
            return None
        if mapping == "singleEntry" or (mapping == "collectEntries" and collect):
            return f"{variable} = {outputs[0]}"
        if mapping == "collectEntries":
            return f"{variable} = [{outputs[0]}]"
        if mapping == "singleResult":
            return f"{variable} = {row}"
        if mapping != "resultList":
            self.refuse(
                task,
                f"business rule task {tid}: camunda:mapDecisionResult={mapping!r} is unknown",
                f"công việc quy tắc {tid}: không biết camunda:mapDecisionResult={mapping!r}",
            )
            return None
        if not collect:
            return f"{variable} = [{row}]"
        names = ", ".join(f"v{i}" for i in range(len(outputs)))
        values = "{" + ", ".join(f"{o!r}: v{i}" for i, o in enumerate(outputs)) + "}"
        return f"{variable} = [{values} for {names}{',' if single else ''} in zip({', '.join(outputs)})]"

    # --- data mapping ------------------------------------------------------------------------------------------------
    def parameter_value(self, parameter: Any, element: Any) -> str | None:
        """The Python of a camunda:inputParameter/outputParameter value; None after reporting a refusal."""
        name = parameter.get("name") or ""
        if len(parameter):
            kind = local_name(parameter[0])
            self.refuse(
                element,
                f"{local_name(parameter)} {name!r}: a camunda:{kind} value is not supported, only "
                "a literal text or one ${…} expression",
                f"{local_name(parameter)} {name!r}: không hỗ trợ giá trị camunda:{kind}, chỉ dùng văn bản cố "
                "định hoặc một biểu thức ${…}",
                line=parameter.sourceline,
            )
            return None
        text = parameter.text
        if text is None or not text.strip():
            return "None"
        if looks_like_juel(text):
            return self.python_of(
                text,
                element,
                (f"{local_name(parameter)} {name!r}", f"{local_name(parameter)} {name!r}"),
                parameter.sourceline,
            )
        return repr(text)

    def assignment(self, target: str | None, python: str | None, element: Any, source: Any) -> str | None:
        if python is None:
            return None
        if not target or not is_variable(target):
            self.refuse(
                element,
                f"{local_name(source)}: {target!r} is not a variable name that can be used here",
                f"{local_name(source)}: {target!r} không phải tên biến dùng được",
                line=source.sourceline,
            )
            return None
        return f"{target} = {python}"

    def input_output(self) -> None:
        for mapping in self.document.root.iterfind(f".//{_C}inputOutput"):
            element = owner(mapping)
            if local_name(element) not in _TASKS:
                self.refuse(
                    element,
                    f"camunda:inputOutput on a {local_name(element)} is not supported, only on tasks",
                    f"không hỗ trợ camunda:inputOutput trên {local_name(element)}, chỉ trên công việc",
                    line=mapping.sourceline,
                )
                continue
            for kind, script in (("inputParameter", "preScript"), ("outputParameter", "postScript")):
                lines = [
                    self.assignment(p.get("name"), self.parameter_value(p, element), element, p)
                    for p in mapping.iterfind(_C + kind)
                ]
                if lines and None not in lines:
                    _add_script(element, script, "\n".join(line for line in lines if line), first=kind.startswith("in"))

    def call_mappings(self) -> None:
        for call in self.document.root.iterfind(".//bpmn:callActivity", NSMAP):
            for kind, script in (("in", "preScript"), ("out", "postScript")):
                lines: list[str | None] = []
                for mapping in call.iterfind(f"bpmn:extensionElements/{_C}{kind}", NSMAP):
                    if mapping.get("variables") is not None or mapping.get("businessKey") is not None:
                        continue  # every variable is passed both ways anyway; the business key stays the instance's
                    source, expression = mapping.get("source"), mapping.get("sourceExpression")
                    python = (
                        self.python_of(
                            expression,
                            call,
                            (f"camunda:{kind} sourceExpression", f"camunda:{kind} sourceExpression"),
                            mapping.sourceline,
                        )
                        if expression is not None
                        else source
                        if source and is_variable(source)
                        else None
                    )
                    if expression is None and python is None:
                        self.refuse(
                            call,
                            f"camunda:{kind}: source {source!r} is not a variable name",
                            f"camunda:{kind}: source {source!r} không phải tên biến",
                            line=mapping.sourceline,
                        )
                        lines.append(None)
                        continue
                    lines.append(self.assignment(mapping.get("target"), python, call, mapping))
                if lines and None not in lines:
                    _add_script(call, script, "\n".join(line for line in lines if line), first=kind == "in")

    # --- generated forms --------------------------------------------------------------------------------------------
    def forms(self) -> None:
        for element in self.document.root.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}startEvent"):
            fields = element.findall(f"bpmn:extensionElements/{_C}formData/{_C}formField", NSMAP)
            key = _camunda(element, "formKey")
            if not fields or (key is not None and is_form_file(key)):
                continue  # a JSON form file wins, as a form key wins over form fields in Camunda
            schema, refused = form_schema((element.get("name") or element.get("id") or "").strip(), fields)
            for reason in refused:
                self.refuse(element, reason.reason, reason.reason_vi, line=reason.line)
            if schema is None:
                continue
            name = key or GENERATED_FORM_PREFIX + element.get("id")
            first = self._schemas.setdefault(name, (element.get("id"), schema))
            if first[1] != schema:
                self.refuse(
                    element,
                    f"camunda:formKey {name!r} is also used by {first[0]} with other form fields",
                    f"camunda:formKey {name!r} cũng được {first[0]} dùng với các trường khác",
                )
                continue
            element.set(_C + "formKey", name)
            try:
                self.result.forms[name] = parse_form(name, json.dumps(schema, ensure_ascii=False).encode())
            except InvalidDefinition as exc:
                for found in exc.problems:
                    self.refuse(element, found["reason"], found["reason_vi"])


# --- helpers ------------------------------------------------------------------------------------------------------
def _neutral(kind: str, element: Any) -> str:
    """A valid text standing in for a refused one (each timer kind has its own)."""
    return _NEUTRAL[local_name(element) if kind == "timer" else kind]


def _parses(text: str) -> bool:
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _short(tag: str) -> str:
    return "zeebe:" + tag.rsplit("}", 1)[-1]


def _sub(parent: Any, tag: str, origin: Any, **attributes: str) -> Any:
    child = etree.SubElement(parent, tag, **attributes)
    child.sourceline = origin.sourceline  # problems about generated elements point at the element they came from
    return child


def _extensions(element: Any) -> Any:
    found = element.find("bpmn:extensionElements", NSMAP)
    if found is None:
        found = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        found.sourceline = element.sourceline
        element.insert(0, found)  # first child, as the BPMN schema orders it
    return found


def _add_script(element: Any, kind: str, script: str, *, first: bool) -> None:
    """Add ``script`` to the element's spiffworkflow pre- or post-script (a script task's own script for a script
    task, which has neither): before what is there for inputs, after it for outputs."""
    if local_name(element) == "scriptTask":
        current = element.findtext("bpmn:script", "", NSMAP) or ""
        _replace_script(element, f"{script}\n{current}" if kind == "preScript" else f"{current}\n{script}")
        return
    existing = element.find(f"bpmn:extensionElements/spiffworkflow:{kind}", NSMAP)
    if existing is None:
        existing = _sub(_extensions(element), f"{{{SPIFF_NS}}}{kind}", element)
        existing.text = script
        return
    current = existing.text or ""
    existing.text = f"{script}\n{current}" if first else f"{current}\n{script}"


def _replace_script(task: Any, text: str) -> None:
    script = task.find("bpmn:script", NSMAP)
    if script is None:
        script = _sub(task, f"{{{BPMN_NS}}}script", task)
    script.text = text


def _decision_elements(documents: Sequence[Document]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for document in documents:
        if document.kind == "dmn":
            for element in document.root.iter():
                if isinstance(element.tag, str) and local_name(element) == "decision" and element.get("id"):
                    found.setdefault(element.get("id"), element)
    return found


def translate_camunda(documents: Sequence[Document]) -> Dialect:
    """Rewrite the Camunda 7 constructs of every BPMN document in place; return the problems and generated forms."""
    decisions = _decision_elements(documents)
    result = Dialect()
    for document in documents:
        if document.kind != "bpmn":
            continue
        rewriter = _Rewriter(document, decisions)
        rewriter.unsupported()
        rewriter.expressions()
        rewriter.scripts()
        rewriter.human_tasks()
        rewriter.business_rules()
        rewriter.input_output()
        rewriter.call_mappings()
        rewriter.forms()
        result.problems += rewriter.result.problems
        result.forms.update(rewriter.result.forms)
    return result


# --- read but without effect: the lint warns ------------------------------------------------------------------------
_IGNORED: dict[str, tuple[str, str]] = {
    "initiator": ("the starter's id is not stored in a variable", "mã người khởi tạo không được lưu vào biến"),
    "followUpDate": ("there is no follow-up date", "không có ngày theo dõi"),
    "priority": ("tasks have no priority", "công việc không có độ ưu tiên"),
    "candidateStarterGroups": (
        "starts are allowed by role (integrator, officer, lead)",
        "quyền khởi tạo theo vai trò (integrator, officer, lead)",
    ),
    "candidateStarterUsers": (
        "starts are allowed by role (integrator, officer, lead)",
        "quyền khởi tạo theo vai trò (integrator, officer, lead)",
    ),
    "formRef": (
        "Camunda Forms are not rendered: use camunda:formField or a *.form.json form",
        "không hiển thị Camunda Forms: hãy dùng camunda:formField hoặc biểu mẫu *.form.json",
    ),
}


def ignored_attributes(root: Any) -> Iterator[tuple[Any, str, str, str]]:
    """(element, attribute, why it has no effect in English, in Vietnamese) for Camunda attributes read nowhere."""
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        for attribute, (en, vi) in _IGNORED.items():
            if element.get(_C + attribute) is not None:
                yield element, f"camunda:{attribute}", en, vi
