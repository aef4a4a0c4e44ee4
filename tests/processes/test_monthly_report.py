"""The ``monthly_report`` process (báo cáo định kỳ hằng tháng, giao ban liên ngành; processes/monthly_report) walked
over the REST API on SQLite and PostgreSQL: each agency's lead files its report before the 5th (Điều 23.3) on the
targets Sở KH&CN assigned (Điều 7.2), Sở KH&CN, Sở Tư pháp and the HTKC board always among them; a report flagging
a difficulty starts an ``escalation`` case; Sở KH&CN is reminded of the late ones when the 4th has passed and its
lead consolidates; Văn phòng UBND's lead reports to UBND Thành phố (Điều 10.1); every month an inter-agency meeting,
quarterly after Sở VH&TT's press report (Điều 10.2, 22.4, 23.1), whose conclusions Văn phòng UBND issues and whose
instructions are followed until Sở KH&CN closes each; the timer start opens one cycle a month, across the year."""

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
# Sở KH&CN, Sở Tư pháp and the HTKC board always report (issue 10 §1): added when the list leaves them out
REPORTING = ["stp", "htkc", "syt", "xa-phuong", "skhcn"]
SKHCN = auth("an", groups="skhcn", name="Trần Văn An")
SKHCN_LEAD = auth("cuong", groups="skhcn", roles="lead", name="Phạm Quốc Cường")
VP = auth("khoa", groups="vp-ubnd", name="Bùi Đăng Khoa")
VP_LEAD = auth("tuan", groups="vp-ubnd", roles="lead", name="Phan Anh Tuấn")
UBND = auth("minh", groups="ubnd", name="Đặng Nhật Minh")
SVHTT_LEAD = auth("ha", groups="svhtt", roles="lead", name="Nguyễn Thu Hà")


def officer(code: str) -> dict[str, str]:
    """A chuyên viên of the agency ``code``."""
    return auth(f"cv-{code}", groups=code, name=f"Chuyên viên {code}")


def lead(code: str) -> dict[str, str]:
    """A lãnh đạo of the agency ``code``: reports are signed by the head of the agency (Điều 24.1)."""
    return auth(f"ld-{code}", groups=code, roles="lead", name=f"Lãnh đạo {code}")


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
        "kpis": [
            {
                "indicator": "Tỷ lệ hồ sơ trực tuyến toàn trình",
                "unit": "%",
                "target": 100,
                "assigned_by": "1520/KH-SKHCN",
                "achieved": 92.5,
            }
        ],
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
    task = only_task(client, lead(code), instance_id, "submit_report")
    completed: dict[str, Any] = complete(
        client, task["id"], lead(code), **(form or report(f"Báo cáo của {code}"))
    ).json()
    return completed


def consolidate_and_report(client: TestClient, instance_id: str) -> None:
    """The Sở KH&CN lead consolidates, the Văn phòng UBND lead reports to UBND Thành phố."""
    task = only_task(client, SKHCN, instance_id, "consolidate")
    assert task["required_role"] == "lead"
    assert_problem(complete(client, task["id"], SKHCN, status=403, consolidated_summary="x"), 403, "role-required")
    complete(
        client,
        task["id"],
        SKHCN_LEAD,
        consolidated_summary="Các đơn vị triển khai đúng tiến độ",
        kpi_assessment="Đạt 9/10 chỉ tiêu đã giao",
        dashboard_updated=True,
    )
    task = only_task(client, VP, instance_id, "follow_up")
    assert task["required_role"] == "lead"
    complete(client, task["id"], VP_LEAD, report_to_ubnd="Báo cáo UBND Thành phố kết quả tháng", needs_direction=False)


def hold_meeting(client: TestClient, instance_id: str, element: str, *instructions: dict[str, Any]) -> None:
    """Sở KH&CN prepares the meeting, Văn phòng UBND issues its conclusions (thông báo kết luận)."""
    task = only_task(client, SKHCN, instance_id, element)
    complete(
        client,
        task["id"],
        SKHCN,
        meeting_date="2026-02-20",
        agenda="Đánh giá kết quả, tháo gỡ vướng mắc",
        participants=["skhcn", "vp-ubnd", "stp", "htkc"],
    )
    task = only_task(client, VP, instance_id, "record_conclusions")
    assert task["required_role"] == "lead" and task["lane"] == "Văn phòng UBND Thành phố"
    complete(
        client,
        task["id"],
        VP_LEAD,
        conclusion_number="412/TB-VP",
        conclusion_date="2026-02-23",
        chaired_by="Phó Chủ tịch UBND Thành phố",
        conclusions="Các đơn vị tiếp tục triển khai; tháo gỡ vướng mắc về thử nghiệm có kiểm soát",
        instructions=list(instructions),
    )


def close_cycle(client: TestClient, instance_id: str) -> None:
    """Consolidation, the report to UBND and a monthly meeting that assigns nothing: the cycle ends."""
    consolidate_and_report(client, instance_id)
    hold_meeting(client, instance_id, "prepare_monthly_meeting")
    assert instance(client, instance_id)["status"] == "completed"


def test_each_agency_sees_and_completes_only_its_own_report(client: TestClient, clock: FakeClock) -> None:
    clock.set(hanoi(2026, 2, 2))
    deploy(client)
    instance_id = start(client, period="2026-01", agencies=AGENCIES)
    assert variables(client, instance_id)["report_due_at"] == "2026-02-04T23:59:59+07:00"

    assert variables(client, instance_id)["agencies"] == REPORTING
    tasks = {code: only_task(client, lead(code), instance_id, "submit_report") for code in REPORTING}
    for code, task in tasks.items():
        assert (task["candidate_groups"], task["required_role"]) == ([code], "lead")
        assert task["name"] == "Nộp báo cáo định kỳ tháng" and task["form_key"] == "submit_report.form.json"
        assert datetime.fromisoformat(task["due_at"]) == hanoi(2026, 2, 4, 23, 59, 59)  # before the 5th
    assert [task["element_id"] for task in my_tasks(client, SKHCN, instance_id)] == ["submit_report"]  # its own
    assert my_tasks(client, UBND, instance_id) == []

    # another agency's report is not yours to file
    assert_problem(
        client.post(f"{TASKS}/{tasks['syt']['id']}/complete", json={"variables": report("x")}, headers=lead("stp")),
        403,
        "not-candidate",
    )
    # a chuyên viên drafts, but the report is signed by the agency's lead ("6 rõ": rõ thẩm quyền)
    assert_problem(
        complete(client, tasks["syt"]["id"], officer("syt"), status=403, **report("x")), 403, "role-required"
    )
    # the form is checked: an escalation flag needs a difficulty marked for escalation
    wrong = {**report("Có vướng mắc"), "needs_escalation": True}
    assert_problem(complete(client, tasks["stp"]["id"], lead("stp"), status=422, **wrong), 422, "form-invalid")
    # a target is the one Sở KH&CN assigned (Điều 7.2): without the assigning document it is refused
    unassigned = report("Tự đặt chỉ tiêu")
    del unassigned["kpis"][0]["assigned_by"]
    assert_problem(complete(client, tasks["stp"]["id"], lead("stp"), status=422, **unassigned), 422, "form-invalid")

    submit(client, instance_id, "stp")
    submit(client, instance_id, "htkc", **report("Khu CNC Hòa Lạc: hạ tầng sẵn sàng", escalate=True))
    assert my_tasks(client, lead("stp"), instance_id) == []  # its one task is done; the others' stay open
    assert open_elements(client, instance_id) == ["submit_report"] * 3
    submit(client, instance_id, "xa-phuong")
    submit(client, instance_id, "syt")
    submit(client, instance_id, "skhcn")

    consolidated = variables(client, instance_id)
    assert [entry["agency"] for entry in consolidated["reports"]] == REPORTING  # in the list's order
    assert consolidated["late_agencies"] == [] and consolidated["escalation_agencies"] == ["htkc"]
    htkc = consolidated["reports"][1]
    assert htkc["period"] == "2026-01" and htkc["on_time"] is True and htkc["needs_escalation"] is True
    assert htkc["progress_summary"] == "Khu CNC Hòa Lạc: hạ tầng sẵn sàng" and htkc["kpis"][0]["achieved"] == 92.5
    assert open_elements(client, instance_id) == ["consolidate"]
    close_cycle(client, instance_id)
    events = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    assert not any(event["kind"] == "timer_fired" for event in events)  # all on time: nobody was reminded
    (sent,) = [event for event in events if event["kind"] == "message_sent"]  # htkc's difficulty, no escalation here
    assert sent["data"]["message"] == "Kiến nghị xử lý vướng mắc" and sent["data"]["delivered"] == []


def test_reminder_after_the_4th_lists_the_late_agencies(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    clock.set(hanoi(2026, 2, 2))
    deploy(client)
    instance_id = start(client, period="2026-01", agencies=AGENCIES)
    clock.set(hanoi(2026, 2, 3, 10))
    submit(client, instance_id, "stp")
    submit(client, instance_id, "xa-phuong")
    submit(client, instance_id, "skhcn")

    clock.set(hanoi(2026, 2, 4, 23, 59, 58))  # still the 4th: the reports are not late yet
    assert app_container.timers.fire_due_timers() == 0
    assert my_tasks(client, SKHCN, instance_id) == []
    clock.set(hanoi(2026, 2, 5, 0, 0, 1))
    assert app_container.timers.fire_due_timers() == 1

    remind = only_task(client, SKHCN, instance_id, "remind_late_agencies")
    assert remind["name"] == "Nhắc nhở và lập danh sách đơn vị chậm báo cáo"
    assert variables(client, instance_id)["late_agencies"] == ["htkc", "syt"]
    for code in ("htkc", "syt"):  # the collection goes on, now overdue
        assert only_task(client, lead(code), instance_id, "submit_report")["deadline_state"] == "overdue"
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
    assert on_time == {"stp": True, "htkc": False, "syt": False, "xa-phuong": True, "skhcn": True}
    consolidate = only_task(client, SKHCN, instance_id, "consolidate")
    # five working days after the due date (Wed 4/2 + 5: Thu 5, Fri 6, Mon 9, Tue 10, Wed 11), end of office hours
    assert datetime.fromisoformat(consolidate["due_at"]) == hanoi(2026, 2, 11, 17)
    close_cycle(client, instance_id)
    assert app_container.timers.fire_due_timers() == 0


def test_december_is_due_in_january(client: TestClient, clock: FakeClock) -> None:
    clock.set(hanoi(2026, 1, 1, 8))
    deploy(client)
    instance_id = start(client, period="2025-12", agencies=["snv"])
    found = variables(client, instance_id)
    assert found["report_due_at"] == "2026-01-04T23:59:59+07:00"
    assert found["agencies"] == ["snv", "skhcn", "stp", "htkc"]
    task = only_task(client, lead("snv"), instance_id, "submit_report")
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


def submit_all(client: TestClient, instance_id: str, *codes: str) -> None:
    for code in codes:
        submit(client, instance_id, code)


def test_every_month_has_a_meeting_whose_conclusions_are_followed_to_completion(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    """Điều 10.2: a monthly inter-agency meeting; Văn phòng UBND's thông báo kết luận assigns instructions, each
    carried out by the assigned agency's lead and reported until the Sở KH&CN lead closes it."""
    clock.set(hanoi(2026, 2, 2))
    deploy(client)
    instance_id = start(client, period="2026-01", agencies=["snv"])
    submit_all(client, instance_id, "snv", "skhcn", "stp", "htkc")
    consolidate_and_report(client, instance_id)
    assert open_elements(client, instance_id) == ["prepare_monthly_meeting"]
    instruction = {"content": "Ban hành hướng dẫn thử nghiệm có kiểm soát", "agency": "stp", "due_date": "2026-03-06"}
    hold_meeting(client, instance_id, "prepare_monthly_meeting", instruction)
    found = variables(client, instance_id)
    assert (found["conclusion_number"], found["instructions"]) == ("412/TB-VP", [instruction])

    task = only_task(client, lead("stp"), instance_id, "carry_out_instruction")
    assert (task["candidate_groups"], task["required_role"]) == (["stp"], "lead")
    assert datetime.fromisoformat(task["due_at"]) == hanoi(2026, 3, 6, 17)
    assert my_tasks(client, lead("snv"), instance_id) == []
    complete(client, task["id"], lead("stp"), instruction_report="Đã dự thảo hướng dẫn, đang lấy ý kiến")
    verify = only_task(client, SKHCN, instance_id, "verify_instruction")
    assert verify["required_role"] == "lead"
    assert_problem(  # continuing needs a new time limit
        complete(client, verify["id"], SKHCN_LEAD, status=422, instruction_done_confirmed=False, verify_note="Chưa"),
        422,
        "form-invalid",
    )
    complete(
        client,
        verify["id"],
        SKHCN_LEAD,
        instruction_done_confirmed=False,
        verify_note="Chưa ban hành hướng dẫn",
        new_due_date="2026-03-20",
    )
    task = only_task(client, lead("stp"), instance_id, "carry_out_instruction")  # the loop: back to Sở Tư pháp
    assert datetime.fromisoformat(task["due_at"]) == hanoi(2026, 3, 20, 17)
    # past the new time limit: Sở KH&CN's lead urges Sở Tư pháp, whose task stays open
    clock.set(hanoi(2026, 3, 20, 17) - timedelta(seconds=1))
    app_container.scheduler.run_once()  # (the timer start has opened the March cycle meanwhile: another instance)
    assert open_elements(client, instance_id) == ["carry_out_instruction"]
    clock.set(hanoi(2026, 3, 20, 17) + timedelta(seconds=1))
    assert app_container.scheduler.run_once() == 1
    assert open_elements(client, instance_id) == ["carry_out_instruction", "urge_instruction"]
    urge = only_task(client, SKHCN, instance_id, "urge_instruction")
    assert urge["required_role"] == "lead"
    complete(client, urge["id"], SKHCN_LEAD, urge_note="Đề nghị ban hành hướng dẫn ngay", urge_document="512/SKHCN-VP")
    clock.set(hanoi(2026, 3, 23, 9))
    complete(
        client,
        task["id"],
        lead("stp"),
        instruction_report="Đã ban hành hướng dẫn",
        instruction_evidence="210/HD-STP",
    )
    verify = only_task(client, SKHCN, instance_id, "verify_instruction")
    complete(client, verify["id"], SKHCN_LEAD, instruction_done_confirmed=True, verify_note="Đạt yêu cầu")

    assert instance(client, instance_id)["status"] == "completed"
    (result,) = variables(client, instance_id)["instruction_results"]
    assert (result["agency"], result["status"], result["reopened"], result["report"]) == (
        "stp",
        "hoan_thanh",
        1,
        "Đã ban hành hướng dẫn",
    )
    assert result["on_time"] is False  # closed after the first time limit, 6/3
    assert result["rounds"][0]["verify_note"] == "Chưa ban hành hướng dẫn"


def test_quarter_ends_hold_the_quarterly_meeting_after_the_press_report(client: TestClient, clock: FakeClock) -> None:
    """March and September: Sở VH&TT's press report (Điều 22.4), then the quarterly meeting (Điều 23.1); June and
    December the 6-monthly review (Điều 23.2); every other month the monthly meeting (Điều 10.2)."""
    clock.set(hanoi(2026, 4, 1, 8))
    deploy(client)
    for period, element in (("2026-03", "prepare_quarterly_meeting"), ("2026-06", "prepare_half_year_review")):
        clock.set(hanoi(2026, int(period[5:]) + 1, 1, 8))  # the cycle opens on the 1st of the next month
        instance_id = start(client, period=period, agencies=["snv"])
        submit_all(client, instance_id, "snv", "skhcn", "stp", "htkc")
        consolidate_and_report(client, instance_id)
        press = only_task(client, lead("svhtt"), instance_id, "press_report")
        assert (press["candidate_groups"], press["required_role"]) == (["svhtt"], "lead")
        assert press["lane"] == "Sở Văn hóa và Thể thao"
        complete(
            client,
            press["id"],
            SVHTT_LEAD,
            press_summary="12 cơ quan báo chí, 340 tin bài về đổi mới sáng tạo",
            press_outlets_reported=12,
            covers_year=False,
        )
        assert open_elements(client, instance_id) == [element]
        task = only_task(client, SKHCN, instance_id, element)
        assert task["lane"] == "Sở Khoa học và Công nghệ" and task["due_at"] is not None
        response = client.post(
            f"{TASKS}/{task['id']}/complete", json={"variables": {"agenda": "Giao ban"}}, headers=SKHCN
        )
        assert_problem(response, 422, "form-invalid")  # the meeting date is required
        hold_meeting(client, instance_id, element)
        assert instance(client, instance_id)["status"] == "completed"
        assert variables(client, instance_id)["press_outlets_reported"] == 12


def test_a_report_flagging_a_difficulty_starts_an_escalation_case(client: TestClient, clock: FakeClock) -> None:
    """needs_escalation: the report's flagged difficulties go to Sở KH&CN as an escalation case in the same
    transaction (message "Kiến nghị xử lý vướng mắc"), the reporting agency being the one that filed the report."""
    clock.set(hanoi(2026, 2, 2))
    deploy(client)
    response = client.post(
        DEFINITIONS,
        files=[
            (
                "files",
                (path.name, path.read_bytes(), "application/json" if path.suffix == ".json" else "application/xml"),
            )
            for path in sorted(PROCESS_DIR.parent.joinpath("escalation").iterdir())
            if path.is_file()
        ],
        headers=OWNER,
    )
    assert response.status_code == 201, response.text
    instance_id = start(client, period="2026-01", agencies=["syt"])
    submit(client, instance_id, "syt", **report("Chưa triển khai được khám từ xa", escalate=True))

    events = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    (sent,) = [event for event in events if event["kind"] == "message_sent"]
    assert sent["data"]["message"] == "Kiến nghị xử lý vướng mắc"
    (delivered,) = sent["data"]["delivered"]
    assert delivered["started"] is True
    escalation = instance(client, delivered["instance_id"])
    assert escalation["process_key"] == "escalation"
    found = escalation["variables"]
    assert (found["reporting_agency"], found["source_process"], found["urgent"]) == ("syt", "monthly_report", False)
    assert found["title"].startswith("Vướng mắc nêu trong báo cáo định kỳ tháng 01/2026: Chưa có hướng dẫn")
    assert "Đề xuất: Sở KH&CN hướng dẫn" in found["description"]
    assert [task["candidate_groups"] for task in escalation["open_tasks"]] == [["skhcn"]]
    # the monthly cycle goes on: the other agencies still report
    assert open_elements(client, instance_id) == ["submit_report"] * 3
