"""Deployments: compile, lint and store a set of files as one deployment; a key gets a new version when its
content changed. Decisions deployed alone (DMN files without a process) are versioned per decision."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from phoihop.engine.commands.decisions import store_decisions
from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.commands.timers import schedule_start
from phoihop.engine.definitions.lint.deployment import lint_deployment, lint_files
from phoihop.engine.definitions.lint.findings import refuse_errors
from phoihop.engine.errors import (
    ConcurrentUpdate,
)
from phoihop.engine.model import Actor, Finding, SourceFile
from phoihop.engine.store import repository as repo
from phoihop.engine.store.tables import NAME_LIMITS
from phoihop.engine.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from phoihop.engine.definitions.catalog import Deployment


class LintMemo:
    """The "6 rõ" findings of compiled deployments, kept per content hash and strictness (an LRU, thread-safe).

    lint_deployment reads nothing but the files (and the store's name limits, fixed), so the same content always gives
    the same findings: a redeploy of an unchanged process (deploy-on-start at every restart, a test's fresh database)
    skips the 4–16 ms of the lint. Findings are dicts: each caller gets its own copies."""

    def __init__(self, max_entries: int = 64) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, bool], tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def findings(self, deployment: Deployment, *, strict: bool) -> list[Finding]:
        key = (deployment.content_hash, strict)
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None:
                self._entries.move_to_end(key)
        if kept is None:
            kept = tuple(lint_deployment(deployment, strict=strict, limits=NAME_LIMITS))
            with self._lock:
                self._entries[key] = kept
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return [Finding(**finding) for finding in kept]


LINTED = LintMemo()


@dataclass(frozen=True)
class DeployedProcess:
    key: str
    version: int
    content_hash: str
    name: str | None
    created: bool
    # "6 rõ" findings of the deployment (engine.definitions.lint) that did not block it
    warnings: tuple[Finding, ...] = ()
    default_version: int | None = None  # the key's explicit default version: new starts naming none still use it
    kind: str = "process"  # "decision": a decision of a deployment of DMN files alone (key = decision id)


class DeploymentCommands:
    """Deploying a set of BPMN, DMN and form files as one deployment (role process-owner)."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    def deploy(
        self, actor: Actor, files: Sequence[SourceFile], *, strict: bool = False, change_note: str | None = None
    ) -> list[DeployedProcess]:
        """Compile, lint and store ``files`` as one deployment. Lint errors (and, when ``strict``, the "6 rõ" warnings)
        refuse it with InvalidDefinition; the remaining warnings come back on every result. A key whose latest
        version has the same content gets no new version (a revert to an older content does); ``change_note`` is
        kept with the deployment and in each new version's ``deployed`` audit event."""
        actor.require_role("process-owner")
        deployment = self.executor.compile_files(files)
        findings = LINTED.findings(deployment, strict=strict)
        refuse_errors(findings)
        for attempt in range(3):
            try:
                return [
                    replace(result, warnings=tuple(findings))
                    for result in self._store_deployment(actor, deployment, change_note)
                ]
            except IntegrityError:  # a concurrent deploy took the same version number: count again
                if attempt == 2:
                    raise ConcurrentUpdate(
                        "concurrent deployments of the same process",
                        detail_vi="Triển khai đồng thời cùng một quy trình, vui lòng thử lại",
                    ) from None
        raise AssertionError("unreachable")

    def validate(self, actor: Actor, files: Sequence[SourceFile], *, strict: bool = False) -> list[Finding]:
        """Every error and warning deploying ``files`` would give, storing nothing (UnsafeXml for a hostile file)."""
        actor.require_role("process-owner")
        return lint_files(
            files, compile_files=self.executor.compile_files, strict=strict, refuse_unsafe=True, limits=NAME_LIMITS
        )

    def _store_deployment(self, actor: Actor, deployment: Any, change_note: str | None) -> list[DeployedProcess]:
        if not deployment.processes:  # DMN files alone (the catalog accepts them when they hold a decision)
            return self._store_decisions(actor, deployment, change_note)
        with self.executor.transaction() as uow:
            return self.store_in(uow, actor, deployment, change_note)

    @staticmethod
    def store_in(uow: UnitOfWork, actor: Actor, deployment: Any, change_note: str | None) -> list[DeployedProcess]:
        """Store a compiled deployment with processes in ``uow`` (a command's own transaction: an end event's engine
        command deploys in the transaction of the step that reached it, engine.commands.decision_revisions). No role
        check here: ``deploy`` checks the caller's, an engine command runs for the process that names it."""
        results: list[DeployedProcess] = []
        deployment_id: int | None = None
        for process in deployment.processes:
            latest = repo.latest_definition(uow.conn, process.key, lock=True)
            pointer = repo.default_version(uow.conn, process.key) if latest is not None else None
            default_version = pointer["version"] if pointer is not None else None
            if latest is not None and latest["content_hash"] == deployment.content_hash:
                results.append(
                    DeployedProcess(
                        process.key,
                        latest["version"],
                        deployment.content_hash,
                        latest["name"],
                        False,
                        default_version=default_version,
                    )
                )
                continue
            if deployment_id is None:
                deployment_id = repo.insert_deployment(
                    uow.conn,
                    content_hash=deployment.content_hash,
                    deployed_by=actor.id,
                    deployed_at=uow.now,
                    files=[{"name": f.name, "content": f.content.decode("utf-8")} for f in deployment.files],
                    change_note=change_note,
                )
            version = (latest["version"] if latest is not None else 0) + 1
            definition_id = repo.insert_definition(
                uow.conn,
                key=process.key,
                version=version,
                name=process.name,
                content_hash=deployment.content_hash,
                deployment_id=deployment_id,
                status="active",
                deployed_by=actor.id,
                deployed_at=uow.now,
                start_messages=list(process.start_message_names),
            )
            schedule_start(uow.conn, process, definition_id, uow.now)
            results.append(
                DeployedProcess(
                    process.key,
                    version,
                    deployment.content_hash,
                    process.name,
                    True,
                    default_version=default_version,
                )
            )
            before = (
                {"version": latest["version"], "content_hash": latest["content_hash"]} if latest is not None else None
            )
            repo.insert_definition_audit(
                uow.conn,
                [
                    {
                        "process_key": process.key,
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "deployed",
                        "data": {
                            "version": version,
                            "deployment_id": deployment_id,
                            "change_note": change_note,
                            "files": [f.name for f in deployment.files],
                            "default_version": default_version,
                            "before": before,
                            "after": {"version": version, "content_hash": deployment.content_hash},
                        },
                    }
                ],
            )
        return results

    def _store_decisions(self, actor: Actor, deployment: Any, change_note: str | None) -> list[DeployedProcess]:
        """Stored when a decision is new or changed; each decision comes back with its version
        (engine.commands.decisions)."""
        with self.executor.transaction() as uow:
            stored = store_decisions(
                uow.conn, deployment, deployed_by=actor.id, deployed_at=uow.now, change_note=change_note
            )
            repo.insert_definition_audit(
                uow.conn,
                [
                    {
                        "process_key": None,
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "decision_deployed",
                        "data": {
                            "decision_id": d.id,
                            "version": d.version,
                            "change_note": change_note,
                            "files": [f.name for f in deployment.files],
                        },
                    }
                    for d in stored
                    if d.created
                ],
            )
        return [
            DeployedProcess(d.id, d.version, deployment.content_hash, d.name, d.created, kind="decision")
            for d in stored
        ]
