"""The dashboard page of Điều 23.4 (every person signed in; engine/reads/dashboard.py has the rules and the figures)
and its CSV/XLSX download, with the same files as GET /api/v1/dashboard/export.

Charts are inline SVG drawn by the server: horizontal bars need no chart library, no script and nothing else
vendored, print and scale with the page, fit the page's Content-Security-Policy (no inline script), and their
texts are escaped by the templates like any other text. Geometry is computed here; the template only draws it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import DashboardDep
from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.reads.dashboard import (
    AgencyFigures,
    Dashboard,
    DashboardFigures,
    Month,
    ReportAgency,
    TaskFigures,
)
from phoihop.engine.reads.dashboard_export import to_csv, to_xlsx
from phoihop.web.deps import Page
from phoihop.web.errors import WebRoute
from phoihop.web.i18n import Translator
from phoihop.web.numbers import month_label
from phoihop.web.templating import PageContext, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MonthQuery = Annotated[str | None, Query(max_length=7, pattern=r"^(\d{4}-\d{2})?$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHART_WIDTH = 900
LABEL_WIDTH = 260
BAR_AREA = 440
BAR_HEIGHT = 14
LABEL_CHARS = 36


@dataclass(frozen=True)
class Segment:
    kind: str  # CSS class suffix: on-time, late, ...
    x: float
    width: float
    value: int | float
    title: str


@dataclass
class BarRow:
    label: str
    full_label: str
    y: int
    bars: list[tuple[int, list[Segment], str]] = field(default_factory=list)  # (y, segments, value text)


@dataclass
class Chart:
    height: int
    rows: list[BarRow]
    legend: list[tuple[str, str]]  # (kind, label)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def bar_chart(
    items: Sequence[tuple[str, list[list[tuple[str, float, str]]], list[str]]], legend: list[tuple[str, str]]
) -> Chart:
    """Rows of stacked horizontal bars. Each item: (label, bars, value texts); a bar is a list of
    ``(kind, value, title)`` segments. One scale for the whole chart."""
    peak = max([sum(value for _kind, value, _title in bar) for _label, bars, _texts in items for bar in bars] + [0])
    scale = BAR_AREA / peak if peak > 0 else 0.0
    rows: list[BarRow] = []
    y = 8
    for label, bars, texts in items:
        row = BarRow(_short(label), label, y + BAR_HEIGHT - 2)
        for index, bar in enumerate(bars):
            x = float(LABEL_WIDTH)
            segments = []
            for kind, value, title in bar:
                width = value * scale
                if value > 0:
                    segments.append(Segment(kind, round(x, 1), round(max(width, 1.5), 1), value, title))
                x += width
            row.bars.append((y + index * (BAR_HEIGHT + 3), segments, texts[index]))
        rows.append(row)
        y += len(bars) * (BAR_HEIGHT + 3) + 12
    return Chart(max(y, 30), rows, legend)


def duration_text(seconds: float | None, t: Translator) -> str:
    """``3 ngày 4 giờ``, ``5 giờ 20 phút``, ``12 phút``; empty for None."""
    if seconds is None:
        return ""
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return t("dashboard.duration.days_hours", d=days, h=hours)
    if hours:
        return t("dashboard.duration.hours_minutes", h=hours, m=minutes)
    return t("dashboard.duration.minutes", m=minutes)


def _charts(figures: DashboardFigures, t: Translator, name: Callable[[AgencyFigures], str]) -> dict[str, Chart]:
    def task_bars(row: TaskFigures) -> tuple[list[list[tuple[str, float, str]]], list[str]]:
        in_time = row.open - row.overdue
        done: list[tuple[str, float, str]] = [
            ("on-time", row.on_time, t("dashboard.on_time")),
            ("late", row.late, t("dashboard.late")),
            ("no-deadline", row.no_deadline, t("dashboard.no_deadline")),
        ]
        waiting: list[tuple[str, float, str]] = [
            ("open", in_time, t("dashboard.open_in_time")),
            ("overdue", row.overdue, t("dashboard.overdue")),
        ]
        return [done, waiting], [
            t("dashboard.chart.done_text", n=row.completed, late=row.late),
            t("dashboard.chart.open_text", n=row.open, overdue=row.overdue),
        ]

    legend = [
        ("on-time", t("dashboard.on_time")),
        ("late", t("dashboard.late")),
        ("no-deadline", t("dashboard.no_deadline")),
        ("open", t("dashboard.open_in_time")),
        ("overdue", t("dashboard.overdue")),
    ]
    agencies = bar_chart([(name(row), *task_bars(row)) for row in figures.agencies], legend)
    cycles = bar_chart(
        [
            (
                row.name,
                [[("cycle", (row.median_cycle_seconds or 0) / 86400, t("dashboard.median_cycle"))]],
                [duration_text(row.median_cycle_seconds, t) or t("common.none")],
            )
            for row in figures.processes
        ],
        [("cycle", t("dashboard.median_cycle"))],
    )
    reports = figures.monthly_reports
    report_bar: list[tuple[str, float, str]] = [
        ("on-time", reports.on_time, t("dashboard.report.on_time")),
        ("late", reports.late, t("dashboard.report.late")),
        ("missing", reports.missing, t("dashboard.report.missing")),
    ]
    report_chart = bar_chart(
        [
            (
                t("dashboard.reports.period", period=month_label(reports.period)),
                [report_bar],
                [t("dashboard.reports.count", n=len(reports.agencies))],
            )
        ],
        [
            ("on-time", t("dashboard.report.on_time")),
            ("late", t("dashboard.report.late")),
            ("missing", t("dashboard.report.missing")),
        ],
    )
    return {"agencies": agencies, "cycles": cycles, "reports": report_chart}


def _figures(context: PageContext, board: Dashboard, month: str | None) -> DashboardFigures:
    assert context.session is not None
    return board.figures(context.session.actor, month or None)


@router.get("/bang-dieu-khien")
async def dashboard_page(context: Page, board: DashboardDep, month: MonthQuery = None) -> Response:
    figures = await run_in_threadpool(_figures, context, board, month)
    t = context.t
    lang = context.lang

    def name(row: AgencyFigures | ReportAgency) -> str:
        return row.name_vi if lang == "vi" else row.name_en

    chosen = Month.parse(figures.month)
    current = Month.of(board.clock.now())
    return render(
        context,
        "dashboard.html",
        {
            "figures": figures,
            "charts": _charts(figures, t, name),
            "agency_name": name,
            "duration": lambda seconds: duration_text(seconds, t),
            "chart_width": CHART_WIDTH,
            "bar_height": BAR_HEIGHT,
            "label_width": LABEL_WIDTH,
            "bar_area": BAR_AREA,
            "previous_month": str(chosen.previous()),
            "next_month": str(chosen.next()) if chosen < current else None,
            "current_month": str(current),
            "local": _local,
        },
    )


def _local(moment: datetime | None) -> str:
    return moment.astimezone(HANOI_TZ).strftime("%d/%m/%Y %H:%M") if moment is not None else ""


@router.get("/bang-dieu-khien/tai-ve")
async def download(
    context: Page, board: DashboardDep, month: MonthQuery = None, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    """The dashboard of ``month`` as a CSV (UTF-8 with BOM) or XLSX file, column titles in the page's language."""
    figures = await run_in_threadpool(_figures, context, board, month)
    name = f"bang-dieu-khien-{figures.month}.{format}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    if format == "xlsx":
        return Response(to_xlsx(figures, context.lang), media_type=XLSX, headers=headers)
    return Response(to_csv(figures, context.lang), media_type="text/csv; charset=utf-8", headers=headers)
