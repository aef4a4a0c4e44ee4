"""Deploy-time checks on the XML of BPMN/DMN files, before SpiffWorkflow sees them.

Reads every file safely, validates it against the BPMN (plus spiffworkflow extension) or DMN XSD collecting every
schema error with its line, and checks what the XSD and SpiffWorkflow 3.2.0 miss or report badly: duplicate ids,
sequence flows and boundary events pointing nowhere, call activities and business rule tasks naming nothing, DMN
decisions SpiffWorkflow could not run. Problems are dicts ``{"file", "element_id", "element_name"?, "line"?, "reason",
"reason_vi"}``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from phoihop.engine.definitions.dmn.feel_python import translate_root
from phoihop.engine.definitions.forms.files import is_camunda_form_file, is_form_file
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import InvalidDefinition, UnsafeXml
from phoihop.engine.model import Problem, SourceFile

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "camunda": CAMUNDA_NS}
# Namespaces whose `id` attributes are XML IDs (unique per file); camunda:formField ids are field names, not ids.
_ID_NAMESPACES = frozenset(
    {
        BPMN_NS,
        "http://www.omg.org/spec/BPMN/20100524/DI",
        "http://www.omg.org/spec/DD/20100524/DI",
        "http://www.omg.org/spec/DD/20100524/DC",
    }
)
BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
DMN_SUFFIXES = (".dmn",)
MAX_SCHEMA_PROBLEMS = 50  # per file: a hostile file must not produce a megabyte of problems

# Ids SpiffWorkflow 3.2 uses for its own task specs in every process and subprocess spec: a flow node with such an id
# replaces the spec's start step, and every start fails ("No output task connected"). Its "End" step may be replaced
# harmlessly (the end event then is the end step).
_SPIFF_RESERVED_IDS = frozenset({"Start"})
_FLOW_NODE = re.compile(r"(?:Event|[tT]ask|Gateway|[sS]ubProcess|transaction|callActivity)$")
_SCHEMA_LOCK = threading.Lock()  # lxml XMLSchema objects keep their error log on the object: one validation at a time
_DMN_VALIDATORS: dict[str, Any] = {}
_XSD_ELEMENT = re.compile(r"Element '([^']+)'")


@dataclass
class Document:
    name: str
    kind: str  # "bpmn" or "dmn"
    tree: Any  # lxml.etree._ElementTree
    ids: dict[str, Any] = field(default_factory=dict)  # id -> first element carrying it
    untranslated: list[Any] = field(default_factory=list)  # FEEL cells left as written (dmn.feel_python.Untranslated)

    @property
    def root(self) -> Any:
        return self.tree.getroot()


def local_name(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def short_tag(text: str) -> str:
    return text.replace("{" + BPMN_NS + "}", "bpmn:").replace("{" + SPIFF_NS + "}", "spiffworkflow:")


def problem(
    file: str,
    reason: str,
    reason_vi: str,
    *,
    element: Any = None,
    element_id: str | None = None,
    line: int | None = None,
    **extra: Any,
) -> Problem:
    """One finding. ``element`` (an lxml element) supplies the id, name and line unless they are given."""
    if element is not None:
        element_id = element_id or element.get("id")
        line = line or element.sourceline
    found: Problem = {"file": file, "element_id": element_id}
    name = element.get("name") if element is not None else None
    if name:
        found["element_name"] = name
    if line:
        found["line"] = line
    found.update(reason=reason, reason_vi=reason_vi, **extra)
    return found


# --- reading --------------------------------------------------------------------------------------------------------
def read_documents(files: Sequence[SourceFile], max_bytes: int) -> tuple[list[Document], list[Problem], bool]:
    """Parse every file; returns the documents, the problems and whether any file was unsafe."""
    documents: list[Document] = []
    problems: list[Problem] = []
    unsafe = False
    if not files:
        problems.append(problem("", "the deployment contains no files", "gói triển khai không có tệp nào"))
    seen: set[str] = set()
    for source in files:
        lowered = source.name.lower()
        kind = "bpmn" if lowered.endswith(BPMN_SUFFIXES) else "dmn" if lowered.endswith(DMN_SUFFIXES) else None
        if source.name in seen:
            problems.append(problem(source.name, "two files have the same name", "hai tệp trùng tên"))
            continue
        seen.add(source.name)
        if is_form_file(source.name) or is_camunda_form_file(source.name):
            continue  # a JSON Schema form or a Camunda Form (engine.definitions.forms, .camunda.camunda_forms): no XML
        if kind is None:
            problems.append(
                problem(
                    source.name,
                    "unsupported file type: only .bpmn, .bpmn20.xml, .dmn, .form.json and .form files can be deployed",
                    "loại tệp không được hỗ trợ: chỉ triển khai được tệp .bpmn, .bpmn20.xml, .dmn, .form.json và .form",
                )
            )
            continue
        try:
            tree = parse_xml(source.content, filename=source.name, max_bytes=max_bytes)
        except UnsafeXml as exc:
            unsafe = True
            problems.extend(exc.problems)
        except InvalidDefinition as exc:
            problems.extend(exc.problems)
        else:
            # a FEEL file's cells → Python (engine.definitions.dmn.feel_python)
            left = translate_root(tree.getroot()) if kind == "dmn" else []
            if kind == "bpmn":
                _drop_empty_io_specifications(tree.getroot())
            documents.append(Document(source.name, kind, tree, untranslated=left))
    return documents, problems, unsafe


def _drop_empty_io_specifications(root: Any) -> None:
    """An empty ``<bpmn:ioSpecification/>`` (Camunda Modeler writes one) declares no data input or output: it means
    what its absence means, but the BPMN schema wants an inputSet and an outputSet in it. Dropped from the parsed tree
    (the stored file is left as uploaded); one with any content is checked as written."""
    for element in list(root.iter(f"{{{BPMN_NS}}}ioSpecification")):
        parent = element.getparent()
        if parent is not None and len(element) == 0 and not (element.text or "").strip():
            parent.remove(element)


# --- per-file checks ------------------------------------------------------------------------------------------------
def _dmn_namespace(document: Document) -> str | None:
    tag = document.root.tag
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else None


def _check_root(document: Document) -> list[Problem]:
    root = document.root
    if document.kind == "bpmn":
        if root.tag != f"{{{BPMN_NS}}}definitions":
            return [
                problem(
                    document.name,
                    f"not a BPMN 2.0 file: the root element is {short_tag(root.tag)}",
                    f"không phải tệp BPMN 2.0: phần tử gốc là {short_tag(root.tag)}",
                    line=root.sourceline,
                )
            ]
        return []
    namespace = _dmn_namespace(document)
    if local_name(root) != "definitions" or namespace not in DMN_SCHEMAS:
        return [
            problem(
                document.name,
                "not a DMN 1.1/1.2/1.3 file: unknown root element or namespace",
                "không phải tệp DMN 1.1/1.2/1.3: phần tử gốc hoặc namespace không hợp lệ",
                line=root.sourceline,
            )
        ]
    if namespace not in (root.nsmap.get(None), root.nsmap.get("dmn")):
        return [
            problem(
                document.name,
                "the DMN namespace must be the default namespace (or use the prefix dmn:)",
                "namespace DMN phải là namespace mặc định (hoặc dùng tiền tố dmn:)",
                line=root.sourceline,
            )
        ]
    return []


def _index_ids(document: Document) -> list[Problem]:
    problems: list[Problem] = []
    for element in document.root.iter():
        element_id = element.get("id")
        if element_id is None or not isinstance(element.tag, str):
            continue
        namespace = element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""
        if document.kind == "bpmn" and namespace not in _ID_NAMESPACES:
            continue
        if element_id in _SPIFF_RESERVED_IDS and namespace == BPMN_NS and _FLOW_NODE.search(local_name(element)):
            problems.append(
                problem(
                    document.name,
                    f"id {element_id!r} is the name SpiffWorkflow gives the start step of every process and subprocess:"
                    f" a process with an element so named cannot start; rename the element (for example"
                    f" {element_id + '_1'!r})",
                    f"mã phần tử {element_id!r} trùng với tên mà SpiffWorkflow dành cho bước khởi đầu của mọi quy trình"
                    f" và quy trình con: quy trình có phần tử mang mã này không thể khởi động; hãy đổi mã phần tử (ví"
                    f" dụ {element_id + '_1'!r})",
                    element=element,
                )
            )
        first = document.ids.setdefault(element_id, element)
        if first is not element:
            problems.append(
                problem(
                    document.name,
                    f"duplicate id {element_id!r} (first used on line {first.sourceline})",
                    f"trùng mã phần tử {element_id!r} (đã dùng ở dòng {first.sourceline})",
                    element=element,
                )
            )
    return problems


def _schema_for(document: Document) -> Any:
    if document.kind == "bpmn":
        return VALIDATOR
    namespace = _dmn_namespace(document) or ""
    if namespace not in _DMN_VALIDATORS:
        _DMN_VALIDATORS[namespace] = BpmnValidator(DMN_SCHEMAS[namespace])
    return _DMN_VALIDATORS[namespace]


def _check_schema(document: Document, lines_with_problems: set[int]) -> list[Problem]:
    with _SCHEMA_LOCK:
        validator = _schema_for(document)
        validator.preprocess(document.tree)  # what SpiffWorkflow does before validating (correlation expressions)
        valid = validator.validator.validate(document.tree)
        errors = [] if valid else [(entry.line, entry.message) for entry in validator.validator.error_log]
    errors = [(line, message) for line, message in errors if line not in lines_with_problems]  # e.g. "xs:ID"
    if not errors:
        return []
    by_line: dict[tuple[str, int], Any] = {}
    for element in document.root.iter():
        by_line.setdefault((element.tag, element.sourceline), element)
    problems: list[Problem] = []
    for line, message in errors[:MAX_SCHEMA_PROBLEMS]:
        tag = _XSD_ELEMENT.search(message)
        element = by_line.get((tag.group(1), line)) if tag else None
        text = short_tag(message)
        problems.append(
            problem(
                document.name,
                f"does not match the {document.kind.upper()} schema: {text}",
                f"không đúng lược đồ {document.kind.upper()} (XSD): {text}",
                element=element,
                line=line,
            )
        )
    if len(errors) > MAX_SCHEMA_PROBLEMS:
        hidden = len(errors) - MAX_SCHEMA_PROBLEMS
        problems.append(
            problem(
                document.name, f"{hidden} more schema errors not listed", f"còn {hidden} lỗi lược đồ khác không liệt kê"
            )
        )
    return problems


_EVENT_REFERENCES = (
    ("message", "message", "thông điệp"),
    ("signal", "signal", "tín hiệu"),
    ("error", "error", "lỗi"),
    ("escalation", "escalation", "leo thang"),
)


def _check_bpmn_references(document: Document, process_ids: set[str], decisions: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    name = document.name

    def refer(element: Any, attribute: str, what_en: str, what_vi: str) -> None:
        target_id = element.get(attribute)
        target = document.ids.get(target_id) if target_id else None
        if target is None:
            problems.append(
                problem(
                    name,
                    f"{what_en} {attribute}={target_id!r} names no element in this file",
                    f"{what_vi} {attribute}={target_id!r} không trỏ tới phần tử nào trong tệp",
                    element=element,
                )
            )
        elif target.getparent() is not element.getparent():
            problems.append(
                problem(
                    name,
                    f"{what_en} {attribute}={target_id!r} is in another process or subprocess",
                    f"{what_vi} {attribute}={target_id!r} nằm ở quy trình hoặc quy trình con khác",
                    element=element,
                )
            )

    for flow in document.root.iterfind(".//bpmn:sequenceFlow", NSMAP):
        refer(flow, "sourceRef", "sequence flow", "luồng")
        refer(flow, "targetRef", "sequence flow", "luồng")
    for event in document.root.iterfind(".//bpmn:boundaryEvent", NSMAP):
        refer(event, "attachedToRef", "boundary event", "sự kiện biên")
    for element in document.root.iterfind(f".//{{{BPMN_NS}}}*[@default]"):  # gateways, activities: a flow leaving
        flow = document.ids.get(element.get("default"))
        if flow is None or local_name(flow) != "sequenceFlow" or flow.get("sourceRef") != element.get("id"):
            problems.append(
                problem(
                    name,
                    f"default={element.get('default')!r} names no sequence flow leaving {element.get('id')}",
                    f"default={element.get('default')!r} không trỏ tới luồng đi ra từ {element.get('id')}",
                    element=element,
                )
            )
    for kind, what_en, what_vi in _EVENT_REFERENCES:  # SpiffWorkflow crashes (TypeError) on a dangling one
        for definition in document.root.iterfind(f".//bpmn:{kind}EventDefinition[@{kind}Ref]", NSMAP):
            target = document.ids.get(definition.get(f"{kind}Ref"))
            if target is None or local_name(target) != kind:
                problems.append(
                    problem(
                        name,
                        f"{kind}Ref={definition.get(f'{kind}Ref')!r} names no {what_en} "
                        "(bpmn:" + kind + ") in this file",
                        f"{kind}Ref={definition.get(f'{kind}Ref')!r} không trỏ tới {what_vi} "
                        "(bpmn:" + kind + ") nào trong tệp",
                        element=definition.getparent(),
                    )
                )
    for call in document.root.iterfind(".//bpmn:callActivity", NSMAP):
        called = call.get("calledElement")
        if called not in process_ids:
            problems.append(
                problem(
                    name,
                    f"call activity calls process {called!r}, which is not in this deployment",
                    f"hoạt động gọi quy trình {called!r} không có trong gói triển khai",
                    element=call,
                )
            )
    for task in document.root.iterfind(".//bpmn:businessRuleTask", NSMAP):
        # camunda:decisionRef (Camunda Modeler) is rewritten to spiffworkflow:calledDecisionId
        # (engine.definitions.camunda.dialect)
        decision = (
            task.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", None, NSMAP)
            or task.get(f"{{{CAMUNDA_NS}}}decisionRef")
            or ""
        ).strip()
        if not decision:
            problems.append(
                problem(
                    name,
                    "business rule task names no decision: add camunda:decisionRef (or spiffworkflow:calledDecisionId)",
                    "công việc quy tắc nghiệp vụ chưa chỉ ra bảng quyết định (camunda:decisionRef "
                    "hoặc spiffworkflow:calledDecisionId)",
                    element=task,
                )
            )
        elif decision not in decisions:
            problems.append(
                problem(
                    name,
                    f"business rule task calls decision {decision!r}, which no DMN file defines",
                    f"công việc quy tắc nghiệp vụ gọi bảng quyết định {decision!r} không có trong các tệp DMN",
                    element=task,
                )
            )
    return problems


def _check_dmn_shape(document: Document) -> list[Problem]:
    ns = {"dmn": _dmn_namespace(document) or ""}
    decisions = document.root.findall(".//dmn:decision", ns)
    name = document.name
    if not decisions:
        return [problem(name, "the DMN file defines no decision", "tệp DMN không có bảng quyết định nào")]
    # SpiffWorkflow 3.2.0 crashes (AttributeError) on a file with several decisions: the catalog hands it one copy of
    # the file per decision (engine.definitions.dmn.tables.split_decisions), so each is checked here like a file of
    # its own.
    problems: list[Problem] = []
    for decision in decisions:
        table = decision.find("dmn:decisionTable", ns)
        if table is None:
            problems.append(
                problem(
                    name,
                    "the decision has no decision table (only decision tables are supported)",
                    "quyết định không có bảng quyết định (chỉ hỗ trợ decisionTable)",
                    element=decision,
                )
            )
            continue
        inputs, outputs = len(table.findall("dmn:input", ns)), len(table.findall("dmn:output", ns))
        for rule in table.iterfind("dmn:rule", ns):
            entries = rule.findall("dmn:inputEntry", ns)
            if len(entries) > inputs or len(rule.findall("dmn:outputEntry", ns)) > outputs:
                problems.append(
                    problem(
                        name,
                        "the rule has more entries than the table has inputs or outputs",
                        "quy tắc có nhiều ô hơn số cột đầu vào/đầu ra của bảng",
                        element=rule,
                    )
                )
            for entry in entries:
                if entry.find("dmn:text", ns) is None:
                    problems.append(
                        problem(
                            name,
                            "input entry without a <text> element",
                            "ô đầu vào thiếu phần tử <text>",
                            element=entry,
                        )
                    )
    return problems


def decision_ids(documents: Sequence[Document]) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for document in documents:
        if document.kind == "dmn":
            for decision in document.root.iter(f"{{{_dmn_namespace(document)}}}decision"):
                found.setdefault(decision.get("id", ""), document)
    return found


def check_documents(documents: Sequence[Document]) -> list[Problem]:
    """Root element, ids, schema, references and DMN shape of every document (indexes ``Document.ids``)."""
    problems: list[Problem] = []
    usable: list[Document] = []
    for document in documents:
        root_problems = _check_root(document)
        problems += root_problems
        if root_problems:
            continue
        usable.append(document)
        id_problems = _index_ids(document)
        problems += id_problems
        problems += _check_schema(document, {p["line"] for p in id_problems if "line" in p})
    process_ids = {
        element.get("id")
        for document in usable
        if document.kind == "bpmn"
        for element in document.root.iterfind(".//bpmn:process", NSMAP)
    }
    decisions = decision_ids(usable)
    seen_decisions: dict[str, str] = {}
    for document in usable:
        if document.kind == "bpmn":
            problems += _check_bpmn_references(document, process_ids, set(decisions))
            continue
        problems += _check_dmn_shape(document)
        for decision in document.root.iter(f"{{{_dmn_namespace(document)}}}decision"):
            other = seen_decisions.setdefault(decision.get("id", ""), document.name)
            if other != document.name:
                problems.append(
                    problem(
                        document.name,
                        f"decision id {decision.get('id')!r} is also defined in {other}",
                        f"mã quyết định {decision.get('id')!r} đã được định nghĩa trong {other}",
                        element=decision,
                    )
                )
    return problems
