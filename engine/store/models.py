"""Every table, as SQLModel classes. Alembic migrations are generated from SQLModel.metadata.

Reading never deserializes a workflow: the inbox, task details, instance lists and history read these rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from phoihop.engine.store.types import JsonColumn, UtcDateTime


def _utc(**kw: Any) -> Any:
    return Field(sa_column=Column(UtcDateTime(), **kw))


class Deployment(SQLModel, table=True):
    """One upload of BPMN/DMN files; the sources are kept verbatim."""

    __tablename__ = "deployment"
    id: int | None = Field(default=None, primary_key=True)
    content_hash: str = Field(max_length=64, index=True)
    files: list[dict[str, str]] = Field(sa_column=Column(JsonColumn, nullable=False))
    deployed_by: str = Field(max_length=200)
    deployed_at: datetime = _utc(nullable=False)
    change_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the deployer's words


class ProcessDefinition(SQLModel, table=True):
    """One version of one executable process (key = the BPMN process id). Content equal to the LATEST version makes
    no new version; content equal to an older one (a revert) does, as in Camunda, so a hash may repeat per key.
    ``status`` is "active" or "suspended" (no new starts; running instances go on)."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definition_key_version"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)
    version: int
    name: str | None = Field(default=None, max_length=500)
    content_hash: str = Field(max_length=64)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    status: str = Field(default="active", max_length=20)
    deployed_by: str = Field(max_length=200)
    deployed_at: datetime = _utc(nullable=False)
    start_messages: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    status_changed_at: datetime | None = _utc(nullable=True)  # last suspend or activate
    status_changed_by: str | None = Field(default=None, max_length=200)


class DefaultVersion(SQLModel, table=True):
    """An explicit default version of a process key: starts that name no version use it (instead of the latest
    active one) until it is cleared. Deploying a newer version does not move it."""

    __tablename__ = "process_default_version"
    process_key: str = Field(primary_key=True, max_length=200)
    definition_id: int = Field(foreign_key="process_definition.id")
    set_by: str = Field(max_length=200)
    set_at: datetime = _utc(nullable=False)


class ProcessInstance(SQLModel, table=True):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_key_status", "process_key", "status"),
        UniqueConstraint("dossier_code", name="uq_process_instance_dossier_code"),
    )
    id: str = Field(primary_key=True, max_length=36)
    definition_id: int = Field(foreign_key="process_definition.id", index=True)
    process_key: str = Field(max_length=200)
    business_key: str | None = Field(default=None, max_length=200, index=True)
    status: str = Field(max_length=20, index=True)
    state: str = Field(sa_column=Column(Text, nullable=False))  # workflow-level state; task records in instance_task
    serializer_version: str = Field(max_length=20)
    version: int = Field(default=1)
    variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonColumn, nullable=False))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonColumn, nullable=True))
    started_by: str = Field(max_length=200)
    started_at: datetime = _utc(nullable=False)
    ended_at: datetime | None = _utc(nullable=True)
    dossier_code: str | None = Field(default=None, max_length=100)  # mã hồ sơ, Thông tư 01/2018/TT-VPCP Điều 19
    # printed on the receipt with the code; the public lookup (tra cứu hồ sơ) asks for both: engine/dossier.py
    lookup_secret: str | None = Field(default=None, max_length=20)


class InstanceTask(SQLModel, table=True):
    """One SpiffWorkflow task record of an instance (its serialized dict). A command rewrites only the records it
    changed; ``seq`` is creation order, which restoring needs (a task's data is stored as a delta to its parent's)."""

    __tablename__ = "instance_task"
    instance_id: str = Field(foreign_key="process_instance.id", primary_key=True, max_length=36)
    seq: int = Field(primary_key=True)  # keyed by creation order: one instance's records share pages
    task_id: str = Field(max_length=36)
    body: str = Field(sa_column=Column(Text, nullable=False))


class HumanTask(SQLModel, table=True):
    """A user or manual task waiting for (or done by) a person. id = SpiffWorkflow's task id."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_assignee_status", "assignee", "status"),
        Index("ix_human_task_status_due", "status", "due_at"),
    )
    id: str = Field(primary_key=True, max_length=36)
    instance_id: str = Field(foreign_key="process_instance.id", index=True, max_length=36)
    process_key: str = Field(max_length=200, index=True)
    element_id: str = Field(max_length=200)
    name: str | None = Field(default=None, max_length=500)
    lane: str | None = Field(default=None, max_length=500)
    candidate_groups: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    candidate_users: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    assignee: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=20)
    documentation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    form_key: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc(nullable=False)
    claimed_at: datetime | None = _utc(nullable=True)
    completed_at: datetime | None = _utc(nullable=True)
    completed_by: str | None = Field(default=None, max_length=200)
    due_at: datetime | None = _utc(nullable=True)
    warn_at: datetime | None = _utc(nullable=True)  # "sắp đến hạn" from here: created + ratio x (due - created)
    required_role: str | None = Field(default=None, max_length=50)  # e.g. "lead": only leads claim and complete
    # folded (no case, no diacritics) name, business key, dossier code, case title, applicant: engine/search_text.py
    search_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class TaskCandidate(SQLModel, table=True):
    """Who may act on a human task: one row per candidate group or user, so the inbox query stays on an index."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_kind_value", "kind", "value"),)
    task_id: str = Field(foreign_key="human_task.id", primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=10)  # "group" | "user"
    value: str = Field(primary_key=True, max_length=200)


class Timer(SQLModel, table=True):
    """A waiting timer event; the scheduler's only query is on due_at. A firing that failed counts ``attempts`` and
    waits until ``retry_at`` (backoff); when the retries run out it is parked on an incident (``incident_id``)."""

    __tablename__ = "timer"
    id: int | None = Field(default=None, primary_key=True)
    instance_id: str = Field(foreign_key="process_instance.id", index=True, max_length=36)
    task_id: str = Field(max_length=36)
    element_id: str = Field(max_length=200)
    due_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # failed firings so far
    retry_at: datetime | None = _utc(nullable=True)  # not fired again before (backoff after a failure)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    incident_id: int | None = Field(default=None)  # parked: neither fired nor retried until resolved


class MessageSubscription(SQLModel, table=True):
    __tablename__ = "message_subscription"
    __table_args__ = (Index("ix_message_subscription_name_bk", "message_name", "business_key"),)
    id: int | None = Field(default=None, primary_key=True)
    instance_id: str = Field(foreign_key="process_instance.id", index=True, max_length=36)
    message_name: str = Field(max_length=200)
    business_key: str | None = Field(default=None, max_length=200)
    correlations: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonColumn, nullable=False))


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_instance_id_id", "instance_id", "id"),
        Index("ix_audit_event_process_key_id", "process_key", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    instance_id: str | None = Field(default=None, max_length=36)
    process_key: str | None = Field(default=None, max_length=200)  # definition events (instance_id NULL)
    at: datetime = _utc(nullable=False)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=50)
    element_id: str | None = Field(default=None, max_length=200)
    task_id: str | None = Field(default=None, max_length=36)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonColumn, nullable=False))
    request_id: str | None = Field(default=None, max_length=64)  # the HTTP request that did it (X-Request-Id)


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    caller: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    instance_id: str = Field(max_length=36)
    created_at: datetime = _utc(nullable=False)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    groups: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    created_at: datetime = _utc(nullable=False)
    revoked_at: datetime | None = _utc(nullable=True)


class CalendarDay(SQLModel, table=True):
    """An override of the business calendar for one date: an announced holiday or Tết day off (working=False), or a
    swapped Saturday that becomes a working day (working=True). Source "api" (admin) or "file" (loaded at start)."""

    __tablename__ = "calendar_day"
    day: date = Field(primary_key=True)
    working: bool
    name_vi: str = Field(max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    source: str = Field(default="api", max_length=20)
    updated_by: str = Field(max_length=200)
    updated_at: datetime = _utc(nullable=False)


class DossierSequence(SQLModel, table=True):
    """The last dossier number used per agency code and receipt day: ``<agency>-YYMMDD-NNNN``."""

    __tablename__ = "dossier_sequence"
    prefix: str = Field(primary_key=True, max_length=60)
    day: str = Field(primary_key=True, max_length=6)  # YYMMDD, Hanoi time
    last: int


class StartSchedule(SQLModel, table=True):
    """The next due time of a deployed process's timer start event (one row per process key: the newest version
    with a timer start decides). The scheduler starts an instance at each due time, exactly once across workers."""

    __tablename__ = "start_schedule"
    process_key: str = Field(primary_key=True, max_length=200)
    definition_id: int = Field(foreign_key="process_definition.id")
    element_id: str = Field(max_length=200)
    timer_kind: str = Field(max_length=20)  # timeCycle | timeDate | timeDuration
    timer_text: str = Field(max_length=500)
    occurrence: int  # how many instances it started so far
    next_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True, index=True))
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # failed starts of this occurrence
    retry_at: datetime | None = _utc(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    incident_id: int | None = Field(default=None)  # parked until resolved (or a new version is deployed)


class Incident(SQLModel, table=True):
    """A job (a timer of an instance, a timer start event) whose retries ran out, as Camunda's incidents: its job is
    parked until a lead or admin resolves it. ``instance_id`` is NULL for a timer start (no instance exists)."""

    __tablename__ = "incident"
    id: int | None = Field(default=None, primary_key=True)
    instance_id: str | None = Field(default=None, index=True, max_length=36)
    process_key: str = Field(max_length=200)
    element_id: str | None = Field(default=None, max_length=200)
    job_kind: str = Field(max_length=20)  # timer | timer_start
    message: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int
    created_at: datetime = _utc(nullable=False)
    resolved_at: datetime | None = _utc(nullable=True)


class ExternalTask(SQLModel, table=True):
    """A service task of ``camunda:type="external"`` waiting for (or done by) an integrator's worker, which fetches
    and locks tasks by topic (Camunda's external-task pattern). id = SpiffWorkflow's task id. Status: open, locked
    (by ``worker_id`` until ``lock_expires_at``; expired = open again), completed, incident (retries ran out),
    cancelled (the instance moved on, failed or was cancelled)."""

    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_task_topic_status", "topic", "status"),)
    id: str = Field(primary_key=True, max_length=36)
    instance_id: str = Field(foreign_key="process_instance.id", index=True, max_length=36)
    process_key: str = Field(max_length=200)
    element_id: str = Field(max_length=200)
    name: str | None = Field(default=None, max_length=500)
    topic: str = Field(max_length=200)
    status: str = Field(max_length=20)
    worker_id: str | None = Field(default=None, max_length=200)
    lock_expires_at: datetime | None = _utc(nullable=True)
    retries: int | None = Field(default=None)  # None: no failure reported yet
    error_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error_details: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    retry_at: datetime | None = _utc(nullable=True)  # not fetched again before (a failure's retry timeout)
    priority: int = Field(default=0)
    created_at: datetime = _utc(nullable=False)
    incident_at: datetime | None = _utc(nullable=True)
    ended_at: datetime | None = _utc(nullable=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser of the web app. ``id``: SHA-256 of the random value its cookie carries (the value itself
    is never stored). Valid while ``revoked_at`` is NULL and ``expires_at`` is ahead; expired rows are purged on
    sign-in."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=200, index=True)
    name: str = Field(max_length=300)
    groups: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    roles: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    csrf: str = Field(max_length=64)
    created_at: datetime = _utc(nullable=False)
    last_seen_at: datetime = _utc(nullable=False)
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    revoked_at: datetime | None = _utc(nullable=True)


class StartupDeploy(SQLModel, table=True):
    """What deploy-on-start last deployed (or found deployed) from each folder of the processes folder: a folder whose
    files hash the same is skipped at the next start without being compiled."""

    __tablename__ = "startup_deploy"
    folder: str = Field(primary_key=True, max_length=300)
    content_hash: str = Field(max_length=64)
    deployed_at: datetime = _utc(nullable=False)


class Document(SQLModel, table=True):
    """A file attached to a case (``instance_id``) or to one of its tasks (``task_id``). The bytes are kept by the
    content store (engine/store/documents.py), addressed by ``sha256``. Deleting never removes anything: it sets
    ``deleted_*`` with the reason, and the bytes stay downloadable for the case history."""

    __tablename__ = "document"
    id: str = Field(primary_key=True, max_length=36)
    instance_id: str = Field(max_length=36, index=True)
    task_id: str | None = Field(default=None, max_length=36)
    name: str = Field(max_length=255)  # the uploaded file name, as sent (shown and used for the download)
    title: str = Field(max_length=500)
    content_type: str = Field(max_length=100)  # sniffed from the bytes, never the sender's claim
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    signature_count: int = 0  # digital signatures a PDF carries (read at upload; checked on request)
    added_by: str = Field(max_length=200)
    added_by_name: str = Field(default="", max_length=300)
    added_by_agencies: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    added_at: datetime = _utc(nullable=False)
    deleted_at: datetime | None = _utc(nullable=True)
    deleted_by: str | None = Field(default=None, max_length=200)
    deleted_by_name: str | None = Field(default=None, max_length=300)
    delete_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DocumentContent(SQLModel, table=True):
    """Document bytes by SHA-256, for the database content store (PHOIHOP_DOCUMENT_STORAGE=database): several
    servers share the files without a shared disk. The folder store leaves this table empty."""

    __tablename__ = "document_content"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
