"""Statements on ``notification``, ``deadline_notice`` and ``email_outbox``. Never commits.

The outbox is claimed in two steps so that no row is sent twice at once: a short transaction picks due rows (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock serializes) and moves each from "pending" to "sending" with a
compare-and-set on its status; the mail goes out with no transaction open; a second short transaction records the
outcome. A row left "sending" by a worker that died is due again once its lease (``next_attempt_at``) has passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from phoihop.engine.store import rawsql
from phoihop.engine.store.models import DeadlineNotice, EmailOutbox, Notification
from phoihop.engine.store.tables import Row, all_rows, for_update, human_task_table, insert_ignore, one

notification_table = Notification.__table__  # type: ignore[attr-defined]
deadline_notice_table = DeadlineNotice.__table__  # type: ignore[attr-defined]
outbox_table = EmailOutbox.__table__  # type: ignore[attr-defined]
N, D, X = notification_table, deadline_notice_table, outbox_table
OPEN = ("open", "claimed")


def insert_notification(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(N).values(**values).returning(N.c.id)).scalar_one())


_INSERT_NOTIFICATION = (
    "INSERT INTO notification (recipient, kind, instance_id, task_id, text_vi, created_at, read_at, email_state)"
    " VALUES (:recipient, :kind, :instance_id, :task_id, :text_vi, :created_at, NULL, :email_state)"
)
# PostgreSQL: the email row takes the notification's id in the same statement
_INSERT_NOTIFICATION_AND_EMAIL = (
    "WITH n AS (" + _INSERT_NOTIFICATION + " RETURNING id) INSERT INTO email_outbox (recipient, to_address, subject,"  # noqa: S608
    " body, notification_id, status, attempts, next_attempt_at, created_at) SELECT :recipient, :to_address,"
    " :subject, :body, n.id, 'pending', 0, :created_at, :created_at FROM n"
)


def add_notification(conn: Connection, notification: dict[str, Any], email: dict[str, Any] | None) -> None:
    """A notification unread (and ``email``: its outbox row, to_address, subject and body, sent from its
    ``created_at``), written without waiting for an answer: on PostgreSQL with the command's next trip
    (store/rawsql.py), on SQLite at once."""
    values = {**notification, "created_at": rawsql.ts(conn, notification["created_at"])}
    if email is None:
        rawsql.defer(conn, _INSERT_NOTIFICATION, values)
    elif conn.dialect.name == "postgresql":
        rawsql.defer(conn, _INSERT_NOTIFICATION_AND_EMAIL, {**values, **email})
    else:
        notification_id = insert_notification(conn, **{**notification, "read_at": None})
        enqueue_email(
            conn,
            recipient=notification["recipient"],
            notification_id=notification_id,
            next_attempt_at=notification["created_at"],
            created_at=notification["created_at"],
            **email,
        )


def notifications_of(conn: Connection, recipient: str, *, unread: bool, limit: int, offset: int) -> list[Row]:
    stmt = select(N).where(N.c.recipient == recipient)
    if unread:
        stmt = stmt.where(N.c.read_at.is_(None))
    return all_rows(conn.execute(stmt.order_by(N.c.id.desc()).limit(limit).offset(offset)))


def count_of(conn: Connection, recipient: str, *, unread: bool) -> int:
    stmt = select(func.count()).select_from(N).where(N.c.recipient == recipient)
    if unread:
        stmt = stmt.where(N.c.read_at.is_(None))
    return int(conn.execute(stmt).scalar_one())


def get_notification(conn: Connection, notification_id: int) -> Row | None:
    return one(conn.execute(select(N).where(N.c.id == notification_id)))


def mark_read(conn: Connection, recipient: str, now: datetime, notification_id: int | None = None) -> int:
    stmt = update(N).where(N.c.recipient == recipient, N.c.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(N.c.id == notification_id)
    return int(conn.execute(stmt.values(read_at=now)).rowcount)


_DROP_UNREAD_EMAIL = (
    "DELETE FROM email_outbox WHERE status = 'pending' AND notification_id IN (SELECT id FROM notification"
    " WHERE recipient = :recipient AND task_id = :task_id AND kind = :kind AND created_at = :at AND read_at IS NULL)"
)
_DROP_UNREAD = (
    "DELETE FROM notification"
    " WHERE recipient = :recipient AND task_id = :task_id AND kind = :kind AND created_at = :at AND read_at IS NULL"
)


def drop_unread(conn: Connection, recipient: str, task_id: str, kind: str, at: datetime) -> None:
    """Remove the unread ``kind`` notification of ``task_id`` written at ``at`` (in this same command) and its
    unsent email: a more precise notification of the same task replaces it. The writes wait for the next trip."""
    params = {"recipient": recipient, "task_id": task_id, "kind": kind, "at": rawsql.ts(conn, at)}
    rawsql.defer(conn, _DROP_UNREAD_EMAIL, params)
    rawsql.defer(conn, _DROP_UNREAD, params)


def digest_waiting(conn: Connection, *, limit: int | None = None) -> list[Row]:
    stmt = select(N).where(N.c.email_state == "digest").order_by(N.c.recipient, N.c.id)
    return all_rows(conn.execute(stmt.limit(limit) if limit is not None else stmt))


def mark_digested(conn: Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(update(N).where(N.c.id.in_(ids)).values(email_state="digested"))


# --- deadlines: due soon and overdue, once per task -----------------------------------------------------------------


def tasks_past(conn: Connection, column: str, kind: str, now: datetime, limit: int) -> list[Row]:
    """Open tasks whose ``column`` (warn_at or due_at) has passed and that have no ``kind`` notice yet."""
    H = human_task_table
    col = H.c[column]
    noticed = select(D.c.task_id).where(D.c.task_id == H.c.id, D.c.kind == kind).exists()
    stmt = select(H).where(H.c.status.in_(OPEN), col.is_not(None), col <= now, ~noticed).order_by(col).limit(limit)
    return all_rows(conn.execute(stmt))


def claim_deadline_notice(conn: Connection, task_id: str, kind: str, now: datetime) -> bool:
    """True for the one worker that records the notice first."""
    stmt = insert_ignore(conn, D).values(task_id=task_id, kind=kind, created_at=now).on_conflict_do_nothing()
    return conn.execute(stmt.returning(D.c.task_id)).first() is not None


# --- the email outbox -------------------------------------------------------------------------------------------


def enqueue_email(conn: Connection, **values: Any) -> bool:
    """Write an outbox row; False when its ``dedupe_key`` is already there."""
    if values.get("dedupe_key") is not None:
        stmt = insert_ignore(conn, X).values(status="pending", attempts=0, **values).on_conflict_do_nothing()
        return conn.execute(stmt.returning(X.c.id)).first() is not None
    conn.execute(insert(X).values(status="pending", attempts=0, **values))
    return True


def claim_due_emails(conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[Row]:
    """Move up to ``limit`` due rows to "sending" (leased until ``lease_until``) and return them."""
    due = and_(X.c.status.in_(("pending", "sending")), X.c.next_attempt_at <= now)
    stmt = for_update(conn, select(X).where(due).order_by(X.c.next_attempt_at, X.c.id).limit(limit), skip_locked=True)
    claimed = []
    for row in all_rows(conn.execute(stmt)):
        result = conn.execute(
            update(X)
            .where(X.c.id == row["id"], X.c.status == row["status"], X.c.next_attempt_at == row["next_attempt_at"])
            .values(status="sending", next_attempt_at=lease_until)
        )
        if result.rowcount == 1:
            claimed.append(row)
    return claimed


def record_sent(conn: Connection, email_id: int, lease_until: datetime, now: datetime) -> None:
    conn.execute(
        update(X)
        .where(X.c.id == email_id, X.c.status == "sending", X.c.next_attempt_at == lease_until)
        .values(status="sent", sent_at=now, attempts=X.c.attempts + 1, last_error=None)
    )


def record_failure(
    conn: Connection, email_id: int, lease_until: datetime, *, error: str, retry_at: datetime | None
) -> None:
    """Pending again at ``retry_at``, or failed for good (``retry_at`` None)."""
    values: dict[str, Any] = {"attempts": X.c.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values.update(status="pending", next_attempt_at=retry_at)
    conn.execute(
        update(X)
        .where(X.c.id == email_id, X.c.status == "sending", X.c.next_attempt_at == lease_until)
        .values(**values)
    )


def next_email_due(conn: Connection) -> datetime | None:
    due: datetime | None = conn.execute(
        select(func.min(X.c.next_attempt_at)).where(or_(X.c.status == "pending", X.c.status == "sending"))
    ).scalar_one()
    return due


def outbox(conn: Connection, *, recipient: str | None = None) -> list[Row]:
    stmt = select(X).order_by(X.c.id)
    if recipient is not None:
        stmt = stmt.where(X.c.recipient == recipient)
    return all_rows(conn.execute(stmt))
