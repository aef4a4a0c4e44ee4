"""What changed in the inboxes since an audit event id (the live stream's cursor, engine/reads/inbox_events.py).

Every command that creates, claims or completes a human task writes an audit event in the same transaction with the
same clock reading: a task is *created* by the (first) event of its instance whose ``at`` equals the task's
``created_at`` (commands on one instance run one after another, under its lock, each reading the clock: their
times differ); it is *claimed*, *unclaimed* or *completed* by the event of that kind naming it. On PostgreSQL the
same transaction also sends ``NOTIFY phoihop_inbox`` (delivered on commit), which wakes the streams of every server
process at once (phoihop/event_stream.py). Never commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from phoihop.engine.store import rawsql
from phoihop.engine.store.tables import Row

__all__ = ["NOTIFY_CHANNEL", "TASK_EVENT_KINDS", "inbox_changes", "last_event_id", "listen_inbox", "notify_inbox"]

NOTIFY_CHANNEL = "phoihop_inbox"
TASK_EVENT_KINDS = ("task_claimed", "task_unclaimed", "task_completed")

_LAST = "SELECT MAX(id) AS last FROM audit_event"
_CHANGES = (
    "SELECT a.id AS event_id, a.kind, a.at, a.task_id AS event_task_id, t.id AS task_id, t.instance_id, t.name,"
    " t.process_key, t.status,"
    " t.assignee, t.candidate_groups, t.candidate_users, t.created_at"
    " FROM audit_event a JOIN human_task t"
    " ON (a.task_id = t.id AND a.kind IN ('task_claimed', 'task_unclaimed', 'task_completed'))"
    " OR (a.instance_id = t.instance_id AND t.created_at = a.at AND a.id = (SELECT MIN(b.id) FROM audit_event b"
    " WHERE b.instance_id = t.instance_id AND b.at = t.created_at))"
    " WHERE a.id > :after AND a.id <= :upto ORDER BY a.id, t.created_at, t.id"
)


def last_event_id(conn: Connection) -> int:
    row = rawsql.run(conn, _LAST).first()
    return int(row["last"]) if row is not None and row["last"] is not None else 0


def inbox_changes(conn: Connection, after: int, upto: int) -> list[Row]:
    """Task changes caused by audit events ``after < id <= upto``, in event order: one row per (event, task); an
    event of a task kind names its task, any event names the tasks its command created."""
    rows = rawsql.run(conn, _CHANGES, {"after": after, "upto": upto}).all()
    return [rawsql.row_out(r, times=("at", "created_at"), jsons=("candidate_groups", "candidate_users")) for r in rows]


def notify_inbox(conn: Connection) -> None:
    """On PostgreSQL, wake the live streams when this transaction commits (NOTIFY is transactional; one per
    transaction is enough, PostgreSQL folds equal notifications). Nothing on SQLite: its streams poll."""
    if conn.dialect.name == "postgresql":
        rawsql.defer(conn, f"NOTIFY {NOTIFY_CHANNEL}")  # with the commit's trip (store/rawsql.py)


def listen_inbox(url: str, woken: Callable[[], None], keep_going: Callable[[], bool], *, tick: float = 1.0) -> None:
    """PostgreSQL: LISTEN on ``NOTIFY_CHANNEL`` on a connection of its own (autocommit) and call ``woken`` for each
    notification, until ``keep_going()`` is false (checked every ``tick`` seconds). Returns at once on SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    import psycopg  # the PostgreSQL driver, there whenever the URL is a PostgreSQL one

    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        while keep_going():
            for _ in conn.notifies(timeout=tick, stop_after=1):
                woken()
