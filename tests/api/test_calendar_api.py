"""The calendar over HTTP: deadlines for any caller, days of a year, overrides for admins only. The client's app loads
processes/calendar.toml at start (the settings fixture points at processes/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.app import create_app
from phoihop.engine.clock import FakeClock
from phoihop.settings import SHIPPED_PROCESSES, Settings
from tests.conftest import TEST_SECRET

from .calls import ADMIN, PORTAL, SKHCN, assert_problem

BASE = "/api/v1/calendar"


def due(client: TestClient, headers: dict[str, str] = SKHCN, **params: Any) -> dict[str, Any]:
    response = client.get(f"{BASE}/working-days", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_received_12_february_2026_plus_10_working_days(client: TestClient) -> None:
    body = due(client, start="2026-02-12", add=10)
    assert body["start"] == "2026-02-11T17:00:00Z"  # 00:00 in Hanoi: every time out is UTC with Z (docs/api.md)
    assert (body["add"], body["received_on"], body["due_date"]) == (10, "2026-02-12", "2026-03-05")
    assert body["due_at"] == "2026-03-05T10:00:00Z"
    skipped = {d["date"]: d for d in body["skipped"]}
    assert skipped["2026-02-17"] == {"date": "2026-02-17", "name_vi": "Tết Nguyên Đán", "name_en": "Lunar New Year"}
    assert skipped["2026-02-14"]["name_vi"] == "Thứ Bảy" and len(skipped) == 11
    assert due(client, headers=PORTAL, start="2026-02-12", add=0)["due_date"] == "2026-02-12"


def test_a_datetime_after_the_cutoff_counts_from_the_next_working_day(client: TestClient) -> None:
    body = due(client, start="2026-02-12T16:00:00+07:00", add=1, cutoff="15:00")
    assert (body["received_on"], body["due_date"]) == ("2026-02-13", "2026-02-23")
    # the same moment in UTC, and with the "+" of the offset left unencoded (it arrives as a space)
    assert due(client, start="2026-02-12T09:00:00Z", add=1, cutoff="15:00")["received_on"] == "2026-02-13"
    response = client.get(f"{BASE}/working-days?start=2026-02-12T16:00:00+07:00&add=1&cutoff=15:00", headers=SKHCN)
    assert response.json()["received_on"] == "2026-02-13", response.text
    # no cut-off: the server's setting is none, and an empty value means none
    assert due(client, start="2026-02-12T16:00:00+07:00", add=1)["received_on"] == "2026-02-12"
    assert due(client, start="2026-02-12T16:00:00+07:00", add=1, cutoff="")["received_on"] == "2026-02-12"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "12/02/2026", "add": 1}, "start"),
        ({"start": "2026-02-30", "add": 1}, "start"),
        ({"start": "1990-02-12", "add": 1}, "start"),
        ({"start": "2026-02-12", "add": -1}, "add"),
        ({"start": "2026-02-12", "add": 100000}, "add"),
        ({"start": "2026-02-12", "add": 1, "cutoff": "3pm"}, "cutoff"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, params: dict[str, Any], field: str) -> None:
    body = assert_problem(client.get(f"{BASE}/working-days", params=params, headers=SKHCN), 422, "invalid-input")
    assert body["field"] == field and body["detail_vi"]


def test_missing_or_non_numeric_add_is_a_422(client: TestClient) -> None:
    for params in ({"start": "2026-02-12"}, {"start": "2026-02-12", "add": "mười"}):
        body = assert_problem(client.get(f"{BASE}/working-days", params=params, headers=SKHCN), 422)
        assert [e["field"] for e in body["errors"]] == ["query.add"]


@pytest.mark.sqlite_only("no token: refused before any SQL runs")
def test_the_calendar_needs_authentication(client: TestClient) -> None:
    assert_problem(client.get(f"{BASE}/working-days", params={"start": "2026-02-12", "add": 1}), 401)
    assert_problem(client.get(f"{BASE}/days", params={"year": 2026}), 401)


def test_days_of_a_year_hold_holidays_and_the_file_overrides(client: TestClient) -> None:
    response = client.get(f"{BASE}/days", params={"year": 2026}, headers=SKHCN)
    assert response.status_code == 200, response.text
    body = response.json()
    days_off = {d["date"]: d["name_vi"] for d in body["days_off"]}
    assert body["year"] == 2026
    assert {"2026-01-01", "2026-02-16", "2026-02-20", "2026-04-30", "2026-05-01", "2026-09-02"} <= set(days_off)
    assert days_off["2026-01-02"].startswith("Nghỉ Tết Dương lịch")  # from processes/calendar.toml
    assert "2026-03-07" not in days_off  # a plain Saturday
    assert [d["date"] for d in body["working_weekend_days"]] == ["2026-01-10", "2026-08-22"]
    assert "2027-02-06" in {
        d["date"] for d in client.get(f"{BASE}/days", params={"year": 2027}, headers=SKHCN).json()["days_off"]
    }
    assert_problem(client.get(f"{BASE}/days", params={"year": 1800}, headers=SKHCN), 422)


def test_admins_set_list_and_delete_overrides(client: TestClient) -> None:
    assert due(client, start="2026-03-06", add=1)["due_date"] == "2026-03-09"
    put = client.put(
        f"{BASE}/overrides/2026-03-07",
        headers=ADMIN,
        json={"working": True, "name_vi": "Làm bù", "name_en": "Make-up day"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["date"] == "2026-03-07" and put.json()["source"] == "api" and put.json()["updated_by"] == "root"
    assert due(client, start="2026-03-06", add=1)["due_date"] == "2026-03-07"

    listed = client.get(f"{BASE}/overrides", headers=ADMIN).json()
    assert [(o["date"], o["source"]) for o in listed] == [
        ("2026-01-02", "file"),
        ("2026-01-10", "file"),
        ("2026-03-07", "api"),
    ]
    assert client.get(f"{BASE}/overrides", params={"year": 2027}, headers=ADMIN).json() == []

    assert client.delete(f"{BASE}/overrides/2026-03-07", headers=ADMIN).status_code == 204
    assert due(client, start="2026-03-06", add=1)["due_date"] == "2026-03-09"
    assert_problem(client.delete(f"{BASE}/overrides/2026-03-07", headers=ADMIN), 404, "calendar-day-not-found")


def test_overrides_are_for_admins_only(client: TestClient) -> None:
    body = {"working": True, "name_vi": "Làm bù"}
    assert_problem(client.put(f"{BASE}/overrides/2026-03-07", json=body, headers=SKHCN), 403, "forbidden")
    assert_problem(client.get(f"{BASE}/overrides", headers=PORTAL), 403, "forbidden")
    assert_problem(client.delete(f"{BASE}/overrides/2026-01-02", headers=SKHCN), 403, "forbidden")
    assert due(client, start="2026-03-06", add=1)["due_date"] == "2026-03-09"


def test_bad_override_requests_are_422(client: TestClient) -> None:
    for body in ({"working": True, "name_vi": ""}, {"working": True}, {"working": True, "name_vi": "A", "x": 1}):
        assert_problem(client.put(f"{BASE}/overrides/2026-03-07", json=body, headers=ADMIN), 422, "invalid-request")
    assert_problem(
        client.put(f"{BASE}/overrides/2026-13-01", json={"working": True, "name_vi": "A"}, headers=ADMIN),
        422,
        "invalid-request",
    )
    problem = assert_problem(
        client.put(f"{BASE}/overrides/1999-03-06", json={"working": True, "name_vi": "A"}, headers=ADMIN),
        422,
        "invalid-calendar-day",
    )
    assert problem["field"] == "day"


def test_cutoff_office_close_and_file_come_from_the_settings(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calendar_file = tmp_path / "lich.toml"
    calendar_file.write_text(
        '[[day]]\ndate = 2026-03-09\nworking = false\nname_vi = "Nghỉ theo thông báo"\n', encoding="utf-8"
    )
    monkeypatch.setenv("PHOIHOP_CALENDAR_CUTOFF", "15:00")
    monkeypatch.setenv("PHOIHOP_CALENDAR_OFFICE_CLOSE", "16:30")
    monkeypatch.setenv("PHOIHOP_CALENDAR_FILE", str(calendar_file))
    settings = Settings(
        env="test",
        database_url=db_url,
        secret_key=TEST_SECRET,
        deploy_on_start=False,
        run_scheduler=False,
        processes_dir=Path("processes"),
    )
    assert settings.calendar_path == calendar_file
    with TestClient(create_app(settings, clock=FakeClock(), upgrade_schema=False)) as client:
        assert client.get("/readyz").status_code in (200, 503)
        assert client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]  (the file loads after listening)
        body = due(client, start="2026-03-06T15:30:00+07:00", add=1)  # Friday after the cut-off
        assert (body["received_on"], body["due_date"]) == ("2026-03-10", "2026-03-11")  # 9/3 is off by the file
        assert body["due_at"] in ("2026-03-11T09:30:00Z", "2026-03-11T09:30:00+00:00")
    monkeypatch.setenv("PHOIHOP_CALENDAR_CUTOFF", "")
    monkeypatch.setenv("PHOIHOP_CALENDAR_FILE", "")
    plain = Settings(env="test", secret_key=TEST_SECRET, processes_dir=tmp_path)
    assert plain.calendar_cutoff is None and plain.calendar_path is None


def test_the_processes_deployed_by_default_are_the_folders_own_else_the_shipped_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PHOIHOP_PROCESSES_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # an empty folder: the processes shipped in the package, with their calendar
    shipped = Settings(env="test", secret_key=TEST_SECRET)
    assert shipped.processes_dir == SHIPPED_PROCESSES
    assert {p.name for p in shipped.processes_dir.iterdir() if p.is_dir()} >= {"escalation", "green_lane"}
    assert shipped.calendar_path == SHIPPED_PROCESSES / "calendar.toml"
    (tmp_path / "processes").mkdir()  # a folder of its own, as before the package shipped processes
    assert Settings(env="test", secret_key=TEST_SECRET).processes_dir == Path("processes")
