"""The ``monthly_report`` process (báo cáo định kỳ hằng tháng, processes/monthly_report) walked over the REST API on
SQLite and PostgreSQL: each agency files its own report before the 5th (Điều 23.3), Sở KH&CN is reminded of the
late ones when the 4th has passed, consolidates, and Văn phòng UBND reports to UBND Thành phố (Điều 10.1); the timer
start opens one cycle a month, across the turn of the year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.api.calls import ADMIN, DEFINITIONS, INSTANCES, OWNER, PORTAL, TASKS, assert_problem, complete, instance
from tests.conftest import auth

PROCESS_DIR = Path(__file__).resolve().parents[2] / "processes" / "monthly_report"
KEY = "monthly_report"
HANOI = timezone(timedelta(hours=7))
# The agencies that report by default: every Sở, ban, ngành and the wards (DOMAIN.md's table without UBND).
DEFAULT_AGENCIES = [
    "skhcn",
    "stp",
    "htkc",
    "vp-ubnd",
    "stc",
    "snv",
    "thue",
    "sxd",
    "sct",
    "snnmt",
    "syt",
    "sgddt",
    "svhtt",
    "ttpvhcc",
    "xa-phuong",
]
AGENCIES = ["stp", "htkc", "syt", "xa-phuong"]
SKHCN = auth("an", groups="skhcn", name="Trần Văn An")
VP = auth("khoa", groups="vp-ubnd", name="Bùi Đăng Khoa")
UBND = auth("minh", groups="ubnd", name="Đặng Nhật Minh")


def officer(code: str) -> dict[str, str]:
    """A chuyên viên of the agency ``code``."""
    return auth(f"cv-{code}", groups=code, name=f"Chuyên viên {code}")


def hanoi(year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=HANOI).astimezone(UTC)


def report(summary: str, *, escalate: bool = False) -> dict[str, Any]:
    difficulties = [
        {
            "description": "Chưa có hướng dẫn về cơ chế thử nghiệm có kiểm soát",
            "proposal": "Sở KH&CN hướng dẫn",
            "needs_escalation": escalate,
        }
    ]
    return {
        "progress_summary": summary,
        "needs_escalation": escalate,
        "difficulties": difficulties,
        "kpis": [{"indicator": "Tỷ lệ hồ sơ trực tuyến toàn trình", "unit": "%", "target": 100, "achieved": 92.5}],
    }


def deploy(client: TestClient) -> None:
    """Every file of the folder in one request, strict: any "6 rõ" finding would refuse it."""
    parts = [
        ("files", (path.name, path.read_bytes(), "application/json" if path.suffix == ".json" else "application/xml"))
        for path in sorted(PROCESS_DIR.iterdir())
        if path.is_file()
    ]
    response = client.post(DEFINITIONS, files=parts, params={"strict": "true"}, headers=OWNER)
    assert response.status_code == 201, response.text


def start(client: TestClient, **variables: Any) -> str:
    response = client.post(INSTANCES, json={"process_key": KEY, "variables": variables}, headers=PORTAL)
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def my_tasks(client: TestClient, headers: dict[str, str], instance_id: str) -> list[dict[str, Any]]:
    response = client.get(TASKS, params={"status": "open", "instance_id": instance_id}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def only_task(client: TestClient, headers: dict[str, str], instance_id: str, element_id: str) -> dict[str, Any]:
    (task,) = my_tasks(client, headers, instance_id)
    assert task["element_id"] == element_id, task
    return task


def open_elements(client: TestClient, instance_id: str) -> list[str]:
    return sorted(task["element_id"] for task in instance(client, instance_id)["open_tasks"])


def variables(client: TestClient, instance_id: str) -> dict[str, Any]:
    found: dict[str, Any] = instance(client, instance_id)["variables"]
    return found


def submit(client: TestClient, instance_id: str, code: str, **form: Any) -> dict[str, Any]:
    task = only_task(client, officer(code), instance_id, "submit_report")
    completed: dict[str, Any] = complete(
        client, task["id"], officer(code), **(form or report(f"Báo cáo của {code}"))
    ).json()
    return completed


def close_cycle(client: TestClient, instance_id: str) -> None:
    """Sở KH&CN consolidates, Văn phòng UBND reports to UBND Thành phố."""
    task = only_task(client, SKHCN, instance_id, "consolidate")
    complete(
        client, task["id"], SKHCN, consolidated_summary="Các đơn vị triển khai đúng tiến độ", dashboard_updated=True
    )
    task = only_task(client, VP, instance_id, "follow_up")
    complete(client, task["id"], VP, report_to_ubnd="Báo cáo UBND Thành phố kết quả tháng", needs_direction=False)
    assert instance(client, instance_id)["status"] == "completed"


def test_each_agency_sees_and_completes_only_its_own_report(client: TestClient, clock: FakeClock) -> None:
    clock.set(hanoi(2026, 2, 2))
    deploy(client)
    instance_id = start(client, period="2026-01", agencies=AGENCIES)
    assert variables(client, instance_id)["report_due_at"] == "2026-02-04T23:59:59+07:00"

    tasks = {code: only_task(client, officer(code), instance_id, "submit_report") for code in AGENCIES}
    for code, task in tasks.items():
        assert task["candidate_groups"] == [code]
        assert task["name"] == "Nộp báo cáo định kỳ tháng" and task["form_key"] == "submit_report.form.json"
        assert datetime.fromisoformat(task["due_at"]) == hanoi(2026, 2, 4, 23, 59, 59)  # before the 5th
    assert my_tasks(client, SKHCN, instance_id) == [] and my_tasks(client, UBND, instance_id) == []

    # another agency's report is not yours to file
    assert_problem(
        client.post(f"{TASKS}/{tasks['syt']['id']}/complete", json={"variables": report("x")}, headers=officer("stp")),
        403,
        "not-candidate",
    )
    # the form is checked: an escalation flag needs a difficulty marked for escalation
    wrong = {**report("Có vướng mắc"), "needs_escalation": True}
    assert_problem(complete(client, tasks["stp"]["id"], officer("stp"), status=422, **wrong), 422, "form-invalid")

    submit(client, instance_id, "stp")
    submit(client, instance_id, "htkc", **report("Khu CNC Hòa Lạc: hạ tầng sẵn sàng", escalate=True))
    assert my_tasks(client, officer("stp"), instance_id) == []  # its one task is done; the others' stay open
    assert open_elements(client, instance_id) == ["submit_report", "submit_report"]
    submit(client, instance_id, "xa-phuong")
    submit(client, instance_id, "syt")

    consolidated = variables(client, instance_id)
    assert [entry["agency"] for entry in consolidated["reports"]] == AGENCIES  # in the list's order
    assert consolidated["late_agencies"] == [] and consolidated["escalation_agencies"] == ["htkc"]
    htkc = consolidated["reports"][1]
    assert htkc["period"] == "2026-01" and htkc["on_time"] is True and htkc["needs_escalation"] is True
    assert htkc["progress_summary"] == "Khu CNC Hòa Lạc: hạ tầng sẵn sàng" and htkc["kpis"][0]["achieved"] == 92.5
    assert open_elements(client, instance_id) == ["consolidate"]
    close_cycle(client, instance_id)
    events = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    assert not any(event["kind"] == "timer_fired" for event in events)  # all on time: nobody was reminded


def test_reminder_after_the_4th_lists_the_late_agencies(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    clock.set(hanoi(2026, 2, 2))
    deploy(client)
    instance_id = start(client, period="2026-01", agencies=AGENCIES)
    clock.set(hanoi(2026, 2, 3, 10))
    submit(client, instance_id, "stp")
    submit(client, instance_id, "xa-phuong")

    clock.set(hanoi(2026, 2, 4, 23, 59, 58))  # still the 4th: the reports are not late yet
    assert app_container.timers.fire_due_timers() == 0
    assert my_tasks(client, SKHCN, instance_id) == []
    clock.set(hanoi(2026, 2, 5, 0, 0, 1))
    assert app_container.timers.fire_due_timers() == 1

    remind = only_task(client, SKHCN, instance_id, "remind_late_agencies")
    assert remind["name"] == "Nhắc nhở và lập danh sách đơn vị chậm báo cáo"
    assert variables(client, instance_id)["late_agencies"] == ["htkc", "syt"]
    for code in ("htkc", "syt"):  # the collection goes on, now overdue
        assert only_task(client, officer(code), instance_id, "submit_report")["deadline_state"] == "overdue"
    complete(
        client,
        remind["id"],
        SKHCN,
        reminded_agencies=["htkc", "syt"],
        reminder_note="Công văn đôn đốc, hạn nộp ngày 06/02/2026",
    )
    assert open_elements(client, instance_id) == ["submit_report", "submit_report"]

    clock.set(hanoi(2026, 2, 6, 8))
    submit(client, instance_id, "syt")
    submit(client, instance_id, "htkc")
    consolidated = variables(client, instance_id)
    assert consolidated["late_agencies"] == ["htkc", "syt"]  # in the consolidated data, in the list's order
    on_time = {entry["agency"]: entry["on_time"] for entry in consolidated["reports"]}
    assert on_time == {"stp": True, "htkc": False, "syt": False, "xa-phuong": True}
    consolidate = only_task(client, SKHCN, instance_id, "consolidate")
    # five working days after the due date (Wed 4/2 + 5: Thu 5, Fri 6, Mon 9, Tue 10, Wed 11), end of office hours
    assert datetime.fromisoformat(consolidate["due_at"]) == hanoi(2026, 2, 11, 17)
    close_cycle(client, instance_id)
    assert app_container.timers.fire_due_timers() == 0


def test_december_is_due_in_january(client: TestClient, clock: FakeClock) -> None:
    clock.set(hanoi(2026, 1, 1, 8))
    deploy(client)
    instance_id = start(client, period="2025-12", agencies=["snv"])
    assert variables(client, instance_id)["report_due_at"] == "2026-01-04T23:59:59+07:00"
    task = only_task(client, officer("snv"), instance_id, "submit_report")
    assert datetime.fromisoformat(task["due_at"]) == hanoi(2026, 1, 4, 23, 59, 59)


def test_start_form_refuses_a_bad_period_or_agency(client: TestClient) -> None:
    deploy(client)
    for body in (
        {"period": "2026-13"},
        {"period": "01/2026"},
        {"period": "2026-01", "agencies": ["ubnd"]},
        {"period": "2026-01", "agencies": []},
    ):
        response = client.post(INSTANCES, json={"process_key": KEY, "variables": body}, headers=PORTAL)
        assert_problem(response, 422, "form-invalid")


def test_the_timer_start_opens_one_cycle_a_month_across_the_year(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    """Needs the scheduled start of a timer start event (engine.commands.timers) to pass ``period`` (the month
    reported on) and the start form's defaults (``agencies``)."""
    clock.set(hanoi(2025, 12, 20))
    deploy(client)
    assert app_container.timers.next_start_due() == hanoi(2026, 1, 1, 8)
    clock.set(hanoi(2026, 1, 1, 8, 0, 1))
    assert app_container.scheduler.run_once() == 1
    clock.set(hanoi(2026, 2, 1, 8, 0, 1))
    assert app_container.scheduler.run_once() >= 1  # February's start (and January's report timer)
    response = client.get(INSTANCES, params={"process_key": KEY}, headers=ADMIN)
    assert response.status_code == 200, response.text
    cycles = sorted((variables(client, item["id"]) for item in response.json()["items"]), key=lambda v: v["period"])
    assert [(v["period"], v["report_due_at"]) for v in cycles] == [
        ("2025-12", "2026-01-04T23:59:59+07:00"),
        ("2026-01", "2026-02-04T23:59:59+07:00"),
    ]
    assert all(v["agencies"] == DEFAULT_AGENCIES for v in cycles)
    assert cycles[0]["late_agencies"] == DEFAULT_AGENCIES  # nobody reported on December by 4 January


def test_quarter_ends_prepare_the_inter_agency_meeting(client: TestClient, clock: FakeClock) -> None:
    """After the report to UBND: March and September prepare the quarterly meeting (Điều 23.1), June and December
    the 6-monthly review (Điều 23.2); other months end the cycle (covered by close_cycle above)."""
    clock.set(hanoi(2026, 4, 1, 8))
    deploy(client)
    for period, element in (("2026-03", "prepare_quarterly_meeting"), ("2026-06", "prepare_half_year_review")):
        clock.set(hanoi(2026, int(period[5:]) + 1, 1, 8))  # the cycle opens on the 1st of the next month
        instance_id = start(client, period=period, agencies=["snv"])
        submit(client, instance_id, "snv")
        task = only_task(client, SKHCN, instance_id, "consolidate")
        complete(client, task["id"], SKHCN, consolidated_summary="Tổng hợp", dashboard_updated=True)
        task = only_task(client, VP, instance_id, "follow_up")
        complete(client, task["id"], VP, report_to_ubnd="Báo cáo UBND", needs_direction=False)
        assert open_elements(client, instance_id) == [element]
        task = only_task(client, SKHCN, instance_id, element)
        assert task["lane"] == "Sở Khoa học và Công nghệ" and task["due_at"] is not None
        response = client.post(
            f"{TASKS}/{task['id']}/complete", json={"variables": {"agenda": "Giao ban"}}, headers=SKHCN
        )
        assert_problem(response, 422, "form-invalid")  # the meeting date is required
        complete(
            client,
            task["id"],
            SKHCN,
            meeting_date="2026-07-15",
            agenda="Đánh giá kết quả, tháo gỡ vướng mắc",
            participants=["skhcn", "vp-ubnd", "stp", "htkc"],
        )
        assert instance(client, instance_id)["status"] == "completed"
