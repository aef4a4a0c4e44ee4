"""The comments section, the bell and the notifications page as HTML from the in-process app (dev sign-in, demo
users) on SQLite and PostgreSQL: escaping and line breaks, who may read and write, the bell's count, marking read
and the preferences form. The browser test is tests/web/test_collaboration_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.api.calls import PORTAL, deploy, start
from tests.web.pages import dev_app, parts, signed_in


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    with dev_app(db_url, clock) as started:
        yield started


HTMX = {"HX-Request": "true"}


def test_comments_section_bell_and_notifications_page(app: TestClient) -> None:
    an, an_csrf = signed_in(app, "skhcn.an")  # known from their sign-in on
    dung, _ = signed_in(app, "stp.dung")
    deploy(app, "four_tasks.bpmn")
    instance_id = start(app, "four_tasks", headers=PORTAL, business_key="HS-WEB")["id"]

    bell = an.get("/thong-bao/so-chua-doc", headers=HTMX)
    assert bell.status_code == 200 and 'data-unread="1"' in bell.text and "1 thông báo chưa đọc" in bell.text
    assert 'data-unread="0"' in dung.get("/thong-bao/so-chua-doc", headers=HTMX).text
    page = an.get("/thong-bao")
    assert page.status_code == 200 and "Công việc mới" in page.text and "hồ sơ HS-WEB" in page.text

    section = f"/ho-so/{instance_id}/y-kien"
    posted = an.post(
        section,
        data={"text": "Dòng một\n<script>alert(1)</script> gửi @stp", "csrf_token": an_csrf},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and posted.headers["location"] == f"/ho-so/{instance_id}#y-kien"
    fragment = an.get(section, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Dòng một<br>&lt;script&gt;alert(1)&lt;/script&gt; gửi @stp" in fragment.text
    assert "<script>alert" not in fragment.text and "Nhắc đến: Sở Tư pháp" in fragment.text
    assert 'data-testid="latest-instruction"' not in fragment.text
    assert "Ý kiến chỉ đạo (bút phê)" not in fragment.text  # an officer is not offered the instruction
    assert "<html" in an.get(section).text  # without script: a page of its own

    refused = an.post(section, data={"text": "Chỉ đạo", "kind": "instruction", "csrf_token": an_csrf})
    assert refused.status_code == 403 and "Chỉ lãnh đạo mới được ghi ý kiến chỉ đạo" in refused.text
    no_csrf = an.post(section, data={"text": "Không có mã CSRF"})
    assert no_csrf.status_code == 403
    assert dung.get(section, headers=HTMX).status_code == 403  # another agency's case
    mentioned = dung.get("/thong-bao").text  # ... whose agency was mentioned: told, but the case stays closed
    assert "Được nhắc đến trong ý kiến" in mentioned

    (notification_id,) = re.findall(r'action="/thong-bao/(\d+)/da-doc"', page.text)
    dung_csrf = parts(dung.get("/thong-bao").text).csrf
    other = dung.post(f"/thong-bao/{notification_id}/da-doc", data={"csrf_token": dung_csrf})
    assert other.status_code == 404
    read = an.post(f"/thong-bao/{notification_id}/da-doc", data={"csrf_token": an_csrf}, follow_redirects=False)
    assert read.status_code == 303
    assert 'data-unread="0"' in an.get("/thong-bao/so-chua-doc", headers=HTMX).text

    saved = an.post(
        "/thong-bao/cai-dat",
        data={"email_mode": "digest", "email": "an@skhcn.test", "csrf_token": an_csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    settings_page = an.get(saved.headers["location"]).text
    assert "Đã lưu cài đặt nhận thông báo." in settings_page
    assert 'value="digest" checked' in settings_page and 'value="an@skhcn.test"' in settings_page
    bad = an.post("/thong-bao/cai-dat", data={"email_mode": "digest", "email": "khong hop le", "csrf_token": an_csrf})
    assert bad.status_code == 422 and "Địa chỉ thư điện tử không hợp lệ" in bad.text
