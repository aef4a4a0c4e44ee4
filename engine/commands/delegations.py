"""Ủy quyền and the directory of people.

A person (officer or lead) delegates their tasks and role to another person for a period: from ``starts_at`` until
``ends_at`` the delegate acts with the delegator's agencies and roles in addition to their own (``Actor.delegations``,
added to the actor of every request by ``Delegations.extend``). The period ends by itself: each request checks the
time, no job is needed. The delegator, the delegate or an admin may revoke it earlier. Acts done through a delegation
carry ``on_behalf_of`` and ``signing`` in their audit data: "ký thay" when the delegator is a lead, "thừa ủy quyền"
otherwise (Nghị định 30/2020/NĐ-CP, Điều 13; engine.model.Delegated).

The delegations not yet ended are kept in memory for ``refresh_seconds`` (a change made by this process is seen at
once; one made by another server within that time), so that building the actor of a request costs no query."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phoihop.engine.clock import Clock, utc_text
from phoihop.engine.errors import DelegationNotFound, InvalidInput
from phoihop.engine.model import ROLES, TASK_ROLES, Actor, Delegated
from phoihop.engine.store import delegations as store
from phoihop.engine.store import people
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

MAX_REASON = 2000
DEFAULT_REFRESH_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class DelegationView:
    id: int
    from_user_id: str
    from_name: str
    to_user_id: str
    to_name: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    signing: str
    status: str  # scheduled | active | ended | revoked


@dataclass(frozen=True, slots=True)
class PersonView:
    id: str
    name: str
    email: str | None
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    last_seen_at: datetime


def person_view(row: dict[str, Any]) -> PersonView:
    return PersonView(
        row["id"], row["name"], row["email"], tuple(row["groups"] or ()), tuple(row["roles"] or ()), row["last_seen_at"]
    )


def _delegated(row: dict[str, Any]) -> Delegated:
    return Delegated(
        row["id"],
        row["from_user_id"],
        row["from_name"],
        frozenset(str(g) for g in row["from_groups"] or ()),
        frozenset(str(r) for r in row["from_roles"] or () if r in ROLES),
    )


def _status(row: dict[str, Any], now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if now < row["starts_at"]:
        return "scheduled"
    return "active" if now < row["ends_at"] else "ended"


class Delegations:
    def __init__(self, db: Database, clock: Clock, *, refresh_seconds: float = DEFAULT_REFRESH_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self._live: list[dict[str, Any]] = []
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    # --- the directory of people ------------------------------------------------------------------------------------
    def record_person(self, actor: Actor, *, email: str | None = None) -> None:
        """Keep ``actor`` (as signed in, without delegations) in the directory of people."""
        own = actor.own()
        if not own.roles & {*TASK_ROLES, "admin", "process-owner"}:
            return  # integrators' keys and role-less tokens are no people to assign or delegate to
        with self.db.transaction() as conn:
            people.upsert_person(
                conn,
                own.id,
                name=own.name or own.id,
                groups=own.groups,
                roles=own.roles,
                now=self.clock.now(),
                email=email,
            )

    def person(self, person_id: str) -> PersonView | None:
        with self.db.transaction(write=False) as conn:
            row = people.get_person(conn, person_id)
        return person_view(row) if row is not None else None

    def people(self, actor: Actor, agency: str | None = None) -> list[PersonView]:
        """The directory (officers and leads see names and agencies to delegate or assign to), or one agency's."""
        actor.require_role(*TASK_ROLES)
        with self.db.transaction(write=False) as conn:
            rows = people.people_of_agency(conn, agency) if agency else people.people(conn)
        return [person_view(r) for r in rows]

    # --- delegations -----------------------------------------------------------------------------------------------
    def create(
        self, actor: Actor, *, to_user_id: str, starts_at: datetime, ends_at: datetime, reason: str
    ) -> DelegationView:
        own = actor.own()
        own.require_role(*TASK_ROLES)
        reason = (reason or "").strip()
        if not to_user_id or len(to_user_id) > 200:
            raise InvalidInput(
                "to_user_id must be 1 to 200 characters",
                detail_vi="Mã người nhận ủy quyền phải dài 1–200 ký tự",
                field="to_user_id",
            )
        if to_user_id == own.id:
            raise InvalidInput(
                "a person cannot delegate to themselves",
                detail_vi="Không thể ủy quyền cho chính mình",
                field="to_user_id",
            )
        if not reason or len(reason) > MAX_REASON:
            raise InvalidInput(
                f"reason must be 1 to {MAX_REASON} characters",
                detail_vi=f"Lý do ủy quyền phải dài 1–{MAX_REASON} ký tự",
                field="reason",
            )
        for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
            if value.tzinfo is None:
                raise InvalidInput(
                    f"{name} needs a time zone offset",
                    detail_vi=f"Thời điểm {name} phải có múi giờ (ví dụ +07:00)",
                    field=name,
                )
        now = self.clock.now()
        if ends_at <= starts_at:
            raise InvalidInput(
                "ends_at must be after starts_at",
                detail_vi="Thời điểm kết thúc ủy quyền phải sau thời điểm bắt đầu",
                field="ends_at",
            )
        if ends_at <= now:
            raise InvalidInput(
                "ends_at is in the past", detail_vi="Thời điểm kết thúc ủy quyền đã qua", field="ends_at"
            )
        with self.db.transaction() as conn:
            delegate = people.get_person(conn, to_user_id)
            if delegate is None:
                raise InvalidInput(
                    f"unknown person {to_user_id}: they must have signed in once",
                    detail_vi=f"Không tìm thấy người dùng {to_user_id} (người nhận ủy quyền phải đã đăng nhập ít nhất "
                    "một lần)",
                    field="to_user_id",
                    user_id=to_user_id,
                )
            row = {
                "from_user_id": own.id,
                "from_name": (own.name or own.id)[:300],
                "from_groups": sorted(own.groups),
                "from_roles": sorted(own.roles),
                "to_user_id": to_user_id,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "reason": reason,
                "created_at": now,
                "revoked_at": None,
                "revoked_by": None,
            }
            delegation_id = store.insert_delegation(conn, **row)
            repo.insert_audit(
                conn,
                [
                    {
                        "instance_id": None,
                        "at": now,
                        "actor": own.id,
                        "kind": "delegation_created",
                        "data": {
                            "delegation_id": delegation_id,
                            "to_user_id": to_user_id,
                            "starts_at": utc_text(starts_at),
                            "ends_at": utc_text(ends_at),
                        },
                    }
                ],
            )
        self._forget()
        return self._view({**row, "id": delegation_id}, {to_user_id: delegate["name"]}, now)

    def revoke(self, actor: Actor, delegation_id: int) -> DelegationView:
        """End a delegation now (its delegator, its delegate or an admin)."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            row = store.get_delegation(conn, delegation_id)
            if row is None or not (actor.is_admin or actor.id in (row["from_user_id"], row["to_user_id"])):
                raise DelegationNotFound(
                    f"delegation {delegation_id} not found",
                    detail_vi=f"Không tìm thấy ủy quyền số {delegation_id}",
                    delegation_id=delegation_id,
                )
            if store.revoke_delegation(conn, delegation_id, actor.id, now):
                repo.insert_audit(
                    conn,
                    [
                        {
                            "instance_id": None,
                            "at": now,
                            "actor": actor.id,
                            "kind": "delegation_revoked",
                            "data": {"delegation_id": delegation_id},
                        }
                    ],
                )
            row = store.get_delegation(conn, delegation_id) or row
            names = self._names(conn, [row["to_user_id"]])
        self._forget()
        return self._view(row, names, now)

    def mine(self, actor: Actor) -> list[DelegationView]:
        """The delegations the caller gave or received, newest first."""
        now = self.clock.now()
        with self.db.transaction(write=False) as conn:
            rows = store.delegations_of(conn, actor.id)
            names = self._names(conn, [r["to_user_id"] for r in rows])
        return [self._view(r, names, now) for r in rows]

    # --- the actor of a request ------------------------------------------------------------------------------------
    def fresh(self) -> bool:
        """Whether ``extend`` can answer from memory (no query)."""
        loaded = self._loaded_at
        return loaded is not None and time.monotonic() - loaded < self.refresh_seconds

    def extend(self, actor: Actor) -> Actor:
        """``actor`` with the delegations in force for them now (read from memory, refreshed when stale)."""
        if not self.fresh():
            with self.db.transaction(write=False) as conn:
                live = store.live_delegations(conn, self.clock.now())
            with self._lock:
                self._live, self._loaded_at = live, time.monotonic()
        now = self.clock.now()
        given = [
            _delegated(r)
            for r in self._live
            if r["to_user_id"] == actor.id and r["starts_at"] <= now < r["ends_at"] and r["revoked_at"] is None
        ]
        return actor.with_delegations(given) if given or actor.delegations else actor

    def _forget(self) -> None:
        with self._lock:
            self._loaded_at = None

    @staticmethod
    def _names(conn: Any, ids: list[str]) -> dict[str, str]:
        return {p["id"]: p["name"] for p in people.people(conn, ids)} if ids else {}

    @staticmethod
    def _view(row: dict[str, Any], names: dict[str, str], now: datetime) -> DelegationView:
        return DelegationView(
            id=row["id"],
            from_user_id=row["from_user_id"],
            from_name=row["from_name"],
            to_user_id=row["to_user_id"],
            to_name=names.get(row["to_user_id"], row["to_user_id"]),
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            reason=row["reason"],
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
            revoked_by=row["revoked_by"],
            signing=_delegated(row).signing,
            status=_status(row, now),
        )
