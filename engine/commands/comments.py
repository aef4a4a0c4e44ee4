"""Comments on a case or one of its tasks, and a lead's instruction (ý kiến chỉ đạo / bút phê): plain text (line
breaks kept, never HTML), at most ``MAX_COMMENT_LENGTH`` characters, with the ``@user`` and ``@agency`` mentions the
system knows resolved and stored. Whoever may see the case reads them; officers and leads write comments, leads
write instructions. Each is a ``comment_added`` audit event, written in the same transaction (the notification hook
tells the people and agencies it mentions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.clock import Clock
from phoihop.engine.errors import InstanceNotFound, InvalidInput, RoleRequired
from phoihop.engine.model import Actor
from phoihop.engine.reads.instances import InstanceReads
from phoihop.engine.store import comments as comment_store
from phoihop.engine.store import people as people_store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database
from phoihop.engine.store.tables import Row
from phoihop.engine.store.unit_of_work import unit_of_work

MAX_COMMENT_LENGTH = 4000
CommentKind = Literal["comment", "instruction"]
KINDS: tuple[CommentKind, ...] = ("comment", "instruction")
# "@stp", "@skhcn.an": not inside an e-mail address (no word character or dot before the @); a final dot is the
# sentence's, not the name's
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Mentions:
    users: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommentView:
    id: int
    instance_id: str
    task_id: str | None
    kind: CommentKind
    text: str
    author: str
    author_name: str
    author_groups: tuple[str, ...]
    mentions: Mentions
    created_at: datetime


def comment_view(row: Row) -> CommentView:
    mentions = row["mentions"] or {}
    return CommentView(
        id=row["id"],
        instance_id=row["instance_id"],
        task_id=row["task_id"],
        kind=row["kind"],
        text=row["text"],
        author=row["author"],
        author_name=row["author_name"],
        author_groups=tuple(row["author_groups"] or ()),
        mentions=Mentions(tuple(mentions.get("users", ())), tuple(mentions.get("agencies", ()))),
        created_at=row["created_at"],
    )


def clean_text(text: str) -> str:
    """The text as stored: line breaks as \\n, no control characters, no surrounding blank space; refused when
    empty or too long."""
    cleaned = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not cleaned:
        raise InvalidInput("text must not be empty", detail_vi="Nội dung ý kiến không được để trống", field="text")
    if len(cleaned) > MAX_COMMENT_LENGTH:
        raise InvalidInput(
            f"text is longer than {MAX_COMMENT_LENGTH} characters",
            detail_vi=f"Nội dung ý kiến dài quá {MAX_COMMENT_LENGTH} ký tự",
            field="text",
            max_length=MAX_COMMENT_LENGTH,
        )
    return cleaned


class CommentCommands:
    def __init__(self, db: Database, clock: Clock, agencies: AgencyRegistry) -> None:
        self.db = db
        self.clock = clock
        self.agencies = agencies

    def add(
        self, actor: Actor, instance_id: str, text: str, *, kind: str = "comment", task_id: str | None = None
    ) -> CommentView:
        if kind not in KINDS:
            raise InvalidInput(
                f"kind must be one of {', '.join(KINDS)}",
                detail_vi="Loại ý kiến phải là comment (trao đổi) hoặc instruction (chỉ đạo)",
                field="kind",
            )
        if kind == "instruction" and not (actor.is_admin or "lead" in actor.roles):
            raise RoleRequired(
                "only a lead may write an instruction",
                detail_vi="Chỉ lãnh đạo mới được ghi ý kiến chỉ đạo (bút phê)",
                required_role="lead",
                field="kind",
            )
        actor.require_role("officer", "lead")
        body = clean_text(text)
        with unit_of_work(self.db, self.clock.now) as uow:
            conn = uow.conn
            self._require_access(conn, actor, instance_id)
            element_id = None
            if task_id is not None:
                task = repo.get_task(conn, task_id)
                if task is None or task["instance_id"] != instance_id:
                    raise InvalidInput(
                        f"task {task_id} is not a task of instance {instance_id}",
                        detail_vi=f"Công việc {task_id} không thuộc hồ sơ này",
                        field="task_id",
                        task_id=task_id,
                    )
                element_id = task["element_id"]
            mentions = self.mentions(conn, body)
            row = comment_store.insert_comment(
                conn,
                instance_id=instance_id,
                task_id=task_id,
                kind=kind,
                text=body,
                author=actor.id,
                author_name=(actor.name or actor.id)[:300],
                author_groups=sorted(actor.groups),
                mentions={"users": list(mentions.users), "agencies": list(mentions.agencies)},
                created_at=uow.now,
            )
            data = {
                "comment_id": row["id"],
                "kind": kind,
                "task_id": task_id,
                "mentions": {"users": list(mentions.users), "agencies": list(mentions.agencies)},
            }
            repo.insert_audit(
                conn,
                [
                    {
                        "instance_id": instance_id,
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "comment_added",
                        "element_id": element_id,
                        "task_id": task_id,
                        "data": data,
                    }
                ],
            )
        return comment_view(row)

    def list(self, actor: Actor, instance_id: str) -> list[CommentView]:
        """The case's comments and instructions, oldest first."""
        with unit_of_work(self.db, self.clock.now, write=False) as uow:
            self._require_access(uow.conn, actor, instance_id)
            return [comment_view(r) for r in comment_store.comments_of_instance(uow.conn, instance_id)]

    def latest_instruction(self, actor: Actor, instance_id: str) -> CommentView | None:
        with unit_of_work(self.db, self.clock.now, write=False) as uow:
            self._require_access(uow.conn, actor, instance_id)
            row = comment_store.latest_instruction(uow.conn, instance_id)
        return comment_view(row) if row is not None else None

    def mentions(self, conn: Connection, text: str) -> Mentions:
        """The ``@names`` of ``text`` that are agency codes or known people, each once, in order."""
        names = [m.group(1) for m in _MENTION.finditer(text)]
        agencies = [n.lower() for n in names if self.agencies.get(n.lower()) is not None]
        known = {p["id"] for p in people_store.people(conn, [n for n in names if n.lower() not in agencies])}
        users = [n for n in names if n in known]
        return Mentions(tuple(dict.fromkeys(users)), tuple(dict.fromkeys(agencies)))

    @staticmethod
    def _require_access(conn: Connection, actor: Actor, instance_id: str) -> None:
        instance = repo.get_instance(conn, instance_id)
        if instance is None:
            raise InstanceNotFound.of(instance_id)
        tasks = repo.tasks_of_instance(conn, instance_id, open_only=False)
        InstanceReads._require_access(
            actor, instance, tasks
        )  # the one rule of who sees a case (a module function on main)
