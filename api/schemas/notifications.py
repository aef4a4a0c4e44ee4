"""A person's notifications and how they want them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from phoihop.api.schemas.common import In, Out

EmailMode = Literal["immediate", "digest", "off"]


class NotificationOut(Out):
    id: int
    kind: str  # task_new | task_assigned | task_returned | mention | due_soon | overdue
    title_vi: str
    text_vi: str
    instance_id: str | None
    task_id: str | None
    created_at: datetime
    read_at: datetime | None


class NotificationPageOut(Out):
    items: list[NotificationOut]  # newest first
    total: int  # of the filter (unread only, or all)
    unread: int


class MarkedRead(Out):
    marked: int


class PreferencesIn(In):
    email_mode: EmailMode
    email: str | None = Field(default=None, max_length=320)


class PreferencesOut(Out):
    user_id: str
    in_app: Literal["immediate"]  # always on
    email_mode: EmailMode
    email: str | None
