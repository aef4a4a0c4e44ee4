"""The dashboard's figures (engine.reads.dashboard) as a spreadsheet: CSV (UTF-8 with a byte-order mark, so Excel reads
Vietnamese right) or XLSX (openpyxl, one sheet per table). Same tables, same column titles in Vietnamese or English.

Text from process data (agency and process names) could start with ``=``, ``+``, ``-`` or ``@`` and run as a
formula in a spreadsheet: such cells get a leading apostrophe (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.reads.dashboard import AgencyFigures, DashboardFigures, ReportAgency

__all__ = ["Lang", "Table", "tables", "to_csv", "to_xlsx"]

Lang = Literal["vi", "en"]
Cell = str | int | float | datetime | None
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DATE_FORMAT = "DD/MM/YYYY HH:MM"

_TEXT: dict[str, tuple[str, str]] = {
    "summary": ("Tổng hợp", "Summary"),
    "agencies": ("Theo cơ quan", "By agency"),
    "processes": ("Theo quy trình", "By process"),
    "reports": ("Báo cáo tháng", "Monthly reports"),
    "item": ("Chỉ tiêu", "Figure"),
    "value": ("Giá trị", "Value"),
    "month": ("Tháng", "Month"),
    "as_of": ("Số liệu tính đến", "Figures as of"),
    "code": ("Mã", "Code"),
    "agency": ("Cơ quan, đơn vị", "Agency"),
    "process": ("Quy trình", "Process"),
    "open": ("Đang xử lý", "Open"),
    "warning": ("Sắp đến hạn", "Due soon"),
    "overdue": ("Quá hạn", "Overdue"),
    "completed": ("Hoàn thành trong tháng", "Completed this month"),
    "on_time": ("Hoàn thành đúng hạn", "Completed on time"),
    "late": ("Hoàn thành trễ hạn", "Completed late"),
    "no_deadline": ("Hoàn thành (không có thời hạn)", "Completed (no due time)"),
    "instances_completed": ("Hồ sơ kết thúc trong tháng", "Cases ended this month"),
    "median_days": ("Thời gian xử lý trung vị (ngày)", "Median cycle time (days)"),
    "period": ("Kỳ báo cáo", "Reporting period"),
    "due_at": ("Hạn nộp", "Due"),
    "status": ("Tình trạng", "Status"),
    "submitted_at": ("Thời điểm nộp", "Submitted at"),
    "report.on_time": ("Đúng hạn", "On time"),
    "report.late": ("Trễ hạn", "Late"),
    "report.missing": ("Chưa nộp", "Not received"),
    "reports_on_time": ("Báo cáo tháng đúng hạn", "Monthly reports on time"),
    "reports_late": ("Báo cáo tháng trễ hạn", "Monthly reports late"),
    "reports_missing": ("Báo cáo tháng chưa nộp", "Monthly reports not received"),
}
TASK_COLUMNS = ("open", "warning", "overdue", "completed", "on_time", "late", "no_deadline")


@dataclass(frozen=True)
class Table:
    key: str  # summary, agencies, processes, reports
    title: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


def _t(lang: Lang, key: str) -> str:
    return _TEXT[key][0 if lang == "vi" else 1]


def _days(seconds: float | None) -> float | None:
    return round(seconds / 86400, 2) if seconds is not None else None


def _local(moment: datetime | None) -> datetime | None:
    """Hanoi wall-clock time without an offset (spreadsheets keep no time zones)."""
    return moment.astimezone(HANOI_TZ).replace(tzinfo=None) if moment is not None else None


def tables(figures: DashboardFigures, lang: Lang = "vi") -> list[Table]:
    """The four tables of the export: summary, by agency, by process, monthly reports of the period."""

    def name(row: AgencyFigures | ReportAgency) -> str:
        return row.name_vi if lang == "vi" else row.name_en

    totals, reports = figures.totals, figures.monthly_reports
    summary: list[tuple[Cell, ...]] = [
        (_t(lang, "month"), figures.month),
        (_t(lang, "as_of"), _local(figures.as_of)),
    ]
    summary += [(_t(lang, column), getattr(totals, column)) for column in TASK_COLUMNS]
    summary += [
        (_t(lang, "instances_completed"), totals.instances_completed),
        (_t(lang, "median_days"), _days(totals.median_cycle_seconds)),
        (_t(lang, "period"), reports.period),
        (_t(lang, "due_at"), _local(reports.due_at)),
        (_t(lang, "reports_on_time"), reports.on_time),
        (_t(lang, "reports_late"), reports.late),
        (_t(lang, "reports_missing"), reports.missing),
    ]
    task_header = tuple(_t(lang, column) for column in TASK_COLUMNS)
    return [
        Table("summary", _t(lang, "summary"), (_t(lang, "item"), _t(lang, "value")), summary),
        Table(
            "agencies",
            _t(lang, "agencies"),
            (_t(lang, "code"), _t(lang, "agency"), *task_header),
            [(row.agency or "", name(row), *(getattr(row, c) for c in TASK_COLUMNS)) for row in figures.agencies],
        ),
        Table(
            "processes",
            _t(lang, "processes"),
            (
                _t(lang, "code"),
                _t(lang, "process"),
                *task_header,
                _t(lang, "instances_completed"),
                _t(lang, "median_days"),
            ),
            [
                (
                    row.process_key,
                    row.name,
                    *(getattr(row, c) for c in TASK_COLUMNS),
                    row.instances_completed,
                    _days(row.median_cycle_seconds),
                )
                for row in figures.processes
            ],
        ),
        Table(
            "reports",
            f"{_t(lang, 'reports')} {reports.period}",
            (_t(lang, "code"), _t(lang, "agency"), _t(lang, "status"), _t(lang, "submitted_at"), _t(lang, "due_at")),
            [
                (
                    row.agency or "",
                    name(row),
                    _t(lang, f"report.{row.status}"),
                    _local(row.submitted_at),
                    _local(row.due_at),
                )
                for row in reports.agencies
            ],
        ),
    ]


def _safe(value: Cell) -> Cell:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    return str(_safe(value))


def to_csv(figures: DashboardFigures, lang: Lang = "vi") -> bytes:
    """One CSV file: each table under its title, a blank line between tables; UTF-8 with BOM, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for index, table in enumerate(tables(figures, lang)):
        if index:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.header)
        writer.writerows([_csv_cell(cell) for cell in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_title(title: str) -> str:
    return "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]


def to_xlsx(figures: DashboardFigures, lang: Lang = "vi") -> bytes:
    """One workbook, one sheet per table (bold header row, dates as Excel dates in Hanoi time)."""
    # imported here, not at the top: openpyxl is a tenth of a server's start-up imports, and few servers export
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for table in tables(figures, lang):
        sheet = book.create_sheet(_sheet_title(table.title))
        sheet.append(list(table.header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_safe(cell) for cell in row])
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, datetime):
                    cell.number_format = _DATE_FORMAT
        _fit_columns(sheet, table.header, table.rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fit_columns(sheet: Any, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    for index, title in enumerate(header):
        width = max([len(title), *(len(_csv_cell(row[index])) for row in rows)])
        sheet.column_dimensions[sheet.cell(row=1, column=index + 1).column_letter].width = min(60, width + 2)
