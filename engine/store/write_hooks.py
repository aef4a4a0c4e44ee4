"""One hook per database on what commands write: the audit events (``insert_audit``) and the new human tasks
(``insert_human_tasks``) are handed to it on the command's own connection, inside its transaction, so whatever it
writes (the notifications of engine/commands/notifications.py) commits or rolls back with the command. The store
knows only that a hook exists, not what it does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from weakref import WeakKeyDictionary

from sqlalchemy import Connection

Written = Literal["audit", "human_task"]
WriteHook = Callable[[Connection, Written, list[dict[str, Any]]], None]

_hooks: WeakKeyDictionary[Any, WriteHook] = WeakKeyDictionary()


def install(engine: Any, hook: WriteHook | None) -> None:
    """Run ``hook`` on every write of the SQLAlchemy ``engine``'s database (None: no hook)."""
    if hook is None:
        _hooks.pop(engine.pool, None)
    else:
        _hooks[engine.pool] = hook


def installed(engine: Any) -> WriteHook | None:
    """The hook of the SQLAlchemy ``engine``'s database, if one is installed."""
    return _hooks.get(engine.pool)


def emit(conn: Connection, what: Written, rows: list[dict[str, Any]]) -> None:
    hook = _hooks.get(conn.engine.pool)
    if hook is not None and rows:
        hook(conn, what, rows)
