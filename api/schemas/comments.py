"""Comments and instructions of a case."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from phoihop.api.schemas.common import In, Out, Text


class AddComment(In):
    text: Text  # plain text, line breaks kept; at most 4000 characters (the engine says so in a problem)
    task_id: str | None = None
    kind: Literal["comment", "instruction"] = "comment"


class MentionsOut(Out):
    users: list[str]
    agencies: list[str]


class CommentOut(Out):
    id: int
    instance_id: str
    task_id: str | None
    kind: Literal["comment", "instruction"]
    text: str
    author: str
    author_name: str
    author_groups: list[str]
    mentions: MentionsOut
    created_at: datetime


class CommentList(Out):
    items: list[CommentOut]  # oldest first
