"""Every table, as SQLModel classes. Alembic migrations are generated from SQLModel.metadata.

Reading never deserializes a workflow: the inbox, task details, instance lists and history read these rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint, text
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
        Index("ix_process_instance_status_ended_at", "status", "ended_at"),  # the dashboard's month (cycle times)
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


_LIVE_PREDICATE = "status IN ('open', 'claimed', 'awaiting_approval')"  # engine/store/human_tasks.py LIVE_STATUSES


class HumanTask(SQLModel, table=True):
    """A user or manual task waiting for (or done by) a person. id = SpiffWorkflow's task id."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_assignee_status", "assignee", "status"),
        Index("ix_human_task_status_due", "status", "due_at"),
        Index("ix_human_task_completed_by", "completed_by", "status"),
        Index("ix_human_task_completed_at", "completed_at"),  # the dashboard's month (engine/store/dashboard.py)
        # the inbox's order over live tasks only (engine/store/human_tasks.py): history never enters it
        Index(
            "ix_human_task_live_order",
            "due_at",
            "created_at",
            "id",
            postgresql_where=text(_LIVE_PREDICATE),
            sqlite_where=text(_LIVE_PREDICATE),
        ),
        # the web inbox's filter counts (engine/store/inbox_choices.py): each visible live task's id probes it and
        # finds every column the counts test, without reading the row
        # the dashboard's open tasks (engine/store/dashboard.py): every column its figures read, in its GROUP BY's
        # order, over unfinished tasks only
        Index(
            "ix_human_task_open_figures",
            "completed_at",
            "process_key",
            "candidate_groups",
            "created_at",
            "status",
            "due_at",
            "warn_at",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
        Index(
            "ix_human_task_live_counts",
            "id",
            "status",
            "assignee",
            "process_key",
            "due_at",
            "warn_at",
            postgresql_where=text(_LIVE_PREDICATE),
            sqlite_where=text(_LIVE_PREDICATE),
        ),
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
    # an agency's tasks in a status from this index alone, in the inbox's order (engine/store/human_tasks.py)
    __table_args__ = (Index("ix_task_candidate_inbox", "kind", "value", "status", "due_at", "created_at", "task_id"),)
    task_id: str = Field(foreign_key="human_task.id", primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=10)  # "group" | "user"
    value: str = Field(primary_key=True, max_length=200)
    # the task's status, due and creation times, copied when written and kept by triggers when the task's status or
    # due time changes (migrations 0201, 0202)
    status: str | None = Field(default=None, max_length=20)
    due_at: datetime | None = _utc(nullable=True)
    created_at: datetime | None = _utc(nullable=True)


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
        Index("ix_audit_event_chain_seq", "chain_seq", unique=True),
        Index("ix_audit_event_instance_id_chain_seq", "instance_id", "chain_seq"),  # an instance's last sealed
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
    # the tamper-evident chain (engine/store/audit_chain.py): position in the global chain, then SHA-256 hex of the
    # event chained to the previous event of its instance and to the previous event of all; NULL until sealed
    chain_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    instance_hash: str | None = Field(default=None, max_length=64)
    chain_hash: str | None = Field(default=None, max_length=64)


class AuditChain(SQLModel, table=True):
    """The head of the global audit chain (one row, id 1): the last sealed position and its hash. Sealing locks this
    row (engine/store/audit_chain.py)."""

    __tablename__ = "audit_chain"
    id: int = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    head_hash: str = Field(max_length=64)


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
    """A job (a timer of an instance, a timer start event) whose retries ran out, or a script or expression step that
    failed (``job_kind`` "task", ``task_id`` its SpiffWorkflow task, left in state ERROR), as Camunda's incidents:
    parked until a lead or admin retries or skips it (engine/commands/incidents.py). ``instance_id`` is NULL for a
    timer start (no instance exists)."""

    __tablename__ = "incident"
    id: int | None = Field(default=None, primary_key=True)
    instance_id: str | None = Field(default=None, index=True, max_length=36)
    process_key: str = Field(max_length=200)
    element_id: str | None = Field(default=None, max_length=200)
    job_kind: str = Field(max_length=20)  # timer | timer_start | task
    message: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int
    created_at: datetime = _utc(nullable=False)
    resolved_at: datetime | None = _utc(nullable=True)
    task_id: str | None = Field(default=None, max_length=36)  # job_kind "task": the failed step


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


class Person(SQLModel, table=True):
    """Someone the system knows: written when they sign in to the web app or first use a bearer token (who they were
    then: name, agencies, roles), and for the demo users. The directory a lead assigns tasks to, a person delegates to
    and notifications are addressed from; ``groups`` are agency codes. ``email``: from the identity provider's
    ``email`` claim or set by the person on the preferences page."""

    __tablename__ = "person"
    id: str = Field(primary_key=True, max_length=200)
    name: str = Field(max_length=300)
    email: str | None = Field(default=None, max_length=320)
    groups: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    roles: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    email_mode: str = Field(default="immediate", max_length=20)  # immediate | digest | off (in-app is always on)
    first_seen_at: datetime = _utc(nullable=False)
    last_seen_at: datetime = _utc(nullable=False)


class Comment(SQLModel, table=True):
    """A comment on a case or one of its tasks, or a lead's instruction (ý kiến chỉ đạo / bút phê): plain text, never
    HTML. ``mentions``: the ``@user`` and ``@agency`` names found in it that the system knows, {"users", "agencies"}."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_instance_id_id", "instance_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    instance_id: str = Field(foreign_key="process_instance.id", max_length=36)
    task_id: str | None = Field(default=None, max_length=36)
    kind: str = Field(max_length=20)  # comment | instruction
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=200)
    author_name: str = Field(max_length=300)
    author_groups: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    mentions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonColumn, nullable=False))
    created_at: datetime = _utc(nullable=False)


class Delegation(SQLModel, table=True):
    """Ủy quyền: ``from_user_id`` lets ``to_user_id`` act with their agencies and roles from ``starts_at`` until
    ``ends_at`` (exclusive), unless revoked. ``from_groups``/``from_roles``: the delegator's at creation time."""

    __tablename__ = "delegation"
    __table_args__ = (Index("ix_delegation_to_user_ends", "to_user_id", "ends_at"),)
    id: int | None = Field(default=None, primary_key=True)
    from_user_id: str = Field(max_length=200, index=True)
    from_name: str = Field(max_length=300)
    from_groups: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    from_roles: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    to_user_id: str = Field(max_length=200)
    starts_at: datetime = _utc(nullable=False)
    ends_at: datetime = _utc(nullable=False)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _utc(nullable=False)
    revoked_at: datetime | None = _utc(nullable=True)
    revoked_by: str | None = Field(default=None, max_length=200)


class TaskReturn(SQLModel, table=True):
    """A send-back (trả lại): ``task_id`` (the task returned: cancelled by a send-back, or a draft sent back to its
    drafter) reopened as ``reopened_task_id`` (a new task on an earlier human step, or the draft's own task), with the
    lead's reason. The reopened task shows the latest row naming it."""

    __tablename__ = "task_return"
    id: int | None = Field(default=None, primary_key=True)
    instance_id: str = Field(foreign_key="process_instance.id", index=True, max_length=36)
    task_id: str = Field(max_length=36)
    element_id: str = Field(max_length=200)
    reopened_task_id: str = Field(max_length=36, index=True)
    reopened_element_id: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # send_back | draft_returned
    reason: str = Field(sa_column=Column(Text, nullable=False))
    returned_by: str = Field(max_length=200)
    returned_at: datetime = _utc(nullable=False)


class TaskDraft(SQLModel, table=True):
    """An officer's draft of a task that needs a lead's approval (property ``approval="lead"``): the form data it
    was completed with, kept while the task is ``awaiting_approval`` and after (what was approved or sent back)."""

    __tablename__ = "task_draft"
    task_id: str = Field(foreign_key="human_task.id", primary_key=True, max_length=36)
    instance_id: str = Field(foreign_key="process_instance.id", index=True, max_length=36)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonColumn, nullable=False))
    drafted_by: str = Field(max_length=200)
    drafted_at: datetime = _utc(nullable=False)


class Notification(SQLModel, table=True):
    """An in-app notification of one person, derived from an audit event (engine/commands/notifications.py).
    ``email_state``: None (no email), "queued" (an outbox row was written), "digest" (waits for the daily digest),
    "digested" (it went out in one)."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_recipient_id", "recipient", "id"),
        Index("ix_notification_email_state", "email_state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=200)
    kind: str = Field(max_length=30)  # task_new | task_assigned | task_returned | mention | due_soon | overdue
    instance_id: str | None = Field(default=None, max_length=36)
    task_id: str | None = Field(default=None, max_length=36)
    text_vi: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _utc(nullable=False)
    read_at: datetime | None = _utc(nullable=True)
    email_state: str | None = Field(default=None, max_length=20)


class DeadlineNotice(SQLModel, table=True):
    """A task's due-soon or overdue notifications were sent: once per task and kind, across workers."""

    __tablename__ = "deadline_notice"
    task_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=20)  # due_soon | overdue
    created_at: datetime = _utc(nullable=False)


class EmailOutbox(SQLModel, table=True):
    """An email to send, written in the transaction of the event it tells of; the delivery job claims rows (SKIP
    LOCKED on PostgreSQL, then a compare-and-set to "sending"), sends over SMTP outside any transaction and marks
    them sent, or pending again with an exponential backoff, or failed when the attempts run out. ``dedupe_key``:
    one daily digest per person and day."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=200)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=500)
    body: str = Field(sa_column=Column(Text, nullable=False))
    notification_id: int | None = Field(default=None)
    status: str = Field(max_length=20)  # pending | sending | sent | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _utc(nullable=False)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _utc(nullable=False)
    sent_at: datetime | None = _utc(nullable=True)
    dedupe_key: str | None = Field(default=None, max_length=300, unique=True)


class Webhook(SQLModel, table=True):
    """A subscription of an integrator's URL to engine events (engine/commands/webhooks.py). ``events``: the event
    types wanted (empty: all); ``process_key``: only that process's events (NULL: every process). ``secret`` signs
    each delivery (HMAC-SHA256), named by ``key_id`` in the request so a receiver can rotate keys. Deleting sets
    ``deleted_at``: its delivery log stays readable, its pending deliveries are no longer sent."""

    __tablename__ = "webhook"
    id: str = Field(primary_key=True, max_length=36)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_column=Column(JsonColumn, nullable=False))
    process_key: str | None = Field(default=None, max_length=200)
    secret: str = Field(max_length=100)
    key_id: str = Field(max_length=40)
    created_by: str = Field(max_length=200)
    created_at: datetime = _utc(nullable=False)
    deleted_at: datetime | None = _utc(nullable=True)


class OutboxEvent(SQLModel, table=True):
    """An engine event for webhooks, written in the transaction of the command that caused it (the outbox): it exists
    exactly when the command committed. Written only when a webhook wants it; its deliveries are webhook_delivery."""

    __tablename__ = "outbox_event"
    id: str = Field(primary_key=True, max_length=36)
    type: str = Field(max_length=40)
    occurred_at: datetime = _utc(nullable=False)
    instance_id: str | None = Field(default=None, max_length=36, index=True)
    process_key: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonColumn, nullable=False))


class WebhookDelivery(SQLModel, table=True):
    """One event to one webhook: ``pending`` (due at ``next_attempt_at``), ``delivered`` or ``dead`` (after the
    last try). A worker holds it while sending by a lease (``lease_until``, ``lease_token``); a worker that dies
    mid-delivery loses the lease and another sends it again (receivers de-duplicate by event id)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, index=True)
    webhook_id: str = Field(max_length=36, index=True)
    status: str = Field(max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = _utc(nullable=False)
    lease_until: datetime | None = _utc(nullable=True)
    lease_token: str | None = Field(default=None, max_length=36)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _utc(nullable=False)
    delivered_at: datetime | None = _utc(nullable=True)


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: one row per POST of a delivery (its answer's status code, or the error), and per replay."""

    __tablename__ = "webhook_attempt"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(index=True)
    at: datetime = _utc(nullable=False)
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_ms: int = 0


class DeadlineAnnouncement(SQLModel, table=True):
    """A task deadline event already written to the webhook outbox (``kind``: "warning" or "overdue"): each is sent
    once per task, whichever worker finds it first (engine/store/outbox.py ``announce_deadlines``)."""

    __tablename__ = "deadline_announcement"
    task_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=10)
    at: datetime = _utc(nullable=False)


class AuditGap(SQLModel, table=True):
    """Positions ``first_seq``..``last_seq`` of the global audit chain that retention purged (their instances were
    archived, engine/commands/retention.py), and the chain hash of the last of them: ``verify`` goes on from it
    (engine/store/audit_chain.py). Adjacent gaps are merged into one row."""

    __tablename__ = "audit_gap"
    first_seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    last_hash: str = Field(max_length=64)


class DashboardMonth(SQLModel, table=True):
    """The dashboard's figures of a past month (``YYYY-MM``, Hanoi time) kept before retention purges the rows they
    are counted from (engine/reads/dashboard.py reads them instead of counting)."""

    __tablename__ = "dashboard_month"
    month: str = Field(primary_key=True, max_length=7)
    figures: str = Field(sa_column=Column(Text, nullable=False))  # DashboardFigures as JSON
    taken_at: datetime = _utc(nullable=False)
