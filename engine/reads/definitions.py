"""Reading the deployed process definitions: every key with its versions, and the start form of a version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Literal

from phoihop.engine.reads.versions import definition_not_found, start_definition
from phoihop.engine.reads.views import JsonObject, Models
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["DefinitionReads", "DefinitionVersion", "ProcessDefinition", "StartForm"]


@dataclass(frozen=True, slots=True)
class DefinitionVersion:
    key: str
    version: int
    name: str | None
    content_hash: str
    status: Literal["active", "suspended"]
    deployed_by: str
    deployed_at: datetime


@dataclass(frozen=True, slots=True)
class ProcessDefinition:
    """A process key with its versions, oldest first; ``name`` is the latest version's."""

    key: str
    name: str | None
    latest_version: int
    versions: tuple[DefinitionVersion, ...]

    @property
    def latest(self) -> DefinitionVersion:
        return self.versions[-1]

    def version(self, number: int | None) -> DefinitionVersion | None:
        return next((v for v in self.versions if v.version == number), None)


@dataclass(frozen=True, slots=True)
class StartForm:
    """The start form of a version: the JSON Schema of its start variables (None: it has none)."""

    key: str
    version: int
    form: JsonObject | None


class DefinitionReads:
    def __init__(self, db: Database, *, models: Models | None = None) -> None:
        self.db = db
        self._models = models  # the compiled model of a stored definition (its start form); None: no form is shown

    def list_definitions(self) -> list[ProcessDefinition]:
        """Every deployed process key, by key, with its versions."""
        with self.db.transaction(write=False) as conn:
            rows = repo.list_definitions(conn)
        listed = []
        for key, group in groupby(rows, key=lambda r: r["key"]):
            versions = tuple(
                DefinitionVersion(
                    key=r["key"],
                    version=r["version"],
                    name=r["name"],
                    content_hash=r["content_hash"],
                    status=r["status"],
                    deployed_by=r["deployed_by"],
                    deployed_at=r["deployed_at"],
                )
                for r in group
            )
            listed.append(ProcessDefinition(key, versions[-1].name, versions[-1].version, versions))
        return listed

    def start_form(self, key: str, version: int | None = None) -> StartForm:
        """The start form of a version, by default of the version a start naming none gets (the explicit default,
        else the latest active one: engine.commands.versions)."""
        with self.db.transaction(write=False) as conn:
            if version is not None:
                definition = repo.definition_by_version(conn, key, version)
                if definition is None:
                    raise definition_not_found(key, version)
            else:
                definition = start_definition(conn, key, None)
            form = self._models(conn, definition["id"]).start_form if self._models is not None else None
        return StartForm(key, definition["version"], form.schema if form is not None else None)
