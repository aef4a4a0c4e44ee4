"""Messages from integrated systems, and where they went (engine.commands.messages)."""

from __future__ import annotations

from pydantic import Field

from phoihop.api.schemas.common import In, Out, Text, Variables


class SendMessage(In):
    name: Text = Field(
        min_length=1, max_length=200, description="The BPMN message's name", examples=["dossier_supplement"]
    )
    business_key: Text | None = Field(default=None, max_length=200, examples=["DVC-2026-000123"])
    correlation_keys: Variables | None = Field(
        default=None,
        description="Values the waiting instance's subscription must match (see `waiting_for[].correlation`)",
        examples=[{"dossier_code": "000.00.25.H26-261207-0001"}],
    )
    variables: Variables = Field(
        default_factory=dict,
        examples=[{"supplement_documents": [{"name": "Bản sao Giấy chứng nhận đăng ký doanh nghiệp"}]}],
    )
    all: bool = Field(default=False, description="deliver to every matching waiting instance (else exactly one)")


class MessageDelivery(Out):
    instance_id: str
    started: bool


class MessageOut(Out):
    delivered: list[MessageDelivery]
