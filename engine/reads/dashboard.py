"""The electronic dashboard of Điều 23.4: per agency and per process, the tasks open and overdue, the tasks completed
on time or late in a month, the median cycle time of the instances completed in it, and the monthly reports
(Điều 23.3: due before the 5th) each agency sent on time, late, or not yet.

- A month is a calendar month in Hanoi time (``YYYY-MM``): ``[00:00 on the 1st, 00:00 on the 1st of the next)``.
- Open, warning and overdue are read "as of" the end of the month, or now for the current month, from the tasks'
  history (created, finished), so a past month keeps its figures.
- Completed on time: finished at or before the due time (the portal's trước hạn and đúng hạn), late: after it.
- The monthly reports shown with month M are those of period M−1, the cycle the ``monthly_report`` process opens on
  the 1st of M with reports due before the 5th of M (processes/monthly_report). Each agency's figure comes from its
  ``submit_report`` task: on time when completed by its due time (``report_due_at``), late after it, missing while
  it is open. The process's own ``reports[].on_time`` says the same once every agency has reported; the tasks also
  show who is missing while the collection runs.

Results are public within the administration (Điều 5.4, 5.7): every person signed in (officer, lead, process owner,
admin) sees every agency. Computed by SQL aggregates (engine/store/dashboard.py) on both databases, never by
loading a workflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from phoihop.engine.agencies import AgencyRegistry, default_registry
from phoihop.engine.clock import HANOI_TZ, Clock
from phoihop.engine.errors import InvalidInput
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import extended
from phoihop.engine.store import dashboard as store
from phoihop.engine.store import retention as retention_store
from phoihop.engine.store.database import Database

__all__ = [
    "DASHBOARD_ROLES",
    "REPORT_PROCESS",
    "AgencyFigures",
    "AgencyName",
    "Dashboard",
    "DashboardFigures",
    "DashboardTotals",
    "Month",
    "MonthlyReports",
    "ProcessFigures",
    "ReportAgency",
    "TaskFigures",
    "figures_from_json",
    "figures_to_json",
]

DASHBOARD_ROLES = ("officer", "lead", "process-owner", "admin")
REPORT_PROCESS = "monthly_report"
REPORT_TASK = "submit_report"
PERIOD_VARIABLE = "period"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MIN_YEAR = 2000
TASK_FIGURES = ("open", "warning", "overdue", "completed", "on_time", "late", "no_deadline")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = _MONTH.match(text.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < MIN_YEAR:
            raise InvalidInput(
                f"month must be YYYY-MM (from {MIN_YEAR}), got {text!r}",
                detail_vi=f"Tháng phải có dạng YYYY-MM (từ năm {MIN_YEAR}), nhận được {text!r}",
                field="month",
            )
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """The Hanoi calendar month ``moment`` falls in."""
        local = moment.astimezone(HANOI_TZ)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    @property
    def start(self) -> datetime:
        """00:00 Hanoi time on the 1st (an aware datetime)."""
        return datetime(self.year, self.month, 1, tzinfo=HANOI_TZ)

    @property
    def end(self) -> datetime:
        return self.next().start


@dataclass(frozen=True, slots=True)
class TaskFigures:
    """Human tasks open at ``as_of`` (of those: in their warning period, overdue), and completed in the month (of
    those: on time, late, without a due time)."""

    open: int
    warning: int
    overdue: int
    completed: int
    on_time: int
    late: int
    no_deadline: int


@dataclass(frozen=True, slots=True)
class DashboardTotals(TaskFigures):
    instances_completed: int
    median_cycle_seconds: float | None  # of ended_at − started_at of the instances completed in the month


@dataclass(frozen=True, slots=True)
class AgencyName:
    """An agency code (a candidate group; None: tasks offered to named users only) with its names."""

    agency: str | None
    name_vi: str
    name_en: str


@dataclass(frozen=True, slots=True)
class AgencyFigures(TaskFigures):
    agency: str | None
    name_vi: str
    name_en: str


@dataclass(frozen=True, slots=True)
class ProcessFigures(TaskFigures):
    process_key: str
    name: str
    instances_completed: int
    median_cycle_seconds: float | None


@dataclass(frozen=True, slots=True)
class ReportAgency:
    """One agency's monthly report of the period: on time, late, or missing (not submitted yet)."""

    agency: str | None
    name_vi: str
    name_en: str
    status: Literal["on_time", "late", "missing"]
    on_time: int
    late: int
    missing: int
    submitted_at: datetime | None
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class MonthlyReports:
    """The monthly reports of ``period`` (the month before the dashboard's), due before the 5th (Điều 23.3)."""

    process_key: str
    period: str
    due_at: datetime | None
    deadline_passed: bool
    on_time: int
    late: int
    missing: int
    agencies: tuple[ReportAgency, ...]


@dataclass(frozen=True, slots=True)
class DashboardFigures:
    """Every figure of one month (``YYYY-MM``, Hanoi time): open and overdue counted ``as_of`` the month's end, or
    now for the current month."""

    month: str
    start: datetime
    end: datetime
    as_of: datetime
    current: bool
    totals: DashboardTotals
    agencies: tuple[AgencyFigures, ...]
    processes: tuple[ProcessFigures, ...]
    monthly_reports: MonthlyReports


class Dashboard:
    """The dashboard's figures for one month (``figures``); the same for the API, the page and the exports."""

    def __init__(self, db: Database, clock: Clock, agencies: AgencyRegistry | None = None) -> None:
        self.db = db
        self.clock = clock
        self.agencies = agencies or default_registry()

    def figures(self, actor: Actor, month: str | None = None) -> DashboardFigures:
        """Every figure of ``month`` (``YYYY-MM``, Hanoi time; default the current month). Months after the current
        one are refused (422 ``invalid-input``): nothing has happened in them yet."""
        actor.require_role(*DASHBOARD_ROLES)
        now = self.clock.now()
        current = Month.of(now)
        chosen = Month.parse(month) if month else current
        if chosen > current:
            raise InvalidInput(
                f"month {chosen} is in the future (now is {current})",
                detail_vi=f"Tháng {chosen} chưa tới (hiện là tháng {current})",
                field="month",
            )
        if chosen < current:
            with self.db.transaction(write=False) as conn:
                kept = retention_store.kept_month(conn, str(chosen))
            if kept is not None:  # counted before retention purged its rows (engine/commands/retention.py)
                return figures_from_json(kept)
        return self.count(chosen, now)

    def count(self, chosen: Month, now: datetime) -> DashboardFigures:
        """The figures of ``chosen`` counted from the tasks and instances (no role check: ``figures`` checks it,
        retention calls it to keep a month before purging)."""
        current = Month.of(now)
        start, end = chosen.start, chosen.end
        as_of = min(now, end)
        period = chosen.previous()
        with self.db.transaction(write=False) as conn:
            total, by_agency, by_process = store.task_figures_by_all(
                conn, start=start, end=end, as_of=as_of, now=as_of == now
            )
            cycles = store.cycle_times(conn, start=start, end=end, per_process=True)
            overall = store.cycle_times(conn, start=start, end=end, per_process=False)
            reports = store.report_figures(
                conn,
                process_key=REPORT_PROCESS,
                element_id=REPORT_TASK,
                period_variable=PERIOD_VARIABLE,
                period=str(period),
                as_of=as_of,
            )
            names = store.process_names(conn)
        return DashboardFigures(
            month=str(chosen),
            start=start,
            end=end,
            as_of=as_of,
            current=chosen == current,
            totals=extended(
                _figures(total),
                DashboardTotals,
                instances_completed=overall[0]["instances"] if overall else 0,
                median_cycle_seconds=overall[0]["median_seconds"] if overall else None,
            ),
            agencies=self._agency_rows(by_agency),
            processes=self._process_rows(by_process, cycles, names),
            monthly_reports=self._reports(reports, period, as_of),
        )

    # --- rows -------------------------------------------------------------------------------------------------------
    def agency(self, code: str | None) -> AgencyName:
        """The names of an agency code (None: tasks offered to named users only)."""
        if code is None:
            return AgencyName(None, "Không thuộc cơ quan nào (giao đích danh)", "No agency (assigned to named users)")
        found = self.agencies.get(code)
        return AgencyName(code, found.name_vi if found else code, found.name_en if found else code)

    def _order(self, code: str | None) -> tuple[int, str]:
        codes = self.agencies.codes
        if code is None:
            return (len(codes) + 1, "")
        return (codes.index(code) if code in codes else len(codes), code)

    def _agency_rows(self, rows: list[dict[str, Any]]) -> tuple[AgencyFigures, ...]:
        listed = []
        for row in rows:
            name = self.agency(row["agency"])
            listed.append(
                extended(_figures(row), AgencyFigures, agency=name.agency, name_vi=name.name_vi, name_en=name.name_en)
            )
        return tuple(sorted(listed, key=lambda figures: self._order(figures.agency)))

    @staticmethod
    def _process_rows(
        rows: list[dict[str, Any]], cycles: list[dict[str, Any]], names: Mapping[str, str | None]
    ) -> tuple[ProcessFigures, ...]:
        by_key = {row["process_key"]: _figures(row) for row in rows}
        cycle_of = {row["process_key"]: row for row in cycles}
        listed = []
        for key in sorted(set(by_key) | set(cycle_of)):
            cycle = cycle_of.get(key)
            listed.append(
                extended(
                    by_key.get(key, _figures({})),
                    ProcessFigures,
                    process_key=key,
                    name=names.get(key) or key,
                    instances_completed=cycle["instances"] if cycle else 0,
                    median_cycle_seconds=cycle["median_seconds"] if cycle else None,
                )
            )
        return tuple(listed)

    def _reports(self, rows: list[dict[str, Any]], period: Month, as_of: datetime) -> MonthlyReports:
        agencies = []
        for row in sorted(rows, key=lambda r: self._order(r["agency"])):
            on_time, late, missing = int(row["on_time"]), int(row["late"]), int(row["missing"])
            name = self.agency(row["agency"])
            agencies.append(
                ReportAgency(
                    agency=name.agency,
                    name_vi=name.name_vi,
                    name_en=name.name_en,
                    status="missing" if missing else "late" if late else "on_time",
                    on_time=on_time,
                    late=late,
                    missing=missing,
                    submitted_at=row["submitted_at"],
                    due_at=row["due_at"],
                )
            )
        due_at = max((row["due_at"] for row in rows if row["due_at"] is not None), default=None)
        return MonthlyReports(
            process_key=REPORT_PROCESS,
            period=str(period),
            due_at=due_at,
            deadline_passed=due_at is not None and as_of > due_at,
            on_time=sum(1 for a in agencies if a.status == "on_time"),
            late=sum(1 for a in agencies if a.status == "late"),
            missing=sum(1 for a in agencies if a.status == "missing"),
            agencies=tuple(agencies),
        )


def _figures(row: Mapping[str, Any]) -> TaskFigures:
    """The seven task figures of a row (absent: 0)."""
    return TaskFigures(*(int(row.get(name) or 0) for name in TASK_FIGURES))


def figures_to_json(figures: DashboardFigures) -> str:
    """A month's figures as JSON (kept by retention in ``dashboard_month``; times with their offset)."""
    return orjson.dumps(asdict(figures)).decode()


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def figures_from_json(text: str) -> DashboardFigures:
    """The figures ``figures_to_json`` wrote."""
    data = orjson.loads(text)
    reports = data["monthly_reports"]
    return DashboardFigures(
        month=data["month"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        as_of=datetime.fromisoformat(data["as_of"]),
        current=bool(data["current"]),
        totals=DashboardTotals(**data["totals"]),
        agencies=tuple(AgencyFigures(**row) for row in data["agencies"]),
        processes=tuple(ProcessFigures(**row) for row in data["processes"]),
        monthly_reports=MonthlyReports(
            **{
                **reports,
                "due_at": _when(reports["due_at"]),
                "agencies": tuple(
                    ReportAgency(**{**row, "submitted_at": _when(row["submitted_at"]), "due_at": _when(row["due_at"])})
                    for row in reports["agencies"]
                ),
            }
        ),
    )
