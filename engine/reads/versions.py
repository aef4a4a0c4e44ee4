"""Reading the versions of a process key: the list with instance counts, one version and its files, the default
version, and the element diff between two versions. Also the rules every start shares: which definition a start
runs on (``start_definition``) and which version is the default (``effective_default``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from phoihop.engine.definitions.diff import diff_versions
from phoihop.engine.errors import DefinitionNotFound, DefinitionSuspended
from phoihop.engine.reads.views import extended
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = [
    "ACTIVE",
    "SUSPENDED",
    "ChangedElement",
    "DefaultVersion",
    "DefinitionDiff",
    "DiffElement",
    "DiffSummary",
    "EffectiveDefault",
    "FieldChange",
    "FileChanges",
    "FileKind",
    "VersionDetail",
    "VersionFile",
    "VersionReads",
    "VersionView",
    "definition_not_found",
    "effective_default",
    "file_kind",
    "start_definition",
]

ACTIVE, SUSPENDED = "active", "suspended"
VersionStatus = Literal["active", "suspended"]
FileKind = Literal["bpmn", "dmn", "form", "other"]


def start_definition(conn: Connection, key: str, version: int | None) -> repo.Row:
    """The definition a new start of ``key`` (at ``version``, or the default one) runs on; refuses suspended ones."""
    if version is None:
        definition = repo.definition_for_start(conn, key)
        if definition is not None and definition["status"] != ACTIVE:  # only an explicit default can be
            raise DefinitionSuspended(
                f"the default version {definition['version']} of {key!r} is suspended: activate it, choose another "
                "default or clear the default",
                detail_vi=f"Phiên bản mặc định {definition['version']} của quy trình "
                f"{key!r} đang tạm dừng: hãy kích hoạt lại, chọn phiên bản mặc định khác hoặc bỏ phiên bản mặc định",
                process_key=key,
                version=definition["version"],
            )
        if definition is None and repo.latest_definition(conn, key) is not None:
            raise DefinitionSuspended(
                f"every version of {key!r} is suspended",
                detail_vi=f"Mọi phiên bản của quy trình {key!r} đều đang tạm dừng",
                process_key=key,
            )
    else:
        definition = repo.definition_by_version(conn, key, version)
        if definition is not None and definition["status"] != ACTIVE:
            raise DefinitionSuspended(
                f"version {version} of {key!r} is suspended",
                detail_vi=f"Phiên bản {version} của {key!r} đang tạm dừng",
                process_key=key,
                version=version,
            )
    if definition is None:
        raise definition_not_found(key, version)
    return definition


def definition_not_found(key: str, version: int | None) -> DefinitionNotFound:
    which = f"{key!r}" + (f" version {version}" if version is not None else "")
    which_vi = f"{key!r}" + (f" phiên bản {version}" if version is not None else "")
    return DefinitionNotFound(
        f"no deployed process {which}",
        detail_vi=f"Chưa triển khai quy trình {which_vi}",
        process_key=key,
        version=version,
    )


@dataclass(frozen=True, slots=True)
class EffectiveDefault:
    """The version new starts of a key get (None when every version is suspended), and whether an owner chose it."""

    version: int | None
    explicit: bool


def effective_default(conn: Connection, key: str) -> EffectiveDefault:
    pointer = repo.default_version(conn, key)
    if pointer is not None:
        return EffectiveDefault(pointer["version"], True)
    latest = repo.latest_active_definition(conn, key)
    return EffectiveDefault(latest["version"] if latest is not None else None, False)


_MEDIA_TYPES: tuple[tuple[str, FileKind, str], ...] = (
    (".bpmn", "bpmn", "application/xml"),
    (".bpmn20.xml", "bpmn", "application/xml"),
    (".dmn", "dmn", "application/xml"),
    (".form.json", "form", "application/json"),
)


def file_kind(name: str) -> tuple[FileKind, str]:
    """``(kind, media type)`` of a deployed file: bpmn, dmn or form (a JSON Schema form), else other."""
    lowered = name.lower()
    for suffix, kind, media_type in _MEDIA_TYPES:
        if lowered.endswith(suffix):
            return kind, media_type
    return "other", "application/octet-stream"


# --- results ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VersionView:
    """One version of a key: hash, deployer, time, change note, status, whether new starts naming no version get it
    (``is_default``), and its instances counted by status."""

    key: str
    version: int
    name: str | None
    content_hash: str
    deployed_by: str
    deployed_at: datetime
    change_note: str | None
    status: VersionStatus
    status_changed_by: str | None
    status_changed_at: datetime | None
    is_default: bool
    instances: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class VersionFile:
    name: str
    kind: FileKind
    media_type: str
    size: int  # bytes (UTF-8)


@dataclass(frozen=True, slots=True)
class VersionDetail(VersionView):
    files: tuple[VersionFile, ...]


@dataclass(frozen=True, slots=True)
class DefaultVersion:
    """The version new starts naming none get (None: every version is suspended); ``explicit``: an owner chose it
    (``set_by``, ``set_at``), else it is the latest active version."""

    key: str
    version: int | None
    explicit: bool
    set_by: str | None
    set_at: datetime | None


@dataclass(frozen=True, slots=True)
class DiffElement:
    element_id: str
    type: str
    name: str | None
    lane: str | None


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any  # the field's value in the BPMN: text, a list, a mapping, ... (engine.definitions.diff)
    after: Any


@dataclass(frozen=True, slots=True)
class ChangedElement(DiffElement):
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class FileChanges:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DiffSummary:
    added: int
    removed: int
    changed: int


@dataclass(frozen=True, slots=True)
class DefinitionDiff:
    """Elements added, removed and changed (field by field) from ``from_version`` to ``to`` of process ``key``, the
    changed properties of the process itself, and the deployment files added, removed or changed."""

    key: str
    from_version: int
    to: int
    added: tuple[DiffElement, ...]
    removed: tuple[DiffElement, ...]
    changed: tuple[ChangedElement, ...]
    process: tuple[FieldChange, ...]
    files: FileChanges
    summary: DiffSummary

    @classmethod
    def of(cls, found: Mapping[str, Any]) -> DefinitionDiff:
        """From engine.definitions.diff's plain JSON."""

        def element(e: Mapping[str, Any]) -> DiffElement:
            return DiffElement(e["element_id"], e["type"], e["name"], e["lane"])

        def changes(items: list[Mapping[str, Any]]) -> tuple[FieldChange, ...]:
            return tuple(FieldChange(c["field"], c["before"], c["after"]) for c in items)

        files, summary = found["files"], found["summary"]
        return cls(
            key=found["key"],
            from_version=found["from"],
            to=found["to"],
            added=tuple(element(e) for e in found["added"]),
            removed=tuple(element(e) for e in found["removed"]),
            changed=tuple(
                ChangedElement(e["element_id"], e["type"], e["name"], e["lane"], changes(e["changes"]))
                for e in found["changed"]
            ),
            process=changes(found["process"]),
            files=FileChanges(tuple(files["added"]), tuple(files["removed"]), tuple(files["changed"])),
            summary=DiffSummary(summary["added"], summary["removed"], summary["changed"]),
        )


class VersionReads:
    """Reads open to every authenticated caller, as the definition list is."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list_versions(self, key: str) -> list[VersionView]:
        """Every version of ``key``, oldest first."""
        with self.db.transaction(write=False) as conn:
            return [view for view, _ in self._versions(conn, key)]

    def get_version(self, key: str, version: int) -> VersionDetail:
        """One version as listed, with its files (name, kind, media type, size in bytes)."""
        with self.db.transaction(write=False) as conn:
            found = next(((v, d) for v, d in self._versions(conn, key) if v.version == version), None)
            if found is None:
                raise definition_not_found(key, version)
            view, deployment_id = found
            files = repo.deployment_files(conn, deployment_id)
        return extended(view, VersionDetail, files=tuple(self._file_entry(f) for f in files))

    def version_files(self, key: str, version: int) -> list[VersionFile]:
        with self.db.transaction(write=False) as conn:
            return [self._file_entry(f) for f in self._files(conn, key, version)]

    def version_file(self, key: str, version: int, name: str) -> tuple[str, str]:
        """``(content, media type)`` of one file of a version, exactly as deployed."""
        with self.db.transaction(write=False) as conn:
            stored = next((f for f in self._files(conn, key, version) if f["name"] == name), None)
        if stored is None:
            raise DefinitionNotFound(
                f"version {version} of {key!r} has no file {name!r}",
                detail_vi=f"Phiên bản {version} của quy trình {key!r} không có tệp {name!r}",
                process_key=key,
                version=version,
                file=name,
            )
        return stored["content"], file_kind(name)[1]

    def default_version(self, key: str) -> DefaultVersion:
        """The version new starts naming none get, and whether an owner chose it."""
        with self.db.transaction(write=False) as conn:
            if repo.latest_definition(conn, key) is None:
                raise definition_not_found(key, None)
            pointer = repo.default_version(conn, key)
            current = effective_default(conn, key)
        return DefaultVersion(
            key=key,
            version=current.version,
            explicit=current.explicit,
            set_by=pointer["set_by"] if pointer else None,
            set_at=pointer["set_at"] if pointer else None,
        )

    def definition_diff(self, key: str, from_version: int, to_version: int) -> DefinitionDiff:
        """Elements added, removed and changed from one version of ``key`` to another (engine.definitions.diff)."""
        with self.db.transaction(write=False) as conn:
            before = self._files(conn, key, from_version)
            after = self._files(conn, key, to_version)
        found = diff_versions(
            key,
            from_version,
            {f["name"]: f["content"].encode("utf-8") for f in before},
            to_version,
            {f["name"]: f["content"].encode("utf-8") for f in after},
        )
        return DefinitionDiff.of(found)

    # --- rows ---------------------------------------------------------------------------------------------------------
    @staticmethod
    def _versions(conn: Connection, key: str) -> list[tuple[VersionView, int]]:
        """Every version of ``key`` with the id of its deployment."""
        rows = repo.versions_of_key(conn, key)
        if not rows:
            raise definition_not_found(key, None)
        counts = repo.instance_counts(conn, key)
        default = effective_default(conn, key)
        return [
            (
                VersionView(
                    key=key,
                    version=r["version"],
                    name=r["name"],
                    content_hash=r["content_hash"],
                    deployed_by=r["deployed_by"],
                    deployed_at=r["deployed_at"],
                    change_note=r["change_note"],
                    status=r["status"],
                    status_changed_by=r["status_changed_by"],
                    status_changed_at=r["status_changed_at"],
                    is_default=r["version"] == default.version,
                    instances=counts.get(r["id"], {}),
                ),
                r["deployment_id"],
            )
            for r in rows
        ]

    @staticmethod
    def _files(conn: Connection, key: str, version: int) -> list[dict[str, str]]:
        definition = repo.definition_by_version(conn, key, version)
        if definition is None:
            raise definition_not_found(key, version)
        return repo.deployment_files(conn, definition["deployment_id"])

    @staticmethod
    def _file_entry(stored: Mapping[str, str]) -> VersionFile:
        kind, media_type = file_kind(stored["name"])
        return VersionFile(stored["name"], kind, media_type, len(stored["content"].encode("utf-8")))
