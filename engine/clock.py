"""Injectable clock. The engine reads time only through a Clock; tests pass a FakeClock and move it. Hanoi's time
zone (``HANOI_TZ``) is here too: every wing that shows or reckons local time takes it from one place."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

HANOI_TZ = timezone(timedelta(hours=7), "ICT")  # Vietnam has no DST; no tzdata needed


def utc_text(moment: datetime) -> str:
    """The one spelling of a time the API, the webhooks and the live stream emit (docs/api.md, "Times"): RFC 3339 in
    UTC with ``Z``, ``2026-01-05T08:00:00Z`` (6 digits of microseconds when they are not zero), as pydantic writes
    an aware UTC datetime."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no one instant to spell")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        with self._lock:
            self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment
