"""What an upload is, from its bytes (engine/commands/document_types.py): the allow-list, OOXML and ODF told apart
from other ZIPs by their inner files, and archives refused from their central directory alone (entry count,
uncompressed total, ratio, damage). No database: the API tests prove the same on both."""

from __future__ import annotations

import io
import zipfile

import pytest

from phoihop.engine.commands import document_types as kinds
from phoihop.engine.errors import DocumentRejected, UnsupportedDocument
from tests import document_files as files


def sniff(content: bytes, limits: kinds.ArchiveLimits | None = None) -> str:
    return kinds.sniff(io.BytesIO(content), len(content), limits=limits)


def test_each_accepted_kind_by_its_bytes() -> None:
    assert sniff(files.pdf()) == kinds.PDF
    assert sniff(files.png()) == kinds.PNG
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00") == kinds.JPEG
    assert sniff(files.docx()) == kinds.DOCX
    assert sniff(files.xlsx()) == kinds.XLSX
    assert sniff(files.odt()) == kinds.ODT
    assert sniff(files.plain_zip()) == kinds.ZIP


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (files.HTML, "HTML"),
        (b"\xef\xbb\xbf  <html><body>x</body></html>", "HTML"),
        (files.SVG, "XML/SVG"),
        (b'<?xml version="1.0"?><svg/>', "XML/SVG"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "Office 97-2003"),
        (b"MZ\x90\x00" + bytes(60), "executable"),
        (b"hello, plain text", "unknown"),
    ],
)
def test_anything_else_is_unsupported_and_named(content: bytes, named: str) -> None:
    with pytest.raises(UnsupportedDocument) as refused:
        sniff(content)
    assert f"({named})" in refused.value.detail and refused.value.fields["accepted"]


def archive(entries: int = 1, size: int = 10) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as made:
        for n in range(entries):
            made.writestr(f"f{n}.txt", bytes(size))
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "limits"),
    [
        (files.zip_bomb(2), kinds.ArchiveLimits()),  # 2 MB of zeros: about a thousand times its size
        (archive(entries=30), kinds.ArchiveLimits(max_entries=20)),
        (archive(size=5000), kinds.ArchiveLimits(max_total_bytes=4000, max_ratio=1e9)),
    ],
)
def test_a_zip_bomb_is_refused_without_extracting(content: bytes, limits: kinds.ArchiveLimits) -> None:
    with pytest.raises(DocumentRejected) as refused:
        sniff(content, limits)
    assert refused.value.fields["reason"] == "zip-bomb" and "zip bomb" in refused.value.detail_vi


def test_empty_and_damaged_files_are_rejected() -> None:
    with pytest.raises(DocumentRejected) as empty:
        sniff(b"")
    assert empty.value.fields["reason"] == "empty"
    with pytest.raises(DocumentRejected) as damaged:
        sniff(b"PK\x03\x04" + bytes(200))
    assert damaged.value.fields["reason"] == "damaged-archive"
