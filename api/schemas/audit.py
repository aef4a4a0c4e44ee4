"""The audit trail: events of no instance (engine.reads.audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from phoihop.api.schemas.common import Out, PageOut


class AuditEventOut(Out):
    id: int
    at: datetime
    actor: str
    kind: str = Field(
        description="deployed, version_suspended, version_activated, default_version_set, "
        "default_version_cleared (with process_key), calendar_changed, ..."
    )
    process_key: str | None = Field(description="The process key a definition event is about")
    data: dict[str, Any] = Field(description="before and after values, version, change_note or reason, ...")


class AuditPage(PageOut):
    items: list[AuditEventOut]
