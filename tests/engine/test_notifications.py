"""Notifications and the email outbox, on the real engine (SQLite and PostgreSQL) and a real SMTP server on loopback:
a new task tells its agency's people, a mention tells the people and agencies named, task_assigned and task_returned
events tell the person concerned, due-soon and overdue are told once per task, emails go out from the outbox with
retries (a server that is down loses nothing) and a daily digest is one email per person and day."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from phoihop.engine.clock import FakeClock
from phoihop.engine.commands.mail import SmtpSettings
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.errors import Forbidden, InvalidInput, NotificationNotFound, RoleRequired
from phoihop.engine.model import Actor
from phoihop.engine.store import notifications as notification_store
from phoihop.engine.store import people as people_store
from phoihop.engine.store import repository as repo
from tests.conftest import INTEGRATOR, officer
from tests.engine.helpers import bpmn, deploy, deploy_xml, lane, task_id
from tests.smtp_sink import SmtpSink

AN = Actor.of("skhcn.an", name="Nguyễn Văn An", groups=("skhcn",), roles=("officer",))
CUONG = Actor.of("skhcn.cuong", name="Phạm Quốc Cường", groups=("skhcn",), roles=("officer", "lead"))
DUNG = Actor.of("stp.dung", name="Trần Thị Dung", groups=("stp",), roles=("officer",))


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.stop()


@pytest.fixture
def mailing(db_url: str, clock: FakeClock, sink: SmtpSink) -> Iterator[EngineContainer]:
    """An engine that sends email to ``sink`` (not listening until the test starts it)."""
    smtp = SmtpSettings(host="127.0.0.1", port=sink.port, sender="phoihop@so.hanoi.gov.vn", timeout=5)
    built = build_engine(db_url, clock=clock, script_cpu_seconds=0.5, smtp=smtp, public_url="https://phoihop.test")
    for person, email in ((AN, "an@skhcn.test"), (CUONG, "cuong@skhcn.test"), (DUNG, "dung@stp.test")):
        built.delegations.record_person(person, email=email)
    yield built
    built.close()


def kinds(container: EngineContainer, actor: Actor) -> list[tuple[str, str | None]]:
    return [(n.kind, n.task_id) for n in container.notifications.list(actor).items]


def outbox(container: EngineContainer) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        return notification_store.outbox(conn)


def test_a_new_task_tells_its_agency_and_a_mention_tells_who_it_names_by_email(
    mailing: EngineContainer, sink: SmtpSink
) -> None:
    deploy(mailing, "four_tasks.bpmn")
    instance_id, _ = mailing.instances.start(INTEGRATOR, "four_tasks", business_key="HS-001")
    t1 = task_id(mailing, instance_id, "t1")
    assert kinds(mailing, AN) == [("task_new", t1)]
    assert kinds(mailing, CUONG) == [("task_new", t1)]
    assert kinds(mailing, DUNG) == []  # another agency's task
    page = mailing.notifications.list(AN)
    assert (
        page.unread == 1 and "Sở Khoa học và Công nghệ" in page.items[0].text_vi and "HS-001" in page.items[0].text_vi
    )

    comment = mailing.comments.add(CUONG, instance_id, "Đề nghị @stp cho ý kiến,\nanh @skhcn.an theo dõi.", task_id=t1)
    assert comment.mentions.agencies == ("stp",) and comment.mentions.users == ("skhcn.an",)
    assert kinds(mailing, DUNG) == [("mention", t1)]
    told = mailing.notifications.list(DUNG).items[0].text_vi
    assert (
        told
        == "Phạm Quốc Cường nhắc đến bạn trong ý kiến về hồ sơ HS-001: «Đề nghị @stp cho ý kiến, anh @skhcn.an theo dõi.»"
    )
    assert kinds(mailing, AN)[0] == ("mention", t1)
    assert [k for k, _ in kinds(mailing, CUONG)] == ["task_new"]  # the author is not told of their own words
    event = next(e for e in repo_history(mailing, instance_id) if e["kind"] == "comment_added")
    assert event["actor"] == "skhcn.cuong" and event["data"]["mentions"] == {"users": ["skhcn.an"], "agencies": ["stp"]}

    rows = outbox(mailing)
    assert sorted(r["to_address"] for r in rows) == [
        "an@skhcn.test",
        "an@skhcn.test",
        "cuong@skhcn.test",
        "dung@stp.test",
    ]
    sink.start()
    assert mailing.mail.deliver_due() == 4
    assert mailing.mail.deliver_due() == 0  # nothing is sent twice
    assert {r["status"] for r in outbox(mailing)} == {"sent"}
    to_dung = next(m for m in sink.messages if "dung@stp.test" in str(m["To"]))
    assert to_dung["Subject"] == "[phoihop] Được nhắc đến trong ý kiến"
    raw = sink.raw[sink.messages.index(to_dung)]
    assert raw.isascii() and "=?utf-8?" in raw.lower()  # RFC 2047 headers, a quoted-printable body: 7-bit on the wire
    assert to_dung["To"].addresses[0].display_name == "Trần Thị Dung"
    body = to_dung.get_content()
    assert "Kính gửi Trần Thị Dung" in body and "Phạm Quốc Cường nhắc đến bạn" in body
    assert f"https://phoihop.test/cong-viec/{t1}" in body


def repo_history(container: EngineContainer, instance_id: str) -> list[dict[str, Any]]:
    with container.db.transaction(write=False) as conn:
        return [dict(r) for r in repo.history(conn, instance_id)]


def test_a_mail_server_that_is_down_loses_nothing_and_gets_it_later(
    mailing: EngineContainer, sink: SmtpSink, clock: FakeClock
) -> None:
    deploy(mailing, "four_tasks.bpmn")
    mailing.instances.start(INTEGRATOR, "four_tasks")
    assert mailing.mail.deliver_due() == 0  # nobody listens
    rows = outbox(mailing)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"pending"} and {r["attempts"] for r in rows} == {1}
    assert all("ConnectionRefusedError" in r["last_error"] for r in rows)
    assert {r["next_attempt_at"] for r in rows} == {clock.now() + timedelta(seconds=30)}
    sink.start()
    assert mailing.mail.deliver_due() == 0  # not before its backoff
    clock.advance(31)
    assert mailing.mail.deliver_due() == 2
    assert len(sink.messages) == 2 and {r["status"] for r in outbox(mailing)} == {"sent"}
    assert [r["attempts"] for r in outbox(mailing)] == [2, 2]


def test_a_refused_address_fails_alone(mailing: EngineContainer, sink: SmtpSink) -> None:
    deploy(mailing, "four_tasks.bpmn")
    instance_id, _ = mailing.instances.start(INTEGRATOR, "four_tasks")
    mailing.comments.add(AN, instance_id, "Kính gửi @stp")
    sink.refused.add("dung@stp.test")
    sink.start()
    assert mailing.mail.deliver_due() == 2  # the others go on
    rows = {r["to_address"]: r for r in outbox(mailing)}
    assert rows["dung@stp.test"]["status"] == "pending" and rows["dung@stp.test"]["attempts"] == 1
    assert "SMTPRecipientsRefused" in rows["dung@stp.test"]["last_error"]
    assert {rows[a]["status"] for a in ("an@skhcn.test", "cuong@skhcn.test")} == {"sent"}


def test_retries_back_off_exponentially_then_fail(mailing: EngineContainer, clock: FakeClock) -> None:
    mailing.mail.settings = SmtpSettings(host="127.0.0.1", port=mailing.mail.settings.port, max_attempts=3, timeout=5)  # type: ignore[union-attr]
    mailing.notifications.set_preferences(CUONG, email_mode="off", email="cuong@skhcn.test")
    deploy(mailing, "four_tasks.bpmn")
    mailing.instances.start(INTEGRATOR, "four_tasks")
    waits = []
    for _ in range(3):
        mailing.mail.deliver_due()
        (row,) = outbox(mailing)
        if row["status"] == "failed":
            break
        waits.append(row["next_attempt_at"] - clock.now())
        clock.advance(row["next_attempt_at"] - clock.now())
    assert waits == [timedelta(seconds=30), timedelta(seconds=60)]
    assert row["status"] == "failed" and row["attempts"] == 3


def test_assigned_and_returned_events_tell_the_person_concerned(mailing: EngineContainer, clock: FakeClock) -> None:
    deploy(mailing, "four_tasks.bpmn")
    instance_id, _ = mailing.instances.start(INTEGRATOR, "four_tasks")
    t1 = task_id(mailing, instance_id, "t1")
    mailing.tasks.complete(AN, t1, {})
    t2 = task_id(mailing, instance_id, "t2")
    with mailing.db.transaction() as conn:  # what the assignment and send-back commands write (other handlers)
        event = {"instance_id": instance_id, "at": clock.now(), "actor": CUONG.id, "task_id": t2, "element_id": "t2"}
        repo.insert_audit(
            conn,
            [
                {**event, "kind": "task_assigned", "data": {"task_id": t2, "element_id": "t2", "user_id": "skhcn.an"}},
                {
                    **event,
                    "kind": "task_returned",
                    "data": {
                        "task_id": t2,
                        "element_id": "t2",
                        "reopened_task_id": t1,
                        "reopened_element_id": "t1",
                        "reason": "Thiếu bản sao giấy phép",
                        "kind": "send_back",
                    },
                },
            ],
        )
    assigned = [n for n in mailing.notifications.list(AN).items if n.kind == "task_assigned"]
    assert assigned and "Phạm Quốc Cường đã giao cho bạn công việc «Phân loại»" in assigned[0].text_vi
    returned = [n for n in mailing.notifications.list(AN).items if n.kind == "task_returned"]
    assert returned and "Lý do: Thiếu bản sao giấy phép" in returned[0].text_vi


def test_a_send_back_tells_who_did_the_step_in_place_of_the_reopened_task_s_new_task_notice(
    mailing: EngineContainer,
) -> None:
    """The step opens again as a new task, which tells its agency (task_new); whoever completed the step is told
    once, that it was sent back (task_returned): their task_new of it and its unsent email are dropped."""
    deploy(mailing, "four_tasks.bpmn")
    instance_id, _ = mailing.instances.start(INTEGRATOR, "four_tasks", business_key="HS-002")
    first = task_id(mailing, instance_id, "t1")
    mailing.tasks.complete(AN, first, {})
    second = task_id(mailing, instance_id, "t2")
    returned = mailing.task_flow.send_back(CUONG, second, "Thiếu bản sao giấy phép")
    reopened = returned.task.id
    assert returned.task.element_id == "t1" and reopened not in (first, second)

    assert kinds(mailing, AN) == [("task_returned", reopened), ("task_new", second), ("task_new", first)]
    assert kinds(mailing, CUONG) == [("task_new", reopened), ("task_new", second), ("task_new", first)]  # the lead
    (told,) = [n for n in mailing.notifications.list(AN).items if n.kind == "task_returned"]
    assert told.text_vi == (
        "Phạm Quốc Cường đã trả lại công việc «Tiếp nhận» — hồ sơ HS-002. Lý do: Thiếu bản sao giấy phép"
    )
    mail = sorted((row["to_address"], row["subject"]) for row in outbox(mailing) if row["status"] == "pending")
    assert mail == [
        ("an@skhcn.test", "[phoihop] Công việc cần xử lý lại"),
        *[("an@skhcn.test", "[phoihop] Công việc mới")] * 2,  # first and second: not the reopened task
        *[("cuong@skhcn.test", "[phoihop] Công việc mới")] * 3,
    ]


DEADLINES = bpmn(
    "han_xu_ly",
    """<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:userTask id="review" name="Thẩm định" camunda:dueDate="P2D"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/><bpmn:endEvent id="e"/>""",
    lanes=lane("L", "Sở Tư pháp", "review"),
).replace("xmlns:bpmn=", 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:bpmn=')


def test_due_soon_and_overdue_are_told_once_per_task_in_working_time(
    mailing: EngineContainer, clock: FakeClock
) -> None:
    deploy_xml(mailing, "han.bpmn", DEADLINES)
    instance_id, _ = mailing.instances.start(INTEGRATOR, "han_xu_ly")  # Monday 05/01/2026 15:00 in Hanoi
    task = mailing.task_reads.list_tasks(DUNG).items[0]
    with mailing.db.transaction(write=False) as conn:
        row = repo.get_task(conn, task.id)
    assert row is not None and row["due_at"] == datetime(2026, 1, 7, 8, 0, tzinfo=UTC)  # Wednesday 15:00
    # 75 % of the time falls on Wednesday 03:00: the warning waits for the office to open at 08:00
    assert row["warn_at"] == datetime(2026, 1, 7, 1, 0, tzinfo=UTC)
    jobs = mailing.notification_jobs
    assert jobs.deadlines() == 0
    clock.set(datetime(2026, 1, 6, 20, 1, tzinfo=UTC))  # Wednesday 03:01, in the night: nothing is told
    assert not jobs.in_working_time(clock.now()) and jobs.deadlines() == 0
    clock.set(datetime(2026, 1, 7, 0, 59, tzinfo=UTC))  # 07:59
    assert jobs.deadlines() == 0
    clock.set(datetime(2026, 1, 7, 1, 0, tzinfo=UTC))  # 08:00
    assert jobs.deadlines() == 1
    assert jobs.deadlines() == 0
    clock.set(row["due_at"] + timedelta(minutes=1))
    assert jobs.deadlines() == 1
    assert jobs.deadlines() == 0
    assert [k for k, _ in kinds(mailing, DUNG)] == ["overdue", "due_soon", "task_new"]
    overdue = mailing.notifications.list(DUNG).items[0]
    assert "quá hạn xử lý (hạn 07/01/2026 15:00)" in overdue.text_vi and overdue.instance_id == instance_id
    assert not jobs.in_working_time(datetime(2026, 1, 10, 3, 0, tzinfo=UTC))  # Saturday 10:00
    assert not jobs.in_working_time(datetime(2026, 1, 7, 10, 0, tzinfo=UTC))  # 17:00, the office has closed


def test_a_daily_digest_is_one_email_per_person_and_day(
    mailing: EngineContainer, sink: SmtpSink, clock: FakeClock
) -> None:
    mailing.notifications.set_preferences(AN, email_mode="digest", email="an@skhcn.test")
    mailing.notifications.set_preferences(CUONG, email_mode="off", email=None)
    deploy(mailing, "four_tasks.bpmn")
    mailing.instances.start(INTEGRATOR, "four_tasks", business_key="HS-A")
    mailing.instances.start(INTEGRATOR, "four_tasks", business_key="HS-B")
    assert outbox(mailing) == []  # digest and off: nothing immediate
    clock.set(datetime(2026, 1, 5, 9, 59, tzinfo=UTC))  # 16:59 in Hanoi
    assert mailing.mail.queue_digests() == 0
    clock.set(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))  # 17:00
    assert mailing.mail.queue_digests() == 1
    mailing.instances.start(INTEGRATOR, "four_tasks", business_key="HS-C")
    assert mailing.mail.queue_digests() == 0  # one a day: HS-C waits for tomorrow
    sink.start()
    assert mailing.mail.deliver_due() == 1
    (digest,) = sink.messages
    assert digest["Subject"] == "[phoihop] Tổng hợp thông báo ngày 05/01/2026 (2 thông báo)"
    assert "HS-A" in digest.get_content() and "HS-B" in digest.get_content()
    clock.advance(timedelta(days=1))
    assert mailing.mail.queue_digests() == 1


def test_notifications_are_their_recipients_own(mailing: EngineContainer) -> None:
    deploy(mailing, "four_tasks.bpmn")
    mailing.instances.start(INTEGRATOR, "four_tasks")
    (mine,) = mailing.notifications.list(AN).items
    with pytest.raises(NotificationNotFound):
        mailing.notifications.mark_read(DUNG, mine.id)
    assert mailing.notifications.mark_read(AN, mine.id).read_at is not None
    assert mailing.notifications.list(AN, unread=True).total == 0
    assert mailing.notifications.mark_all_read(CUONG) == 1
    assert mailing.notifications.unread_count(CUONG) == 0
    with pytest.raises(InvalidInput):
        mailing.notifications.set_preferences(AN, email_mode="hourly", email=None)
    with pytest.raises(InvalidInput):
        mailing.notifications.set_preferences(AN, email_mode="digest", email="not an address")


def test_comments_instructions_and_who_may_write_or_read_them(mailing: EngineContainer) -> None:
    deploy(mailing, "four_tasks.bpmn")
    instance_id, _ = mailing.instances.start(INTEGRATOR, "four_tasks")
    with pytest.raises(RoleRequired):
        mailing.comments.add(AN, instance_id, "Chỉ đạo", kind="instruction")
    with pytest.raises(Forbidden):
        mailing.comments.add(DUNG, instance_id, "Không tham gia hồ sơ này")
    with pytest.raises(Forbidden):
        mailing.comments.list(DUNG, instance_id)
    with pytest.raises(InvalidInput):
        mailing.comments.add(AN, instance_id, " \n ")
    with pytest.raises(InvalidInput):
        mailing.comments.add(AN, instance_id, "x" * 4001)
    mailing.comments.add(AN, instance_id, "Dòng 1\r\nDòng 2 <b>không phải HTML</b> @nobody a@stp.vn")
    mailing.comments.add(CUONG, instance_id, "Đồng ý, chuyển bước sau.", kind="instruction")
    listed = mailing.comments.list(officer("x", "skhcn"), instance_id)
    assert [c.kind for c in listed] == ["comment", "instruction"]
    assert listed[0].text == "Dòng 1\nDòng 2 <b>không phải HTML</b> @nobody a@stp.vn"
    assert listed[0].mentions.users == () and listed[0].mentions.agencies == ()
    latest = mailing.comments.latest_instruction(AN, instance_id)
    assert latest is not None and latest.author_name == "Phạm Quốc Cường"


def test_two_workers_never_send_one_email_twice(
    mailing: EngineContainer, sink: SmtpSink, db_url: str, clock: FakeClock
) -> None:
    """Two delivery loops on one database (two servers) drain the outbox together: each email arrives once."""
    deploy(mailing, "four_tasks.bpmn")
    for n in range(6):
        mailing.instances.start(INTEGRATOR, "four_tasks", business_key=f"HS-{n}")
    assert len(outbox(mailing)) == 12
    sink.start()
    other = build_engine(db_url, clock=clock, smtp=mailing.mail.settings)
    try:
        with ThreadPoolExecutor(2) as pool:
            sent = sum(pool.map(lambda c: c.mail.deliver_due(limit=3) + c.mail.deliver_due(limit=20), (mailing, other)))
    finally:
        other.close()
    assert sent == 12 and len(sink.messages) == 12
    assert len({m["Subject"] + m.get_content() + str(m["To"]) for m in sink.messages}) == 12
    assert {r["status"] for r in outbox(mailing)} == {"sent"}


def test_a_person_seen_twice_at_once_is_one_person(mailing: EngineContainer) -> None:
    """Two first requests of one person at once (two new tokens): one row, the latest name, no unique-key error."""
    newcomer = Actor.of("syt.quang", name="Lý Văn Quang", groups=("syt",), roles=("officer",))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: mailing.delegations.record_person(newcomer), range(8)))
    mailing.delegations.record_person(
        Actor.of("syt.quang", name="Lý Văn Quang (Sở Y tế)", groups=("syt",), roles=("officer",))
    )
    with mailing.db.transaction(write=False) as conn:
        (person,) = people_store.people(conn, ["syt.quang"])
    assert person["name"] == "Lý Văn Quang (Sở Y tế)" and person["groups"] == ["syt"]
    assert mailing.notifications.preferences(newcomer).email_mode == "immediate"
