"""Deadline states over HTTP: a task's due_at, warn_at and state moving on_time → warning → overdue as the clock moves,
the ``deadline`` filter of the inbox, finished early / on_time / late, and green-lane instances with their dossier
block (code, portal status) and the appointment date as the instance's deadline.

The clock starts at 2026-01-05 08:00 UTC (15:00 in Hanoi). Tasks are due two days after creation (P2D): due at
2026-01-07 08:00 UTC, which is 15:00 on 7/1 in Hanoi; 75% of that (36 h) is 03:00 on 7/1 in Hanoi, outside working
hours, so warn_at is the opening that morning, 08:00 Hanoi (01:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.api.calls import (
    ADMIN,
    INSTANCES,
    PORTAL,
    SKHCN,
    STP,
    TASKS,
    assert_problem,
    complete,
    instance,
    open_tasks,
    start,
    task_list,
    upload,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "deadlines"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DUE = T0 + timedelta(days=2)
WARN = datetime(2026, 1, 7, 1, 0, tzinfo=UTC)  # 08:00 Hanoi: the 75% moment (03:00) moved into working hours
APPOINTMENT = "2026-01-09T17:00:00+07:00"  # 10:00 UTC on 9/1


def deploy(client: TestClient, name: str) -> None:
    response = upload(client, (name, (FIXTURES / name).read_bytes()))
    assert response.status_code == 201, response.text


def moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def get_task(client: TestClient, task_id: str, headers: dict[str, str] = SKHCN) -> dict[str, Any]:
    response = client.get(f"{TASKS}/{task_id}", headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def ids(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


def review_task(client: TestClient) -> str:
    """Start deadline_tasks; the id of its first task (review, due in two days)."""
    started = start(client, "deadline_tasks")
    return str(open_tasks(client, started["id"])["review"]["id"])


# --- open tasks -------------------------------------------------------------------------------------------------------
def test_task_moves_from_on_time_to_warning_to_overdue(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "deadline_tasks.bpmn")
    task_id = review_task(client)
    task = get_task(client, task_id)
    assert moment(task["due_at"]) == DUE
    assert moment(task["warn_at"]) == WARN
    assert task["required_role"] is None
    assert task["deadline_state"] == "on_time"

    clock.set(WARN - timedelta(seconds=1))
    assert get_task(client, task_id)["deadline_state"] == "on_time"
    clock.set(WARN)
    assert get_task(client, task_id)["deadline_state"] == "warning"
    clock.set(DUE)  # due now, not yet past it
    assert get_task(client, task_id)["deadline_state"] == "warning"
    clock.set(DUE + timedelta(seconds=1))
    assert get_task(client, task_id)["deadline_state"] == "overdue"
    # the instance view lists its open tasks with their state too
    listed = open_tasks(client, task["instance_id"])["review"]
    assert listed["deadline_state"] == "overdue"


def test_deadline_filter_of_the_inbox(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "deadline_tasks.bpmn")
    early = review_task(client)  # created at T0
    clock.set(T0 + timedelta(hours=24))
    late = review_task(client)  # created a day later: due 8/1 08:00 UTC, warning from 8/1 08:00 Hanoi (01:00 UTC)
    done = review_task(client)
    complete(client, done, SKHCN)  # its next task (archive) has no due time
    no_due = str(open_tasks(client, get_task(client, done)["instance_id"])["archive"]["id"])
    assert get_task(client, no_due)["deadline_state"] is None
    assert get_task(client, no_due)["due_at"] is None

    def by_state(state: str, headers: dict[str, str] = SKHCN) -> set[str]:
        page = task_list(client, headers, deadline=state)
        assert page["total"] == len(page["items"])
        assert all(item["deadline_state"] == state for item in page["items"] if item["due_at"] is not None)
        return ids(page)

    clock.set(T0 + timedelta(hours=30))
    assert by_state("on_time") == {early, late, no_due}  # no due time counts as on time in the filter
    assert by_state("warning") == set()
    assert by_state("overdue") == set()

    clock.set(WARN)  # the first review enters its warning period
    assert by_state("on_time") == {late, no_due}
    assert by_state("warning") == {early}
    assert by_state("overdue") == set()

    clock.set(DUE + timedelta(minutes=1))
    assert by_state("overdue") == {early}
    assert by_state("warning") == set()
    assert by_state("on_time") == {late, no_due}

    clock.set(WARN + timedelta(days=1))  # the second review's warning time
    assert by_state("warning") == {late}
    assert by_state("overdue") == {early}
    assert by_state("on_time") == {no_due}

    # combined with the other filters, and never showing other agencies' tasks
    assert ids(task_list(client, SKHCN, deadline="overdue", process_key="deadline_tasks")) == {early}
    assert ids(task_list(client, SKHCN, deadline="overdue", process_key="other")) == set()
    assert by_state("overdue", STP) == set()
    # finished tasks are never in a deadline filter
    complete(client, early, SKHCN)
    assert by_state("overdue") == set()


def test_bogus_deadline_filter_is_a_422_problem(client: TestClient) -> None:
    for value in ("bogus", "late", "early", "", "OVERDUE"):
        body = assert_problem(client.get(TASKS, params={"deadline": value}, headers=SKHCN), 422, "invalid-request")
        assert body["errors"][0]["field"] == "query.deadline"
        assert body["detail_vi"]


# --- finished tasks ---------------------------------------------------------------------------------------------------
def test_finished_tasks_are_early_on_time_or_late(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "deadline_tasks.bpmn")
    early, on_time, late = review_task(client), review_task(client), review_task(client)

    clock.set(T0 + timedelta(hours=1))  # 5/1, two days before the due day
    done = complete(client, early, SKHCN).json()
    assert done["status"] == "completed"
    assert done["deadline_state"] == "early"
    clock.set(DUE - timedelta(hours=1))  # 14:00 on the due day in Hanoi
    assert complete(client, on_time, SKHCN).json()["deadline_state"] == "on_time"
    clock.set(DUE + timedelta(hours=1))
    assert complete(client, late, SKHCN).json()["deadline_state"] == "late"

    clock.set(DUE + timedelta(days=30))  # a finished task keeps its state whatever the time
    assert [get_task(client, t)["deadline_state"] for t in (early, on_time, late)] == ["early", "on_time", "late"]
    page = task_list(client, SKHCN, status="completed")
    assert {i["id"]: i["deadline_state"] for i in page["items"]} == {early: "early", on_time: "on_time", late: "late"}


def test_early_means_before_the_due_day_in_hanoi_time(client: TestClient, clock: FakeClock) -> None:
    """Due at 15:00 on 7/1 in Hanoi: 23:30 on 6/1 Hanoi (16:30 UTC) is early; 00:30 on 7/1 Hanoi (17:30 UTC on 6/1,
    still the day before in UTC) is already the due day."""
    deploy(client, "deadline_tasks.bpmn")
    before, same_day = review_task(client), review_task(client)
    clock.set(datetime(2026, 1, 6, 16, 30, tzinfo=UTC))
    assert complete(client, before, SKHCN).json()["deadline_state"] == "early"
    clock.set(datetime(2026, 1, 6, 17, 30, tzinfo=UTC))
    assert complete(client, same_day, SKHCN).json()["deadline_state"] == "on_time"


def test_cancelled_tasks_have_no_deadline_state(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "deadline_tasks.bpmn")
    task_id = review_task(client)
    instance_id = get_task(client, task_id)["instance_id"]
    clock.set(DUE + timedelta(days=1))
    response = client.post(f"{INSTANCES}/{instance_id}/cancel", json={"reason": "Công dân rút hồ sơ"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    task = get_task(client, task_id, ADMIN)
    assert task["status"] == "cancelled"
    assert task["deadline_state"] is None
    assert moment(task["due_at"]) == DUE  # the due time stays visible
    assert instance(client, instance_id)["deadline_state"] is None


# --- instances: appointment date and dossier --------------------------------------------------------------------------
def test_green_lane_instance_shows_its_dossier_and_appointment(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "dossier_green_lane.bpmn")
    started = start(client, "dossier_green_lane", variables={"appointment": APPOINTMENT})
    code = "000.00.25.H26-260105-0001"
    secret = started["dossier"]["lookup_secret"]  # the receipt's (tests/api/test_public_lookup_api.py)
    assert started["dossier"] == {
        "code": code,
        "status": 2,
        "status_name_vi": "Được tiếp nhận",
        "status_name_en": "Accepted",
        "lookup_secret": secret,
    }
    assert started["variables"]["dossier_code"] == code
    assert moment(started["due_at"]) == datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
    assert started["deadline_state"] == "on_time"
    other = start(client, "dossier_green_lane", variables={"appointment": APPOINTMENT})
    assert other["dossier"]["code"] == "000.00.25.H26-260105-0002"

    # the integrator finds it by its code; the summary carries the same blocks
    response = client.get(INSTANCES, params={"dossier_code": code}, headers=PORTAL)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 1
    (summary,) = page["items"]
    assert summary["id"] == started["id"]
    assert summary["dossier"] == started["dossier"]
    assert summary["due_at"] == started["due_at"]
    assert summary["deadline_state"] == "on_time"
    assert client.get(INSTANCES, params={"dossier_code": code + "9"}, headers=PORTAL).json()["total"] == 0
    listed = client.get(INSTANCES, params={"process_key": "dossier_green_lane"}, headers=PORTAL).json()
    assert {i["dossier"]["code"] for i in listed["items"]} == {code, other["dossier"]["code"]}

    # 98 hours from start to appointment: warning from 73.5 hours on (75%)
    warn = T0 + timedelta(hours=73, minutes=30)
    clock.set(warn - timedelta(seconds=1))
    assert instance(client, started["id"])["deadline_state"] == "on_time"
    clock.set(warn)
    assert instance(client, started["id"])["deadline_state"] == "warning"
    assert (
        client.get(INSTANCES, params={"dossier_code": code}, headers=PORTAL).json()["items"][0]["deadline_state"]
        == "warning"
    )

    # result returned on 8/1 (Hanoi): a day before the appointment → early, status 10
    task_id = open_tasks(client, started["id"])["appraise"]["id"]
    complete(client, task_id, SKHCN)
    finished = instance(client, started["id"])
    assert finished["status"] == "completed"
    assert finished["dossier"] == {
        "code": code,
        "status": 10,
        "status_name_vi": "Đã trả kết quả",
        "status_name_en": "Result returned",
        "lookup_secret": secret,
    }
    assert finished["deadline_state"] == "early"


def test_instance_finished_on_the_appointment_day_or_after_it(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "dossier_green_lane.bpmn")
    on_time = start(client, "dossier_green_lane", variables={"appointment": APPOINTMENT})
    late = start(client, "dossier_green_lane", variables={"appointment": APPOINTMENT})
    clock.set(datetime(2026, 1, 9, 9, 0, tzinfo=UTC))  # 16:00 in Hanoi on the appointment day
    complete(client, open_tasks(client, on_time["id"])["appraise"]["id"], SKHCN)
    assert instance(client, on_time["id"])["deadline_state"] == "on_time"

    clock.set(datetime(2026, 1, 9, 10, 0, 1, tzinfo=UTC))
    assert instance(client, late["id"])["deadline_state"] == "overdue"
    clock.set(datetime(2026, 1, 12, 3, 0, tzinfo=UTC))
    complete(client, open_tasks(client, late["id"])["appraise"]["id"], SKHCN)
    assert instance(client, late["id"])["deadline_state"] == "late"


def test_instances_without_appointment_or_dossier(client: TestClient) -> None:
    deploy(client, "deadline_tasks.bpmn")
    plain = start(client, "deadline_tasks")
    assert plain["due_at"] is None
    assert plain["deadline_state"] is None
    assert plain["dossier"] is None
    # a dossier_status alone (no code) still shows; a value outside 1–10 has no name
    unknown = start(client, "deadline_tasks", variables={"dossier_status": 42, "appointment_at": "not a date"})
    assert unknown["dossier"] == {
        "code": None,
        "status": 42,
        "status_name_vi": None,
        "status_name_en": None,
        "lookup_secret": None,  # a secret comes with a code only
    }
    assert unknown["due_at"] is None
    assert unknown["deadline_state"] is None
    processing = start(client, "deadline_tasks", variables={"dossier_status": 4, "appointment_at": "2026-01-06"})
    assert processing["dossier"]["status_name_vi"] == "Đang xử lý"
    assert moment(processing["due_at"]) == datetime(2026, 1, 6, 10, 0, tzinfo=UTC)  # a date: 17:00 in Hanoi
    assert processing["deadline_state"] == "on_time"
    items = {
        i["id"]: i
        for i in client.get(INSTANCES, params={"process_key": "deadline_tasks"}, headers=PORTAL).json()["items"]
    }
    assert items[plain["id"]]["dossier"] is None
    assert items[unknown["id"]]["dossier"]["status"] == 42
    assert items[processing["id"]]["deadline_state"] == "on_time"


def test_the_task_list_searches_text_without_case_or_diacritics(client: TestClient) -> None:
    """``GET /api/v1/tasks?q=`` (issue 10.3): the web inbox's search over REST."""
    deploy(client, "deadline_tasks.bpmn")
    task_id = review_task(client)
    name = get_task(client, task_id)["name"]
    import unicodedata

    from phoihop.engine.search_text import fold

    assert ids(task_list(client, SKHCN, q=fold(name).upper())) == {task_id}
    assert ids(task_list(client, SKHCN, q=unicodedata.normalize("NFD", name))) == {task_id}
    assert ids(task_list(client, SKHCN, q="không có việc này")) == set()
