"""What ``/metrics`` reports from the database (issue 14.8): instances by process and status, open and overdue human
tasks per agency (candidate group), open incidents per process, and the timers due but not yet fired with the lag of
the oldest. Read at scrape time, so that every server of a cluster reports the same figures; the figures kept in
each process's memory (command latency, HTTP requests, the connection pool) are phoihop/observability.py's."""

from __future__ import annotations

from dataclasses import dataclass

from phoihop.engine.clock import Clock
from phoihop.engine.store import metrics as store
from phoihop.engine.store.database import Database

__all__ = ["AgencyTasks", "MetricsReads", "MetricsSnapshot", "PoolState"]


@dataclass(frozen=True, slots=True)
class AgencyTasks:
    agency: str
    open: int
    overdue: int


@dataclass(frozen=True, slots=True)
class PoolState:
    """The connection pool of this server process (SQLite: no pool, all zero)."""

    size: int
    checked_out: int
    overflow: int


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    instances: tuple[tuple[str, str, int], ...]  # (process_key, status, count)
    tasks: tuple[AgencyTasks, ...]
    incidents: tuple[tuple[str, int], ...]  # (process_key, open incidents)
    timers_due: int
    timer_lag_seconds: float  # now - the oldest due time of a timer not yet fired (0 when none is due)
    pool: PoolState


class MetricsReads:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def snapshot(self) -> MetricsSnapshot:
        now = self.clock.now()
        with self.db.transaction(write=False) as conn:
            instances = store.instances_by_status(conn)
            tasks = store.open_tasks_by_group(conn, now)
            incidents = store.open_incidents(conn)
            due, oldest = store.due_timers(conn, now)
        return MetricsSnapshot(
            instances=tuple(sorted(instances)),
            tasks=tuple(AgencyTasks(group, count, overdue) for group, count, overdue in sorted(tasks)),
            incidents=tuple(sorted(incidents)),
            timers_due=due,
            timer_lag_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
            pool=self._pool(),
        )

    def _pool(self) -> PoolState:
        pool = self.db.engine.pool
        size = getattr(pool, "size", None)
        if not callable(size):
            return PoolState(0, 0, 0)
        return PoolState(int(size()), int(pool.checkedout()), max(0, int(pool.overflow())))  # type: ignore[attr-defined]
