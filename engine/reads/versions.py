"""Reading the versions of a process key: the list with instance counts, one version and its files, the default
version, the element diff between two versions, and the audit trail. ``Queries`` mixes this in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from phoihop.engine.definitions.diff import diff_versions
from phoihop.engine.errors import DefinitionNotFound, DefinitionSuspended, Forbidden
from phoihop.engine.model import Actor
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

ACTIVE, SUSPENDED = "active", "suspended"


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


def effective_default(conn: Connection, key: str) -> dict[str, Any]:
    """``{version, explicit}``: the version new starts of ``key`` get (None when every version is suspended)."""
    pointer = repo.default_version(conn, key)
    if pointer is not None:
        return {"version": pointer["version"], "explicit": True}
    latest = repo.latest_active_definition(conn, key)
    return {"version": latest["version"] if latest is not None else None, "explicit": False}


MAX_AUDIT_PAGE = 200
_MEDIA_TYPES = (
    (".bpmn", "bpmn", "application/xml"),
    (".bpmn20.xml", "bpmn", "application/xml"),
    (".dmn", "dmn", "application/xml"),
    (".form.json", "form", "application/json"),
)


def file_kind(name: str) -> tuple[str, str]:
    """``(kind, media type)`` of a deployed file: bpmn, dmn or form (a JSON Schema form), else other."""
    lowered = name.lower()
    for suffix, kind, media_type in _MEDIA_TYPES:
        if lowered.endswith(suffix):
            return kind, media_type
    return "other", "application/octet-stream"


class VersionReads:
    db: Database

    def _read(self) -> Any:
        return self.db.transaction(write=False)

    def list_versions(self, key: str) -> list[dict[str, Any]]:
        """Every version of ``key``, oldest first: hash, deployer, time, change note, status, whether new starts
        naming no version get it (``is_default``), and its instances counted by status."""
        with self._read() as conn:
            return self._version_rows(conn, key)

    def get_version(self, key: str, version: int) -> dict[str, Any]:
        """One version as listed, with its files (name, kind, media type, size in bytes)."""
        with self._read() as conn:
            found = next((v for v in self._version_rows(conn, key) if v["version"] == version), None)
            if found is None:
                raise definition_not_found(key, version)
            files = repo.deployment_files(conn, found.pop("deployment_id"))
        found["files"] = [self._file_entry(f) for f in files]
        return found

    def version_files(self, key: str, version: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [self._file_entry(f) for f in self._files(conn, key, version)]

    def version_file(self, key: str, version: int, name: str) -> tuple[str, str]:
        """``(content, media type)`` of one file of a version, exactly as deployed."""
        with self._read() as conn:
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

    def default_version(self, key: str) -> dict[str, Any]:
        """``{key, version, explicit, set_by, set_at}``: the version new starts naming none get, and whether an
        owner chose it (else it is the latest active version; None when every version is suspended)."""
        with self._read() as conn:
            if repo.latest_definition(conn, key) is None:
                raise definition_not_found(key, None)
            pointer = repo.default_version(conn, key)
            current = effective_default(conn, key)
        return {
            "key": key,
            **current,
            "set_by": pointer["set_by"] if pointer else None,
            "set_at": pointer["set_at"] if pointer else None,
        }

    def definition_diff(self, key: str, from_version: int, to_version: int) -> dict[str, Any]:
        """Elements added, removed and changed from one version of ``key`` to another (engine.definitions.diff)."""
        with self._read() as conn:
            before = self._files(conn, key, from_version)
            after = self._files(conn, key, to_version)
        return diff_versions(
            key,
            from_version,
            {f["name"]: f["content"].encode("utf-8") for f in before},
            to_version,
            {f["name"]: f["content"].encode("utf-8") for f in after},
        )

    def audit_trail(
        self,
        actor: Actor,
        *,
        kind: str | None = None,
        process_key: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """The audit events that belong to no instance, newest first (process owners and admins): deployments,
        suspensions, activations and default-version changes of process keys (``process_key`` set), and the
        others engine-wide (calendar overrides, ...). An instance's own events are its history."""
        if not (actor.is_admin or "process-owner" in actor.roles):
            raise Forbidden(
                "the audit trail is for process owners and admins",
                detail_vi="Chỉ chủ quy trình và quản trị viên được xem nhật ký thay đổi quy trình",
                required_roles=["process-owner", "admin"],
            )
        limit = max(1, min(limit, MAX_AUDIT_PAGE))
        with self._read() as conn:
            rows, total = repo.audit_trail(
                conn, kind=kind, process_key=process_key, since=since, limit=limit, offset=max(0, offset)
            )
        return {"items": rows, "total": total, "limit": limit, "offset": offset}

    # --- rows ---------------------------------------------------------------------------------------------------------
    @staticmethod
    def _version_rows(conn: Connection, key: str) -> list[dict[str, Any]]:
        rows = repo.versions_of_key(conn, key)
        if not rows:
            raise definition_not_found(key, None)
        counts = repo.instance_counts(conn, key)
        default = effective_default(conn, key)
        return [
            {
                "key": key,
                "version": r["version"],
                "name": r["name"],
                "content_hash": r["content_hash"],
                "deployed_by": r["deployed_by"],
                "deployed_at": r["deployed_at"],
                "change_note": r["change_note"],
                "status": r["status"],
                "status_changed_by": r["status_changed_by"],
                "status_changed_at": r["status_changed_at"],
                "is_default": r["version"] == default["version"],
                "instances": counts.get(r["id"], {}),
                "deployment_id": r["deployment_id"],
            }
            for r in rows
        ]

    @staticmethod
    def _files(conn: Connection, key: str, version: int) -> list[dict[str, str]]:
        definition = repo.definition_by_version(conn, key, version)
        if definition is None:
            raise definition_not_found(key, version)
        return repo.deployment_files(conn, definition["deployment_id"])

    @staticmethod
    def _file_entry(stored: dict[str, str]) -> dict[str, Any]:
        kind, media_type = file_kind(stored["name"])
        return {
            "name": stored["name"],
            "kind": kind,
            "media_type": media_type,
            "size": len(stored["content"].encode("utf-8")),
        }
