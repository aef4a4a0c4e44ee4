"""Webhook subscriptions and their delivery log (engine.commands.webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from phoihop.api.schemas.common import In, Out, Text
from phoihop.engine.commands.webhooks import EventType


class WebhookIn(In):
    url: Text = Field(min_length=1, max_length=2000, examples=["https://dichvucong.hanoi.gov.vn/phoihop/events"])
    events: list[EventType] | None = Field(default=None, description="event types wanted; omitted or empty: all")
    process_key: Text | None = Field(
        default=None, min_length=1, max_length=200, description="only this process's events", examples=["green_lane"]
    )


class WebhookOut(Out):
    id: str
    url: str
    events: list[str] = Field(description="event types wanted (empty: all)")
    process_key: str | None
    key_id: str = Field(description="names the secret in X-Phoihop-Key-Id")
    created_by: str
    created_at: datetime
    deleted_at: datetime | None


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(description="HMAC-SHA256 key of X-Phoihop-Signature; shown only in this answer")


class AttemptOut(Out):
    at: datetime
    status_code: int | None = Field(description="the receiver's answer; null when none came (timeout, refused)")
    error: str | None
    duration_ms: int


class DeliveryOut(Out):
    id: int
    webhook_id: str
    event_id: str
    event_type: str
    instance_id: str | None
    status: Literal["pending", "delivered", "dead", "cancelled"]
    attempts: int = Field(description="tries since it was queued (or last replayed)")
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptOut] = Field(description="every try, oldest first")
