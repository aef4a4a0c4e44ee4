"""One command, one transaction: the connection, the clock reading and what to do after commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from phoihop.engine.store.database import Database


@dataclass
class UnitOfWork:
    conn: Connection
    now: datetime
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # depth of process-thrown messages delivered in this transaction (engine/commands/messages.py)
    message_hops: int = 0


@contextmanager
def unit_of_work(
    db: Database,
    now: Callable[[], datetime],
    *,
    write: bool = True,
    fail_before_commit: Callable[[], None] | None = None,
) -> Iterator[UnitOfWork]:
    """Commit once at the end; roll back everything on any exception. ``fail_before_commit`` is a test hook that
    raises after the engine ran and all rows were written, to prove a crash there leaves no trace."""
    with db.transaction(write=write) as conn:
        uow = UnitOfWork(conn, now())
        yield uow
        if fail_before_commit is not None:
            fail_before_commit()
    for callback in uow.after_commit:
        callback()
