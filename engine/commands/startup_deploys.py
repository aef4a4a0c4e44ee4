"""Deploy-on-start: the server deploys what changed on disk since its own last deploy, and nothing else.

Each folder's files are hashed (SHA-256 over names and contents, as a deployment's ``content_hash``: reading and
hashing four folders takes milliseconds); a folder whose hash is the one recorded at the previous start
(``startup_deploy``) is skipped without being parsed, compiled or linted. So a restart never undoes a version a
process owner deployed later from the browser or the API: the files on disk did not change, nothing is deployed.
A folder never recorded (a database from before this table) whose content is stored already is adopted: recorded,
not deployed. A changed folder is deployed as ``phoihop deploy`` would (a new version when its content differs from
the key's latest), with a change note saying where it came from, kept in the ``deployed`` audit event.

Compiled models are built on first use (the executor's model cache and the process-wide COMPILED_DEPLOYMENTS);
``warm`` builds the default versions ahead of the first request."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection

from phoihop.engine.commands.deployments import DeployedProcess, DeploymentCommands
from phoihop.engine.definitions.catalog import content_hash
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.store import repository as repo
from phoihop.engine.store import startup_deploys as store

Action = Literal["deployed", "unchanged", "adopted"]


@dataclass(frozen=True)
class FolderDeploy:
    """What deploy-on-start did with one folder. ``newer``: versions of its keys deployed after its content (by a
    process owner), kept as they are; ``deployed``: the versions a changed folder gave."""

    folder: str
    content_hash: str
    action: Action
    deployed: tuple[DeployedProcess, ...] = ()
    newer: tuple[str, ...] = ()

    def describe(self) -> str:
        short = self.content_hash[:12]
        if self.action == "deployed":
            versions = ", ".join(f"{r.key} v{r.version}{' (new)' if r.created else ''}" for r in self.deployed)
            return f"{self.folder}: changed on disk ({short}), deployed {versions}"
        kept = f"; kept the newer {', '.join(self.newer)}" if self.newer else ""
        how = "unchanged since the last start" if self.action == "unchanged" else "already deployed, recorded"
        return f"{self.folder}: {how} ({short}), not compiled{kept}"


def change_note(folder: str) -> str:
    return (
        f"Triển khai khi khởi động máy chủ: thư mục {folder} đã thay đổi trên đĩa / "
        f"deployed at server start: folder {folder} changed on disk"
    )


class StartupDeploys:
    def __init__(self, deployments: DeploymentCommands) -> None:
        self.deployments = deployments
        self.executor = deployments.executor

    def run(
        self, actor: Actor, folders: Sequence[tuple[str, Sequence[SourceFile]]], *, strict: bool = False
    ) -> list[FolderDeploy]:
        """Deploy each ``(folder, files)`` that changed since the last start (see the module docstring)."""
        return [self._folder(actor, folder, files, strict=strict) for folder, files in folders]

    def _folder(self, actor: Actor, folder: str, files: Sequence[SourceFile], *, strict: bool) -> FolderDeploy:
        digest = content_hash(files)
        with self.executor.transaction(write=False) as uow:  # the usual case reads only: no write lock taken
            recorded = store.recorded_hash(uow.conn, folder)
            if recorded == digest:
                return FolderDeploy(folder, digest, "unchanged", newer=self._newer(uow.conn, digest))
            adopt = recorded is None and store.deployment_exists(uow.conn, digest)
        if adopt:
            with self.executor.transaction() as uow:
                store.record(uow.conn, folder, digest, uow.now)
                return FolderDeploy(folder, digest, "adopted", newer=self._newer(uow.conn, digest))
        deployed = self.deployments.deploy(actor, files, strict=strict, change_note=change_note(folder))
        with self.executor.transaction() as uow:
            store.record(uow.conn, folder, digest, uow.now)
        return FolderDeploy(folder, digest, "deployed", deployed=tuple(deployed))

    @staticmethod
    def _newer(conn: Connection, digest: str) -> tuple[str, ...]:
        newer = []
        for row in store.definitions_with_hash(conn, digest):
            latest = repo.latest_definition(conn, row["key"])
            if latest is not None and latest["version"] > row["version"] and latest["content_hash"] != digest:
                newer.append(f"{row['key']} v{latest['version']} ({latest['deployed_by']})")
        return tuple(dict.fromkeys(newer))

    def warm(self, stop: threading.Event | None = None) -> int:
        """Compile the version new starts use of every key (its default, else its latest), ahead of the first
        request; how many. Each lands in the executor's model cache. ``stop`` set: no further version is begun (a
        server shutting down does not wait for the rest)."""
        with self.executor.transaction(write=False) as uow:
            keys = sorted({row["key"] for row in repo.list_definitions(uow.conn)})
            ids = []
            for key in keys:
                pointer = repo.default_version(uow.conn, key)
                latest = repo.latest_active_definition(uow.conn, key)
                chosen = pointer["definition_id"] if pointer is not None else (latest["id"] if latest else None)
                if chosen is not None:
                    ids.append(int(chosen))
            warmed = 0
            for definition_id in ids:
                if stop is not None and stop.is_set():
                    break
                self.executor.model(uow.conn, definition_id)
                warmed += 1
        return warmed
