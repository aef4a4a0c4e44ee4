"""The dashboard of Điều 23.4 (engine.reads.dashboard)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from phoihop.api.schemas.common import Out


class TaskFiguresOut(Out):
    open: int = Field(description="Human tasks open at `as_of` (the end of the month, or now)")
    warning: int = Field(description="Of those, past 75 % of their time limit but not overdue (sắp đến hạn)")
    overdue: int = Field(description="Of those, past their due time (quá hạn)")
    completed: int = Field(description="Tasks completed in the month")
    on_time: int = Field(description="Completed at or before their due time")
    late: int = Field(description="Completed after their due time")
    no_deadline: int = Field(description="Completed, without a due time")


class DashboardTotalsOut(TaskFiguresOut):
    instances_completed: int = Field(description="Instances completed in the month")
    median_cycle_seconds: float | None = Field(description="Median of ended_at − started_at of those instances")


class DashboardAgencyOut(TaskFiguresOut):
    agency: str | None = Field(description="Agency code (a candidate group); null: tasks offered to named users only")
    name_vi: str
    name_en: str


class DashboardProcessOut(TaskFiguresOut):
    process_key: str
    name: str
    instances_completed: int
    median_cycle_seconds: float | None = Field(
        description="Median of ended_at − started_at of the instances of this process completed in the month"
    )


class ReportAgencyOut(Out):
    agency: str | None
    name_vi: str
    name_en: str
    status: Literal["on_time", "late", "missing"] = Field(description="missing: not submitted (yet)")
    on_time: int
    late: int
    missing: int
    submitted_at: datetime | None
    due_at: datetime | None


class MonthlyReportsOut(Out):
    process_key: str
    period: str = Field(
        description="The reported month (YYYY-MM): the month before the dashboard's month, whose "
        "reports are due before the 5th of the dashboard's month (Điều 23.3)"
    )
    due_at: datetime | None
    deadline_passed: bool
    on_time: int
    late: int
    missing: int
    agencies: list[ReportAgencyOut]


class DashboardOut(Out):
    month: str = Field(description="YYYY-MM, a calendar month in Hanoi time")
    start: datetime
    end: datetime
    as_of: datetime = Field(description="Open and overdue are counted at this moment: the month's end, or now")
    current: bool = Field(description="The month is the current one")
    totals: DashboardTotalsOut
    agencies: list[DashboardAgencyOut]
    processes: list[DashboardProcessOut]
    monthly_reports: MonthlyReportsOut
