"""Email delivery from the outbox (``email_outbox``), in the scheduler's loop: rows are claimed (SKIP LOCKED on
PostgreSQL, then a compare-and-set to "sending" under a lease), sent over SMTP (smtplib; STARTTLS and login when
configured) with no transaction open, then marked sent — or pending again after an exponential backoff (``retry_base``
× 2^attempts, at most ``retry_cap``), or failed once ``max_attempts`` ran out. A mail server that is down loses
nothing: the rows wait. Daily digests: the notifications of people who chose ``digest`` go out as one email per
person and day (``dedupe_key`` digest:<person>:<day>), at or after ``digest_hour`` Hanoi time."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from phoihop.engine.clock import HANOI_TZ, Clock
from phoihop.engine.commands.notifications import KIND_TITLES_VI, Notifier
from phoihop.engine.store import notifications as store
from phoihop.engine.store import people as people_store
from phoihop.engine.store.database import Database
from phoihop.engine.store.tables import Row
from phoihop.engine.store.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger("phoihop.mail")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "phoihop@localhost"
    starttls: bool = False
    timeout: float = 10.0
    max_attempts: int = 8
    retry_base: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)  # a "sending" row whose worker died is due again after this
    digest_hour: int = 17  # Hanoi time


def build_message(
    settings: SmtpSettings, *, to_name: str, to_address: str, subject: str, body: str, at: datetime
) -> EmailMessage:
    """A UTF-8 text email: the Vietnamese subject and names encoded as RFC 2047 words, the body UTF-8 in
    quoted-printable (7-bit: no relay needs 8BITMIME)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    local, _, domain = to_address.rpartition("@")
    message["To"] = Address(display_name=to_name, username=local, domain=domain)
    message["Date"] = format_datetime(at.astimezone(HANOI_TZ))
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2].strip("> ") or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8", cte="quoted-printable")  # 7-bit safe for any relay
    return message


class MailDelivery:
    def __init__(self, db: Database, clock: Clock, notifier: Notifier, settings: SmtpSettings | None) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.settings = settings

    def deliver_if_due(self) -> int:
        """``deliver_due`` when an email is due: a read-only look first, so an idle outbox costs the scheduler's
        rounds one indexed read, never a write transaction."""
        if self.settings is None:
            return 0
        with unit_of_work(self.db, self.clock.now, write=False) as uow:
            due = store.next_email_due(uow.conn)
            if due is None or due > uow.now:
                return 0
        return self.deliver_due()

    def deliver_due(self, *, limit: int = 50) -> int:
        """Send the due rows of the outbox; how many were sent."""
        settings = self.settings
        if settings is None:
            return 0
        with unit_of_work(self.db, self.clock.now) as uow:
            lease_until = uow.now + settings.lease
            claimed = store.claim_due_emails(uow.conn, uow.now, lease_until, limit)
            names = {p["id"]: p["name"] for p in people_store.people(uow.conn, [r["recipient"] for r in claimed])}
        sent = 0
        for index, row in enumerate(claimed):
            message = build_message(
                settings,
                to_name=names.get(row["recipient"], ""),
                to_address=row["to_address"],
                subject=row["subject"],
                body=row["body"],
                at=self.clock.now(),
            )
            error, server_down = self.send(settings, message)
            # a server that cannot be reached fails the rest of the batch too, without trying each (a silent server
            # would otherwise hold the scheduler's loop for a timeout per email)
            failed = [row] if not server_down else claimed[index:]
            with unit_of_work(self.db, self.clock.now) as uow:
                if error is None:
                    store.record_sent(uow.conn, row["id"], lease_until, uow.now)
                    sent += 1
                    continue
                for each in failed:
                    self.record_failure(uow, settings, each, lease_until, error)
            if server_down:
                break
        return sent

    @staticmethod
    def record_failure(uow: UnitOfWork, settings: SmtpSettings, row: Row, lease_until: datetime, error: str) -> None:
        attempts = row["attempts"] + 1
        retry_at = None
        if attempts < settings.max_attempts:
            retry_at = uow.now + min(settings.retry_cap, settings.retry_base * (2 ** (attempts - 1)))
        log.warning("email %s to %s failed (attempt %s): %s", row["id"], row["recipient"], attempts, error)
        store.record_failure(uow.conn, row["id"], lease_until, error=error, retry_at=retry_at)

    @staticmethod
    def send(settings: SmtpSettings, message: EmailMessage) -> tuple[str | None, bool]:
        """(None, False) when the server took it; else why not, and whether the server itself failed (unreachable,
        hung up, refused the login or TLS) rather than this one email."""
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.user:
                    smtp.login(settings.user, settings.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return f"{type(exc).__name__}: {exc}", False
        except (OSError, smtplib.SMTPException) as exc:
            return f"{type(exc).__name__}: {exc}", True
        return None, False

    def queue_digests(self) -> int:
        """At or after the digest hour (Hanoi time): one outbox row per person with waiting digest notifications,
        at most one a day; how many were queued."""
        settings = self.settings
        if settings is None:
            return 0
        now = self.clock.now()
        local = now.astimezone(HANOI_TZ)
        if local.hour < settings.digest_hour:
            return 0
        with unit_of_work(self.db, self.clock.now, write=False) as uow:  # none waiting: no write transaction
            if not store.digest_waiting(uow.conn, limit=1):
                return 0
        queued = 0
        with unit_of_work(self.db, self.clock.now) as uow:
            waiting = store.digest_waiting(uow.conn)
            by_person: dict[str, list[Row]] = {}
            for row in waiting:
                by_person.setdefault(row["recipient"], []).append(row)
            people = {p["id"]: p for p in people_store.people(uow.conn, by_person)}
            for person_id, rows in by_person.items():
                person = people.get(person_id)
                if person is None or not person["email"]:
                    store.mark_digested(uow.conn, [r["id"] for r in rows])  # nowhere to send: not kept waiting
                    continue
                items = [(r["kind"], r["text_vi"], r["task_id"], r["instance_id"], r["created_at"]) for r in rows]
                if store.enqueue_email(
                    uow.conn,
                    recipient=person_id,
                    to_address=person["email"],
                    subject=f"[phoihop] Tổng hợp thông báo ngày {local:%d/%m/%Y} ({len(rows)} thông báo)",
                    body=self.notifier.email_body(person["name"], items),
                    notification_id=None,
                    next_attempt_at=uow.now,
                    created_at=uow.now,
                    dedupe_key=f"digest:{person_id}:{local:%Y-%m-%d}",
                ):
                    store.mark_digested(uow.conn, [r["id"] for r in rows])
                    queued += 1
        return queued


__all__ = ["KIND_TITLES_VI", "MailDelivery", "SmtpSettings", "build_message"]
