"""Jobs fail alone: what the scheduler does when a job (a due timer of an instance, a timer start event) fails.

Each job runs in its own transaction. A failure rolls that transaction back and costs the job one attempt, written
in a separate short transaction: the job row gets ``attempts``, ``last_error`` (element id and message) and
``retry_at`` (backoff: 10 s, 1 min, 5 min, 30 min, then each hour), and the scheduler's due query skips it until
then, so the jobs behind it go first. When the attempts reach the retries setting (``PHOIHOP_JOB_RETRIES``, default
3, as Camunda's default job retries) the job becomes an incident (table ``incident``) and stays parked: not fired,
not retried, until a lead or admin resolves it. While a timer waits out its backoff or is parked, the instance's
other branches go on (its timer is held: engine/execution/spiff_patches.py).

Several schedulers may fail the same job at once; the failure is counted against the attempts the scheduler read
under the instance's lock (compare-and-set), so it is counted once. The bookkeeping of a timer takes the instance's
lock (waiting for it), so a command running on the instance sees the timer row as it was when the command began.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.errors import EngineError
from phoihop.engine.store import jobs as job_store
from phoihop.engine.store import repository as repo

log = logging.getLogger("phoihop.jobs")

DEFAULT_JOB_RETRIES = 3
BACKOFF = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=1),
)
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries``: how many times a job runs before it becomes an incident (at least 1)."""

    retries: int = DEFAULT_JOB_RETRIES

    def __post_init__(self) -> None:
        if self.retries < 1:
            raise ValueError(f"job retries must be at least 1, not {self.retries}")

    @staticmethod
    def backoff(attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure (1 for the first)."""
        return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


@dataclass(frozen=True, slots=True)
class FailedJob:
    """What failed: ``kind`` ("timer" or "timer_start"), the job row's key, the attempts read under lock, and where."""

    kind: str
    key: int | str
    seen_attempts: int
    process_key: str
    element_id: str | None
    instance_id: str | None = None


def describe(exc: BaseException, element_id: str | None) -> tuple[str | None, str]:
    """The element the failure names (an engine error's own, else the job's) and a one-line message."""
    if isinstance(exc, EngineError):
        element = exc.fields.get("element_id") or element_id
        message = exc.detail
    else:
        element = element_id
        message = f"{type(exc).__name__}: {exc}"
    return element, message[:MAX_ERROR_CHARS]


class JobFailures:
    """Records failed jobs on their rows, and their incidents once the retries run out."""

    def __init__(self, executor: CommandExecutor, policy: RetryPolicy) -> None:
        self.executor = executor
        self.policy = policy

    def record(self, job: FailedJob, exc: BaseException) -> None:
        element, message = describe(exc, job.element_id)
        log.warning(
            "job %s %s (%s, element %s) failed, attempt %d of %d: %s",
            job.kind,
            job.key,
            job.process_key,
            element,
            job.seen_attempts + 1,
            self.policy.retries,
            message,
            exc_info=exc,
        )
        attempts = job.seen_attempts + 1
        error = f"{element}: {message}" if element else message
        with self.executor.transaction() as uow:
            if job.instance_id is not None:
                # wait for any command on the instance: what it read of the timer row stays true until it commits
                repo.lock_instance_head(uow.conn, job.instance_id)
            if attempts < self.policy.retries:
                retry_at = uow.now + self.policy.backoff(attempts)
                job_store.record_failure(
                    uow.conn, job.kind, job.key, seen_attempts=job.seen_attempts, retry_at=retry_at, error=error
                )
                return
            incident_id = job_store.insert_incident(
                uow.conn,
                instance_id=job.instance_id,
                process_key=job.process_key,
                element_id=element,
                job_kind=job.kind,
                message=message,
                attempts=attempts,
                created_at=uow.now,
            )
            counted = job_store.record_failure(
                uow.conn,
                job.kind,
                job.key,
                seen_attempts=job.seen_attempts,
                retry_at=None,
                error=error,
                incident_id=incident_id,
            )
            if not counted:  # another scheduler counted this failure and made the incident
                job_store.delete_incident(uow.conn, incident_id)
                return
            event: dict[str, Any] = {
                "at": uow.now,
                "actor": "system",
                "kind": "incident_created",
                "element_id": element,
                "data": {"incident_id": incident_id, "job_kind": job.kind, "message": message, "attempts": attempts},
            }
            if job.instance_id is not None:
                repo.insert_audit(uow.conn, [{**event, "instance_id": job.instance_id}])
                job_store.set_incident_status(uow.conn, job.instance_id)  # it reads "incident" until resolved
            else:  # a timer start: an event of the process key (the audit trail)
                repo.insert_definition_audit(uow.conn, [{**event, "process_key": job.process_key}])
