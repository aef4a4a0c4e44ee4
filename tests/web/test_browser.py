"""The web app in a real browser (Chromium driven by Playwright) against a real server: the green-lane path from the
one-stop desk to Sở KH&CN, the case view's diagram, agency rules, escaping of process data, the English switch.
Screenshots of the main pages go to docs/screenshots/ (shown in the README)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer, screenshot, submit_dossier


def sign_in(page: Page, sub: str, path: str = "/") -> None:
    page.goto(path)
    page.get_by_test_id(f"sign-in-{sub}").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Đăng xuất|Sign out")).click()
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def search_inbox(page: Page, text: str) -> None:
    """Type into the inbox search and submit (htmx swaps the list in place)."""
    page.fill('input[name="q"]', text)
    page.press('input[name="q"]', "Enter")
    expect(page).to_have_url(re.compile(re.escape(urlencode({"q": text}))))  # the list was redrawn for it
    # htmx pushes the URL before the new fragment has settled: a change made before then lands on the old form,
    # which is already out of the document, and is lost (a race of the test, not of an officer's hand)
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def test_one_stop_desk_accepts_a_green_lane_dossier_then_skhcn_claims_and_appraises_it(
    page: Page, live_server: LiveServer
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    instance = submit_dossier(live_server.url)
    code = instance["dossier"]["code"]

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/dang-nhap\?next=/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    screenshot(page, "sign-in")
    page.get_by_test_id("sign-in-ttpvhcc.khanh").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hộp thư công việc")

    search_inbox(page, code)
    row = page.locator("tr.task-row", has_text=code)
    expect(row).to_have_count(1)
    expect(row.locator("a.task-link")).to_have_text("Kiểm tra tính đầy đủ của hồ sơ")
    expect(row.locator(".deadline")).to_have_text("trong hạn")
    expect(page.get_by_test_id("total")).to_have_text("Tổng số: 1")
    screenshot(page, "inbox")

    row.locator("a.task-link").click()
    expect(page.get_by_test_id("task-name")).to_have_text("Kiểm tra tính đầy đủ của hồ sơ")
    outcome = page.locator('select[name="outcome"]')
    expect(outcome).to_have_attribute("required", "")
    expect(outcome.locator('option[value="supplement"]')).to_have_text("Yêu cầu bổ sung hồ sơ (chỉ một lần)")
    expect(page.locator('textarea[name="note"]')).to_have_attribute("maxlength", "2000")
    # a wrong value first: a supplement request must say which documents are missing (the server's rule)
    outcome.select_option("supplement")
    page.get_by_test_id("complete").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    error = page.locator('[data-field="missing_documents"] .field-error')
    expect(error).to_contain_text("Giấy tờ cần bổ sung")
    expect(error).to_contain_text("bắt buộc")
    expect(page.locator('select[name="outcome"]')).to_have_value("supplement")  # what was typed stays
    screenshot(page, "task-form")

    page.locator('select[name="outcome"]').select_option("complete")
    page.locator('select[name="routing"]').select_option("confirm")  # the catalogue's routing, confirmed
    page.get_by_test_id("complete").click()
    expect(page).to_have_url(re.compile(r"/\?done="))
    expect(page.locator("#flash")).to_contain_text("Đã hoàn thành công việc “Kiểm tra tính đầy đủ của hồ sơ”")
    sign_out(page)

    sign_in(page, "skhcn.an")
    search_inbox(page, code)
    row = page.locator("tr.task-row", has_text=code)
    expect(row.locator("a.task-link")).to_have_text("Thẩm định hồ sơ")
    expect(row.locator(".assignee")).to_contain_text("Chưa nhận")
    row.get_by_test_id("claim").click()  # htmx: the row is redrawn in place
    expect(row.locator(".assignee")).to_have_text("Tôi")
    expect(row.get_by_test_id("unclaim")).to_be_visible()
    expect(page.locator("#flash")).to_have_text("Bạn đã nhận công việc này.")
    row.locator("a.task-link").click()
    expect(page.get_by_test_id("assignee")).to_have_text("Tôi")
    page.locator('select[name="appraisal_recommendation"]').select_option("approve")
    page.fill('textarea[name="appraisal_opinion"]', "Hồ sơ đáp ứng điều kiện cấp giấy chứng nhận.")
    page.get_by_test_id("complete").click()
    expect(page.locator("#flash")).to_contain_text("Thẩm định hồ sơ")

    page.goto(f"/ho-so/{instance['id']}")
    expect(page.get_by_test_id("dossier-code")).to_have_text(code)
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    for element in ("dossier_submitted", "register_dossier", "check_completeness", "accept_dossier"):
        expect(page.locator(f'g.djs-element.ph-completed[data-element-id="{element}"]')).to_have_count(1)
    # the collapsed sub-process "Giải quyết hồ sơ" is where the case stands; inside it, the path and the next step
    expect(page.locator('g.djs-element.ph-active[data-element-id="processing"]')).to_have_count(1)
    screenshot(page, "case-view")
    page.locator('.bjs-drilldown[title*="Giải quyết hồ sơ"]').click()
    for element in ("assign_appraisal", "appraise_skhcn"):
        expect(page.locator(f'g.djs-element.ph-completed[data-element-id="{element}"]')).to_have_count(1)
    # the HTKC board and Sở Tư pháp still give their opinion before the decision
    for element in ("consult_htkc", "consult_stp"):
        expect(page.locator(f'g.djs-element.ph-active[data-element-id="{element}"]')).to_have_count(1)
    expect(page.locator('g.djs-element.ph-completed[data-element-id="decide"]')).to_have_count(0)
    expect(page.locator('g.djs-element.ph-completed[data-element-id="appraise_htkc"]')).to_have_count(0)
    path = page.get_by_test_id("path")
    expect(path).to_contain_text("Kiểm tra tính đầy đủ của hồ sơ")
    expect(path).to_contain_text("Thẩm định hồ sơ")
    expect(page.get_by_test_id("waiting")).to_contain_text("Sở Tư pháp cho ý kiến về hồ sơ")
    history = page.get_by_test_id("history")
    expect(history.locator('tr[data-kind="task_completed"]', has_text="Kiểm tra tính đầy đủ")).to_contain_text(
        "Trung tâm Phục vụ hành chính công"
    )
    # people by their display name (the directory of people), not their sign-in id
    expect(history.locator('tr[data-kind="task_claimed"]')).to_contain_text("Nguyễn Văn An")
    assert dialogs == []


def test_an_officer_of_so_tu_phap_cannot_open_a_task_of_so_khcn(page: Page, live_server: LiveServer) -> None:
    instance = submit_dossier(live_server.url)
    [task] = instance["open_tasks"]  # the one-stop desk's completeness check
    sign_in(page, "stp.dung")
    response = page.goto(f"/cong-viec/{task['id']}")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("error")).to_have_attribute("data-status", "403")
    expect(page.get_by_role("heading", level=1)).to_have_text("Không có quyền xử lý công việc này")
    expect(page.get_by_test_id("error")).to_contain_text("thuộc đơn vị khác")
    response = page.goto(f"/ho-so/{instance['id']}")  # nor its case: Sở Tư pháp takes no part in it
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("error")).to_contain_text("Bạn không tham gia hồ sơ này")


def test_a_script_in_process_data_shows_as_text(page: Page, live_server: LiveServer) -> None:
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    dialogs: list[Any] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    instance = submit_dossier(live_server.url, applicant_name=payload)
    sign_in(page, "ttpvhcc.khanh")
    page.goto(f"/ho-so/{instance['id']}")
    variables = page.get_by_test_id("variables")
    expect(variables).to_contain_text(payload)  # shown, as text
    expect(variables.locator("script")).to_have_count(0)
    expect(variables.locator("img")).to_have_count(0)
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    page.goto(f"/cong-viec/{instance['open_tasks'][0]['id']}")
    expect(page.get_by_test_id("task-name")).to_be_visible()
    assert dialogs == []


def test_inbox_counts_and_deadline_filter_and_the_english_switch(page: Page, live_server: LiveServer) -> None:
    first, second = submit_dossier(live_server.url), submit_dossier(live_server.url)
    sign_in(page, "ttpvhcc.khanh")
    search_inbox(page, first["business_key"])
    expect(page.locator("tr.task-row")).to_have_count(1)
    deadline = page.locator('select[name="deadline"]')
    expect(deadline.locator('option[value="on_time"]')).to_have_text("Trong hạn (1)")
    expect(deadline.locator('option[value="overdue"]')).to_have_text("Quá hạn (0)")
    deadline.select_option("overdue")  # htmx: the list follows the filter
    expect(page.get_by_test_id("total")).to_have_text("Tổng số: 0")
    expect(page).to_have_url(re.compile(r"deadline=overdue"))
    search_inbox(page, second["dossier"]["code"])
    deadline = page.locator('select[name="deadline"]')
    deadline.select_option("on_time")
    expect(page.locator("tr.task-row")).to_have_count(1)
    expect(page.locator("tr.task-row")).to_contain_text(second["dossier"]["code"])

    page.get_by_test_id("language-switch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Task inbox")
    expect(page.locator("tr.task-row .deadline")).to_have_text("on time")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_test_id("language-switch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hộp thư công việc")


def test_every_page_loads_all_its_resources_without_a_console_error(page: Page, live_server: LiveServer) -> None:
    """What an officer and a process owner open, from the server alone (closed networks): no script, style, font or
    icon answers an error, none comes from another host, and the console stays clean (a missing /favicon.ico was
    the last 404 there)."""
    problems: list[str] = []
    requested: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text} {m.location}") if m.type == "error" else None
    )
    page.on("request", lambda r: requested.append(r.url))
    instance = submit_dossier(live_server.url)
    task_id = instance["open_tasks"][0]["id"]

    sign_in(page, "ttpvhcc.khanh")
    for path in (
        "/",
        "/khoi-tao",
        "/khoi-tao/green_lane",
        f"/ho-so/{instance['id']}",
        f"/cong-viec/{task_id}",
        "/bang-dieu-khien",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    sign_out(page)
    sign_in(page, "owner.bao", "/quy-trinh")
    page.goto("/quy-trinh/green_lane/phien-ban/1")
    page.wait_for_load_state("networkidle")
    page.goto("/docs")  # the API's documentation, served offline
    expect(page.locator("#swagger-ui")).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert problems == []
    assert requested and all(url.startswith(live_server.url) for url in requested), [
        url for url in requested if not url.startswith(live_server.url)
    ]
