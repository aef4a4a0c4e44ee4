"""An instance with an open incident reads as one on its case page (issue 14, item 7): the badge says "Có sự cố" (not
"Gặp lỗi") and the notice names the incident; after a retry the page says "Đang xử lý" again. The same for an
external task out of retries, until its retries are set again. On SQLite and
PostgreSQL, in the in-process app with the dev sign-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.api.calls import ADMIN, INSTANCES, PORTAL, upload
from tests.conftest import FIXTURES
from tests.engine.test_incidents import XML
from tests.web.pages import dev_app, signed_in


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    with dev_app(db_url, clock) as started:
        yield started


def badge(html: str) -> str:
    start = html.index('data-testid="instance-status">') + len('data-testid="instance-status">')
    return html[start : html.index("</span>", start)]


def test_the_case_page_says_incident_until_it_is_retried(app: TestClient) -> None:
    assert upload(app, ("le_phi.bpmn", XML.encode())).status_code == 201
    started = app.post(INSTANCES, json={"process_key": "le_phi"}, headers=PORTAL).json()
    browser, _ = signed_in(app, "admin.son")

    page = browser.get(f"/ho-so/{started['id']}")
    assert page.status_code == 200, page.text
    assert badge(page.text) == "Có sự cố" and "instance-incident" in page.text
    assert "Sự cố cần xử lý" in page.text and "Gặp lỗi" not in page.text

    (incident,) = app.get("/api/v1/incidents", headers=ADMIN).json()["items"]
    retried = app.post(f"/api/v1/incidents/{incident['id']}/retry", json={"variables": {"so_trang": 2}}, headers=ADMIN)
    assert retried.status_code == 200, retried.text
    page = browser.get(f"/ho-so/{started['id']}")
    assert badge(page.text) == "Đang xử lý" and "Sự cố cần xử lý" not in page.text


def test_the_case_page_says_incident_while_an_external_task_is_out_of_retries(app: TestClient) -> None:
    gui_van_ban = (FIXTURES / "external" / "gui_van_ban.bpmn").read_bytes()
    assert upload(app, ("gui_van_ban.bpmn", gui_van_ban)).status_code == 201
    started = app.post(
        INSTANCES, json={"process_key": "gui_van_ban_lien_thong", "variables": {"trich_yeu": "Dự thảo"}}, headers=PORTAL
    ).json()
    fetched = app.post(
        "/api/v1/external-tasks/fetch-and-lock",
        json={"worker_id": "vb-1", "topics": [{"topic": "gui_van_ban", "lock_duration": 60_000}]},
        headers=PORTAL,
    )
    assert fetched.status_code == 200, fetched.text
    (task,) = fetched.json()
    failed = app.post(
        f"/api/v1/external-tasks/{task['id']}/failure",
        json={"worker_id": "vb-1", "error_message": "Nơi nhận không tồn tại", "retries": 0},
        headers=PORTAL,
    )
    assert failed.status_code == 200, failed.text
    browser, _ = signed_in(app, "admin.son")

    page = browser.get(f"/ho-so/{started['id']}")
    assert page.status_code == 200, page.text
    assert badge(page.text) == "Có sự cố" and "Nơi nhận không tồn tại" in page.text

    retried = app.put(f"/api/v1/external-tasks/{task['id']}/retries", json={"retries": 1}, headers=ADMIN)
    assert retried.status_code == 200, retried.text
    page = browser.get(f"/ho-so/{started['id']}")
    assert badge(page.text) == "Đang xử lý" and "Nơi nhận không tồn tại" not in page.text
