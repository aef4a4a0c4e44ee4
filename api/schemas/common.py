"""What every schema module shares: the request and response bases, free-form variables, safe text, the deadline
states and the page envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

Variables = dict[str, Any]
DeadlineState = Literal["on_time", "warning", "overdue", "early", "late"]
# PostgreSQL text cannot hold NUL (pydantic-core itself refuses lone surrogates in str fields)
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class In(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body, read from the engine's result dataclasses by attribute. Every time in it is written in UTC
    with ``Z`` (docs/api.md, "Times"): a dossier's appointment, reckoned in Hanoi time, is the same instant."""

    model_config = ConfigDict(from_attributes=True)

    @field_validator("*", mode="after")
    @classmethod
    def _times_in_utc(cls, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value


class PageOut(Out):
    total: int
    limit: int
    offset: int
