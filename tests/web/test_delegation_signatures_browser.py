"""Ủy quyền and chữ ký số in a real browser (Chromium), the two officers' pages of issue 11 the other browser tests
leave out: a lead of Sở KH&CN delegates to an officer of the agency on "Ủy quyền" (in force at once, signed "ký
thay") and revokes it; a one-stop officer opens a dossier's signed PDF from its documents section and reads who
signed it and whether the signature holds."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests import document_files as files
from tests.web.conftest import LiveServer, bearer, screenshot, submit_dossier
from tests.web.test_browser import sign_in


def test_a_lead_delegates_to_an_officer_and_revokes_it(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "skhcn.cuong", "/uy-quyen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ủy quyền")
    form = page.get_by_test_id("delegation-form")
    form.locator('select[name="to_user_id"]').select_option(label="Nguyễn Văn An (Sở Khoa học và Công nghệ)")
    form.locator('input[name="reason"]').fill("Đi công tác, ủy quyền xử lý công việc của Sở")
    form.get_by_test_id("delegate").click()
    row = page.locator('[data-testid="delegations"] tr', has_text="Đi công tác, ủy quyền xử lý công việc của Sở")
    expect(row).to_have_attribute("data-status", "active")
    expect(row).to_contain_text("Phạm Quốc Cường")
    expect(row).to_contain_text("Nguyễn Văn An")
    expect(row).to_contain_text("ký thay")  # the delegator is a lead
    expect(row).to_contain_text("Đang hiệu lực")
    screenshot(page, "delegation")
    row.get_by_test_id("revoke").click()
    row = page.locator('[data-testid="delegations"] tr', has_text="Đi công tác, ủy quyền xử lý công việc của Sở")
    expect(row).to_have_attribute("data-status", "revoked")
    expect(row).to_contain_text("Đã thu hồi")


def test_an_officer_reads_the_signatures_of_a_signed_pdf(page: Page, live_server: LiveServer) -> None:
    instance = submit_dossier(live_server.url)
    desk = bearer("ttpvhcc.khanh", groups=("ttpvhcc",))
    uploaded = httpx.post(
        f"{live_server.url}/api/v1/process-instances/{instance['id']}/documents",
        files={"file": ("quyet-dinh.pdf", files.signed_pdf(files.authority()), "application/pdf")},
        data={"title": "Quyết định đã ký số"},
        headers=desk,
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text

    sign_in(page, "ttpvhcc.khanh", f"/ho-so/{instance['id']}")
    documents = page.get_by_test_id("documents")  # loaded into the case page by htmx
    document = documents.locator('[data-testid="document"]', has_text="Quyết định đã ký số")
    expect(document).to_have_count(1)
    document.get_by_test_id("signed").click()
    signature = page.get_by_test_id("signature")
    expect(signature).to_have_count(1)
    expect(signature.get_by_test_id("signer")).to_contain_text("Nguyen Van An")
    expect(signature.get_by_test_id("sig-valid")).to_have_text("Có")  # intact; not trusted: no roots configured
    screenshot(page, "signatures")
