"""SpiffWorkflow's parser failures as the catalog's problems, in our own words (Vietnamese and English) naming the
element: its messages are English, some cut short ("... for tasks of type") or carrying an lxml object's repr
("<Element ... at 0x7f...>"), so those it is known to give are rewritten here, and any other is kept without a repr."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from phoihop.engine.definitions.structure import NSMAP, Document, local_name, problem
from phoihop.engine.model import Problem

__all__ = ["spiff_problem"]

_UNSUPPORTED_EVENT = re.compile(r"Unsupported (Catch|Throw) Event")
_FIRST_TAG = re.compile(r"\s*<(?:[\w.-]+:)?([\w.-]+)")
_FIRST_ID = re.compile(r"""\sid=["']([^"']+)["']""")
_EVENT_DEFINITION = re.compile(r"<(?:[\w.-]+:)?(\w+EventDefinition)\b")
_REPR = re.compile(r"<Element \S+ at 0x[0-9a-f]+>|<[\w.]+ object at 0x[0-9a-f]+>")


def _refs(element: Any, path: str) -> str:
    found = [ref.text.strip() for ref in element.iterfind(path, NSMAP) if ref.text and ref.text.strip()]
    return ", ".join(repr(ref) for ref in found) or "nothing"


def _in_our_words(message: str, element_id: str | None, element: Any) -> tuple[str, str]:
    """(English, Vietnamese) for a message of SpiffWorkflow's parser about ``element`` (None when unknown)."""
    what = element_id or "?"
    if element is not None and message.startswith("Multiple outgoing flows are not supported"):
        flows = [flow.text.strip() for flow in element.iterfind("bpmn:outgoing", NSMAP) if flow.text]
        listed = f" ({', '.join(flows)})" if flows else ""
        kind = local_name(element)
        return (
            f"task {what} has {len(flows) or 'several'} outgoing sequence flows{listed}, and a {kind} may have only "
            "one here: put a parallel gateway after it to run them all, or an exclusive gateway with conditions to "
            "choose one",
            f"công việc {what} có {len(flows) or 'nhiều'} luồng đi ra{listed}, nhưng ở đây {kind} chỉ được có một: "
            "hãy đặt cổng song song (parallel gateway) sau nó để chạy tất cả, hoặc cổng loại trừ (exclusive gateway) "
            "có điều kiện để chọn một",
        )
    data = re.match(r"Cannot resolve data(Input|Output)Association", message)
    if element is not None and data:
        reads = data.group(1) == "Input"
        refs = _refs(
            element,
            "bpmn:dataInputAssociation/bpmn:sourceRef" if reads else "bpmn:dataOutputAssociation/bpmn:targetRef",
        )
        if reads:
            return (
                f"a data input association of {what} reads {refs}, which is no data object or data store "
                "reference of its process",
                f"liên kết dữ liệu vào của {what} đọc {refs}, không phải tham chiếu đối tượng dữ liệu hay kho dữ "
                "liệu nào của quy trình",
            )
        return (
            f"a data output association of {what} writes {refs}, which is no data object or data store "
            "reference of its process",
            f"liên kết dữ liệu ra của {what} ghi vào {refs}, không phải tham chiếu đối tượng dữ liệu hay kho dữ "
            "liệu nào của quy trình",
        )
    if message.startswith("When looking for a task spec, we found two items"):
        return (
            f"a sequence flow leaving {what} leads to an element that is not a flow node of this process",
            f"một luồng đi ra từ {what} dẫn tới phần tử không phải nút của quy trình này",
        )
    starts = re.match(r"Exactly one start event is required in a SubWorkflow Task; found (\d+)", message)
    if starts:
        count = starts.group(1)
        return (
            f"subprocess {what} has {count} start events inside it: an embedded or event subprocess needs exactly one",
            f"quy trình con {what} có {count} sự kiện bắt đầu bên trong: quy trình con nhúng hoặc quy trình con sự "
            "kiện cần đúng một",
        )
    if message.startswith("A Service Task must have an operator"):
        return (
            f'service task {what} names no implementation: make it an external task (camunda:type="external" '
            'camunda:topic="...") that a worker fetches and completes over the external-task API, or a script or '
            "user task",
            f"công việc tự động {what} chưa nêu cách thực hiện: hãy chuyển thành công việc bên ngoài "
            '(camunda:type="external" camunda:topic="...") để hệ thống tích hợp nhận và hoàn thành qua API, hoặc '
            "công việc kịch bản hay công việc của người dùng",
        )
    cleaned = _REPR.sub("(element)", message)
    return cleaned, f"lỗi cấu trúc quy trình tại {what}: {cleaned}"


def spiff_problem(exc: Exception, documents: Mapping[str, Document], fallback_file: str) -> Problem:
    """A SpiffWorkflow failure as a problem; the line is looked up by element id (ValidationException has none)."""
    spiff = isinstance(exc, ValidationException)
    named_file = getattr(exc, "file_name", None)
    file: str = named_file if spiff and isinstance(named_file, str) and named_file in documents else fallback_file
    element_id = (getattr(exc, "id", "") or None) if spiff else None
    message = (str(exc.args[0]) if exc.args else str(exc)) if spiff else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, RecursionError) or "RecursionError" in message:  # each outgoing flow is parsed recursively
        return problem(
            file,
            "the process is too long for SpiffWorkflow's recursive parser (a chain of about 480 "
            "elements or more): split it into call activities",
            "quy trình quá dài cho bộ phân tích của SpiffWorkflow (chuỗi khoảng 480 phần tử trở lên): "
            "hãy tách thành các quy trình con (call activity)",
            element_id=element_id,
        )
    unsupported = _unsupported_event(exc) or _unsupported_event(exc.__cause__) or _unsupported_event(exc.__context__)
    wrapped = _UNSUPPORTED_EVENT.search(message) if spiff and message.startswith("NotImplementedError(") else None
    if unsupported is None and wrapped is not None:  # ValidationException(repr(the NotImplementedError)), with the id
        known = documents[file].ids.get(element_id) if element_id and file in documents else None
        definitions = (
            [local_name(child) for child in known if local_name(child).endswith("EventDefinition")]
            if (known is not None)
            else []
        )
        tag = local_name(known) if known is not None else "event"
        unsupported = (wrapped.group(1), tag, element_id, definitions[0] if definitions else None)
    if unsupported is not None:
        kind, tag, unsupported_id, event = unsupported
        element = documents[file].ids.get(unsupported_id) if unsupported_id and file in documents else None
        what = f"{tag} {unsupported_id}" if unsupported_id else tag
        with_en = f" with a {event}" if event else ""
        with_vi = f" có {event}" if event else ""
        return problem(
            file,
            f"{what}: SpiffWorkflow 3.2 cannot run this {kind.lower()} event{with_en}; model the step another way"
            " (for example a user task or a sequence flow)",
            f"{what}: SpiffWorkflow 3.2 không chạy được sự kiện {'bắt' if kind == 'Catch' else 'phát'} này{with_vi};"
            " hãy mô hình hóa bước này theo cách khác (ví dụ một công việc người dùng hoặc một luồng tuần tự)",
            element=element,
            element_id=unsupported_id,
        )
    if not spiff:  # KeyError, AttributeError, TypeError... from a parser bug
        return problem(
            file,
            f"SpiffWorkflow could not parse this file ({message})",
            f"SpiffWorkflow không đọc được tệp này ({message})",
        )
    element = documents[file].ids.get(element_id) if element_id and file in documents else None
    line = getattr(exc, "line_number", None)
    line = line if isinstance(line, int) and line > 0 else None
    message_vi = getattr(exc, "message_vi", None)  # ServiceTaskUnsupported: our own words already
    if message_vi is None:
        message, message_vi = _in_our_words(message, element_id, element)
    return problem(file, message, message_vi, element=element, element_id=element_id, line=line)


def _unsupported_event(exc: BaseException | None) -> tuple[str, str, str | None, str | None] | None:
    """SpiffWorkflow 3.2's ``NotImplementedError('Unsupported Catch Event: %r', <the element's XML>)``, read as
    (Catch or Throw, the element's tag, its id, its event definition), so the finding names the element instead of
    passing the exception and a page of XML through."""
    if not isinstance(exc, NotImplementedError) or len(exc.args) < 2:
        return None
    head, xml = exc.args[0], exc.args[1]
    matched = _UNSUPPORTED_EVENT.match(head) if isinstance(head, str) else None
    if matched is None or not isinstance(xml, (bytes, str)):
        return None
    text = xml.decode("utf-8", "replace") if isinstance(xml, bytes) else xml
    tag = _FIRST_TAG.match(text)
    first_tag_end = text.find(">")
    element_id = _FIRST_ID.search(text, 0, first_tag_end if first_tag_end > 0 else len(text))
    event = _EVENT_DEFINITION.search(text)
    return (
        matched.group(1),
        tag.group(1) if tag else "event",
        element_id.group(1) if element_id else None,
        event.group(1) if event else None,
    )
