"""Send-back and a lead's approval on the task page, in Chromium (web/templates/_task_flow.html): an officer of Sở Tư
pháp drafts a reply, the lead returns it for correction, the officer sees why and submits again, the lead approves;
at the next step the lead sends the case back and the officer sees the reason on the reopened step. The test deploys
a process under a key of its own on the isolated server. Screenshots: docs/screenshots/draft-approval.png,
send-back.png."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import PORTAL, LiveServer, bearer, screenshot
from tests.web.test_browser import sign_in, sign_out

FIXTURE = Path(__file__).parents[1] / "fixtures" / "engine" / "drafted_reply.bpmn"
OWNER = bearer("owner.api", roles=("process-owner",))
SKHCN = bearer("skhcn.an", groups=("skhcn",))
FORM = (
    '{"title": "Văn bản trả lời", "type": "object", "required": ["answer"],'
    ' "properties": {"answer": {"type": "string", "title": "Nội dung trả lời", "minLength": 1}}}'
)


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args: dict[str, Any], isolated_server: LiveServer) -> dict[str, Any]:
    """This module's pages open on the isolated server (it deploys a process of its own)."""
    return {**browser_context_args, "base_url": isolated_server.url}


def call(server: LiveServer, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    response = httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def open_task(server: LiveServer, instance_id: str, element_id: str) -> str:
    instance = call(server, "GET", f"/api/v1/process-instances/{instance_id}", PORTAL)
    return str(next(t["id"] for t in instance["open_tasks"] if t["element_id"] == element_id))


def case_at_reply(server: LiveServer) -> str:
    """A case of a process of this test, received by Sở KH&CN: the reply (approval="lead") is open at Sở Tư pháp."""
    key = f"reply_{uuid.uuid4().hex[:8]}"
    xml = FIXTURE.read_text(encoding="utf-8").replace("drafted_reply", key)
    xml = xml.replace(
        'name="Dự thảo văn bản trả lời"', 'name="Dự thảo văn bản trả lời" camunda:formKey="reply.form.json"'
    )
    files = [("files", (f"{key}.bpmn", xml.encode())), ("files", ("reply.form.json", FORM.encode()))]
    call(server, "POST", "/api/v1/process-definitions", OWNER, files=files)
    instance_id = str(call(server, "POST", "/api/v1/process-instances", PORTAL, json={"process_key": key})["id"])
    receive = open_task(server, instance_id, "receive")
    call(server, "POST", f"/api/v1/tasks/{receive}/complete", SKHCN, json={"variables": {}})
    return instance_id


def test_a_lead_returns_a_draft_approves_it_then_sends_the_case_back(page: Page, isolated_server: LiveServer) -> None:
    instance_id = case_at_reply(isolated_server)
    reply = open_task(isolated_server, instance_id, "reply")

    sign_in(page, "stp.dung", f"/cong-viec/{reply}")
    expect(page.get_by_test_id("send-back")).to_have_count(0)  # an officer sends nothing back
    expect(page.get_by_test_id("needs-approval")).to_contain_text("dự thảo được trình lãnh đạo đơn vị phê duyệt")
    page.get_by_label("Nội dung trả lời").fill("Đồng ý về nguyên tắc")
    page.get_by_test_id("complete").click()
    expect(page.locator("#flash")).to_contain_text("Đã trình dự thảo “Dự thảo văn bản trả lời”")
    expect(page.locator(f'tr[data-task-id="{reply}"] [data-testid="awaiting-approval"]')).to_have_text("Chờ phê duyệt")
    page.goto(f"/cong-viec/{reply}")
    expect(page.locator(".task-head .status-awaiting_approval")).to_have_text("Chờ phê duyệt")
    expect(page.get_by_test_id("awaiting-note")).to_contain_text("đang chờ lãnh đạo đơn vị phê duyệt")
    expect(page.get_by_test_id("draft-data")).to_contain_text("Đồng ý về nguyên tắc")
    sign_out(page)

    sign_in(page, "stp.minh", f"/cong-viec/{reply}")
    draft = page.get_by_test_id("draft")
    expect(draft.locator("dt")).to_have_text("Nội dung trả lời")
    expect(draft).to_contain_text("Dự thảo của Trần Thị Dung")
    screenshot(page, "draft-approval")
    page.fill("#return-draft-reason", "Bổ sung căn cứ pháp lý")
    page.get_by_test_id("return-draft").click()
    expect(page.get_by_test_id("assignee")).to_have_text("Trần Thị Dung")  # people by name, not login id
    sign_out(page)

    sign_in(page, "stp.dung", f"/cong-viec/{reply}")
    note = page.get_by_test_id("returned-note")
    expect(note).to_contain_text("Bị trả lại: Bổ sung căn cứ pháp lý — Đỗ Văn Minh,")
    expect(note).to_contain_text(re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"))
    expect(page.get_by_label("Nội dung trả lời")).to_have_value("Đồng ý về nguyên tắc")  # the draft to correct
    page.get_by_label("Nội dung trả lời").fill("Đồng ý, căn cứ Nghị định 13/2019/NĐ-CP")
    page.get_by_test_id("complete").click()
    sign_out(page)

    sign_in(page, "stp.minh", f"/cong-viec/{reply}")
    page.fill("#approve-comment", "Đồng ý ban hành")
    page.get_by_test_id("approve").click()
    expect(page.locator("#flash")).to_contain_text("Dự thảo văn bản trả lời")
    check = open_task(isolated_server, instance_id, "check")
    page.goto(f"/cong-viec/{check}")
    page.get_by_test_id("send-back").locator("summary").click()
    step = page.get_by_test_id("send-back-step")
    expect(step.locator('option[value="reply"]')).to_have_text("Dự thảo văn bản trả lời")  # loaded by htmx
    step.select_option("reply")
    page.get_by_test_id("send-back-reason").fill("Văn bản chưa ghi số hiệu")
    screenshot(page, "send-back")
    page.get_by_test_id("send-back-submit").click()
    expect(page).to_have_url(re.compile(f"/ho-so/{instance_id}$"))
    send_backs = page.get_by_test_id("send-backs")  # the case page lists them, loaded by htmx
    expect(send_backs.locator('tr[data-kind="task_returned"]').last).to_contain_text("Văn bản chưa ghi số hiệu")
    expect(send_backs.locator('tr[data-kind="task_approved"]')).to_contain_text("Đồng ý ban hành")
    sign_out(page)

    reopened = open_task(isolated_server, instance_id, "reply")
    assert reopened != reply
    sign_in(page, "stp.dung", f"/cong-viec/{reopened}")
    expect(page.get_by_test_id("returned-note")).to_contain_text("Bị trả lại: Văn bản chưa ghi số hiệu — Đỗ Văn Minh")
    assert call(isolated_server, "GET", f"/api/v1/process-instances/{instance_id}", PORTAL)["variables"]["answer"] == (
        "Đồng ý, căn cứ Nghị định 13/2019/NĐ-CP"
    )
