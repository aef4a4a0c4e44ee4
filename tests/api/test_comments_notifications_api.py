"""Comments, instructions, notifications and notification preferences over HTTP, on SQLite and PostgreSQL: one test
per call, with its refusals (another agency, a missing role, bad input as problem+json)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.settings import Settings
from tests.api.calls import ADMIN, INSTANCES, PORTAL, SKHCN, SKHCN_LEAD, STP, deploy, start
from tests.conftest import reused_app
from tests.smtp_sink import SmtpSink

COMMENTS = INSTANCES + "/{}/comments"


def case(client: TestClient) -> tuple[str, str]:
    deploy(client, "four_tasks.bpmn")
    instance = start(client, "four_tasks", business_key="HS-API")
    tasks = client.get(f"/api/v1/tasks?instance_id={instance['id']}", headers=ADMIN).json()["items"]
    return instance["id"], tasks[0]["id"]


def test_comments_post_and_list(client: TestClient) -> None:
    client.get("/api/v1/notifications", headers=STP)  # Sở Tư pháp's officer is known from now on
    instance_id, task_id = case(client)
    url = COMMENTS.format(instance_id)
    posted = client.post(url, json={"text": "Đề nghị @stp cho ý kiến.\nXin cảm ơn.", "task_id": task_id}, headers=SKHCN)
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert body["kind"] == "comment" and body["text"] == "Đề nghị @stp cho ý kiến.\nXin cảm ơn."
    assert body["mentions"] == {"users": [], "agencies": ["stp"]} and body["author"] == "an"
    lead = client.post(url, json={"text": "Đồng ý.", "kind": "instruction"}, headers=SKHCN_LEAD)
    assert lead.status_code == 201, lead.text
    listed = client.get(url, headers=SKHCN).json()["items"]
    assert [c["kind"] for c in listed] == ["comment", "instruction"]  # oldest first
    history = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    events = history if isinstance(history, list) else history["items"]
    assert [e["kind"] for e in events].count("comment_added") == 2

    refused = client.post(url, json={"text": "Chỉ đạo", "kind": "instruction"}, headers=SKHCN)
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/role-required"
    outsider = client.get(url, headers=STP)
    assert outsider.status_code == 403 and outsider.json()["type"] == "/problems/forbidden"
    empty = client.post(url, json={"text": "  "}, headers=SKHCN)
    assert empty.status_code == 422 and empty.json()["field"] == "text" and empty.json()["detail_vi"]
    too_long = client.post(url, json={"text": "x" * 4001}, headers=SKHCN)
    assert too_long.status_code == 422 and too_long.json()["max_length"] == 4000
    wrong_task = client.post(url, json={"text": "?", "task_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12}, headers=SKHCN)
    assert wrong_task.status_code == 422 and wrong_task.json()["field"] == "task_id"
    missing = client.get(COMMENTS.format("khong-co"), headers=SKHCN)
    assert missing.status_code == 404
    assert client.get(url).status_code == 401


def test_notifications_list_read_and_read_all(client: TestClient) -> None:
    client.get("/api/v1/notifications", headers=SKHCN)
    client.get("/api/v1/notifications", headers=STP)
    case(client)
    case_page = client.get("/api/v1/notifications?unread=true", headers=SKHCN).json()
    assert case_page["unread"] == 1 and case_page["total"] == 1
    (item,) = case_page["items"]
    assert item["kind"] == "task_new" and item["title_vi"] == "Công việc mới" and "HS-API" in item["text_vi"]
    assert client.get("/api/v1/notifications", headers=STP).json()["total"] == 0  # another agency's task

    other = client.post(f"/api/v1/notifications/{item['id']}/read", headers=STP)
    assert other.status_code == 404 and other.json()["type"] == "/problems/notification-not-found"
    read = client.post(f"/api/v1/notifications/{item['id']}/read", headers=SKHCN)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/api/v1/notifications?unread=true", headers=SKHCN).json()["total"] == 0
    case(client)
    assert client.post("/api/v1/notifications/read-all", headers=SKHCN).json() == {"marked": 1}
    assert client.get("/api/v1/notifications", headers=SKHCN).json()["unread"] == 0


def test_notification_preferences_get_and_put(client: TestClient) -> None:
    default = client.get("/api/v1/notification-preferences", headers=SKHCN)
    assert default.status_code == 200
    assert default.json() == {"user_id": "an", "in_app": "immediate", "email_mode": "immediate", "email": None}
    put = client.put(
        "/api/v1/notification-preferences", json={"email_mode": "digest", "email": "an@skhcn.test"}, headers=SKHCN
    )
    assert put.status_code == 200 and put.json()["email_mode"] == "digest"
    assert client.get("/api/v1/notification-preferences", headers=SKHCN).json()["email"] == "an@skhcn.test"
    bad = client.put("/api/v1/notification-preferences", json={"email_mode": "digest", "email": "x y"}, headers=SKHCN)
    assert bad.status_code == 422 and bad.json()["field"] == "email"
    assert (
        client.put("/api/v1/notification-preferences", json={"email_mode": "hourly"}, headers=SKHCN).status_code == 422
    )
    assert client.get("/api/v1/notification-preferences", headers=PORTAL).json()["user_id"] == "portal"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def test_the_server_s_scheduler_emails_a_new_task(settings: Settings, clock: FakeClock, sink: SmtpSink) -> None:
    """PHOIHOP_SMTP_* → the engine's outbox → the scheduler thread of the server → a real SMTP server."""
    mailing = settings.model_copy(
        update={"run_scheduler": True, "smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_from": "phoihop@test.vn"}
    )
    with TestClient(reused_app(mailing, clock), raise_server_exceptions=False) as client:
        assert client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        saved = client.put(
            "/api/v1/notification-preferences",
            json={"email_mode": "immediate", "email": "an@skhcn.test"},
            headers=SKHCN,
        )
        assert saved.status_code == 200, saved.text
        case(client)
        assert sink.received.wait(30), "no email arrived"
    (message,) = sink.messages
    assert message["To"].addresses[0].addr_spec == "an@skhcn.test" and message["From"] == "phoihop@test.vn"
    assert message["Subject"] == "[phoihop] Công việc mới" and "HS-API" in message.get_content()
