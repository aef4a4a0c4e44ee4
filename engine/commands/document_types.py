"""What an uploaded file is, from its bytes (never its name or the sender's Content-Type), against the allow-list of
documents: PDF, DOCX, XLSX, ODT/ODS, PNG, JPEG and ZIP. OOXML and ODF files are ZIP archives told apart by their
inner files; every archive is checked from its central directory, without extracting anything, against a ZIP bomb
(entry count, total uncompressed size, compression ratio)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import IO

from phoihop.engine.errors import DocumentRejected, UnsupportedDocument

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ALLOWED = (PDF, DOCX, XLSX, ODT, ODS, PNG, JPEG, ZIP)
LABELS = {PDF: "PDF", DOCX: "DOCX", XLSX: "XLSX", ODT: "ODT", ODS: "ODS", PNG: "PNG", JPEG: "JPEG", ZIP: "ZIP"}


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What an archive may expand to: at most ``max_entries`` entries, ``max_total_bytes`` uncompressed in all, and
    ``max_ratio`` times its own size (a DOCX of text compresses about 5–20 times; a ZIP bomb thousands)."""

    max_entries: int = 10_000
    max_total_bytes: int = 1 << 30
    max_ratio: float = 200.0


def sniff(content: IO[bytes], size: int, *, limits: ArchiveLimits | None = None) -> str:
    """The content type of ``content`` (``size`` bytes), one of ``ALLOWED``; UnsupportedDocument for anything else
    (HTML, SVG, scripts, executables, unknown bytes), DocumentRejected for an empty file, a broken archive or a bomb."""
    if size == 0:
        raise DocumentRejected("the file is empty", detail_vi="Tệp rỗng, không có nội dung", reason="empty")
    content.seek(0)
    head = content.read(16)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _archive(content, size, limits or ArchiveLimits())
    raise UnsupportedDocument(
        f"this kind of file is not accepted ({_guess(head)}); accepted: {', '.join(LABELS.values())}",
        detail_vi=f"Loại tệp này không được chấp nhận ({_guess(head)}); chỉ nhận: {', '.join(LABELS.values())}",
        accepted=list(LABELS.values()),
    )


def _guess(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "HTML"
    if text.startswith((b"<svg", b"<?xml")):
        return "XML/SVG"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "Office 97-2003"
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF"):
        return "executable"
    return "unknown"


def _archive(content: IO[bytes], size: int, limits: ArchiveLimits) -> str:
    content.seek(0)
    try:
        with zipfile.ZipFile(content) as archive:
            entries = archive.infolist()
            if len(entries) > limits.max_entries:
                raise _bomb(f"{len(entries)} entries (at most {limits.max_entries})", f"{len(entries)} mục")
            total = sum(e.file_size for e in entries)
            if total > limits.max_total_bytes:
                raise _bomb(f"{total} bytes uncompressed (at most {limits.max_total_bytes})", f"{total} byte")
            if total > limits.max_ratio * max(size, 1):
                raise _bomb(
                    f"expands {total / size:.0f} times (at most {limits.max_ratio:.0f})",
                    f"nở ra {total / size:.0f} lần",
                )
            names = {e.filename for e in entries}
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return DOCX
                if "xl/workbook.xml" in names:
                    return XLSX
                return ZIP
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 100:
                    kind = archive.read(info).decode("ascii", "replace").strip()
                    if kind in (ODT, ODS):
                        return kind
            return ZIP
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError) as exc:
        raise DocumentRejected(
            f"the archive is damaged: {exc}", detail_vi="Tệp nén bị hỏng, không đọc được", reason="damaged-archive"
        ) from None


def _bomb(why: str, why_vi: str) -> DocumentRejected:
    return DocumentRejected(
        f"the archive would expand too much: {why}",
        detail_vi=f"Tệp nén bung ra quá lớn ({why_vi}), có thể là tệp độc hại (zip bomb)",
        reason="zip-bomb",
    )
