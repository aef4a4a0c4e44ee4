"""What every schema module shares: the request and response bases, free-form variables, safe text, the deadline
states and the page envelope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

Variables = dict[str, Any]
DeadlineState = Literal["on_time", "warning", "overdue", "early", "late"]
# PostgreSQL text cannot hold NUL (pydantic-core itself refuses lone surrogates in str fields)
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class In(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body, read from the engine's result dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


class PageOut(Out):
    total: int
    limit: int
    offset: int
