"""Messages from integrated systems, and where they went (engine.commands.messages)."""

from __future__ import annotations

from pydantic import Field

from phoihop.api.schemas.common import In, Out, Text, Variables


class SendMessage(In):
    name: Text = Field(min_length=1, max_length=200)
    business_key: Text | None = Field(default=None, max_length=200)
    correlation_keys: Variables | None = None
    variables: Variables = Field(default_factory=dict)
    all: bool = Field(default=False, description="deliver to every matching waiting instance (else exactly one)")


class MessageDelivery(Out):
    instance_id: str
    started: bool


class MessageOut(Out):
    delivered: list[MessageDelivery]
