"""The versions of a process definition, the default version and the diff between two versions
(engine.reads.versions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from phoihop.api.schemas.common import In, Out, Text


class VersionOut(Out):
    key: str
    version: int
    name: str | None
    content_hash: str
    deployed_by: str
    deployed_at: datetime
    change_note: str | None = Field(description="What the deployer said changed (form field change_note)")
    status: Literal["active", "suspended"] = Field(description="suspended: no new starts; its instances go on")
    status_changed_by: str | None
    status_changed_at: datetime | None
    is_default: bool = Field(
        description="Starts naming no version run on this one (the explicit default version, "
        "else the latest active one)"
    )
    instances: dict[str, int] = Field(description="Instances of this version by status (running, completed, ...)")


class VersionFileOut(Out):
    name: str
    kind: Literal["bpmn", "dmn", "form", "other"]
    media_type: str
    size: int = Field(description="bytes (UTF-8)")


class VersionDetailOut(VersionOut):
    files: list[VersionFileOut]


class VersionStatusIn(In):
    reason: Text | None = Field(default=None, max_length=2000, description="Kept in the audit trail")


class DefaultVersionIn(In):
    version: int = Field(ge=1, le=2**31 - 1)


class DefaultVersionOut(Out):
    key: str
    version: int | None = Field(description="The version starts naming none get; null: every version is suspended")
    explicit: bool = Field(
        description="true: chosen with PUT default-version (it stays until DELETE); false: the latest active version"
    )
    set_by: str | None
    set_at: datetime | None


class DiffElementOut(Out):
    element_id: str
    type: str = Field(description="BPMN element: userTask, sequenceFlow, lane, boundaryEvent, exclusiveGateway, ...")
    name: str | None
    lane: str | None = Field(description="The lane's name (an agency) of a flow node")


class FieldChangeOut(Out):
    field: str = Field(
        description="type, name, lane, parent, attached_to, cancel_activity, source, target, "
        "condition, default_flow, due_date, form, candidate_groups, candidate_users, "
        "assignee, properties, timer, event, script, called_element, decision, "
        "external_topic, multi_instance, documentation (flagged: before and after "
        "null); process level: name, is_executable, candidate_starter_groups, "
        "version_tag, properties, documentation"
    )
    before: Any
    after: Any


class ChangedElementOut(DiffElementOut):
    changes: list[FieldChangeOut]


class FileChangesOut(Out):
    added: list[str]
    removed: list[str]
    changed: list[str]


class DiffSummaryOut(Out):
    added: int
    removed: int
    changed: int


class DefinitionDiffOut(Out):
    model_config = ConfigDict(populate_by_name=True)

    key: str
    from_version: int = Field(alias="from")
    to: int
    added: list[DiffElementOut]
    removed: list[DiffElementOut]
    changed: list[ChangedElementOut]
    process: list[FieldChangeOut] = Field(description="Changed properties of the process itself")
    files: FileChangesOut = Field(description="Deployment files added, removed or changed (forms, DMN included)")
    summary: DiffSummaryOut
