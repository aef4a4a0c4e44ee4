"""The dashboard page (Điều 23.4) in a real browser: figures after some tasks are completed, the monthly reports of the
period, the charts, and the CSV and XLSX downloads. The test deploys a process under a key of its own and starts the
current monthly-report cycle (the session's server is shared: figures are read on this test's own rows).
Screenshot: docs/screenshots/dashboard.png."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect

from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.reads.dashboard import Month
from phoihop.web.numbers import month_label
from tests.engine.test_dashboard import two_steps
from tests.web.conftest import PORTAL, LiveServer, bearer, screenshot

ROOT = Path(__file__).parents[2]
OWNER = bearer("owner.api", roles=("process-owner",))
SKHCN = bearer("skhcn.an", groups=("skhcn",))
STP = bearer("stp.dung", groups=("stp",))
SKHCN_LEAD = bearer("skhcn.cuong", groups=("skhcn",), roles=("officer", "lead"))  # signs the monthly report


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args: dict[str, Any], isolated_server: LiveServer) -> dict[str, Any]:
    """This module's pages open on the isolated server (it deploys processes of its own)."""
    return {**browser_context_args, "base_url": isolated_server.url}


def call(server: LiveServer, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    response = httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def open_task(server: LiveServer, instance_id: str, element_id: str, group: str | None = None) -> str:
    instance = call(server, "GET", f"/api/v1/process-instances/{instance_id}", PORTAL)
    return str(
        next(
            t["id"]
            for t in instance["open_tasks"]
            if t["element_id"] == element_id and (group is None or group in t["candidate_groups"])
        )
    )


def complete(server: LiveServer, task_id: str, headers: dict[str, str], **variables: Any) -> None:
    call(server, "POST", f"/api/v1/tasks/{task_id}/complete", headers, json={"variables": variables})


def work(server: LiveServer) -> str:
    """A process of this test: two cases done (Sở KH&CN reviews, Sở Tư pháp decides), one waiting at Sở Tư pháp."""
    key = f"dash_{uuid.uuid4().hex[:8]}"
    xml = two_steps(key).replace(f'<bpmn:process id="{key}"', f'<bpmn:process id="{key}" name="Thẩm định thử"', 1)
    call(server, "POST", "/api/v1/process-definitions", OWNER, files=[("files", (f"{key}.bpmn", xml.encode()))])
    instances = [
        call(server, "POST", "/api/v1/process-instances", PORTAL, json={"process_key": key})["id"] for _ in range(3)
    ]
    for instance_id in instances:
        complete(server, open_task(server, instance_id, "review"), SKHCN)
    for instance_id in instances[:2]:
        complete(server, open_task(server, instance_id, "decide"), STP)
    return key


def report_cycle(server: LiveServer) -> str:
    """The current cycle of the monthly report (period = last month) for three agencies; Sở KH&CN reports."""
    files = [("files", (p.name, p.read_bytes())) for p in sorted((ROOT / "processes" / "monthly_report").iterdir())]
    call(server, "POST", "/api/v1/process-definitions", OWNER, files=files)
    period = str(Month.of(datetime.now(HANOI_TZ)).previous())
    instance = call(
        server,
        "POST",
        "/api/v1/process-instances",
        PORTAL,
        json={
            "process_key": "monthly_report",
            "business_key": f"BC-{uuid.uuid4().hex[:8]}",
            "variables": {"period": period, "agencies": ["skhcn", "stp", "htkc"]},
        },
    )
    complete(
        server,
        open_task(server, instance["id"], "submit_report", "skhcn"),
        SKHCN_LEAD,
        progress_summary="Đã triển khai",
        kpis=[],
        difficulties=[],
        needs_escalation=False,
    )
    return period


def test_the_dashboard_shows_the_figures_and_downloads_them(page: Page, isolated_server: LiveServer) -> None:
    key = work(isolated_server)
    period = report_cycle(isolated_server)
    now = datetime.now(HANOI_TZ)
    month = str(Month.of(now))
    report_due = datetime(now.year, now.month, 4, 23, 59, 59, tzinfo=HANOI_TZ)
    skhcn_report = "Đúng hạn" if now <= report_due else "Trễ hạn"

    page.goto("/bang-dieu-khien")
    page.get_by_test_id("sign-in-stp.dung").click()  # an officer sees the whole city's figures (Điều 5.4, 5.7)
    expect(page.get_by_test_id("dashboard-title")).to_have_text("Bảng điều khiển điện tử")
    expect(page.locator(".mainnav a[aria-current=page]")).to_have_text("Bảng điều khiển")
    expect(page.get_by_test_id("as-of")).to_contain_text(f"Tháng {month_label(month)};")  # 12/2026, never 2026-12
    expect(page).to_have_title(re.compile(f"^Bảng điều khiển điện tử tháng {re.escape(month_label(month))}"))
    expect(page.get_by_test_id("previous-month")).to_have_text(f"‹ Tháng {month_label(period)}")
    row = page.locator(f'[data-testid="process-table"] tr[data-process-key="{key}"]')
    expect(row.locator("th")).to_contain_text("Thẩm định thử")
    for figure, value in (
        ("open", "1"),
        ("overdue", "0"),
        ("completed", "5"),
        ("on_time", "5"),
        ("late", "0"),
        ("instances_completed", "2"),
    ):
        expect(row.locator(f'[data-figure="{figure}"]')).to_have_text(value)
    expect(row.locator('[data-figure="median"]')).to_contain_text("phút")  # two cases done in seconds: 0 phút
    agencies = page.get_by_test_id("agency-table")
    expect(agencies.locator('tr[data-agency="skhcn"] th')).to_have_text("Sở Khoa học và Công nghệ")
    expect(page.locator("#chart-agencies rect.bar-on-time").first).to_be_visible()
    expect(page.locator("#chart-agencies title").first).to_have_text("Theo cơ quan, đơn vị")

    reports = page.get_by_test_id("reports")
    expect(reports.locator("h2")).to_have_text(
        f"Báo cáo định kỳ tháng {month_label(period)} (nộp trước ngày 05 tháng sau)"
    )
    table = page.get_by_test_id("report-table")
    expect(table.locator('tr[data-agency="skhcn"] .badge')).to_have_text(skhcn_report)
    expect(table.locator('tr[data-agency="stp"] .badge')).to_have_text("Chưa nộp")
    expect(table.locator('tr[data-agency="htkc"] .badge')).to_have_text("Chưa nộp")
    screenshot(page, "dashboard")

    with page.expect_download() as csv_download:
        page.get_by_test_id("download-csv").click()
    assert csv_download.value.suggested_filename == f"bang-dieu-khien-{month}.csv"
    raw = Path(csv_download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    process_row = next(r for r in rows if r and r[0] == key)
    assert process_row[1] == "Thẩm định thử" and process_row[2] == "1" and process_row[5:8] == ["5", "5", "0"]
    assert next(r for r in rows if r and r[0] == "stp" and len(r) == 5)[2] == "Chưa nộp"  # the reports table

    with page.expect_download() as xlsx_download:
        page.get_by_test_id("download-xlsx").click()
    assert xlsx_download.value.suggested_filename == f"bang-dieu-khien-{month}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    by_process = {r[0]: r for r in book["Theo quy trình"].iter_rows(min_row=2, values_only=True)}
    assert by_process[key][1:8] == ("Thẩm định thử", 1, 0, 0, 5, 5, 0)
    reported = {r[0]: r[2] for r in book[f"Báo cáo tháng {period}"].iter_rows(min_row=2, values_only=True)}
    assert reported["skhcn"] == skhcn_report and reported["htkc"] == "Chưa nộp"

    page.get_by_test_id("previous-month").click()  # last month: this test's work is not in it
    expect(page.get_by_test_id("as-of")).to_contain_text(f"Tháng {month_label(period)};")
    expect(page.locator(f'tr[data-process-key="{key}"]')).to_have_count(0)


def test_the_dashboard_in_english_and_a_bad_month(page: Page, isolated_server: LiveServer) -> None:
    page.goto("/bang-dieu-khien?lang=en")
    page.get_by_test_id("sign-in-owner.bao").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text("Electronic dashboard")
    expect(page.get_by_test_id("kpis")).to_contain_text("Completed on time")
    future = str(Month.of(datetime.now(HANOI_TZ)).next())
    response = page.goto(f"/bang-dieu-khien?month={future}")
    assert response is not None and response.status == 422
    expect(page.get_by_test_id("error")).to_contain_text(future)


def test_a_month_reads_as_an_officer_writes_it() -> None:
    assert month_label("2026-11") == "11/2026"
    assert month_label("2027-01") == "01/2027"
    assert month_label("2026-13") == "2026-13"  # not a month: shown as it came, never a wrong one
    assert month_label("tháng") == "tháng"
