"""The tamper-evident audit trail: every ``audit_event`` is chained by SHA-256 to the previous event of its instance
and to the previous event of all, so an edited, inserted or deleted row breaks a chain that ``verify`` walks
(``phoihop audit verify``). Never commits: the caller owns the transaction.

How an event gets its place: writers insert events with NULL chain fields (``insert_audit`` and
``insert_definition_audit`` stay plain inserts) and mark the connection; just before the transaction commits
(store/database.py) ``seal`` locks the one ``audit_chain`` row (``SELECT ... FOR UPDATE``), reads the head (position
and hash), and gives every unsealed event it can see, oldest id first, the next position (``chain_seq``), its
``instance_hash`` (over the event and the ``instance_hash`` of its instance's last sealed event) and its
``chain_hash`` (over the event and the head's hash), then moves the head.

Why this never falsely accuses on PostgreSQL: ids come from a sequence when a row is inserted, so transactions can
commit in another order than their ids (T1 takes id 10, T2 id 11, T2 commits first). A chain ordered by id would
then be sealed with a gap that 10 fills later, and a later walk by id would see a chain that was never written.
Here the order of the chain is the order of sealing, not of ids: sealing holds the head's row lock until the
transaction commits, so the next sealer waits, then reads the committed head (READ COMMITTED re-reads a row locked
FOR UPDATE after the wait) and the committed previous events: positions are handed out one transaction after the
other, and each transaction chains onto what has committed before it. Rows another transaction has not committed
are invisible and are sealed by that transaction itself before its commit. On SQLite writers are serialized by
``BEGIN IMMEDIATE`` anyway.

In one trip (both databases): ``insert_audit`` (store/audit.py) does not insert its events at once but keeps them
on the connection (``buffer``); ``seal`` then takes the head's lock, draws their ids (PostgreSQL: from the table's
sequence) and reads the last ``instance_hash`` of each instance they touch in one statement, hashes them, and
inserts them already sealed, with the head's UPDATE (on PostgreSQL deferred, store/rawsql.py: both leave with the
``COMMIT``, and the lock is held for that one trip and the commit). On PostgreSQL the events of one instance (every
command's case) cost no trip of their own: the lock, then one statement in which the server draws the ids, hashes
the chain (``sha256`` over each event's canonical form, sent as the bytes before and after its id: ``around_id``)
and inserts the events and moves the head, all deferred to the ``COMMIT``'s pipeline; the lock is a statement of its
own so that the sealing statement's snapshot, taken after the lock is granted, sees the instance's last event even
when a command that does not lock the instance (a claim) committed it meanwhile.

An event whose data would not read back as written (a float written with an exponent, which ``jsonb`` gives back as
an integer) is inserted plain and sealed the general way, as is every buffered event when a statement of the
transaction reads ``audit_event`` before the commit (``spill``).

Cost: the lock is taken at the very end of a transaction that wrote audit events (after every instance lock it
took, so it adds no lock-order cycle) and held only for its commit: the unsealed events of the transaction and one
indexed read per instance they touch.

The hashed form is a canonical JSON (sorted keys, no spaces, UTC ISO times) of the event's id, instance, process
key, time, actor, kind, element, task, data and request id, followed by the previous hash: changing any of them,
removing an event (its successor's hash no longer matches, and a position is missing) or adding one (unsealed, or
with a hash that does not match) is found. Someone who can rewrite the whole table and recompute every hash after
the change is not stopped by any in-database chain: copy the head (``audit_chain``) elsewhere regularly to pin it
(docs/production.md).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select, text, update

from phoihop.engine.store import rawsql
from phoihop.engine.store.tables import audit_chain_table, audit_gap_table, audit_table

PENDING = "phoihop_audit_pending"  # Connection.info key: this transaction wrote audit events
BUFFERED = "phoihop_audit_buffered"  # Connection.info key: events not inserted yet, sealed in one trip (PostgreSQL)
PLAIN = "phoihop_audit_plain"  # Connection.info key: events inserted unsealed in this transaction
_HASHED = ("id", "instance_id", "process_key", "at", "actor", "kind", "element_id", "task_id", "data", "request_id")
_COLUMNS = [audit_table.c[name] for name in _HASHED]
_ENSURE_HEAD = "INSERT INTO audit_chain (id, seq, head_hash) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING"
BATCH = 1000
_GAP_LOCK = 0x70686F6967617073  # advisory lock key of audit_gap writers ("phoigaps")
PURGED_KIND = "instances_purged"  # written by retention; its data.gaps declare the positions it purged
_SEAL = (
    update(audit_table)
    .where(audit_table.c.id == bindparam("event_id"))
    .values(chain_seq=bindparam("seq"), instance_hash=bindparam("instance_hash"), chain_hash=bindparam("chain_hash"))
)


def mark(conn: Connection) -> None:
    """Audit events were inserted on ``conn`` (unsealed): seal them before the transaction commits."""
    conn.info[PENDING] = True
    conn.info[PLAIN] = True


def buffer(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: audit events (the parameters of ``insert_audit``'s INSERT, ``at`` a datetime, ``data`` JSON text)
    inserted and sealed by ``seal`` in one trip before the commit."""
    conn.info.setdefault(BUFFERED, []).extend(rows)
    conn.info[PENDING] = True


def forget(conn: Connection) -> None:
    """The transaction ended: nothing of it is left to seal."""
    for key in (PENDING, BUFFERED, PLAIN):
        conn.info.pop(key, None)


_INSERT_PLAIN = (
    "INSERT INTO audit_event (instance_id, at, actor, kind, element_id, task_id, data, request_id) VALUES"
    " (:instance_id, :at, :actor, :kind, :element_id, :task_id, :data@json, :request_id)"
)
_INSERT_SEALED = (
    "INSERT INTO audit_event (id, instance_id, at, actor, kind, element_id, task_id, data, request_id, chain_seq,"
    " instance_hash, chain_hash) VALUES (:id, :instance_id, :at, :actor, :kind, :element_id, :task_id, :data@json,"
    " :request_id, :chain_seq, :instance_hash, :chain_hash)"
)
_LOCK_HEAD = (
    "SELECT c.seq, c.head_hash,"
    " ARRAY(SELECT nextval(pg_get_serial_sequence('audit_event', 'id')) FROM generate_series(1, CAST(:n AS integer)))"
    " AS ids,"
    " ARRAY(SELECT COALESCE((SELECT e.instance_hash FROM audit_event e WHERE e.instance_id = u.i"
    " AND e.chain_seq IS NOT NULL ORDER BY e.chain_seq DESC LIMIT 1), '')"
    " FROM unnest(CAST(:instances AS varchar[])) WITH ORDINALITY AS u(i, o) ORDER BY u.o) AS previous"
    " FROM audit_chain c WHERE c.id = 1 FOR UPDATE OF c"
)
_MOVE_HEAD = "UPDATE audit_chain SET seq = :seq, head_hash = :head_hash WHERE id = 1"
# PostgreSQL, the events of at most one instance: sealed by the server in the commit's trip. The head's lock is taken
# by a statement of its own first, so the sealing statement's snapshot (READ COMMITTED: taken when it starts) sees
# every event committed before the lock was granted, an event of the same instance written by a claim included.
_LOCK_HEAD_ONLY = "SELECT 1 FROM audit_chain WHERE id = 1 FOR UPDATE"
# The same lock for the sealing on the server, and the head row made when a table was emptied (tests), in one
# statement rather than ``_ENSURE_HEAD`` then ``_LOCK_HEAD_ONLY`` (a statement less in every command's commit). The
# row is held either way: inserted by this transaction, or locked by ON CONFLICT DO UPDATE, which waits for and locks
# the row's latest committed version even when another transaction made it after this statement's snapshot (a
# SELECT … FOR UPDATE would not see such a row and would lock nothing).
_LOCK_OR_MAKE_HEAD = (
    "INSERT INTO audit_chain (id, seq, head_hash) VALUES (1, 0, '')"
    " ON CONFLICT (id) DO UPDATE SET seq = audit_chain.seq"
)
# Each event's hashed form is its canonical JSON with the id left out (``left`` ends with '"id":', ``right`` starts
# with the comma after it): the server puts the id it draws between them, then '|' and the previous hash, exactly
# the bytes ``link`` hashes. The chain is walked in the events' order by a recursive CTE carrying the head's hash
# and the instance's last hash.
_SEAL_ON_SERVER = (
    "WITH RECURSIVE ev AS MATERIALIZED ("
    " SELECT u.o, nextval(pg_get_serial_sequence('audit_event', 'id')) AS id, u.instance_id, u.at, u.actor, u.kind,"
    " u.element_id, u.task_id, u.data, u.request_id, convert_to(u.lft, 'UTF8') AS lft, convert_to(u.rgt, 'UTF8') AS rgt"
    " FROM ROWS FROM (jsonb_to_recordset(CAST(:events AS jsonb)) AS (instance_id varchar, at timestamptz,"
    " actor varchar, kind varchar, element_id varchar, task_id varchar, data text, request_id varchar, lft text,"
    " rgt text)) WITH ORDINALITY AS u(instance_id, at, actor, kind, element_id, task_id, data, request_id, lft, rgt,"
    " o)),"
    " body AS (SELECT ev.o, ev.instance_id, ev.lft || convert_to(ev.id::text, 'UTF8') || ev.rgt || '\\x7c'::bytea AS b"
    " FROM ev),"
    " head AS (SELECT c.seq, CAST(c.head_hash AS text) AS head_hash, CAST(COALESCE((SELECT e.instance_hash"
    " FROM audit_event e WHERE e.instance_id = CAST(:instance AS varchar) AND e.chain_seq IS NOT NULL"
    " ORDER BY e.chain_seq DESC LIMIT 1), '') AS text) AS previous FROM audit_chain c WHERE c.id = 1),"
    " chain(o, seq, chain_hash, instance_hash, last_instance_hash) AS ("
    " SELECT b.o, h.seq + 1, encode(sha256(b.b || convert_to(h.head_hash, 'UTF8')), 'hex'),"
    " CASE WHEN b.instance_id IS NULL THEN NULL ELSE encode(sha256(b.b || convert_to(h.previous, 'UTF8')), 'hex') END,"
    " CASE WHEN b.instance_id IS NULL THEN h.previous"
    " ELSE encode(sha256(b.b || convert_to(h.previous, 'UTF8')), 'hex') END"
    " FROM body b, head h WHERE b.o = 1"
    " UNION ALL"
    " SELECT b.o, c.seq + 1, encode(sha256(b.b || convert_to(c.chain_hash, 'UTF8')), 'hex'),"
    " CASE WHEN b.instance_id IS NULL THEN NULL"
    " ELSE encode(sha256(b.b || convert_to(c.last_instance_hash, 'UTF8')), 'hex') END,"
    " CASE WHEN b.instance_id IS NULL THEN c.last_instance_hash"
    " ELSE encode(sha256(b.b || convert_to(c.last_instance_hash, 'UTF8')), 'hex') END"
    " FROM chain c JOIN body b ON b.o = c.o + 1),"
    " inserted AS (INSERT INTO audit_event (id, instance_id, at, actor, kind, element_id, task_id, data, request_id,"
    " chain_seq, instance_hash, chain_hash) SELECT ev.id, ev.instance_id, ev.at, ev.actor, ev.kind, ev.element_id,"
    " ev.task_id, CAST(ev.data AS jsonb), ev.request_id, c.seq, c.instance_hash, c.chain_hash"
    " FROM ev JOIN chain c ON c.o = ev.o)"
    " UPDATE audit_chain SET seq = last.seq, head_hash = last.chain_hash"
    " FROM (SELECT seq, chain_hash FROM chain ORDER BY o DESC LIMIT 1) AS last WHERE audit_chain.id = 1"
)
_LEFT = ("actor", "at", "data", "element_id")  # the hashed fields before "id" in sorted order; the others after it
_RIGHT = ("instance_id", "kind", "process_key", "request_id", "task_id")


def spill(conn: Connection) -> None:
    """Insert the buffered events now, unsealed (a statement is about to read ``audit_event``)."""
    rows = conn.info.pop(BUFFERED, None)
    if rows:
        rawsql.run(conn, _INSERT_PLAIN, [{**row, "at": rawsql.ts(conn, row["at"])} for row in rows])
        mark(conn)


def seal_pending(conn: Connection) -> None:
    """Seal what this transaction wrote (called by store/database.py just before the commit)."""
    if not conn.info.pop(PENDING, False):
        return
    if conn.info.pop(PLAIN, False):
        seal(conn)
    rows = conn.info.pop(BUFFERED, None)
    if rows:
        _seal_buffered(conn, rows)


def _sqlite_head(conn: Connection, n: int, instances: list[str]) -> dict[str, Any] | None:
    """SQLite: the same reading in one statement. The one writer (``BEGIN IMMEDIATE``) takes the next ids itself:
    ``audit_event.id`` is a rowid without AUTOINCREMENT, so SQLite would have given the same ones."""
    previous = "".join(
        f", COALESCE((SELECT e.instance_hash FROM audit_event e WHERE e.instance_id = :i{k}"  # noqa: S608
        f" AND e.chain_seq IS NOT NULL ORDER BY e.chain_seq DESC LIMIT 1), '') AS p{k}"  # (numbered names only)
        for k in range(len(instances))
    )
    sql = f"SELECT c.seq, c.head_hash, (SELECT COALESCE(MAX(id), 0) FROM audit_event) AS last_id{previous}"  # noqa: S608
    row = rawsql.run(conn, sql + " FROM audit_chain c WHERE c.id = 1", {f"i{k}": i for k, i in enumerate(instances)})
    head = row.first()
    if head is None:
        return None
    last = int(head["last_id"])
    return {**head, "ids": range(last + 1, last + 1 + n), "previous": [head[f"p{k}"] for k in range(len(instances))]}


def around_id(event: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The canonical form of ``event`` (its ``id`` aside) as the bytes before the id and those after it:
    ``left + str(id).encode() + right == canonical(event)``."""
    fields = {name: event[name] for name in _LEFT}
    fields["at"] = _iso(fields["at"])
    left = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)[:-1] + b',"id":'
    right = b"," + orjson.dumps({name: event[name] for name in _RIGHT}, option=orjson.OPT_SORT_KEYS)[1:]
    return left, right


def _seal_on_server(conn: Connection, rows: list[dict[str, Any]], instance: str | None) -> None:
    """PostgreSQL: the head's lock and the events sealed and inserted by the server, both deferred to the commit's
    trip (the lock is then held for the commit only, and the command pays no trip for the seal)."""
    around = [around_id({**row, "process_key": None, "data": orjson.loads(row["data"])}) for row in rows]
    rawsql.defer(conn, _LOCK_OR_MAKE_HEAD)  # an emptied table (tests): the head row is made again, as ``seal`` does
    # the events as one JSON array (the server makes them rows again): ten arrays cost psycopg ~35 µs to adapt, one
    # text ~3 µs; the canonical bytes around each id travel as the UTF-8 text they are (orjson writes UTF-8)
    events = [
        {
            "instance_id": row["instance_id"],
            "at": row["at"].isoformat(),  # an offset-less time is read in the session's zone, as timestamp[] was
            "actor": row["actor"],
            "kind": row["kind"],
            "element_id": row["element_id"],
            "task_id": row["task_id"],
            "data": row["data"],
            "request_id": row["request_id"],
            "lft": left.decode(),
            "rgt": right.decode(),
        }
        for row, (left, right) in zip(rows, around, strict=True)
    ]
    rawsql.defer(conn, _SEAL_ON_SERVER, {"instance": instance, "events": orjson.dumps(events).decode()})


def _seal_buffered(conn: Connection, rows: list[dict[str, Any]]) -> None:
    instances = list(dict.fromkeys(row["instance_id"] for row in rows if row["instance_id"] is not None))
    if conn.dialect.name == "postgresql" and len(instances) <= 1:
        _seal_on_server(conn, rows, instances[0] if instances else None)
        return
    if conn.dialect.name == "sqlite":
        head = _sqlite_head(conn, len(rows), instances)
    else:  # the lock first, by a statement of its own (same trip): the reading's snapshot is taken after it
        rawsql.defer(conn, _LOCK_HEAD_ONLY)
        head = rawsql.run(conn, _LOCK_HEAD, {"n": len(rows), "instances": instances}).first()
    if head is None:  # an emptied table (tests): these events inserted plain, then sealed the general way
        conn.info[BUFFERED] = rows
        spill(conn)
        forget(conn)
        seal(conn)
        return
    seq, head_hash = int(head["seq"]), str(head["head_hash"])
    last_of = dict(zip(instances, head["previous"], strict=True))
    sealed = []
    stored_at: dict[datetime, Any] = {}  # a command's events share one time: converted once
    for event_id, row in zip(head["ids"], rows, strict=True):
        event = {**row, "id": int(event_id), "process_key": None, "data": orjson.loads(row["data"])}
        body = canonical(event)  # both links hash the same form: made once
        instance = row["instance_id"]
        instance_hash = None
        if instance is not None:
            instance_hash = _chained(body, last_of[instance])
            last_of[instance] = instance_hash
        seq += 1
        head_hash = _chained(body, head_hash)
        at = row["at"]
        if at not in stored_at:
            stored_at[at] = rawsql.ts(conn, at)
        sealed.append(
            {
                **row,
                "id": event["id"],
                "at": stored_at[at],
                "chain_seq": seq,
                "instance_hash": instance_hash,
                "chain_hash": head_hash,
            }
        )
    rawsql.defer(conn, _INSERT_SEALED, sealed)
    rawsql.defer(conn, _MOVE_HEAD, {"seq": seq, "head_hash": head_hash})


def _iso(value: datetime) -> str:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(event: Mapping[str, Any]) -> bytes:
    """The event's hashed fields as canonical JSON (sorted keys, UTC times)."""
    fields = {name: event[name] for name in _HASHED}
    fields["at"] = _iso(fields["at"])
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def link(event: Mapping[str, Any], previous: str) -> str:
    """The hash of ``event`` chained to ``previous``."""
    return _chained(canonical(event), previous)


def _chained(body: bytes, previous: str) -> str:
    """The hash of an event's canonical form ``body`` chained to ``previous`` (``link``, for a form made once)."""
    return hashlib.sha256(body + b"|" + previous.encode()).hexdigest()


def seal(conn: Connection) -> int:
    """Seal every event this transaction can see that has no place in the chain yet; returns how many."""
    conn.execute(text(_ENSURE_HEAD))
    head = conn.execute(
        select(audit_chain_table.c.seq, audit_chain_table.c.head_hash)
        .where(audit_chain_table.c.id == 1)
        .with_for_update()
    ).one()
    seq, head_hash = int(head.seq), str(head.head_hash)
    rows = conn.execute(select(*_COLUMNS).where(audit_table.c.chain_seq.is_(None)).order_by(audit_table.c.id)).all()
    last_of: dict[str, str] = {}
    sealed: list[dict[str, Any]] = []
    for row in rows:
        event = row._asdict()
        instance = event["instance_id"]
        instance_hash = None
        if instance is not None:
            previous = last_of.get(instance)
            if previous is None:
                previous = (
                    conn.execute(
                        select(audit_table.c.instance_hash)
                        .where(audit_table.c.instance_id == instance, audit_table.c.chain_seq.is_not(None))
                        .order_by(audit_table.c.chain_seq.desc())
                        .limit(1)
                    ).scalar()
                    or ""
                )
            instance_hash = link(event, previous)
            last_of[instance] = instance_hash
        seq += 1
        head_hash = link(event, head_hash)
        sealed.append({"event_id": event["id"], "seq": seq, "instance_hash": instance_hash, "chain_hash": head_hash})
    if rows:
        conn.execute(_SEAL, sealed)  # one executemany: a command that ran 10 000 steps seals them in one round trip
        conn.execute(update(audit_chain_table).where(audit_chain_table.c.id == 1).values(seq=seq, head_hash=head_hash))
    return len(rows)


@dataclass(frozen=True)
class Broken:
    """The first event where a chain breaks: its id (None when the break is at the end: the last event deleted),
    position, and what is wrong."""

    event_id: int | None
    chain_seq: int | None
    reason: str


def _sealed(conn: Connection, upto: int) -> Iterator[dict[str, Any]]:
    after = -1
    columns = [*_COLUMNS, audit_table.c.chain_seq, audit_table.c.instance_hash, audit_table.c.chain_hash]
    while True:
        batch = conn.execute(
            select(*columns)
            .where(audit_table.c.chain_seq > after, audit_table.c.chain_seq <= upto)
            .order_by(audit_table.c.chain_seq)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for row in batch:
            yield row._asdict()
        after = int(batch[-1].chain_seq)


def verify(conn: Connection) -> Broken | None:
    """Walk both chains in sealing order; the first broken event, or None when the trail is intact.

    Positions purged by retention (``audit_gap``) are stepped over: the walk goes on from the chain hash of the last
    purged event of the gap, so the event after a gap still proves its link to everything before it.

    An event not sealed yet is only possible inside a transaction that has not committed (it seals before it
    commits), so a committed unsealed row was put there by hand: that is a break too."""
    head = conn.execute(select(audit_chain_table.c.seq, audit_chain_table.c.head_hash)).first()
    head_seq, head_hash = (int(head.seq), str(head.head_hash)) if head is not None else (0, "")
    unsealed = conn.execute(
        select(audit_table.c.id).where(audit_table.c.chain_seq.is_(None)).order_by(audit_table.c.id).limit(1)
    ).scalar()
    if unsealed is not None:
        return Broken(int(unsealed), None, "not in the chain: inserted outside the engine")
    gaps = _Gaps(conn)
    expected_seq, chain = 0, ""
    last_of: dict[str, str] = {}
    stepped: list[tuple[int, int, bool]] = []  # gaps stepped over (first, last, recorded while this walk ran)
    declared: list[tuple[int, int]] = []  # positions purged, as retention's sealed events declare them
    for event in _sealed(conn, head_seq):  # events sealed while this walk runs are past the head read first
        while event["chain_seq"] != expected_seq + 1:  # purged by retention, or a break
            gap = gaps.over(expected_seq + 1)
            if gap is None:
                break
            stepped.append((expected_seq + 1, gap[0], gap[2]))
            expected_seq, chain = gap[0], gap[1]
        expected_seq += 1
        if event["chain_seq"] != expected_seq:
            return Broken(
                event["id"], event["chain_seq"], f"position {expected_seq} is missing: an event before it was deleted"
            )
        chain = link(event, chain)
        if event["chain_hash"] != chain:
            return Broken(event["id"], event["chain_seq"], "hash does not match: this event or one before was changed")
        instance = event["instance_id"]
        if instance is not None:
            instance_hash = link(event, last_of.get(instance, ""))
            if event["instance_hash"] != instance_hash:
                return Broken(
                    event["id"],
                    event["chain_seq"],
                    f"instance chain of {instance} does not match: an event of the instance before it was changed",
                )
            last_of[instance] = instance_hash
        elif event["kind"] == PURGED_KIND and isinstance(event["data"], dict):
            declared.extend((int(run[0]), int(run[1])) for run in event["data"].get("gaps", ()))
    while expected_seq < head_seq:
        gap = gaps.over(expected_seq + 1)
        if gap is None:
            break
        stepped.append((expected_seq + 1, gap[0], gap[2]))
        expected_seq, chain = gap[0], gap[1]
    undeclared = _undeclared(stepped, declared)
    if undeclared is not None:
        return Broken(
            None, undeclared[0], f"positions {undeclared[0]}-{undeclared[1]} are a gap no retention run declared"
        )
    if head_seq != expected_seq or head_hash != chain:
        return Broken(
            None, head_seq, f"the chain head is at position {head_seq}, the last event found is at {expected_seq}"
        )
    return None


def runs(positions: Mapping[int, str]) -> list[list[int]]:
    """Positions as runs of consecutive ones: ``[[first, last], ...]``."""
    found: list[list[int]] = []
    for seq in sorted(positions):
        if found and found[-1][1] == seq - 1:
            found[-1][1] = seq
        else:
            found.append([seq, seq])
    return found


class _Gaps:
    """The gaps retention left (``audit_gap``), read when the walk starts and read again when a position is missing:
    on PostgreSQL each statement of a read-committed walk sees what committed before it, so a purge that commits
    while the walk runs deletes events the walk has not reached yet; they are then in a gap recorded meanwhile."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.fresh = False
        self._read()

    def _read(self) -> None:
        rows = self.conn.execute(select(audit_gap_table).order_by(audit_gap_table.c.first_seq)).all()
        self.firsts = [int(row.first_seq) for row in rows]
        self.rows = [(int(row.last_seq), str(row.last_hash)) for row in rows]

    def _find(self, position: int) -> tuple[int, str] | None:
        index = bisect.bisect_right(self.firsts, position) - 1
        if index >= 0 and self.rows[index][0] >= position:
            return self.rows[index]
        return None

    def over(self, position: int) -> tuple[int, str, bool] | None:
        """The gap ``position`` lies in: (its last position, that position's chain hash, recorded during the walk)."""
        found = self._find(position)
        if found is not None:
            return (*found, self.fresh)
        if not self.fresh:
            self.fresh = True
            self._read()
            found = self._find(position)
            if found is not None:
                return (*found, True)
        return None


def _undeclared(stepped: list[tuple[int, int, bool]], declared: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The first gap stepped over that the declared runs do not cover (a deletion dressed up as a purge). A gap
    recorded while the walk ran is declared by an event past the head the walk read first: it is not checked."""
    merged: list[list[int]] = []
    for first, last in sorted(declared):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    starts = [run[0] for run in merged]
    for first, last, during in stepped:
        if during:
            continue
        index = bisect.bisect_right(starts, first) - 1
        if index < 0 or merged[index][1] < last:
            return first, last
    return None


def record_gaps(conn: Connection, purged: Mapping[int, str]) -> None:
    """Positions (``chain_seq`` → ``chain_hash``) of events deleted by retention: record them as gaps of the chain,
    merged with the gaps next to them, so ``verify`` steps over them. Called in the purging transaction, before or
    after the delete."""
    if conn.dialect.name == "postgresql":  # two purges never merge with one neighbour at once (SQLite: one writer)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _GAP_LOCK})
    runs: list[list[Any]] = []
    for seq in sorted(purged):
        if runs and runs[-1][1] == seq - 1:
            runs[-1][1], runs[-1][2] = seq, purged[seq]
        else:
            runs.append([seq, seq, purged[seq]])
    for first, last, last_hash in runs:
        before = conn.execute(select(audit_gap_table).where(audit_gap_table.c.last_seq == first - 1)).first()
        if before is not None:
            conn.execute(audit_gap_table.delete().where(audit_gap_table.c.first_seq == before.first_seq))
            first = int(before.first_seq)
        after = conn.execute(select(audit_gap_table).where(audit_gap_table.c.first_seq == last + 1)).first()
        if after is not None:
            conn.execute(audit_gap_table.delete().where(audit_gap_table.c.first_seq == after.first_seq))
            last, last_hash = int(after.last_seq), str(after.last_hash)
        conn.execute(audit_gap_table.insert().values(first_seq=first, last_seq=last, last_hash=last_hash))


def count_statement() -> Any:
    """How many audit events there are (for the verify report)."""
    return select(func.count()).select_from(audit_table)
