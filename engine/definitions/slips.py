"""The one-stop slips of a process (processes/<process>/slips/<kind>.docx): Word templates (docxtpl: Jinja2 fields
in a DOCX) a process owner edits, the fields each kind may use, the lint of a template's fields, and the rendering.

Kinds (Nghị định 61/2018/NĐ-CP on the one-stop mechanism, forms of Thông tư 01/2018/TT-VPCP):

- ``receipt``: giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu số 01);
- ``supplement``: phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu số 02);
- ``refusal``: phiếu từ chối tiếp nhận giải quyết hồ sơ (Mẫu số 03);
- ``apology``: phiếu xin lỗi và hẹn lại ngày trả kết quả (Mẫu số 05);
- ``control``: phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu số 04): every step, its agency, when it was received
  and done, on time or late.

A template may use the common fields and its kind's (``FIELDS``); any other name is a lint finding
(``slip-unknown-field``) naming the file and the field, so a typo never prints an empty line on a citizen's slip.
Dates are written as state documents write them (Nghị định 30/2020/NĐ-CP, Phụ lục I): "Hà Nội, ngày 05 tháng 02
năm 2026" (a day below 10 and the months 1 and 2 with a leading zero)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.model import Finding

__all__ = [
    "COMMON_FIELDS",
    "FIELDS",
    "SLIP_KINDS",
    "SlipKind",
    "lint_slip_folder",
    "lint_slip_template",
    "render_docx",
    "template_fields",
    "vn_date",
    "vn_date_line",
    "vn_moment",
]


@dataclass(frozen=True)
class SlipKind:
    kind: str
    title_vi: str  # as printed on the slip
    form_vi: str  # the form it follows


SLIP_KINDS: dict[str, SlipKind] = {
    k.kind: k
    for k in (
        SlipKind("receipt", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Mẫu số 01, Thông tư 01/2018/TT-VPCP"),
        SlipKind("supplement", "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Mẫu số 02, Thông tư 01/2018/TT-VPCP"),
        SlipKind("refusal", "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "Mẫu số 03, Thông tư 01/2018/TT-VPCP"),
        SlipKind("control", "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "Mẫu số 04, Thông tư 01/2018/TT-VPCP"),
        SlipKind("apology", "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Mẫu số 05, Thông tư 01/2018/TT-VPCP"),
    )
}

COMMON_FIELDS = frozenset(
    {
        "parent_agency",  # UBND THÀNH PHỐ HÀ NỘI
        "agency_name",  # the issuing agency, upper case
        "slip_title",
        "slip_number",
        "place",
        "date_line",  # Hà Nội, ngày … tháng … năm …
        "dossier_code",
        "applicant_name",
        "applicant_id_number",
        "applicant_email",
        "applicant_phone",
        "procedure_code",
        "procedure_name",
        "documents",  # names of the dossier's papers
        "received_at",  # … giờ … phút, ngày … tháng … năm …
        "signer_title",  # KT./TUQ. when signed through a delegation
        "signer_name",
    }
)
FIELDS: dict[str, frozenset[str]] = {
    "receipt": COMMON_FIELDS | {"accepted_at", "appointment_at", "deadline_days", "return_place", "lookup_secret"},
    "supplement": COMMON_FIELDS | {"missing_documents", "supplement_note", "supplement_due_at", "requested_at"},
    "refusal": COMMON_FIELDS | {"refusal_reason", "refused_at"},
    "apology": COMMON_FIELDS
    | {"apology_reason", "previous_appointment_at", "appointment_at", "extension_days", "issued_at"},
    "control": COMMON_FIELDS | {"steps", "accepted_at", "appointment_at", "returned_at"},
}


# --- dates as state documents write them -----------------------------------------------------------------------------
def _local(moment: datetime) -> datetime:
    return moment.astimezone(HANOI_TZ) if moment.tzinfo is not None else moment


def _day(value: int) -> str:
    return f"{value:02d}"


def _month(value: int) -> str:
    return f"{value:02d}" if value <= 2 else str(value)


def vn_date(moment: datetime) -> str:
    """``ngày 05 tháng 02 năm 2026`` (Hanoi time)."""
    local = _local(moment)
    return f"ngày {_day(local.day)} tháng {_month(local.month)} năm {local.year}"


def vn_date_line(moment: datetime, place: str = "Hà Nội") -> str:
    """``Hà Nội, ngày 05 tháng 02 năm 2026``: the place and date line of a state document."""
    return f"{place}, {vn_date(moment)}"


def vn_moment(moment: datetime) -> str:
    """``09 giờ 00 phút, ngày 12 tháng 02 năm 2026`` (Hanoi time)."""
    local = _local(moment)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, {vn_date(local)}"


# --- templates -------------------------------------------------------------------------------------------------------
def _template(content: bytes) -> Any:
    from docxtpl import DocxTemplate  # a heavy import, paid by the slips only

    return DocxTemplate(io.BytesIO(content))


def template_fields(content: bytes) -> set[str]:
    """The names a DOCX template reads (loop variables and names it sets itself excluded)."""
    names: set[str] = _template(content).get_undeclared_template_variables()
    return names


def render_docx(content: bytes, context: Mapping[str, Any]) -> bytes:
    """The template filled with ``context`` (autoescaped: text from the case never becomes Word markup)."""
    template = _template(content)
    template.render(dict(context), autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def _finding(file: str, code: str, field: str | None, en: str, vi: str) -> Finding:
    return Finding(
        code=code,
        severity="error",
        file=file,
        element_id=field,
        element_name=None,
        message_en=en,
        message_vi=vi,
        line=None,
    )


def lint_slip_template(file: str, kind: str, content: bytes) -> list[Finding]:
    """``slip-unknown-field`` for each name the template reads that its kind does not give; ``slip-invalid`` when
    the file is no DOCX or its fields do not parse."""
    try:
        names = template_fields(content)
    except Exception as exc:  # docxtpl raises zipfile, lxml and Jinja2 errors alike
        return [
            _finding(
                file,
                "slip-invalid",
                None,
                f"the slip template cannot be read: {exc}",
                f"Không đọc được mẫu phiếu (tệp DOCX hoặc trường trộn không hợp lệ): {exc}",
            )
        ]
    known = FIELDS[kind]
    return [
        _finding(
            file,
            "slip-unknown-field",
            name,
            f"the slip template uses the field {name!r}, which a {kind} slip does not have "
            f"(known: {', '.join(sorted(known))})",
            f"Mẫu phiếu dùng trường {name!r} không có trong dữ liệu của phiếu này",
        )
        for name in sorted(names - known)
    ]


def lint_slip_folder(folder: Path) -> list[Finding]:
    """The findings of every template in ``folder`` (``<process>/slips``); a ``.docx`` named after no kind is a
    finding too (``slip-unknown-kind``). No folder: nothing to say."""
    if not folder.is_dir():
        return []
    findings: list[Finding] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".docx":
            continue
        file = f"{folder.name}/{path.name}"
        if path.stem not in SLIP_KINDS:
            findings.append(
                _finding(
                    file,
                    "slip-unknown-kind",
                    None,
                    f"no slip is called {path.stem!r} (kinds: {', '.join(SLIP_KINDS)})",
                    f"Không có loại phiếu {path.stem!r} (các loại: {', '.join(SLIP_KINDS)})",
                )
            )
            continue
        findings += lint_slip_template(file, path.stem, path.read_bytes())
    return findings
