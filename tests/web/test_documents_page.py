"""The documents section of the task page in Chromium: an officer uploads a PDF, sees it listed with who added it,
their agency, its size and time, downloads the same bytes, then deletes it with a reason, which stays shown."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import document_files as files
from tests.web.conftest import LiveServer, screenshot, submit_dossier
from tests.web.test_browser import sign_in


def test_an_officer_uploads_downloads_and_deletes_a_document_on_a_task_page(
    page: Page, live_server: LiveServer
) -> None:
    instance = submit_dossier(live_server.url)
    [task] = instance["open_tasks"]  # the one-stop desk's completeness check
    pdf = files.pdf("Bien ban tiep nhan")
    sign_in(page, "ttpvhcc.khanh", f"/cong-viec/{task['id']}")
    page.goto(f"/cong-viec/{task['id']}")
    section = page.get_by_test_id("documents")
    expect(section.get_by_test_id("no-documents")).to_be_visible()  # loaded into the page (htmx)

    section.get_by_test_id("upload-file").set_input_files(
        {"name": "Biên bản tiếp nhận.pdf", "mimeType": "application/pdf", "buffer": pdf}
    )
    section.get_by_test_id("upload-title").fill("Biên bản tiếp nhận hồ sơ")
    section.get_by_test_id("upload").click()

    expect(page).to_have_url(f"{live_server.url}/cong-viec/{task['id']}#tai-lieu")
    row = page.get_by_test_id("document")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Biên bản tiếp nhận hồ sơ")
    expect(row).to_contain_text("Biên bản tiếp nhận.pdf")
    expect(row).to_contain_text("byte")
    expect(row).to_contain_text("Trung tâm Phục vụ hành chính công")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$"))
    screenshot(page, "task-documents")

    with page.expect_download() as download:
        row.get_by_test_id("download").click()
    assert download.value.suggested_filename == "Biên bản tiếp nhận.pdf"
    assert Path(download.value.path()).read_bytes() == pdf

    row.locator("summary").click()
    row.get_by_test_id("delete-reason").fill("Tải nhầm tệp")
    row.get_by_test_id("delete").click()
    expect(page.get_by_test_id("deleted-note")).to_contain_text("Lý do: Tải nhầm tệp")
