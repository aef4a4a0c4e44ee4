"""The Ủy quyền page on SQLite and PostgreSQL (no browser): a lead delegates to an officer of another agency from
the directory the demo sign-in fills, both see it listed as "ký thay", and the lead revokes it; the Phân công page
tells an officer that only leads assign."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import HANOI_TZ, FakeClock
from tests.api.calls import OWNER, PORTAL, bpmn
from tests.web.pages import dev_app, signed_in


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    with dev_app(db_url, clock) as started:
        yield started


def test_a_lead_delegates_on_the_uy_quyen_page_and_revokes(app: TestClient, clock: FakeClock) -> None:
    lead, csrf = signed_in(app, "skhcn.cuong")
    page = lead.get("/uy-quyen")
    assert page.status_code == 200 and "Ủy quyền mới" in page.text
    assert '<option value="stp.dung">Trần Thị Dung (Sở Tư pháp)</option>' in page.text  # the demo users' directory
    today = clock.now().astimezone(HANOI_TZ).date()
    form = {
        "csrf_token": csrf,
        "to_user_id": "stp.dung",
        "starts_on": today.isoformat(),
        "starts_time": "00:00",
        "ends_on": (today + timedelta(days=3)).isoformat(),
        "ends_time": "17:00",
        "reason": "Đi công tác nước ngoài",
    }
    created = lead.post("/uy-quyen", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    listed = lead.get("/uy-quyen").text
    assert "Trần Thị Dung" in listed and "ký thay" in listed and "Đang hiệu lực" in listed
    assert f"{(today + timedelta(days=3)).strftime('%d/%m/%Y')} 17:00" in listed  # Hanoi time, as officers read it

    delegate, delegate_csrf = signed_in(app, "stp.dung")
    received = delegate.get("/uy-quyen").text
    assert "Phạm Quốc Cường" in received and "Đi công tác nước ngoài" in received

    # the delegate (Sở Tư pháp) works a task of Sở KH&CN: the task page says so, the case history records it
    deployed = app.post(
        "/api/v1/process-definitions", files=[("files", ("f.bpmn", bpmn("four_tasks.bpmn")))], headers=OWNER
    )
    assert deployed.status_code == 201, deployed.text
    started = app.post("/api/v1/process-instances", json={"process_key": "four_tasks"}, headers=PORTAL).json()
    task_id = started["open_tasks"][0]["id"]
    section = delegate.get(f"/cong-viec/{task_id}/phan-cong").text
    assert "Bạn xử lý công việc này theo ủy quyền: Trần Thị Dung ký thay Phạm Quốc Cường." in section
    assert 'data-testid="task-assign"' in section  # for the period she holds the lead's role: she assigns too
    done = delegate.post(f"/cong-viec/{task_id}/hoan-thanh", data={"csrf_token": delegate_csrf}, follow_redirects=False)
    assert done.status_code == 303, done.text
    case = lead.get(f"/ho-so/{started['id']}").text
    assert "Trần Thị Dung ký thay Phạm Quốc Cường" in case
    assert "ký thay" in lead.get(f"/cong-viec/{task_id}/phan-cong").text  # the act, on the task page too

    bad = lead.post("/uy-quyen", data={**form, "ends_on": "2020-01-01"}, follow_redirects=False)
    assert bad.status_code == 422 and "Thời điểm kết thúc ủy quyền" in bad.text

    [delegation_id] = {line.split("/uy-quyen/")[1].split("/")[0] for line in listed.splitlines() if "/thu-hoi" in line}
    revoked = lead.post(f"/uy-quyen/{delegation_id}/thu-hoi", data={"csrf_token": csrf}, follow_redirects=False)
    assert revoked.status_code == 303
    assert "Đã thu hồi" in delegate.get("/uy-quyen").text

    officer, _ = signed_in(app, "skhcn.an")
    assert "Chỉ lãnh đạo đơn vị mới phân công công việc." in officer.get("/phan-cong").text
    assert 'href="/phan-cong"' not in officer.get("/").text  # no "Phân công" in an officer's navigation
