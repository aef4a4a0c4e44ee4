"""The dashboard's figures (engine/reads/dashboard.py) on both databases, with the clock moved by the test: tasks open,
overdue, completed on time and late per agency and per process, median cycle times, Hanoi month boundaries, and the
monthly reports of a period per agency (on time, late, missing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from phoihop.engine.clock import HANOI_TZ, FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import Forbidden, InvalidInput
from phoihop.engine.model import SourceFile
from phoihop.engine.reads.dashboard import Dashboard, Month
from phoihop.engine.store import repository as repo
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.engine.helpers import ADMIN, bpmn, deploy_xml, lane

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
REPORTS = Path(__file__).resolve().parents[2] / "processes" / "monthly_report"
SKHCN = officer("can_bo_skhcn", "skhcn")
STP = officer("can_bo_stp", "stp")
HTKC = officer("can_bo_htkc", "htkc")
# a monthly report is signed by the head of the agency (requiredRole lead, issue 10)
SIGNERS = {code: officer(f"lanh_dao_{code}", code, roles=("officer", "lead")) for code in ("skhcn", "stp", "htkc")}
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def hanoi(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HANOI_TZ).astimezone(UTC)


def two_steps(process_id: str) -> str:
    """Sở KH&CN reviews (2 days), then Sở Tư pháp decides (1 day)."""
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Thẩm định" camunda:dueDate="P2D"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>
    <bpmn:userTask id="decide" name="Cho ý kiến pháp lý" camunda:dueDate="P1D"/>
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
    lanes = lane("L1", "Sở Khoa học và Công nghệ", "start", "review") + lane("L2", "Sở Tư pháp", "decide", "end")
    return bpmn(process_id, body, lanes=lanes).replace("<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1)


def one_step(process_id: str) -> str:
    """One Ban HTKC task without a due date."""
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="note"/>
    <bpmn:userTask id="note" name="Ghi nhận"/>
    <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
    return bpmn(process_id, body, lanes=lane("L1", "Ban HTKC", "start", "note", "end"))


def open_task(container: EngineContainer, instance_id: str) -> str:
    with container.db.transaction(write=False) as conn:
        tasks = repo.tasks_of_instance(conn, instance_id, open_only=True)
    assert len(tasks) == 1, tasks
    return str(tasks[0]["id"])


def finish(container: EngineContainer, instance_id: str, actor: Any, **variables: Any) -> None:
    container.tasks.complete(actor, open_task(container, instance_id), variables)


def start(container: EngineContainer, key: str, **variables: Any) -> str:
    instance_id, _ = container.instances.start(INTEGRATOR, key, variables=variables)
    return instance_id


@pytest.fixture
def dashboard(container: EngineContainer, clock: FakeClock) -> Dashboard:
    return Dashboard(container.db, clock)


def test_months_are_hanoi_calendar_months() -> None:
    march = Month.parse("2026-03")
    assert march.start == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    assert march.end == datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    assert str(Month.parse("2026-01").previous()) == "2025-12" and str(Month.parse("2026-12").next()) == "2027-01"
    assert Month.of(datetime(2026, 2, 28, 17, 30, tzinfo=UTC)) == march  # 00:30 on 1/3 in Hanoi
    for bad in ("2026-13", "2026-3", "26-03", "1999-12", "tháng 3"):
        with pytest.raises(InvalidInput):
            Month.parse(bad)


def test_tasks_per_agency_and_process_with_cycle_times(
    container: EngineContainer, clock: FakeClock, dashboard: Dashboard
) -> None:
    deploy_xml(container, "dash_two.bpmn", two_steps("dash_two"))
    deploy_xml(container, "dash_one.bpmn", one_step("dash_one"))

    # February: the review done in February; the decision at 00:30 on 1/3 in Hanoi (still 28/2 in UTC) is March's
    clock.set(hanoi(2026, 2, 27, 9))
    feb = start(container, "dash_two")
    clock.set(hanoi(2026, 2, 28, 9))
    finish(container, feb, SKHCN)  # due 1/3 09:00: on time
    clock.set(datetime(2026, 2, 28, 17, 30, tzinfo=UTC))
    finish(container, feb, STP)  # due 1/3 09:00 Hanoi: on time

    # March
    clock.set(hanoi(2026, 3, 2, 8))
    quick = start(container, "dash_two")  # review on time, decide on time: 1 day in all
    slow = start(container, "dash_two")  # review on time, decide late: 5 days
    stuck = start(container, "dash_two")  # review late, decide left open and overdue
    start(container, "dash_two")  # "waiting": its review left open, overdue from 4/3 08:00
    clock.set(hanoi(2026, 3, 2, 20))
    finish(container, quick, SKHCN)
    clock.set(hanoi(2026, 3, 3, 8))
    finish(container, quick, STP)
    finish(container, slow, SKHCN)
    clock.set(hanoi(2026, 3, 7, 8))
    finish(container, slow, STP)
    finish(container, stuck, SKHCN)  # due 4/3 08:00: late
    notes = [start(container, "dash_one") for _ in range(2)]
    clock.advance(2 * HOUR)
    finish(container, notes[0], ADMIN)
    clock.advance(2 * HOUR)
    finish(container, notes[1], ADMIN)  # cycles of 2 and 4 hours: median 3 hours
    clock.set(hanoi(2026, 3, 10, 9))

    march = dashboard.figures(SKHCN, "2026-03")
    assert march.month == "2026-03" and march.current and march.as_of == hanoi(2026, 3, 10, 9)
    by_agency = {row.agency: row for row in march.agencies}
    assert {k: getattr(by_agency["skhcn"], k) for k in ("open", "overdue", "completed", "on_time", "late")} == {
        "open": 1,
        "overdue": 1,
        "completed": 3,
        "on_time": 2,
        "late": 1,
    }
    assert {k: getattr(by_agency["stp"], k) for k in ("open", "overdue", "completed", "on_time", "late")} == {
        "open": 1,
        "overdue": 1,
        "completed": 3,
        "on_time": 2,
        "late": 1,
    }
    assert by_agency["htkc"].completed == 2 and by_agency["htkc"].no_deadline == 2
    assert by_agency["htkc"].name_vi == "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội"
    assert [row.agency for row in march.agencies] == ["skhcn", "stp", "htkc"]  # the registry's order
    by_process = {row.process_key: row for row in march.processes}
    two, one = by_process["dash_two"], by_process["dash_one"]
    assert (two.open, two.overdue, two.completed, two.on_time, two.late) == (2, 2, 6, 4, 2)
    assert two.instances_completed == 3  # feb (ended 1/3 Hanoi), quick, slow
    # cycles: feb 27/2 09:00 → 1/3 00:30 = 1 d 15.5 h; quick 1 d; slow 5 d → median 1 d 15.5 h
    assert two.median_cycle_seconds == pytest.approx((DAY + 15.5 * HOUR).total_seconds())
    assert one.instances_completed == 2 and one.median_cycle_seconds == pytest.approx(3 * 3600)
    totals = march.totals
    assert (totals.open, totals.overdue, totals.completed, totals.on_time, totals.late) == (
        2,
        2,
        8,
        4,
        2,
    )
    assert totals.instances_completed == 5
    assert totals.median_cycle_seconds == pytest.approx(DAY.total_seconds())  # 2 h, 4 h, 1 d, 1 d 15.5 h, 5 d

    february = dashboard.figures(OWNER, "2026-02")  # read as of its end: feb's decision was open then
    assert not february.current and february.as_of == Month.parse("2026-02").end
    feb_agency = {row.agency: row for row in february.agencies}
    assert feb_agency["skhcn"].completed == 1 and feb_agency["skhcn"].on_time == 1
    assert feb_agency["stp"].open == 1 and feb_agency["stp"].completed == 0
    assert february.totals.instances_completed == 0 and february.totals.median_cycle_seconds is None
    assert dashboard.figures(ADMIN).month == "2026-03"  # default: the current month


def _report(summary: str) -> dict[str, Any]:
    return {"progress_summary": summary, "kpis": [], "difficulties": [], "needs_escalation": False}


def _report_task(container: EngineContainer, instance_id: str, agency: str) -> str:
    with container.db.transaction(write=False) as conn:
        tasks = repo.tasks_of_instance(conn, instance_id, open_only=True)
    return next(str(t["id"]) for t in tasks if t["element_id"] == "submit_report" and agency in t["candidate_groups"])


def test_monthly_reports_on_time_late_and_missing(
    container: EngineContainer, clock: FakeClock, dashboard: Dashboard
) -> None:
    files = [SourceFile(p.name, p.read_bytes()) for p in sorted(REPORTS.iterdir()) if p.is_file()]
    container.deployments.deploy(OWNER, files)
    clock.set(hanoi(2026, 2, 1, 8))
    january = start(container, "monthly_report", period="2026-01", agencies=["skhcn", "stp", "htkc"])
    clock.set(hanoi(2026, 2, 3, 10))
    container.tasks.complete(SIGNERS["skhcn"], _report_task(container, january, "skhcn"), _report("Tháng 1: xong"))
    clock.set(hanoi(2026, 2, 4, 23, 30))  # before the 5th: on time
    container.tasks.complete(SIGNERS["stp"], _report_task(container, january, "stp"), _report("Tháng 1"))
    clock.set(hanoi(2026, 2, 6, 9))  # after the 4th: late
    container.tasks.complete(SIGNERS["htkc"], _report_task(container, january, "htkc"), _report("Tháng 1, muộn"))
    clock.set(hanoi(2026, 3, 1, 8))
    february = start(container, "monthly_report", period="2026-02", agencies=["skhcn", "stp", "htkc"])
    other = start(container, "monthly_report", period="2025-11", agencies=["skhcn"])  # another period: not counted
    clock.set(hanoi(2026, 3, 2, 9))
    container.tasks.complete(SIGNERS["stp"], _report_task(container, february, "stp"), _report("Tháng 2"))
    clock.set(hanoi(2026, 3, 3, 9))

    before = dashboard.figures(SKHCN, "2026-03").monthly_reports
    assert before.period == "2026-02" and not before.deadline_passed
    assert before.due_at == datetime(2026, 3, 4, 16, 59, 59, tzinfo=UTC)
    assert {a.agency: a.status for a in before.agencies} == {
        "skhcn": "missing",
        "stp": "on_time",
        "htkc": "missing",
    }
    assert (before.on_time, before.late, before.missing) == (1, 0, 2)
    stp = next(a for a in before.agencies if a.agency == "stp")
    assert stp.submitted_at == hanoi(2026, 3, 2, 9) and stp.name_vi == "Sở Tư pháp"

    clock.set(hanoi(2026, 3, 5, 10))
    container.tasks.complete(SIGNERS["skhcn"], _report_task(container, february, "skhcn"), _report("Tháng 2, muộn"))
    after = dashboard.figures(STP).monthly_reports
    assert after.deadline_passed
    assert {a.agency: a.status for a in after.agencies} == {
        "skhcn": "late",
        "stp": "on_time",
        "htkc": "missing",
    }

    past = dashboard.figures(STP, "2026-02").monthly_reports  # the January cycle, as of the end of February
    assert past.period == "2026-01"
    assert {a.agency: a.status for a in past.agencies} == {
        "skhcn": "on_time",
        "stp": "on_time",
        "htkc": "late",
    }
    assert other  # started, but its period is not the one shown


def test_tasks_of_named_users_only_count_under_no_agency(
    container: EngineContainer, clock: FakeClock, dashboard: Dashboard
) -> None:
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign"/>
    <bpmn:userTask id="sign" name="Ký số" camunda:candidateUsers="lanh_dao_a, lanh_dao_b" camunda:dueDate="PT4H"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
    xml = bpmn("dash_users", body, lanes="").replace('<bpmn:laneSet id="ls_dash_users"></bpmn:laneSet>', "")
    deploy_xml(container, "dash_users.bpmn", xml.replace("<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1))
    clock.set(hanoi(2026, 3, 2, 8))
    start(container, "dash_users")
    clock.set(hanoi(2026, 3, 2, 13))
    figures = dashboard.figures(SKHCN)
    [row] = figures.agencies
    assert row.agency is None and row.name_vi == "Không thuộc cơ quan nào (giao đích danh)"
    assert (row.open, row.overdue) == (1, 1)
    assert [p.process_key for p in figures.processes] == ["dash_users"]


def test_who_may_read_and_which_months(container: EngineContainer, clock: FakeClock, dashboard: Dashboard) -> None:
    clock.set(hanoi(2026, 3, 10))
    empty = dashboard.figures(officer("ai_do", "syt"), "2026-03")
    assert empty.agencies == () and empty.processes == () and empty.monthly_reports.agencies == ()
    assert empty.totals.open == 0 and empty.monthly_reports.due_at is None
    with pytest.raises(Forbidden):
        dashboard.figures(INTEGRATOR)
    with pytest.raises(InvalidInput) as future:
        dashboard.figures(SKHCN, "2026-04")
    assert future.value.fields["field"] == "month"
