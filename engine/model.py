"""The few value types every wing shares, importing nothing of the engine but its errors.

- ``SourceFile``: a file of a deployment, as uploaded (name and bytes).
- ``Problem``: why a deployment cannot compile (file, element, reason in English and Vietnamese); the list of an
  ``InvalidDefinition``.
- ``Finding``: a lint finding of the "6 rõ" rules (engine.definitions.lint), a warning or an error.
- ``Actor``: who is acting, and the rules of who may do what. Agencies are groups; roles are independent of agency.
  A person acting under delegations in force (ủy quyền, ``Delegated``) holds the delegators' agencies and roles too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from phoihop.engine.errors import EngineError, Forbidden, NotCandidate, RoleRequired


@dataclass(frozen=True)
class SourceFile:
    name: str
    content: bytes


Problem = dict[str, Any]

Severity = Literal["warning", "error"]


class Finding(TypedDict):
    code: str
    severity: Severity
    file: str
    element_id: str | None
    element_name: str | None
    message_en: str
    message_vi: str
    line: int | None


ROLES = ("officer", "lead", "process-owner", "integrator", "admin")


TASK_ROLES = ("officer", "lead")  # the roles that work on human tasks (claim, release, complete)
ADMIN_ONLY = "admin"  # required_role of a task whose run-time assignment named no one: admins act on it


# How a delegate signs (Nghị định 30/2020/NĐ-CP về công tác văn thư, Điều 13): for the head of an agency (our role
# "lead") a deputy signs "ký thay" (KT.); on any other person's authority, "thừa ủy quyền" (TUQ.).
KY_THAY = "ký thay"
THUA_UY_QUYEN = "thừa ủy quyền"


@dataclass(frozen=True)
class Delegated:
    """A delegation in force for the acting person: whose authority (``user_id``), with which agencies and roles."""

    delegation_id: int
    user_id: str
    name: str
    groups: frozenset[str]
    roles: frozenset[str]

    @property
    def signing(self) -> str:
        """ "ký thay" when the delegator is a lead (the head of the agency or its deputy), else "thừa ủy quyền"."""
        return KY_THAY if "lead" in self.roles else THUA_UY_QUYEN

    def marks(self) -> dict[str, str]:
        """What an audit event's ``data`` carries for an act done through this delegation."""
        return {"on_behalf_of": self.user_id, "on_behalf_of_name": self.name, "signing": self.signing}


@dataclass(frozen=True)
class Actor:
    """``groups`` and ``roles`` are what the person may use now: their own plus those of the ``delegations`` in
    force (``own()`` is the person alone)."""

    id: str
    name: str = ""
    groups: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    delegations: tuple[Delegated, ...] = ()
    own_groups: frozenset[str] | None = None  # set when delegations add to groups
    own_roles: frozenset[str] | None = None

    @classmethod
    def of(cls, id: str, *, name: str = "", groups: Iterable[str] = (), roles: Iterable[str] = ()) -> Actor:
        return cls(id, name, frozenset(groups), frozenset(roles))

    def own(self) -> Actor:
        """The person alone, without what delegations give."""
        if not self.delegations:
            return self
        return Actor(self.id, self.name, self.own_groups or frozenset(), self.own_roles or frozenset())

    def with_delegations(self, delegations: Iterable[Delegated]) -> Actor:
        """This person acting also with the agencies and roles of ``delegations`` (replacing any held before)."""
        base = self.own()
        given = tuple(d for d in delegations if d.user_id != self.id)
        if not given:
            return base
        groups = base.groups.union(*(d.groups for d in given))
        roles = base.roles.union(*(d.roles for d in given))
        return Actor(self.id, self.name, groups, roles, given, base.groups, base.roles)

    @property
    def user_ids(self) -> frozenset[str]:
        """This person's id and the ids of the people whose delegations are in force for them."""
        return frozenset({self.id, *(d.user_id for d in self.delegations)})

    def acting_through(self, allowed: Callable[[Actor], bool]) -> Delegated | None:
        """The delegation an act needs: None when the person's own rights allow it (``allowed(self.own())``) or no
        single delegation does; else the first delegation whose agencies and roles, added to the person's, allow it."""
        if not self.delegations or allowed(self.own()):
            return None
        base = self.own()
        return next((d for d in self.delegations if allowed(base.with_delegations((d,)))), None)

    def delegation_for_task(self, task: Mapping[str, Any]) -> Delegated | None:
        """The delegation through which this person works on ``task`` (claim, release, complete), if any."""

        def works_on(actor: Actor) -> bool:
            try:
                actor.require_candidate(task)
            except EngineError:
                return False
            return True

        return self.acting_through(works_on)

    def marks_for_task(self, task: Mapping[str, Any]) -> dict[str, str]:
        """``{on_behalf_of, on_behalf_of_name, signing}`` when the act on ``task`` is done through a delegation."""
        delegated = self.delegation_for_task(task)
        return delegated.marks() if delegated is not None else {}

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def sees_all_instances(self) -> bool:
        """Admins and integrated systems follow every case; people see the cases they take part in."""
        return bool(self.roles & {"admin", "integrator"})

    def require_role(self, *roles: str) -> None:
        if self.is_admin or self.roles & set(roles):
            return
        wanted = ", ".join(roles)
        raise Forbidden(
            f"this action needs one of the roles: {wanted}",
            detail_vi=f"Thao tác này cần một trong các vai trò: {wanted}",
            required_roles=list(roles),
        )

    def is_candidate(self, task: Mapping[str, Any]) -> bool:
        """Named by the task (user, group or assignee); or, for a task that names no one at all (the lint's
        ``no-one-can-act`` warning), any lead, whatever their agency (admins act on every task anyway)."""
        if not (task["candidate_users"] or task["candidate_groups"] or task["assignee"]):
            return "lead" in self.roles and task.get("required_role") != ADMIN_ONLY
        ids = self.user_ids
        return (
            bool(ids & set(task["candidate_users"] or []))
            or bool(self.groups & set(task["candidate_groups"] or []))
            or task["assignee"] in ids
        )

    def may_see_task(self, task: Mapping[str, Any]) -> bool:
        return self.is_admin or self.is_candidate(task) or task.get("completed_by") in self.user_ids

    def missing_roles(self, required_role: str | None) -> tuple[str, ...] | None:
        """What this person lacks to work on a task whose definition requires ``required_role``: ``TASK_ROLES`` (one
        of them is needed for any task work), ``(required_role,)``, or None (an admin holds every role)."""
        if self.is_admin:
            return None
        if not self.roles & set(TASK_ROLES):
            return TASK_ROLES
        if required_role and required_role not in self.roles:
            return (required_role,)
        return None

    def require_candidate(self, task: Mapping[str, Any]) -> None:
        """May claim, release or complete ``task``: a candidate holding ``officer`` or ``lead`` (and the task's
        ``required_role``, if any), or an admin. Seeing a task (``may_see_task``) needs no role: an integrator's key
        or a token without roles reads its agency's tasks but does not work on them."""
        if not (self.is_admin or self.is_candidate(task)):
            raise NotCandidate(
                f"user {self.id} is not a candidate for task {task['id']}",
                detail_vi=f"Người dùng {self.id} không thuộc nhóm được giao công việc {task['id']}",
                task_id=task["id"],
                candidate_groups=list(task["candidate_groups"] or []),
            )
        missing = self.missing_roles(task.get("required_role"))
        if missing == TASK_ROLES:
            raise RoleRequired(
                f"claiming, releasing or completing task {task['id']} needs one of the roles: {', '.join(TASK_ROLES)}",
                detail_vi="Chỉ chuyên viên (officer) hoặc lãnh đạo (lead) mới được nhận, bỏ nhận hoặc hoàn thành "
                f"công việc {task['id']}",
                task_id=task["id"],
                required_roles=list(TASK_ROLES),
            )
        if missing:
            (role,) = missing
            names = {"lead": "lãnh đạo", "officer": "chuyên viên"}
            raise RoleRequired(
                f"task {task['id']} can only be claimed or completed by a user with the role {role!r}",
                detail_vi=f"Chỉ người có vai trò {names.get(role, role)} mới được nhận hoặc hoàn thành công việc này",
                task_id=task["id"],
                required_role=role,
            )


SYSTEM = Actor.of("system", name="Hệ thống phoihop", roles=("admin",))
