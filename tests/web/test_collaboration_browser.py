"""Notifications and comments in a real browser (Chromium) against the real dev server: a new green-lane dossier
lights the one-stop officer's bell, the notifications page lists it and marks it read; an administrator's
instruction (bút phê) on the case is the first thing on the task page, as text (line breaks kept, no HTML)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer, screenshot, submit_dossier
from tests.web.test_browser import sign_in, sign_out


def unread(page: Page) -> int:
    count = page.get_by_test_id("bell-count")
    expect(count).to_have_count(1)  # loaded by htmx after the page
    return int(count.get_attribute("data-unread") or "0")


def test_the_bell_counts_the_page_lists_and_marks_read_and_an_instruction_comes_first(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, "ttpvhcc.khanh")  # signing in makes the person known: notifications are addressed to them
    before = unread(page)
    instance = submit_dossier(live_server.url)
    code = instance["dossier"]["code"]
    page.reload()
    expect(page.get_by_test_id("bell-count")).to_have_attribute("data-unread", str(before + 1))
    expect(page.get_by_test_id("bell-count")).to_have_text(str(before + 1))

    page.get_by_test_id("bell").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thông báo")
    item = page.get_by_test_id("notification").filter(has_text=code)
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Công việc mới cho Trung tâm Phục vụ hành chính công")
    expect(item).to_have_class(re.compile(r"\bunread\b"))
    screenshot(page, "notifications")
    item.get_by_test_id("mark-read").click()
    expect(page.get_by_test_id("notification").filter(has_text=code)).not_to_have_class(re.compile(r"\bunread\b"))
    expect(page.get_by_test_id("bell-count")).to_have_attribute("data-unread", str(before))

    sign_out(page)
    sign_in(page, "admin.son", f"/ho-so/{instance['id']}")
    section = page.get_by_test_id("comments")
    section.get_by_test_id("comments-summary").click()
    section.locator("textarea[name=text]").fill("Đề nghị kiểm tra kỹ giấy phép.\n<b>Trả kết quả trước 16 giờ</b>")
    section.get_by_test_id("kind-instruction").check()
    section.get_by_test_id("comment-submit").click()
    expect(page.get_by_test_id("latest-instruction")).to_contain_text("Đề nghị kiểm tra kỹ giấy phép.")

    sign_out(page)
    sign_in(page, "ttpvhcc.khanh", "/thong-bao")
    page.get_by_test_id("notification").filter(has_text=code).get_by_role("link", name="Mở công việc").click()
    instruction = page.get_by_test_id("latest-instruction")
    expect(instruction).to_be_visible()
    expect(instruction).to_contain_text("<b>Trả kết quả trước 16 giờ</b>")  # shown as text, never as HTML
    expect(instruction.locator("b")).to_have_count(0)
    expect(instruction.locator("br")).to_have_count(1)
    expect(instruction).to_contain_text("Mai Thanh Sơn")
    # first on the page: above the task's details and form
    top = instruction.bounding_box()
    form = page.get_by_test_id("task-form").bounding_box()
    assert top is not None and form is not None and top["y"] < form["y"]
    screenshot(page, "task-instruction")
