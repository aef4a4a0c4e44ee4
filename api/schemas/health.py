"""The health check."""

from __future__ import annotations

from phoihop.api.schemas.common import Out


class HealthOut(Out):
    status: str
    database: str


class ReadyOut(Out):
    status: str  # "ready"
