"""GET /api/v1/dashboard and /api/v1/dashboard/export: the figures as JSON, CSV (UTF-8 with BOM) and XLSX (read back
with openpyxl), who may read them, and bad months."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
from fastapi.testclient import TestClient

from phoihop.engine.clock import HANOI_TZ, FakeClock
from tests.api.calls import ADMIN, PORTAL, SKHCN, STP, open_tasks, start, upload
from tests.conftest import auth
from tests.engine.test_dashboard import two_steps

DASHBOARD = "/api/v1/dashboard"
EXPORT = "/api/v1/dashboard/export"
OWNER = auth("owner", roles="process-owner")
LEAD = auth("cuong", groups="skhcn", roles="lead")


def hanoi(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=HANOI_TZ).astimezone(UTC)


def _complete(client: TestClient, instance_id: str, element_id: str, headers: dict[str, str]) -> None:
    task = open_tasks(client, instance_id)[element_id]
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}, headers=headers)
    assert response.status_code == 200, response.text


def _walk(client: TestClient, clock: FakeClock) -> None:
    """Process "=HYPERLINK(...)" (a formula-like name): one instance done on time in a day, one with a late review
    and its decision open and overdue on 10/3."""
    xml = two_steps("dash_api").replace(
        '<bpmn:process id="dash_api"', '<bpmn:process id="dash_api" name="=HYPERLINK(&quot;http://x&quot;)"', 1
    )
    response = upload(client, ("dash_api.bpmn", xml.encode()), headers=OWNER)
    assert response.status_code == 201, response.text
    clock.set(hanoi(2, 8))
    quick = start(client, "dash_api")["id"]
    stuck = start(client, "dash_api")["id"]
    clock.set(hanoi(2, 20))
    _complete(client, quick, "review", SKHCN)
    clock.set(hanoi(3, 8))
    _complete(client, quick, "decide", STP)
    clock.set(hanoi(5, 8))
    _complete(client, stuck, "review", SKHCN)  # due 4/3 08:00: late
    clock.set(hanoi(10, 9))


def test_figures_as_json(client: TestClient, clock: FakeClock) -> None:
    _walk(client, clock)
    response = client.get(DASHBOARD, params={"month": "2026-03"}, headers=SKHCN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["month"] == "2026-03" and body["current"] is True
    assert datetime.fromisoformat(body["start"]) == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    agencies = {row["agency"]: row for row in body["agencies"]}
    assert (agencies["skhcn"]["completed"], agencies["skhcn"]["on_time"], agencies["skhcn"]["late"]) == (2, 1, 1)
    assert (agencies["stp"]["open"], agencies["stp"]["overdue"], agencies["stp"]["completed"]) == (1, 1, 1)
    assert agencies["stp"]["name_vi"] == "Sở Tư pháp" and agencies["stp"]["name_en"] == "Department of Justice"
    [process] = body["processes"]
    assert process["process_key"] == "dash_api" and process["instances_completed"] == 1
    assert process["median_cycle_seconds"] == timedelta(days=1).total_seconds()
    assert body["totals"]["overdue"] == 1 and body["totals"]["median_cycle_seconds"] == 86400
    assert body["monthly_reports"] == {
        "process_key": "monthly_report",
        "period": "2026-02",
        "due_at": None,
        "deadline_passed": False,
        "on_time": 0,
        "late": 0,
        "missing": 0,
        "agencies": [],
    }
    same = client.get(DASHBOARD, headers=STP).json()  # default: the current month (of the injected clock)
    assert same["month"] == "2026-03" and same["totals"] == body["totals"]


def test_csv_export_with_bom_and_escaped_formulas(client: TestClient, clock: FakeClock) -> None:
    _walk(client, clock)
    response = client.get(EXPORT, params={"month": "2026-03", "format": "csv"}, headers=LEAD)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="bang-dieu-khien-2026-03.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 (Vietnamese) right
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Tổng hợp"] and rows[1] == ["Chỉ tiêu", "Giá trị"]
    summary = {row[0]: row[1] for row in rows[2 : rows.index([])]}
    assert summary["Tháng"] == "2026-03" and summary["Quá hạn"] == "1" and summary["Hoàn thành trễ hạn"] == "1"
    assert summary["Thời gian xử lý trung vị (ngày)"] == "1.0" and summary["Số liệu tính đến"] == "10/03/2026 09:00"
    by_agency = rows.index(["Theo cơ quan"])
    assert rows[by_agency + 1][:3] == ["Mã", "Cơ quan, đơn vị", "Đang xử lý"]
    skhcn = next(row for row in rows[by_agency + 2 :] if row[0] == "skhcn")
    assert skhcn[1] == "Sở Khoa học và Công nghệ" and skhcn[5:8] == ["2", "1", "1"]  # completed, on time, late
    by_process = rows.index(["Theo quy trình"])
    assert rows[by_process + 2][:2] == ["dash_api", '\'=HYPERLINK("http://x")']  # text, never a formula
    assert rows[-3:] == [
        [],
        ["Báo cáo tháng 2026-02"],  # the reports table: no report cycle in this test
        ["Mã", "Cơ quan, đơn vị", "Tình trạng", "Thời điểm nộp", "Hạn nộp"],
    ]

    english = client.get(EXPORT, params={"month": "2026-03", "lang": "en"}, headers=LEAD)
    assert english.content.decode("utf-8-sig").splitlines()[:2] == ["Summary", "Figure,Value"]


def test_xlsx_export_reads_back(client: TestClient, clock: FakeClock) -> None:
    _walk(client, clock)
    response = client.get(EXPORT, params={"month": "2026-03", "format": "xlsx"}, headers=OWNER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Tổng hợp", "Theo cơ quan", "Theo quy trình", "Báo cáo tháng 2026-02"]
    summary = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Số liệu tính đến"] == datetime(2026, 3, 10, 9, 0)  # an Excel date, Hanoi wall-clock time
    assert summary["Quá hạn"] == 1 and summary["Thời gian xử lý trung vị (ngày)"] == 1.0
    agencies = list(book["Theo cơ quan"].iter_rows(values_only=True))
    assert agencies[0][:2] == ("Mã", "Cơ quan, đơn vị")
    stp = next(row for row in agencies if row[0] == "stp")
    assert stp[1] == "Sở Tư pháp" and stp[2:5] == (1, 0, 1)  # open, warning, overdue
    [process] = list(book["Theo quy trình"].iter_rows(min_row=2, values_only=True))
    assert process[1] == '\'=HYPERLINK("http://x")'
    assert book["Theo quy trình"]["B2"].data_type == "s"  # a string cell, not a formula


def test_who_may_read_it_and_bad_months(client: TestClient, clock: FakeClock) -> None:
    clock.set(hanoi(10))
    assert client.get(DASHBOARD).status_code == 401
    refused = client.get(DASHBOARD, headers=PORTAL)  # an integrated system, not a person
    assert refused.status_code == 403 and refused.json()["type"].endswith("/forbidden")
    assert client.get(EXPORT, headers=PORTAL).status_code == 403
    for headers in (SKHCN, STP, LEAD, OWNER, ADMIN, auth("quang", groups="syt")):
        assert client.get(DASHBOARD, headers=headers).status_code == 200
    future = client.get(DASHBOARD, params={"month": "2026-04"}, headers=SKHCN)
    assert future.status_code == 422 and future.json()["field"] == "month" and future.json()["detail_vi"]
    for bad in ("2026-13", "2026-3", "x"):
        assert client.get(DASHBOARD, params={"month": bad}, headers=SKHCN).status_code == 422
    assert client.get(EXPORT, params={"format": "pdf"}, headers=SKHCN).status_code == 422
