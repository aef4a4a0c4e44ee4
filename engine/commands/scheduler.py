"""The timer scheduler: sleeps until the earliest due timer (or a short poll bound) and fires what is due, then sends
the due webhook deliveries (engine/commands/webhooks.py; each leased by one worker at a time).

Runs as a thread inside ``phoihop serve`` and as ``phoihop worker``. With several schedulers on one PostgreSQL each
due timer fires exactly once: ``fire_due_timers`` locks the instance with SKIP LOCKED and re-checks the timer row.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from phoihop.engine.clock import Clock
from phoihop.engine.commands.timers import TimerCommands
from phoihop.engine.commands.webhooks import WebhookDelivery

log = logging.getLogger("phoihop.scheduler")


class TimerScheduler:
    def __init__(
        self,
        timers: TimerCommands,
        clock: Clock,
        *,
        poll_seconds: float = 0.5,
        jobs: Sequence[Callable[[], int]] = (),
        webhooks: WebhookDelivery | None = None,
    ) -> None:
        """``jobs``: more work of each round, each throttling itself (the notifications' deadlines, digests and
        email delivery: engine/commands/notifications.py); ``webhooks``: the webhook outbox's delivery, whose next
        due time also bounds the loop's sleep."""
        self.timers = timers
        self.jobs = tuple(jobs)
        self.webhooks = webhooks
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, max_rounds: int = 100) -> int:
        """Fire all timers and timer start events due now (in rounds of a bounded batch), then run ``jobs``; returns how
        many timers and starts fired."""
        total = 0
        for _ in range(max_rounds):
            fired = self.timers.fire_due_starts() + self.timers.fire_due_timers()
            total += fired
            if fired == 0:
                break
        for job in self.jobs:  # their own counts are theirs: this answers how many timers fired
            job()
        if self.webhooks is not None:
            try:
                self.webhooks.deliver_due()
            except Exception:  # a database hiccup: the leases expire, the next round sends them
                log.exception("webhook delivery round failed")
        return total

    def wake(self) -> None:
        self._wake.set()

    def _sleep_seconds(self) -> float:
        webhook_due = self.webhooks.next_due() if self.webhooks is not None else None
        dues = [d for d in (self.timers.next_timer_due(), self.timers.next_start_due(), webhook_due) if d is not None]
        due: datetime | None = min(dues) if dues else None
        if due is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due - self.clock.now()).total_seconds()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                delay = self._sleep_seconds()
            except Exception:  # keep the loop alive; the failing command already rolled back
                log.exception("timer scheduler round failed")
                delay = self.poll_seconds
            self._wake.wait(delay)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="phoihop-timers", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def run_forever(self) -> None:
        self._stop.clear()
        self._loop()
