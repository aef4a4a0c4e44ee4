"""What a review of the day's merges found (issue 13 and the parts of 12 and 10): a form pattern stored before
deploys checked patterns for RE2, and a database outage while a timer fires, must not become 500s or incidents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from phoihop.engine.clock import FakeClock
from phoihop.engine.commands.timers import TimerCommands
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.forms.patterns import search
from phoihop.engine.errors import StoreUnavailable
from tests.conftest import INTEGRATOR
from tests.engine.helpers import deploy, timers


def test_a_pattern_re2_cannot_run_matches_nothing_instead_of_raising() -> None:
    """A form stored before deploys refused such patterns: its values are refused as not matching (a 422 naming the
    field), not a 500 at every start or submit."""
    assert search("^(?=[0-9]{10})[0-9]+$", "0123456789") is None
    assert search("^[0-9]+$", "0123456789") is not None


def test_a_lost_connection_while_a_timer_fires_is_not_counted_against_the_timer(
    container: EngineContainer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(container, "timers.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "timed_review")
    clock.advance(timedelta(hours=2, seconds=1))

    def database_gone(self: TimerCommands, timer: Any, seen: list[Any]) -> int:
        raise StoreUnavailable.because("connection-lost")

    with monkeypatch.context() as patched:  # the database goes away while the timer fires (fault injection)
        patched.setattr(TimerCommands, "_fire", database_gone)
        for _ in range(4):
            assert container.scheduler.run_once() == 0
    (row,) = timers(container, instance_id)
    assert (row["attempts"], row["retry_at"], row["incident_id"]) == (0, None, None)
    assert container.scheduler.run_once() == 1  # the database is back: it fires
