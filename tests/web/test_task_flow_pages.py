"""Send-back on the task page as HTML from the in-process app (dev sign-in, the demo users), on SQLite and
PostgreSQL: the rules of the engine hold on the page's routes (an officer gets the refusal page, a POST needs its
CSRF token), the choice of earlier steps, and the reopened step's note. The round in a browser:
test_task_flow_page.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.api.calls import OWNER, PORTAL, SKHCN, bpmn, complete, open_tasks, start
from tests.web.pages import dev_app, signed_in


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    with dev_app(db_url, clock) as started:
        files = [("files", ("drafted_reply.bpmn", bpmn("drafted_reply.bpmn"), "application/xml"))]
        assert started.post("/api/v1/process-definitions", files=files, headers=OWNER).status_code == 201
        yield started


def test_only_a_lead_sends_back_from_the_page_and_the_reopened_step_shows_why(app: TestClient) -> None:
    instance_id = start(app, "drafted_reply", headers=PORTAL)["id"]
    complete(app, open_tasks(app, instance_id)["receive"]["id"], SKHCN)
    reply = open_tasks(app, instance_id)["reply"]["id"]

    officer, officer_csrf = signed_in(app, "stp.dung")
    assert 'data-testid="send-back"' not in officer.get(f"/cong-viec/{reply}").text
    refused = officer.post(f"/cong-viec/{reply}/tra-lai-ho-so", data={"reason": "Thử", "csrf_token": officer_csrf})
    assert refused.status_code == 403 and "Chỉ lãnh đạo đơn vị mới được trả lại" in refused.text

    lead, csrf = signed_in(app, "stp.minh")
    page = lead.get(f"/cong-viec/{reply}").text
    assert 'data-testid="send-back"' in page and f'hx-get="/cong-viec/{reply}/buoc-truoc"' in page
    steps = lead.get(f"/cong-viec/{reply}/buoc-truoc").text
    assert '<option value="receive">Tiếp nhận</option>' in steps
    assert lead.post(f"/cong-viec/{reply}/tra-lai-ho-so", data={"reason": "Thiếu"}).status_code == 403  # no CSRF
    sent = lead.post(
        f"/cong-viec/{reply}/tra-lai-ho-so",
        data={"reason": "Thiếu bản sao <b>giấy phép</b>", "to_element_id": "receive", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/ho-so/{instance_id}"

    case = lead.get(f"/ho-so/{instance_id}").text
    assert f'hx-get="/ho-so/{instance_id}/tra-lai"' in case
    rows = lead.get(f"/ho-so/{instance_id}/tra-lai").text
    assert 'data-kind="task_returned"' in rows and "Đỗ Văn Minh" in rows
    assert "<td>Dự thảo văn bản trả lời</td>" in rows and "<td>Tiếp nhận</td>" in rows
    assert "Thiếu bản sao &lt;b&gt;giấy phép&lt;/b&gt;" in rows
    receive = open_tasks(app, instance_id)["receive"]["id"]
    desk, _ = signed_in(app, "skhcn.an")
    note = desk.get(f"/cong-viec/{receive}").text
    assert "Bị trả lại:</strong> Thiếu bản sao &lt;b&gt;giấy phép&lt;/b&gt; — Đỗ Văn Minh," in note  # escaped text
