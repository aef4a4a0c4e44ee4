"""The request id of the work in progress, as a context variable: set by the HTTP layer for each request (and by
anything else that starts work, such as the scheduler, when it has one), read by the store when it writes audit
events and by the command executor's log line, so that one id ties a request's log lines, its commands and the case
history together (issue 14.9). A loose module: it imports nothing of the engine."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["request_id"]

request_id: ContextVar[str | None] = ContextVar("phoihop_request_id", default=None)
