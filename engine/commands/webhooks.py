"""Webhooks: subscriptions managed by admins, and the delivery worker that POSTs the outbox's events.

Events are written to the outbox by the commands themselves (engine/store/outbox.py), in their own transaction. The
delivery worker (run by the scheduler loop, engine/commands/scheduler.py) leases one due delivery at a time in a
short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), POSTs it outside any transaction, and records the
attempt only while its lease holds: a 2xx answer delivers it; anything else (an error status, a refused connection,
a timeout) schedules the next try after an exponential backoff (``backoff × 2^(attempts-1)``, at most an hour),
and the ``max_attempts``-th failure makes it ``dead``. ``replay`` sends a delivered or dead one again. The same
worker scans open tasks for crossed deadlines (``deadline.warning``, ``deadline.overdue``; once per task).

Each request is signed: ``X-Phoihop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``,
with ``X-Phoihop-Key-Id`` naming the secret and ``X-Phoihop-Event-Id`` the event. A delivery may arrive more than
once (a worker that dies after the receiver answered, a replay): receivers de-duplicate by event id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import select

from phoihop.engine.clock import Clock, utc_text
from phoihop.engine.errors import InvalidInput, WebhookDeliveryInFlight, WebhookDeliveryNotFound, WebhookNotFound
from phoihop.engine.model import Actor
from phoihop.engine.store import outbox
from phoihop.engine.store.database import Database
from phoihop.engine.store.outbox import (
    EVENT_TYPES,
    outbox_event_table,
    webhook_attempt_table,
    webhook_delivery_table,
    webhook_table,
)
from phoihop.engine.store.outbox import (  # re-exported: the API schema names the event types from here
    EventType as EventType,
)
from phoihop.engine.store.tables import all_rows, is_id

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_BACKOFF_SECONDS = 30.0
MAX_BACKOFF = timedelta(hours=1)
USER_AGENT = "phoihop-webhooks/1"
DEADLINE_SCAN = timedelta(seconds=30)


def default_lease(timeout_seconds: float) -> float:
    """How long a worker holds a delivery it sends (seconds) when no lease is configured: well past one send's
    timeout, so another worker takes a delivery over only after the first one died."""
    return timeout_seconds * 4 + 30


@dataclass(frozen=True, slots=True)
class WebhookView:
    id: str
    url: str
    events: tuple[str, ...]
    process_key: str | None
    key_id: str
    created_by: str
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    """A new webhook with its secret: the only time the secret is shown."""

    webhook: WebhookView
    secret: str


@dataclass(frozen=True, slots=True)
class AttemptView:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    webhook_id: str
    event_id: str
    event_type: str
    instance_id: str | None
    status: str  # pending, delivered, dead, cancelled (its webhook was deleted)
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: tuple[AttemptView, ...]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Phoihop-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _view(row: dict[str, Any]) -> WebhookView:
    return WebhookView(
        row["id"],
        row["url"],
        tuple(row["events"] or ()),
        row["process_key"],
        row["key_id"],
        row["created_by"],
        row["created_at"],
        row["deleted_at"],
    )


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput(
            f"webhook url must be an http(s) URL of at most 2000 characters, got {url!r}",
            detail_vi="Địa chỉ webhook (url) phải là địa chỉ http hoặc https, tối đa 2000 ký tự",
            field="url",
        )
    return url.strip()


def _check_events(events: Sequence[str] | None) -> list[str]:
    wanted = list(dict.fromkeys(events or ()))
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}",
            detail_vi=f"Loại sự kiện không hợp lệ: {', '.join(unknown)}; các loại hợp lệ: {', '.join(EVENT_TYPES)}",
            field="events",
        )
    return wanted


class Webhooks:
    """Admins' management of webhooks and their delivery log."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(
        self, actor: Actor, url: str, *, events: Sequence[str] | None = None, process_key: str | None = None
    ) -> CreatedWebhook:
        actor.require_role("admin")
        secret = "whsec_" + secrets.token_urlsafe(32)
        row = {
            "id": str(uuid.uuid4()),
            "url": _check_url(url),
            "events": _check_events(events),
            "process_key": process_key or None,
            "secret": secret,
            "key_id": "whk_" + secrets.token_hex(8),
            "created_by": actor.id,
            "created_at": self.clock.now(),
            "deleted_at": None,
        }
        if process_key is not None and not (0 < len(process_key) <= 200):
            raise InvalidInput(
                "process_key must have 1 to 200 characters",
                detail_vi="Mã quy trình (process_key) phải có từ 1 đến 200 ký tự",
                field="process_key",
            )
        with self.db.transaction() as conn:
            conn.execute(webhook_table.insert().values(**row))
        return CreatedWebhook(_view(row), secret)

    def _get(self, conn: Any, webhook_id: str) -> dict[str, Any]:
        row = None
        if is_id(webhook_id):
            found = all_rows(conn.execute(select(webhook_table).where(webhook_table.c.id == webhook_id)))
            row = found[0] if found else None
        if row is None:
            raise WebhookNotFound(
                f"webhook {webhook_id} not found",
                detail_vi=f"Không tìm thấy đăng ký webhook {webhook_id}",
                webhook_id=webhook_id,
            )
        return row

    def get(self, actor: Actor, webhook_id: str) -> WebhookView:
        actor.require_role("admin")
        with self.db.transaction(write=False) as conn:
            return _view(self._get(conn, webhook_id))

    def live(self, actor: Actor) -> list[WebhookView]:
        """The webhooks not deleted, oldest first."""
        actor.require_role("admin")
        with self.db.transaction(write=False) as conn:
            rows = all_rows(
                conn.execute(
                    select(webhook_table)
                    .where(webhook_table.c.deleted_at.is_(None))
                    .order_by(webhook_table.c.created_at)
                )
            )
        return [_view(r) for r in rows]

    def delete(self, actor: Actor, webhook_id: str) -> None:
        """No more deliveries to it (pending ones are cancelled); its log stays readable."""
        actor.require_role("admin")
        with self.db.transaction() as conn:
            row = self._get(conn, webhook_id)
            if row["deleted_at"] is not None:
                return
            now = self.clock.now()
            conn.execute(webhook_table.update().where(webhook_table.c.id == webhook_id).values(deleted_at=now))
            conn.execute(
                webhook_delivery_table.update()
                .where(webhook_delivery_table.c.webhook_id == webhook_id, webhook_delivery_table.c.status == "pending")
                .values(status="cancelled", lease_until=None, lease_token=None)
            )

    def deliveries(self, actor: Actor, webhook_id: str, *, limit: int = 100) -> list[DeliveryView]:
        """The webhook's deliveries, newest first, each with its attempts."""
        actor.require_role("admin")
        d, e, a = webhook_delivery_table, outbox_event_table, webhook_attempt_table
        with self.db.transaction(write=False) as conn:
            self._get(conn, webhook_id)
            rows = all_rows(
                conn.execute(
                    select(d, e.c.type, e.c.instance_id)
                    .join(e, e.c.id == d.c.event_id)
                    .where(d.c.webhook_id == webhook_id)
                    .order_by(d.c.id.desc())
                    .limit(limit)
                )
            )
            ids = [r["id"] for r in rows]
            attempts = all_rows(conn.execute(select(a).where(a.c.delivery_id.in_(ids)).order_by(a.c.id))) if ids else []
        log: dict[int, list[AttemptView]] = {}
        for at in attempts:
            log.setdefault(at["delivery_id"], []).append(
                AttemptView(at["at"], at["status_code"], at["error"], at["duration_ms"])
            )
        return [
            DeliveryView(
                r["id"],
                r["webhook_id"],
                r["event_id"],
                r["type"],
                r["instance_id"],
                r["status"],
                r["attempts"],
                r["next_attempt_at"] if r["status"] == "pending" else None,
                r["last_status_code"],
                r["last_error"],
                r["created_at"],
                r["delivered_at"],
                tuple(log.get(r["id"], ())),
            )
            for r in rows
        ]

    def replay(self, actor: Actor, delivery_id: int) -> None:
        """Send the delivery again now, with a fresh count of tries (the same event id: receivers de-duplicate)."""
        actor.require_role("admin")
        d = webhook_delivery_table
        now = self.clock.now()
        with self.db.transaction() as conn:
            found = all_rows(conn.execute(select(d).where(d.c.id == delivery_id).with_for_update()))
            if not found:
                raise WebhookDeliveryNotFound(
                    f"webhook delivery {delivery_id} not found",
                    detail_vi=f"Không tìm thấy lần gửi webhook {delivery_id}",
                    delivery_id=delivery_id,
                )
            row = found[0]
            hook = self._get(conn, row["webhook_id"])
            if hook["deleted_at"] is not None:
                raise WebhookNotFound(
                    f"webhook {hook['id']} was deleted",
                    detail_vi=f"Đăng ký webhook {hook['id']} đã bị xóa",
                    webhook_id=hook["id"],
                )
            if row["lease_until"] is not None and row["lease_until"] > now:
                raise WebhookDeliveryInFlight(
                    f"webhook delivery {delivery_id} is being sent until {utc_text(row['lease_until'])}",
                    detail_vi=f"Lần gửi webhook {delivery_id} đang được thực hiện, hãy thử lại sau",
                    delivery_id=delivery_id,
                )
            conn.execute(
                d.update()
                .where(d.c.id == delivery_id)
                .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None, lease_token=None)
            )


class WebhookDelivery:
    """The delivery worker's job: lease a due delivery, POST it, record the attempt; repeat up to ``batch``."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        lease_seconds: float | None = None,
        batch: int = 20,
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_attempts = max_attempts
        self.timeout = timeout_seconds
        self.backoff = timedelta(seconds=backoff_seconds)
        self.batch = batch
        # a lease outlives the longest send (timeout) by a wide margin: another worker takes over only after a death
        self.lease = timedelta(seconds=lease_seconds if lease_seconds is not None else default_lease(timeout_seconds))
        if self.lease.total_seconds() <= timeout_seconds:
            lease = self.lease.total_seconds()
            raise ValueError(f"a webhook lease ({lease:g} s) must outlive a send (timeout {timeout_seconds:g} s)")
        self._client: httpx.Client | None = None
        self._scanned_at: datetime | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def next_due(self) -> datetime | None:
        with self.db.transaction(write=False) as conn:
            return outbox.next_due(conn)

    def announce_deadlines(self) -> int:
        """Write the deadline events of tasks that crossed their warning time or due time since the last scan (at
        most every ``DEADLINE_SCAN`` by this worker's clock)."""
        now = self.clock.now()
        if self._scanned_at is not None and now - self._scanned_at < DEADLINE_SCAN:
            return 0
        self._scanned_at = now
        with self.db.transaction(write=False) as conn:  # no write lock taken while no webhook is live
            if not outbox.any_live_webhook(conn):
                return 0
        with self.db.transaction() as conn:
            return outbox.announce_deadlines(conn, now)

    def deliver_due(self) -> int:
        """Announce crossed deadlines, then send due deliveries one by one (up to ``batch``); returns how many were
        attempted."""
        self.announce_deadlines()
        due = self.next_due()  # a read: the claim's write transaction only when something is due
        if due is None or due > self.clock.now():
            return 0
        sent = 0
        for _ in range(self.batch):
            with self.db.transaction() as conn:
                claimed = outbox.claim_due(conn, self.clock.now(), limit=1, lease=self.lease)
            if not claimed:
                break
            self.send(claimed[0])
            sent += 1
        return sent

    def body(self, delivery: dict[str, Any]) -> bytes:
        occurred: datetime = delivery["occurred_at"]
        return orjson.dumps(
            {
                "id": delivery["event_id"],
                "type": delivery["type"],
                "occurred_at": utc_text(occurred),
                "instance_id": delivery["instance_id"],
                "process_key": delivery["process_key"],
                "data": delivery["data"],
            }
        )

    def send(self, delivery: dict[str, Any]) -> None:
        now = self.clock.now()
        if delivery["deleted_at"] is not None:  # the webhook was deleted after the lease was taken
            with self.db.transaction() as conn:
                outbox.finish(
                    conn,
                    delivery["id"],
                    delivery["lease_token"],
                    status="cancelled",
                    attempts=delivery["attempts"],
                    at=now,
                    next_attempt_at=now,
                    status_code=None,
                    error="webhook deleted",
                    duration_ms=0,
                )
            return
        body = self.body(delivery)
        stamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "X-Phoihop-Event-Id": delivery["event_id"],
            "X-Phoihop-Event-Type": delivery["type"],
            "X-Phoihop-Key-Id": delivery["key_id"],
            "X-Phoihop-Signature": sign(delivery["secret"], stamp, body),
        }
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            response = self._http().post(delivery["url"], content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.TimeoutException:
            error = f"timeout after {self.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = int((time.monotonic() - started) * 1000)
        attempts = delivery["attempts"] + 1
        at = self.clock.now()
        if error is None:
            status, next_at = "delivered", at
        elif attempts >= self.max_attempts:
            status, next_at = "dead", at
        else:
            status, next_at = "pending", at + min(self.backoff * 2 ** (attempts - 1), MAX_BACKOFF)
        with self.db.transaction() as conn:
            outbox.finish(
                conn,
                delivery["id"],
                delivery["lease_token"],
                status=status,
                attempts=attempts,
                at=at,
                next_attempt_at=next_at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )


__all__ = [
    "AttemptView",
    "CreatedWebhook",
    "DeliveryView",
    "WebhookDelivery",
    "WebhookView",
    "Webhooks",
    "default_lease",
    "sign",
]
