"""Rows of a task form in a real browser: the monthly report's difficulties (an array of objects) filled row by row
("Thêm dòng" clones the row's <template> under the page's CSP, "Xóa dòng" removes one, an empty row is left out), a
server error placed at the field of its row, then the report completed and its typed items read back over the API.
The test deploys the monthly-report process on the isolated server (green_lane stays the session server's only
process) and opens a cycle of a past period for Sở Y tế alone: the dashboard's figures of this month stay untouched."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from tests.web.conftest import PORTAL, LiveServer, bearer

ROOT = Path(__file__).parents[2]
OWNER = bearer("owner.api", roles=("process-owner",))
PERIOD = "2025-06"


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args: dict[str, Any], isolated_server: LiveServer) -> dict[str, Any]:
    """This module's pages open on the isolated server (it deploys processes of its own)."""
    return {**browser_context_args, "base_url": isolated_server.url}


def call(server: LiveServer, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    response = httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def report_task(server: LiveServer) -> tuple[str, str]:
    """(instance id, submit_report task id) of a new monthly-report cycle for Sở Y tế, started as the portal does."""
    files = [("files", (p.name, p.read_bytes())) for p in sorted((ROOT / "processes" / "monthly_report").iterdir())]
    call(server, "POST", "/api/v1/process-definitions", OWNER, files=files)  # the same content: no new version
    instance = call(
        server,
        "POST",
        "/api/v1/process-instances",
        PORTAL,
        json={
            "process_key": "monthly_report",
            "business_key": f"BC-{uuid.uuid4().hex[:8]}",
            "variables": {"period": PERIOD, "agencies": ["syt"]},
        },
    )
    [task] = [t for t in instance["open_tasks"] if t["candidate_groups"] == ["syt"]]
    assert task["element_id"] == "submit_report"
    return instance["id"], task["id"]


def row(page: Page, name: str) -> Locator:
    return page.locator(f'fieldset[data-row][data-field="{name}"]')


def test_an_officer_fills_the_difficulties_row_by_row_and_completes_the_monthly_report(
    page: Page, isolated_server: LiveServer
) -> None:
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: errors.append(str(error)))  # an error of our script
    instance_id, task_id = report_task(isolated_server)

    page.goto(f"/cong-viec/{task_id}")
    page.get_by_test_id("sign-in-syt.hanh").click()  # the report is signed by the agency's lead
    expect(page.get_by_test_id("task-name")).to_have_text("Nộp báo cáo định kỳ tháng")
    expect(page.get_by_text("Nhập dữ liệu dạng JSON")).to_have_count(0)
    difficulties = page.locator('fieldset[data-rows][data-field="difficulties"]')
    expect(difficulties.locator(":scope > legend")).to_contain_text("Khó khăn, vướng mắc")
    expect(difficulties.locator("fieldset[data-row]")).to_have_count(1)  # one empty row to start with
    first = row(page, "difficulties[0]")
    expect(first.locator(":scope > legend")).to_have_text("Vướng mắc")
    expect(first.get_by_label("Nội dung vướng mắc")).to_have_attribute("maxlength", "5000")
    description = page.locator('textarea[name="difficulties[0].description"]')
    expect(description).not_to_have_attribute("required", "")  # an empty row does not block the form...
    description.fill("Chưa có hướng dẫn cơ chế thử nghiệm có kiểm soát")
    expect(description).to_have_attribute("required", "")  # ...a row being filled does
    expect(first.locator('input[name="difficulties[0].needs_escalation"][value="true"]')).to_have_attribute(
        "required", ""
    )
    page.fill('textarea[name="difficulties[0].proposal"]', "Sở KH&CN hướng dẫn")
    first.locator('input[name="difficulties[0].needs_escalation"][value="true"]').check()

    add = difficulties.get_by_role("button", name="Thêm dòng")
    add.click()
    second = row(page, "difficulties[1]")
    expect(second).to_be_visible()
    expect(second.locator('textarea[name="difficulties[1].description"]')).to_be_focused()
    expect(second.get_by_label("Nội dung vướng mắc")).to_have_value("")
    second.get_by_label("Nội dung vướng mắc").fill("Thiếu cán bộ chuyên trách")
    second.locator('input[name="difficulties[1].needs_escalation"][value="false"]').check()
    add.click()
    third = row(page, "difficulties[2]")
    third.get_by_label("Nội dung vướng mắc").fill("Dòng nhập nhầm")
    third.get_by_role("button", name="Xóa dòng").click()
    expect(third).to_have_count(0)
    add.click()  # a last row left empty: not submitted
    expect(row(page, "difficulties[3]")).to_be_visible()
    expect(difficulties.locator("fieldset[data-row]")).to_have_count(3)

    page.fill('textarea[name="progress_summary"]', "Đã triển khai 5/6 nhiệm vụ của tháng.")
    page.fill('input[name="kpis[0].indicator"]', "Tỷ lệ hồ sơ trực tuyến toàn trình")
    page.fill('input[name="kpis[0].unit"]', "%")
    page.fill('input[name="kpis[0].target"]', "100")
    page.fill('input[name="kpis[0].assigned_by"]', "1520/KH-SKHCN")
    page.fill('input[name="kpis[0].achieved"]', "92.5")
    # a wrong answer first: no difficulty needs escalation, yet the first one is marked so (the form's rule)
    page.locator('input[name="needs_escalation"][value="false"]').check()
    page.get_by_test_id("complete").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    error = page.locator('[data-field="difficulties[0].needs_escalation"] .field-error')
    expect(error).to_have_text("Trường 'Cần Sở KH&CN, UBND Thành phố tháo gỡ' phải có giá trị false")
    expect(page.locator('[data-field="difficulties[1].needs_escalation"] .field-error')).to_have_count(0)
    # shown again as typed, the empty row gone, the rows numbered as submitted
    expect(difficulties.locator("fieldset[data-row]")).to_have_count(2)
    expect(page.locator('textarea[name="difficulties[1].description"]')).to_have_value("Thiếu cán bộ chuyên trách")
    expect(page.locator('input[name="difficulties[0].needs_escalation"][value="true"]')).to_be_checked()
    expect(page.locator('input[name="kpis[0].achieved"]')).to_have_value("92.5")

    page.locator('input[name="needs_escalation"][value="true"]').check()
    page.get_by_test_id("complete").click()
    expect(page).to_have_url(re.compile(r"/\?done="))
    expect(page.locator("#flash")).to_contain_text("Nộp báo cáo định kỳ tháng")

    # Sở KH&CN, Sở Tư pháp and the HTKC board always report too: their leads file theirs over the API
    tasks = call(isolated_server, "GET", f"/api/v1/process-instances/{instance_id}", PORTAL)["open_tasks"]
    for task in [t for t in tasks if t["element_id"] == "submit_report"]:  # (a past period: a reminder is open too)
        (code,) = task["candidate_groups"]
        signer = bearer(f"lead.{code}", groups=(code,), roles=("officer", "lead"))
        body = {"progress_summary": "Đúng tiến độ", "kpis": [], "difficulties": [], "needs_escalation": False}
        call(isolated_server, "POST", f"/api/v1/tasks/{task['id']}/complete", signer, json={"variables": body})
    variables = call(isolated_server, "GET", f"/api/v1/process-instances/{instance_id}", PORTAL)["variables"]
    [report] = [r for r in variables["reports"] if r["agency"] == "syt"]
    assert report["progress_summary"] == "Đã triển khai 5/6 nhiệm vụ của tháng."
    assert report["needs_escalation"] is True
    assert report["kpis"] == [
        {
            "indicator": "Tỷ lệ hồ sơ trực tuyến toàn trình",
            "unit": "%",
            "target": 100,
            "assigned_by": "1520/KH-SKHCN",
            "achieved": 92.5,
        }
    ]
    assert report["difficulties"] == [
        {
            "description": "Chưa có hướng dẫn cơ chế thử nghiệm có kiểm soát",
            "proposal": "Sở KH&CN hướng dẫn",
            "needs_escalation": True,
        },
        {"description": "Thiếu cán bộ chuyên trách", "needs_escalation": False},
    ]
    assert dialogs == [] and errors == []
