"""Parse untrusted BPMN/DMN bytes without letting the document reach the file system, the network or our memory.

Text in the encoding a byte-order mark or the XML declaration names (ISO-8859-1, US-ASCII, UTF-16 with or without a
mark...) is read as such and handed to libxml2 as UTF-8 (:func:`to_utf8` gives the bytes a deployment stores).
Refused as :class:`~engine.errors.UnsafeXml`: files over ``max_bytes`` (checked before parsing), bytes that are not
text in the encoding they declare (UTF-8 when they declare none) or name an unknown encoding, any DOCTYPE (and so
every ENTITY declaration: external entities, billion laughs, quadratic blow-up, external DTDs), documents nested
deeper than libxml2's limit of 256 levels (``huge_tree=False``), and documents with more than ``max_elements``
elements or ``max_siblings`` same-tag children under one element. Well-formedness errors are
:class:`~engine.errors.InvalidDefinition` with the line libxml2 reports.

Camunda 7 reads the extension namespace ``http://activiti.org/bpmn`` (what Camunda Modeler before 1.0 and Activiti
wrote, as in most of Camunda's own example projects) as its own ``http://camunda.org/schema/1.0/bpmn``: so does every
reader here, the parsed tree's elements and attributes in it being renamed into the Camunda namespace (the bytes a
deployment stores are left as uploaded).
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from typing import Any

from lxml import etree

from phoihop.engine.errors import InvalidDefinition, UnsafeXml

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_ELEMENTS", "DEFAULT_MAX_SIBLINGS", "parse_xml", "to_utf8"]

DEFAULT_MAX_BYTES = 5_000_000
# libxml2's schema validator spends time proportional to the same-tag siblings of every element it reports an error
# on (it builds the node's XPath); these caps keep a hostile file's validation under about two seconds.
DEFAULT_MAX_ELEMENTS = 50_000
DEFAULT_MAX_SIBLINGS = 5_000

_UTF8_BOM = b"\xef\xbb\xbf"
# What may precede the root element: whitespace, the XML declaration / processing instructions, comments.
_PROLOG = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(r"""\A\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_LXML_POSITION = re.compile(r", line \d+, column \d+$")
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
LEGACY_CAMUNDA_NS = "http://activiti.org/bpmn"
_LEGACY = f"{{{LEGACY_CAMUNDA_NS}}}"


def _problem(filename: str, reason: str, reason_vi: str, line: int | None = None) -> dict[str, Any]:
    problem: dict[str, Any] = {"file": filename, "element_id": None, "reason": reason, "reason_vi": reason_vi}
    if line is not None:
        problem["line"] = line
    return problem


def _unsafe(filename: str, reason: str, reason_vi: str, line: int | None = None) -> UnsafeXml:
    return UnsafeXml(
        f"{filename}: {reason}",
        detail_vi=f"{filename}: {reason_vi}",
        problems=[_problem(filename, reason, reason_vi, line)],
    )


def _new_parser() -> etree.XMLParser:
    # A parser per call: lxml parser objects keep state and must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,  # SpiffWorkflow's parsers call .tag.endswith() on children: comments would crash them
        remove_pis=True,
    )


def _encoding_of(content: bytes) -> tuple[str | None, int]:
    """The encoding a byte-order mark or the first bytes show (None: ASCII-compatible, read the declaration), and the
    length of the mark."""
    if content.startswith(_UTF8_BOM):
        return "utf-8", len(_UTF8_BOM)
    if content.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if content.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    if content.startswith(b"<\x00"):  # UTF-16 without a mark, as XML 1.0 Appendix F detects it
        return "utf-16-le", 0
    if content.startswith(b"\x00<"):
        return "utf-16-be", 0
    return None, 0


def _codec(name: str, filename: str) -> str:
    """Python's name of the declared encoding ``name``: a text encoding Python knows, else refused."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise _unsafe(
            filename,
            f"declared encoding {name!r} is not a known text encoding",
            f"khai báo mã hóa {name!r} không phải bảng mã văn bản đã biết",
            1,
        )
    return info.name


def _decode(content: bytes, filename: str) -> str:
    """The document as text: UTF-8 unless a byte-order mark or the XML declaration says otherwise (ISO-8859-1,
    US-ASCII, UTF-16 with or without a mark, windows-1258...)."""
    detected, mark = _encoding_of(content)
    if detected is not None and detected != "utf-8":
        encoding = detected
    else:
        head = content[mark : mark + 200].decode("latin-1")  # the declaration is ASCII in every such encoding
        declared = _DECLARED_ENCODING.match(head)
        encoding = _codec(declared.group(1), filename) if declared else "utf-8"
        if detected == "utf-8" and encoding != "utf-8":
            encoding = "utf-8"  # the mark wins over the declaration, as libxml2 reads it
    body = content[mark:]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count("\n".encode(encoding)) + 1
        what = "UTF-8" if encoding == "utf-8" else encoding
        raise _unsafe(
            filename, f"the file is not valid {what} text", f"tệp không phải văn bản {what} hợp lệ", line
        ) from None
    return text


def _as_utf8_text(text: str) -> str:
    """``text`` with its XML declaration (if any) naming UTF-8, the encoding it is about to be written in."""
    declared = _DECLARED_ENCODING.match(text)
    if declared is None:
        return text
    return text[: declared.start(1)] + "UTF-8" + text[declared.end(1) :]


def to_utf8(content: bytes, *, filename: str) -> bytes:
    """``content`` as UTF-8 bytes without a byte-order mark, its declaration saying UTF-8 (UnsafeXml when it is not
    text in the encoding it declares). The same bytes when they are already so: the deployment stores UTF-8."""
    text = _decode(content, filename)
    converted = _as_utf8_text(text).encode("utf-8")
    return content if converted == content else converted


def _refuse_doctype(text: str, filename: str) -> None:
    # A DOCTYPE may only appear in the prolog; looking there alone avoids refusing a script that mentions the word.
    prolog = _PROLOG.match(text)
    position = prolog.end() if prolog else 0
    if _DOCTYPE.match(text, position):
        raise _unsafe(
            filename,
            "DOCTYPE and ENTITY declarations are not allowed",
            "không cho phép khai báo DOCTYPE hoặc ENTITY",
            text.count("\n", 0, position) + 1,
        )


def _refuse_size(root: Any, filename: str, max_elements: int, max_siblings: int) -> None:
    for count, element in enumerate(root.iter(), start=1):
        if count > max_elements:
            raise _unsafe(
                filename,
                f"the document has more than {max_elements} elements",
                f"tài liệu có hơn {max_elements} phần tử",
                element.sourceline,
            )
        if len(element) > max_siblings:
            tag, same = Counter(child.tag for child in element).most_common(1)[0]
            if same > max_siblings:
                name = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "node"
                raise _unsafe(
                    filename,
                    f"an element has {same} <{name}> children, the limit is {max_siblings}",
                    f"một phần tử có {same} phần tử con <{name}>, giới hạn là {max_siblings}",
                    element.sourceline,
                )


def _rename_legacy_camunda(root: Any) -> None:
    """Elements and attributes in Camunda's legacy namespace moved into its own (see the module's docstring)."""
    if LEGACY_CAMUNDA_NS not in {uri for element in root.iter() for uri in element.nsmap.values()}:
        return
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag.startswith(_LEGACY):
            element.tag = f"{{{CAMUNDA_NS}}}{element.tag[len(_LEGACY) :]}"
        for key in [key for key in element.attrib if key.startswith(_LEGACY)]:
            value = element.attrib.pop(key)
            element.set(f"{{{CAMUNDA_NS}}}{key[len(_LEGACY) :]}", value)


def parse_xml(
    content: bytes,
    *,
    filename: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_siblings: int = DEFAULT_MAX_SIBLINGS,
) -> etree._ElementTree:
    """Parse ``content`` into an ``lxml.etree._ElementTree`` or raise ``UnsafeXml`` / ``InvalidDefinition``."""
    if len(content) > max_bytes:
        raise _unsafe(
            filename,
            f"the file is {len(content)} bytes, the limit is {max_bytes}",
            f"tệp có {len(content)} byte, vượt giới hạn {max_bytes} byte",
        )
    if not content.strip():
        raise InvalidDefinition(
            f"{filename}: the file is empty",
            detail_vi=f"{filename}: tệp rỗng",
            problems=[_problem(filename, "the file is empty", "tệp rỗng")],
        )
    text = _as_utf8_text(_decode(content, filename))
    _refuse_doctype(text, filename)
    try:
        root = etree.fromstring(text.encode("utf-8"), _new_parser())
    except etree.XMLSyntaxError as exc:
        message = _LXML_POSITION.sub("", str(exc.msg or exc))
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        if "Excessive depth" in message or "Maximum nesting" in message or "huge input" in message.lower():
            raise _unsafe(
                filename,
                f"the document is nested too deeply or too large ({message})",
                f"tài liệu lồng quá sâu hoặc quá lớn ({message})",
                line,
            ) from None
        raise InvalidDefinition(
            f"{filename}: malformed XML at line {line}: {message}",
            detail_vi=f"{filename}: XML sai cú pháp ở dòng {line}: {message}",
            problems=[_problem(filename, f"malformed XML: {message}", f"XML sai cú pháp: {message}", line)],
        ) from None
    _refuse_size(root, filename, max_elements, max_siblings)
    _rename_legacy_camunda(root)
    tree = root.getroottree()
    # Defence in depth: the prolog check above should make these unreachable.
    if tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None or tree.docinfo.doctype:
        raise _unsafe(
            filename,
            "DOCTYPE and ENTITY declarations are not allowed",
            "không cho phép khai báo DOCTYPE hoặc ENTITY",
            1,
        )
    return tree
