"""Versions of a process key: which one a new start runs on, suspending and activating a version, and an explicit
default version. Each change is one transaction that also writes a definition-level audit event (no instance,
``process_key`` set, ``data`` with ``before`` and ``after``).

The rules, as in Camunda where Camunda has one:

- A start naming a version runs on it, unless it is suspended (409 ``definition-suspended``).
- A start naming none runs on the explicit default version when the key has one, else on the latest active version.
  Camunda has no default pointer (it always takes the latest); ours is explicit and stays until it is cleared:
  deploying a newer version does not move it. If the explicit default is suspended, such starts are refused (409)
  rather than sent to a version nobody chose, as Camunda refuses a start by key on a suspended latest version.
- Suspending stops new starts only: running instances keep their version, and their tasks, timers and messages go on.
- A suspended version cannot be made the default: activate it first.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.errors import DefinitionSuspended
from phoihop.engine.model import Actor
from phoihop.engine.reads.versions import (
    ACTIVE,
    SUSPENDED,
    EffectiveDefault,
    definition_not_found,
    effective_default,
)
from phoihop.engine.store import repository as repo
from phoihop.engine.store.unit_of_work import UnitOfWork


class VersionCommands:
    """Suspending, activating and choosing the default version of a process key. Each takes the key's newest
    definition row as a lock first, so they serialize with each other and with deployments of the key (whose first
    step takes the same lock)."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    def suspend(self, actor: Actor, key: str, version: int, *, reason: str | None = None) -> None:
        """No new starts on this version; its running instances go on. Suspending a suspended version is a no-op."""
        self._set_status(actor, key, version, SUSPENDED, reason)

    def activate(self, actor: Actor, key: str, version: int, *, reason: str | None = None) -> None:
        self._set_status(actor, key, version, ACTIVE, reason)

    def _set_status(self, actor: Actor, key: str, version: int, status: str, reason: str | None) -> None:
        actor.require_role("process-owner")
        with self.executor.transaction() as uow:
            definition = self._locked_version(uow, key, version)
            if definition["status"] == status:
                return
            repo.set_definition_status(uow.conn, definition["id"], status, by=actor.id, at=uow.now)
            kind = "version_suspended" if status == SUSPENDED else "version_activated"
            self._audit(
                uow,
                actor,
                key,
                kind,
                {
                    "version": version,
                    "reason": reason,
                    "before": {"status": definition["status"]},
                    "after": {"status": status},
                },
            )

    def set_default(self, actor: Actor, key: str, version: int) -> None:
        """New starts that name no version run on ``version`` until the default is cleared."""
        actor.require_role("process-owner")
        with self.executor.transaction() as uow:
            definition = self._locked_version(uow, key, version)
            if definition["status"] != ACTIVE:
                raise DefinitionSuspended(
                    f"version {version} of {key!r} is suspended: activate it before making it the default",
                    detail_vi=f"Phiên bản {version} của {key!r} đang tạm dừng: hãy kích hoạt lại trước khi đặt làm "
                    "phiên bản mặc định",
                    process_key=key,
                    version=version,
                )
            before = effective_default(uow.conn, key)
            after = EffectiveDefault(version, explicit=True)
            if before == after:
                return
            repo.set_default_version(uow.conn, key, definition["id"], set_by=actor.id, set_at=uow.now)
            self._audit(
                uow,
                actor,
                key,
                "default_version_set",
                {"version": version, "before": asdict(before), "after": asdict(after)},
            )

    def clear_default(self, actor: Actor, key: str) -> None:
        """Back to "the latest active version" for starts that name none. A no-op without an explicit default."""
        actor.require_role("process-owner")
        with self.executor.transaction() as uow:
            self._lock_key(uow, key)
            before = effective_default(uow.conn, key)
            if not repo.clear_default_version(uow.conn, key):
                return
            self._audit(
                uow,
                actor,
                key,
                "default_version_cleared",
                {"before": asdict(before), "after": asdict(effective_default(uow.conn, key))},
            )

    @staticmethod
    def _lock_key(uow: UnitOfWork, key: str) -> None:
        if repo.latest_definition(uow.conn, key, lock=True) is None:
            raise definition_not_found(key, None)

    def _locked_version(self, uow: UnitOfWork, key: str, version: int) -> repo.Row:
        self._lock_key(uow, key)
        definition = repo.definition_by_version(uow.conn, key, version)
        if definition is None:
            raise definition_not_found(key, version)
        return definition

    @staticmethod
    def _audit(uow: UnitOfWork, actor: Actor, key: str, kind: str, data: dict[str, Any]) -> None:
        repo.insert_definition_audit(
            uow.conn, [{"process_key": key, "at": uow.now, "actor": actor.id, "kind": kind, "data": data}]
        )
