"""Phân công and in phiếu in a real browser (Chromium): a lead of Sở KH&CN assigns the appraisal of a dossier to an
officer on the "Phân công công việc" page, sees it in the officer's workload and on the task page, then opens the
case's receipt slip print-ready (A4, Times New Roman, the national motto, the date as state documents write it)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer, bearer, screenshot, submit_dossier
from tests.web.test_browser import sign_in


def test_a_lead_assigns_on_the_workload_page_and_prints_the_receipt(page: Page, live_server: LiveServer) -> None:
    instance = submit_dossier(live_server.url)
    check = instance["open_tasks"][0]["id"]
    desk = bearer("ttpvhcc.khanh", groups=("ttpvhcc",))
    done = httpx.post(
        f"{live_server.url}/api/v1/tasks/{check}/complete",
        json={"variables": {"outcome": "complete", "routing": "confirm"}},
        headers=desk,
    )
    assert done.status_code == 200, done.text
    view = httpx.get(
        f"{live_server.url}/api/v1/process-instances/{instance['id']}", headers=bearer("root", roles=("admin",))
    )
    [appraisal] = [t["id"] for t in view.json()["open_tasks"] if t["element_id"] == "appraise_skhcn"]

    sign_in(page, "skhcn.cuong", "/phan-cong")
    expect(page.get_by_role("heading", level=1)).to_have_text("Phân công công việc")
    row = page.locator(f'[data-testid="unassigned"] tr[data-task-id="{appraisal}"]')
    expect(row).to_have_count(1)
    row.get_by_test_id("assign-select").select_option(label="Nguyễn Văn An")
    screenshot(page, "assignment")
    row.get_by_test_id("assign").click()
    expect(page.locator("#flash")).to_contain_text("Đã phân công công việc.")
    officer = page.locator('[data-testid="workload"] tr[data-user="skhcn.an"]')
    expect(officer.locator(f'a[href="/cong-viec/{appraisal}"]')).to_have_count(1)
    expect(page.locator(f'[data-testid="unassigned"] tr[data-task-id="{appraisal}"]')).to_have_count(0)

    page.goto(f"/cong-viec/{appraisal}")  # the task page's section, loaded by htmx
    expect(page.get_by_test_id("assignee-name")).to_have_text("Nguyễn Văn An")
    expect(page.get_by_test_id("task-assign-select")).to_have_value("skhcn.an")

    page.goto(f"/ho-so/{instance['id']}")
    history = page.get_by_test_id("history")
    expect(history.locator('tr[data-kind="task_assigned"]')).to_contain_text("Phạm Quốc Cường")
    page.get_by_test_id("slip-receipt").click()
    slip = page.get_by_test_id("slip")
    expect(slip).to_have_attribute("data-kind", "receipt")
    expect(slip).to_contain_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    expect(slip).to_contain_text("Độc lập - Tự do - Hạnh phúc")
    expect(page.get_by_role("heading", level=1)).to_have_text("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    expect(page.get_by_test_id("dossier-code")).to_have_text(f"Mã hồ sơ: {instance['dossier']['code']}")
    expect(page.get_by_test_id("date-line")).to_have_text(
        re.compile(r"^Hà Nội, ngày \d{2} tháng (0[12]|[3-9]|1[0-2]) năm \d{4}$")
    )
    expect(page.get_by_test_id("appointment")).to_contain_text(re.compile(r"\d{2} giờ \d{2} phút, ngày \d{2} tháng"))
    assert "Times New Roman" in slip.evaluate("e => getComputedStyle(e).fontFamily")
    screenshot(page, "slip-receipt")
    page.emulate_media(media="print")
    expect(page.get_by_test_id("print")).to_be_hidden()  # the toolbar is not printed
    expect(slip).to_be_visible()
