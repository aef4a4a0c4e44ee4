"""The dashboard of Điều 23.4 (engine/reads/dashboard.py): per agency and per process, tasks open, overdue, completed on
time or late in a month, median cycle times, and the monthly reports received before the 5th; as JSON, CSV or XLSX.
Every person signed in reads it (officer, lead, process-owner, admin): results are public (Điều 5.4, 5.7)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.dashboard import DashboardOut
from phoihop.deps import CurrentActor, DashboardDep
from phoihop.engine.reads.dashboard import DashboardFigures
from phoihop.engine.reads.dashboard_export import to_csv, to_xlsx

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

MonthQuery = Annotated[
    str | None,
    Query(
        max_length=7,
        pattern=r"^\d{4}-\d{2}$",
        description="YYYY-MM in Hanoi time; the current month when omitted",
        examples=["2026-11"],
    ),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("", response_model=DashboardOut, summary="The dashboard's figures for a month (Điều 23.4)")
async def dashboard(actor: CurrentActor, board: DashboardDep, month: MonthQuery = None) -> DashboardFigures:
    """The monthly figures of Điều 23.4 for the month `month` (Hanoi time): dossiers received, settled on time, early
    and late, per procedure and agency, and the open ones at the month's end."""
    return await run_in_threadpool(board.figures, actor, month)


@router.get(
    "/export",
    response_class=Response,
    summary="The dashboard as CSV (UTF-8 with BOM) or XLSX",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
)
async def export(
    actor: CurrentActor,
    board: DashboardDep,
    month: MonthQuery = None,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv",
    lang: Annotated[Literal["vi", "en"], Query(description="column titles' language")] = "vi",
) -> Response:
    """The same figures as the dashboard for `month`, as a file: CSV (UTF-8 with BOM so that Excel reads Vietnamese) or
    XLSX (`format`)."""
    figures = await run_in_threadpool(board.figures, actor, month)
    return export_response(figures, format, lang)


def export_response(figures: DashboardFigures, format: Literal["csv", "xlsx"], lang: Literal["vi", "en"]) -> Response:
    """The file as a download named ``bang-dieu-khien-YYYY-MM.csv`` / ``.xlsx``."""
    name = f"bang-dieu-khien-{figures.month}.{format}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    if format == "xlsx":
        return Response(to_xlsx(figures, lang), media_type=XLSX, headers=headers)
    return Response(to_csv(figures, lang), media_type="text/csv; charset=utf-8", headers=headers)
