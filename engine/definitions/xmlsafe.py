"""Parse untrusted BPMN/DMN bytes without letting the document reach the file system, the network or our memory.

Refused as :class:`~engine.errors.UnsafeXml`: files over ``max_bytes`` (checked before parsing), bytes that are not
UTF-8, any DOCTYPE (and so every ENTITY declaration: external entities, billion laughs, quadratic blow-up, external
DTDs), documents nested deeper than libxml2's limit of 256 levels (``huge_tree=False``), and documents with more than
``max_elements`` elements or ``max_siblings`` same-tag children under one element. Well-formedness errors
are :class:`~engine.errors.InvalidDefinition` with the line libxml2 reports.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from lxml import etree

from phoihop.engine.errors import InvalidDefinition, UnsafeXml

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_ELEMENTS", "DEFAULT_MAX_SIBLINGS", "parse_xml"]

DEFAULT_MAX_BYTES = 5_000_000
# libxml2's schema validator spends time proportional to the same-tag siblings of every element it reports an error
# on (it builds the node's XPath); these caps keep a hostile file's validation under about two seconds.
DEFAULT_MAX_ELEMENTS = 50_000
DEFAULT_MAX_SIBLINGS = 5_000

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# What may precede the root element: whitespace, the XML declaration / processing instructions, comments.
_PROLOG = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(r"""\A\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_LXML_POSITION = re.compile(r", line \d+, column \d+$")


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


def _decode(content: bytes, filename: str) -> str:
    if content.startswith(_UTF16_BOMS):
        raise _unsafe(
            filename,
            "only UTF-8 files are accepted (this one is UTF-16)",
            "chỉ chấp nhận tệp mã hóa UTF-8 (tệp này là UTF-16)",
        )
    body = content[len(_UTF8_BOM) :] if content.startswith(_UTF8_BOM) else content
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise _unsafe(
            filename, "the file is not valid UTF-8 text", "tệp không phải văn bản UTF-8 hợp lệ", line
        ) from None
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise _unsafe(
            filename,
            f"declared encoding {declared.group(1)!r} is not UTF-8",
            f"khai báo mã hóa {declared.group(1)!r} không phải UTF-8",
            1,
        )
    return text


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
    _refuse_doctype(_decode(content, filename), filename)
    try:
        root = etree.fromstring(content, _new_parser())
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
