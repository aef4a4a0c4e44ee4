"""Notifications: derived from what commands write, by ONE hook (``Notifier.on_write``, installed on the database
by the container through engine/store/write_hooks.py) that runs inside the command's transaction, plus the
scheduler's deadline job (``NotificationJobs``) for due-soon and overdue tasks, once per task.

What makes a notification, and for whom:

- a new human task: its assignee, its candidate users, and the known people of its candidate agencies who may work
  on it (officer or lead, and the task's required role) — ``task_new``;
- ``task_assigned``: the person it names — ``task_assigned``;
- ``task_returned``: whoever last completed (or held) the step that opens again — ``task_returned`` (it replaces the
  ``task_new`` the same command wrote for them);
- ``comment_added``: the people and the known people of the agencies it mentions, not its author — ``mention``;
- the deadline job: a task past its warning time (``warn_at``, the inbox's "sắp đến hạn" threshold) — ``due_soon``;
  past ``due_at`` — ``overdue``: its assignee, else its candidates; told in working time only (a working day of the
  business calendar, 08:00 to the office's closing time, Hanoi time).

In-app notifications are always on; each person chooses email: ``immediate`` (an ``email_outbox`` row in the same
transaction, engine/commands/mail.py delivers it), ``digest`` (one email a day) or ``off``. People are those of the
``person`` table (written at sign-in and at a token's first use: engine/store/people.py)."""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal

from sqlalchemy import Connection

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.clock import HANOI_TZ, Clock
from phoihop.engine.errors import InvalidInput, NotificationNotFound
from phoihop.engine.model import ADMIN_ONLY, TASK_ROLES, Actor
from phoihop.engine.store import comments as comment_store
from phoihop.engine.store import notifications as store
from phoihop.engine.store import people as people_store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database
from phoihop.engine.store.tables import Row
from phoihop.engine.store.unit_of_work import unit_of_work
from phoihop.engine.store.write_hooks import Written
from phoihop.engine.time.calendar import BusinessCalendar

log = logging.getLogger("phoihop.notifications")

EmailMode = Literal["immediate", "digest", "off"]
EMAIL_MODES: tuple[EmailMode, ...] = ("immediate", "digest", "off")
KIND_TITLES_VI = {
    "task_new": "Công việc mới",
    "task_assigned": "Được phân công",
    "task_returned": "Công việc cần xử lý lại",
    "mention": "Được nhắc đến trong ý kiến",
    "due_soon": "Công việc sắp đến hạn",
    "overdue": "Công việc quá hạn",
}
MAX_EMAIL_LENGTH = 320
EXCERPT = 200  # characters of a comment quoted in the notification of a mention
OFFICE_OPEN = time(8, 0)  # Hanoi time: deadline notifications wait for office hours


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    title_vi: str
    text_vi: str
    instance_id: str | None
    task_id: str | None
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class NotificationPage:
    items: tuple[NotificationView, ...]
    total: int
    unread: int


@dataclass(frozen=True)
class Preferences:
    user_id: str
    email_mode: EmailMode
    email: str | None
    in_app: str = "immediate"  # always on


def notification_view(row: Row) -> NotificationView:
    return NotificationView(
        id=row["id"],
        kind=row["kind"],
        title_vi=KIND_TITLES_VI.get(row["kind"]) or str(row["kind"]),
        text_vi=row["text_vi"],
        instance_id=row["instance_id"],
        task_id=row["task_id"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


def hanoi(moment: datetime | None) -> str:
    return moment.astimezone(HANOI_TZ).strftime("%d/%m/%Y %H:%M") if moment is not None else ""


class Notifier:
    """The write hook: notifications (and immediate emails) from audit events and new human tasks."""

    def __init__(self, agencies: AgencyRegistry, *, email_enabled: bool, public_url: str | None = None) -> None:
        self.agencies = agencies
        self.email_enabled = email_enabled
        self.public_url = public_url.rstrip("/") if public_url else None

    def on_write(self, conn: Connection, what: Written, rows: list[dict[str, Any]]) -> None:
        if what == "human_task":
            for task in rows:
                self.task_created(conn, task)
            return
        for event in rows:
            kind = event.get("kind")
            if kind == "task_assigned":
                self.task_assigned(conn, event)
            elif kind == "task_returned":
                self.task_returned(conn, event)
            elif kind == "comment_added":
                self.comment_added(conn, event)

    # --- the events ---------------------------------------------------------------------------------------------

    def task_created(self, conn: Connection, task: Mapping[str, Any]) -> None:
        """The people ``task_people`` names, read with the case's label in one statement (the hot path: every
        command that opens a task), their notifications written without waiting for an answer."""
        users, agencies = self.task_audience(task)
        if not users and not agencies:
            return
        instance, found = people_store.audience(conn, task["instance_id"], users, agencies)
        recipients = users + [person["id"] for person in found if self.works_on(person, agencies, task)]
        if not recipients:
            return
        case = label_of(instance, task["instance_id"])
        groups = ", ".join(self.agency_name(g) for g in task["candidate_groups"] or [])
        where = f" cho {groups}" if groups else ""
        text = f"Công việc mới{where}: «{task['name'] or task['element_id']}» — {case}."
        known = {person["id"]: person for person in found}
        self.notify(conn, recipients, "task_new", text, task["instance_id"], task["id"], task["created_at"], known)

    def task_assigned(self, conn: Connection, event: Mapping[str, Any]) -> None:
        data = event.get("data") or {}
        user_id = data.get("user_id")
        if not isinstance(user_id, str) or user_id == event["actor"]:
            return
        task = repo.get_task(conn, str(data.get("task_id") or event.get("task_id") or ""))
        name = (task["name"] or task["element_id"]) if task is not None else data.get("element_id", "")
        text = f"{self.person_name(conn, event['actor'])} đã giao cho bạn công việc «{name}» — "
        text += f"{self.case_label(conn, event['instance_id'])}."
        self.notify(conn, [user_id], "task_assigned", text, event["instance_id"], data.get("task_id"), event["at"])

    def task_returned(self, conn: Connection, event: Mapping[str, Any]) -> None:
        """Read in one statement per table, one trip on PostgreSQL (``people_store.step_audience``)."""
        data = event.get("data") or {}
        reopened_id = data.get("reopened_task_id")
        element_id = data.get("reopened_element_id")
        instance_id = event["instance_id"]
        instance, steps, known = people_store.step_audience(conn, instance_id, str(element_id), event["actor"])
        done = sorted((t for t in steps if t["completed_by"]), key=lambda t: t["completed_at"])
        held = [t["assignee"] for t in steps if t["assignee"] and t["id"] != reopened_id]
        person = done[-1]["completed_by"] if done else held[-1] if held else None
        if not person or person == event["actor"]:
            return
        reopened = next((t for t in steps if t["id"] == reopened_id), None) if isinstance(reopened_id, str) else None
        name = (reopened["name"] or reopened["element_id"]) if reopened is not None else element_id
        if isinstance(reopened_id, str):
            store.drop_unread(conn, person, reopened_id, "task_new", event["at"])
        reason = str(data.get("reason") or "").strip()
        text = f"{self.known_name(known, event['actor'])} đã trả lại công việc «{name}» — "
        text += f"{label_of(instance, instance_id)}." + (f" Lý do: {reason}" if reason else "")
        self.notify(conn, [person], "task_returned", text, instance_id, reopened_id, event["at"], known)

    def comment_added(self, conn: Connection, event: Mapping[str, Any]) -> None:
        mentions = (event.get("data") or {}).get("mentions") or {}
        users = [u for u in mentions.get("users") or [] if isinstance(u, str)]
        agencies = [a for a in mentions.get("agencies") or [] if isinstance(a, str)]
        recipients = set(users) | {p["id"] for p in people_store.members_of(conn, agencies)}
        recipients.discard(event["actor"])
        if not recipients:
            return
        data = event.get("data") or {}
        what = "ý kiến chỉ đạo" if data.get("kind") == "instruction" else "ý kiến"
        text = f"{self.person_name(conn, event['actor'])} nhắc đến bạn trong {what} về "
        text += f"{self.case_label(conn, event['instance_id'])}"
        comment = (
            comment_store.get_comment(conn, data["comment_id"]) if isinstance(data.get("comment_id"), int) else None
        )
        if comment is not None:  # what was said: the mentioned may not see the case itself
            words = " ".join(comment["text"].split())
            text += f": «{words if len(words) <= EXCERPT else words[: EXCERPT - 1].rstrip() + '…'}»"
        else:
            text += "."
        self.notify(conn, sorted(recipients), "mention", text, event["instance_id"], event.get("task_id"), event["at"])

    # --- who and how ----------------------------------------------------------------------------------------------

    def task_people(self, conn: Connection, task: Mapping[str, Any]) -> list[str]:
        """Who a task concerns: its assignee if it has one, else its candidate users and the known people of its
        candidate agencies who may work on it."""
        users, agencies = self.task_audience(task)
        members = people_store.members_of(conn, agencies)
        return list(dict.fromkeys(users + [p["id"] for p in members if self.works_on(p, agencies, task)]))

    @staticmethod
    def task_audience(task: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """The people a task names (its assignee, else its candidate users) and the agencies whose people it concerns
        (its candidate groups, none when it has an assignee or is for admins only)."""
        if task.get("assignee"):
            return [task["assignee"]], []
        if task.get("required_role") == ADMIN_ONLY:
            return list(task["candidate_users"] or []), []
        return list(task["candidate_users"] or []), list(task["candidate_groups"] or [])

    @staticmethod
    def works_on(person: Mapping[str, Any], agencies: list[str], task: Mapping[str, Any]) -> bool:
        """A person of one of ``agencies`` who may work on ``task`` (officer or lead, and its required role)."""
        roles = set(person["roles"] or [])
        required = task.get("required_role")
        return (
            bool(set(agencies) & set(person["groups"] or []))
            and bool(roles & set(TASK_ROLES))
            and (required is None or required in roles)
        )

    def notify(
        self,
        conn: Connection,
        recipients: Iterable[str],
        kind: str,
        text: str,
        instance_id: str | None,
        task_id: str | None,
        at: datetime,
        known: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """``known``: the ``person`` rows of the recipients, when the caller read them already (one missing there is
        no known person)."""
        wanted = list(dict.fromkeys(recipients))
        if known is None:
            known = {p["id"]: p for p in people_store.people(conn, wanted)}
        for recipient in wanted:
            person = known.get(recipient)
            mode = person["email_mode"] if person is not None and person["email"] and self.email_enabled else "off"
            email = None
            if mode == "immediate" and person is not None:
                email = {
                    "to_address": person["email"],
                    "subject": f"[phoihop] {KIND_TITLES_VI.get(kind, kind)}",
                    "body": self.email_body(person["name"], [(kind, text, task_id, instance_id, at)]),
                }
            notification = {
                "recipient": recipient,
                "kind": kind,
                "instance_id": instance_id,
                "task_id": task_id,
                "text_vi": text,
                "created_at": at,
                "email_state": {"immediate": "queued", "digest": "digest"}.get(mode),
            }
            store.add_notification(conn, notification, email)

    def email_body(self, name: str, items: list[tuple[str, str, str | None, str | None, datetime]]) -> str:
        lines = [f"Kính gửi {name},", ""]
        for kind, text, task_id, instance_id, at in items:
            lines.append(f"• {hanoi(at)} — {KIND_TITLES_VI.get(kind, kind)}: {text}")
            if self.public_url and task_id:
                lines.append(f"  Xem công việc: {self.public_url}/cong-viec/{task_id}")
            elif self.public_url and instance_id:
                lines.append(f"  Xem hồ sơ: {self.public_url}/ho-so/{instance_id}")
        lines += ["", "Thư này được gửi tự động từ hệ thống phoihop; vui lòng không trả lời thư này.", ""]
        lines.append("Thay đổi cách nhận thông báo: trang Thông báo › Cài đặt nhận thông báo.")
        return "\n".join(lines) + "\n"

    def case_label(self, conn: Connection, instance_id: str) -> str:
        return label_of(repo.get_instance(conn, instance_id), instance_id)

    def agency_name(self, code: str) -> str:
        agency = self.agencies.get(code)
        return agency.name_vi if agency is not None else code

    @staticmethod
    def known_name(known: Mapping[str, Mapping[str, Any]], person_id: str) -> str:
        """How a notification names a person, from rows read already (by id): "Hệ thống" for the system, else the
        person's name, else the id."""
        if person_id == "system":
            return "Hệ thống"
        person = known.get(person_id)
        return str(person["name"]) if person is not None and person["name"] else person_id

    @staticmethod
    def person_name(conn: Connection, person_id: str) -> str:
        """How a notification names a person: ``known_name`` of the person's row, read here (none for "system")."""
        person = people_store.get_person(conn, person_id) if person_id != "system" else None
        return Notifier.known_name({person_id: person} if person is not None else {}, person_id)


def label_of(instance: Mapping[str, Any] | None, instance_id: str) -> str:
    """How a notification names the case: its dossier code, else its business key, else the start of its id."""
    if instance is None:
        return "hồ sơ"
    if instance["dossier_code"]:
        return f"hồ sơ {instance['dossier_code']}"
    if instance["business_key"]:
        return f"hồ sơ {instance['business_key']}"
    return f"hồ sơ {instance_id[:8]}"


class NotificationCommands:
    """A person's own notifications and preferences."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def list(self, actor: Actor, *, unread: bool = False, limit: int = 50, offset: int = 0) -> NotificationPage:
        """Newest first."""
        with unit_of_work(self.db, self.clock.now, write=False) as uow:
            rows = store.notifications_of(uow.conn, actor.id, unread=unread, limit=limit, offset=offset)
            total = store.count_of(uow.conn, actor.id, unread=unread)
            unread_count = total if unread else store.count_of(uow.conn, actor.id, unread=True)
        return NotificationPage(tuple(notification_view(r) for r in rows), total, unread_count)

    def unread_count(self, actor: Actor) -> int:
        with unit_of_work(self.db, self.clock.now, write=False) as uow:
            return store.count_of(uow.conn, actor.id, unread=True)

    def mark_read(self, actor: Actor, notification_id: int) -> NotificationView:
        """Another person's notification is not found (its existence is not told)."""
        with unit_of_work(self.db, self.clock.now) as uow:
            row = store.get_notification(uow.conn, notification_id)
            if row is None or row["recipient"] != actor.id:
                raise NotificationNotFound(
                    f"notification {notification_id} not found",
                    detail_vi=f"Không tìm thấy thông báo {notification_id}",
                    notification_id=notification_id,
                )
            store.mark_read(uow.conn, actor.id, uow.now, notification_id)
            row = store.get_notification(uow.conn, notification_id)
        assert row is not None
        return notification_view(row)

    def mark_all_read(self, actor: Actor) -> int:
        with unit_of_work(self.db, self.clock.now) as uow:
            return store.mark_read(uow.conn, actor.id, uow.now)

    def preferences(self, actor: Actor) -> Preferences:
        with unit_of_work(self.db, self.clock.now, write=False) as uow:
            person = people_store.get_person(uow.conn, actor.id)
        if person is None:
            return Preferences(actor.id, "immediate", None)
        return Preferences(actor.id, person["email_mode"], person["email"])

    def set_preferences(self, actor: Actor, *, email_mode: str, email: str | None) -> Preferences:
        if email_mode not in EMAIL_MODES:
            raise InvalidInput(
                "email_mode must be immediate, digest or off",
                detail_vi="Cách nhận thư điện tử phải là: ngay khi có, tổng hợp hằng ngày, hoặc không nhận",
                field="email_mode",
            )
        address = (email or "").strip() or None
        if address is not None and (len(address) > MAX_EMAIL_LENGTH or not _looks_like_address(address)):
            raise InvalidInput(
                "email is not an email address",
                detail_vi="Địa chỉ thư điện tử không hợp lệ",
                field="email",
            )
        with unit_of_work(self.db, self.clock.now) as uow:
            if people_store.get_person(uow.conn, actor.id) is None:
                people_store.upsert_person(
                    uow.conn,
                    actor.id,
                    name=actor.name or actor.id,
                    groups=sorted(actor.groups),
                    roles=sorted(actor.roles),
                    now=uow.now,
                )
            people_store.set_preferences(uow.conn, actor.id, email_mode=email_mode, email=address)
        return Preferences(actor.id, email_mode, address)


def _looks_like_address(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() or c in '<>,;"' for c in text))


class NotificationJobs:
    """The scheduler's share: due-soon and overdue notifications and the daily digests at most every
    ``every_seconds``, the outbox's delivery as soon as an email is due (``run_due``; tests call the steps
    directly)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        delivery: Any,
        *,
        calendar: Callable[[], BusinessCalendar] | None = None,
        office_hours: tuple[time, time] = (OFFICE_OPEN, time(17, 0)),
        every_seconds: float = 5.0,
        batch: int = 100,
    ) -> None:
        """``calendar`` (the business calendar now) and ``office_hours`` (Hanoi time): due-soon and overdue are told
        in working time only; None: at any time."""
        self.calendar = calendar
        self.office_hours = office_hours
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.delivery = delivery
        self.every_seconds = every_seconds
        self.batch = batch
        self._last = -every_seconds

    def run_due(self) -> int:
        """One round of the scheduler: the outbox whenever an email is due (a read-only look first), the deadlines
        and the digests at most every ``every_seconds``."""
        steps = [self.delivery.deliver_if_due]
        now = monotonic_time.monotonic()
        if now - self._last >= self.every_seconds:
            self._last = now
            steps = [self.deadlines, self.delivery.queue_digests, *steps]
        done = 0
        for step in steps:
            try:
                done += step()
            except Exception:  # one failing step does not stop the others; its transaction rolled back
                log.exception("notification job %s failed", getattr(step, "__name__", step))
        return done

    def in_working_time(self, now: datetime) -> bool:
        local = now.astimezone(HANOI_TZ)
        opens, closes = self.office_hours
        working_day = self.calendar is None or self.calendar().is_working_day(local.date())
        return working_day and opens <= local.time().replace(tzinfo=None) < closes

    def deadlines(self) -> int:
        """Due-soon and overdue notifications of the open tasks that reached them, once per task and kind, in
        working time (a task that turns overdue at 17:00 on Friday is told on Monday at 08:00, when someone can act)."""
        if not self.in_working_time(self.clock.now()):
            return 0
        with unit_of_work(self.db, self.clock.now, write=False) as uow:  # nothing due: no write transaction
            if not (
                store.tasks_past(uow.conn, "due_at", "overdue", uow.now, 1)
                or store.tasks_past(uow.conn, "warn_at", "due_soon", uow.now, 1)
            ):
                return 0
        count = 0
        with unit_of_work(self.db, self.clock.now) as uow:
            conn, now = uow.conn, uow.now
            for task in store.tasks_past(conn, "due_at", "overdue", now, self.batch):
                store.claim_deadline_notice(conn, task["id"], "due_soon", now)  # no "due soon" after "overdue"
                if store.claim_deadline_notice(conn, task["id"], "overdue", now):
                    text = f"{self.task_label(conn, task)} đã quá hạn xử lý (hạn {hanoi(task['due_at'])})."
                    self.notify_task(conn, task, "overdue", text, now)
                    count += 1
            for task in store.tasks_past(conn, "warn_at", "due_soon", now, self.batch):
                if store.claim_deadline_notice(conn, task["id"], "due_soon", now):
                    text = f"{self.task_label(conn, task)} sắp đến hạn xử lý (hạn {hanoi(task['due_at'])})."
                    self.notify_task(conn, task, "due_soon", text, now)
                    count += 1
        return count

    def task_label(self, conn: Connection, task: Row) -> str:
        return (
            f"Công việc «{task['name'] or task['element_id']}» — {self.notifier.case_label(conn, task['instance_id'])}"
        )

    def notify_task(self, conn: Connection, task: Row, kind: str, text: str, now: datetime) -> None:
        recipients = self.notifier.task_people(conn, task)
        if recipients:
            self.notifier.notify(conn, recipients, kind, text, task["instance_id"], task["id"], now)
