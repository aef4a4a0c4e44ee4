"""The engine's composition root: database, catalog, sandbox, runtime, the command executor and its handlers, the
reads and the scheduler, wired in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from phoihop.engine.agencies import AgencyRegistry, default_registry
from phoihop.engine.clock import Clock, SystemClock
from phoihop.engine.commands.api_keys import ApiKeys
from phoihop.engine.commands.assignments import Assignments
from phoihop.engine.commands.calendar import CalendarService
from phoihop.engine.commands.comments import CommentCommands
from phoihop.engine.commands.decision_revisions import DecisionRevisions
from phoihop.engine.commands.decisions import Decisions
from phoihop.engine.commands.delegations import Delegations
from phoihop.engine.commands.deployments import DeploymentCommands
from phoihop.engine.commands.documents import DEFAULT_MAX_BYTES, DocumentCommands
from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.commands.external_tasks import ExternalTaskCommands
from phoihop.engine.commands.incidents import IncidentCommands
from phoihop.engine.commands.instances import InstanceCommands
from phoihop.engine.commands.jobs import DEFAULT_JOB_RETRIES, RetryPolicy
from phoihop.engine.commands.mail import MailDelivery, SmtpSettings
from phoihop.engine.commands.messages import MessageCommands, MessageDelivery
from phoihop.engine.commands.notifications import OFFICE_OPEN, NotificationCommands, NotificationJobs, Notifier
from phoihop.engine.commands.scheduler import TimerScheduler
from phoihop.engine.commands.task_flow import TaskFlowCommands
from phoihop.engine.commands.tasks import TaskCommands
from phoihop.engine.commands.timers import TimerCommands
from phoihop.engine.commands.versions import VersionCommands
from phoihop.engine.commands.web_sessions import WebSessions
from phoihop.engine.commands.webhooks import (
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TIMEOUT_SECONDS,
    WebhookDelivery,
    Webhooks,
)
from phoihop.engine.definitions.catalog import Deployment, DeploymentCache
from phoihop.engine.errors import StoreUnavailable
from phoihop.engine.execution.runtime import Runtime
from phoihop.engine.execution.sandbox import SandboxedScriptEngine
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.execution.sandbox_pool import ScriptPool, close_all, shared_pool
from phoihop.engine.execution.script_functions import DEFAULT_CONSULTATION_DAYS, DEFAULT_GREEN_LANE_CUT
from phoihop.engine.execution.workflow_cache import WorkflowCache
from phoihop.engine.instance_migration.commands import InstanceMigration
from phoihop.engine.model import SourceFile
from phoihop.engine.reads.audit import AuditReads
from phoihop.engine.reads.dashboard import Dashboard
from phoihop.engine.reads.definitions import DefinitionReads
from phoihop.engine.reads.documents import DocumentReads
from phoihop.engine.reads.external_tasks import ExternalTaskReads
from phoihop.engine.reads.instance_views import InstanceViews
from phoihop.engine.reads.instances import InstanceReads
from phoihop.engine.reads.metrics import MetricsReads
from phoihop.engine.reads.slips import SlipReads
from phoihop.engine.reads.tasks import TaskReads
from phoihop.engine.reads.versions import VersionReads
from phoihop.engine.reads.workload import WorkloadReads
from phoihop.engine.store import write_hooks
from phoihop.engine.store.database import DEFAULT_POOL_TIMEOUT, Database
from phoihop.engine.store.documents import ContentStore, DatabaseStore, FolderStore
from phoihop.engine.time.due_dates import DEFAULT_WARNING_RATIO

# Compiled deployments by content hash, shared by every engine of the process. A deployment is a pure function of its
# files here: build_engine always compiles with the default agency registry, the sandbox's checker and the default size
# bound, the one configuration a content-keyed cache may serve. One server builds one engine, so this changes nothing
# there; the tests build hundreds of engines over the same files and compile each set once.
COMPILED_DEPLOYMENTS = DeploymentCache()
SHIPPED_SLIP_FOLDER = Path(__file__).resolve().parent.parent / "processes"  # the package's processes (their slips)


@dataclass
class EngineContainer:
    """The engine as the API, the web app, the CLI and the tests use it: one command handler per concern around one
    executor, one read class per concern, the scheduler, and the collaborators they share."""

    db: Database
    clock: Clock
    agencies: AgencyRegistry
    executor: CommandExecutor
    deployments: DeploymentCommands
    versions: VersionCommands
    instances: InstanceCommands
    incidents: IncidentCommands
    tasks: TaskCommands
    task_flow: TaskFlowCommands  # send-back, drafts and a lead's approval
    messages: MessageCommands
    external_tasks: ExternalTaskCommands
    instance_migration: InstanceMigration
    timers: TimerCommands
    decisions: Decisions
    calendar: CalendarService
    api_keys: ApiKeys
    web_sessions: WebSessions
    documents: DocumentCommands
    document_reads: DocumentReads
    task_reads: TaskReads
    instance_reads: InstanceReads
    instance_views: InstanceViews
    definition_reads: DefinitionReads
    version_reads: VersionReads
    audit_reads: AuditReads
    external_task_reads: ExternalTaskReads
    dashboard: Dashboard
    metrics: MetricsReads
    webhooks: Webhooks
    webhook_delivery: WebhookDelivery  # run by the scheduler's loop
    scheduler: TimerScheduler
    comments: CommentCommands
    notifications: NotificationCommands
    notification_jobs: NotificationJobs
    mail: MailDelivery
    scripts: ScriptPool  # the script workers; shared by the engines of a process, ended by stop_script_workers()
    assignments: Assignments
    delegations: Delegations  # ủy quyền, and the directory of people
    workload_reads: WorkloadReads
    slip_reads: SlipReads

    def close(self) -> None:
        self.scheduler.stop()
        self.webhook_delivery.close()
        self.db.dispose()


def stop_script_workers() -> None:
    """End every script worker of this process (server stop; they also end at interpreter exit or when this process
    dies, as their input closes)."""
    close_all()


def build_engine(
    database_url: str,
    *,
    clock: Clock | None = None,
    script_cpu_seconds: float = 1.0,
    script_wall_seconds: float = 5.0,
    script_workers: int = 2,
    script_memory_mb: int = 512,
    cache_size: int = 2000,
    max_steps: int = 10_000,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    calendar_file: Path | None = None,
    calendar_cutoff: time | None = None,
    office_close: time = time(17, 0),
    green_lane_cut: float = DEFAULT_GREEN_LANE_CUT,
    consultation_days: int = DEFAULT_CONSULTATION_DAYS,
    warning_ratio: float = DEFAULT_WARNING_RATIO,
    job_retries: int = DEFAULT_JOB_RETRIES,
    deployments: DeploymentCache | None = None,
    document_storage: str | None = None,
    document_dir: Path | None = None,
    document_max_bytes: int = DEFAULT_MAX_BYTES,
    signature_trust_roots: Path | None = None,
    slip_folders: Sequence[Path] = (),
    smtp: SmtpSettings | None = None,
    public_url: str | None = None,
    webhook_max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    webhook_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    webhook_backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    webhook_lease_seconds: float | None = None,
) -> EngineContainer:
    """Build the engine on ``database_url``. ``deployments`` (compiled deployments by content hash, a pure function of
    the files) defaults to the process-wide COMPILED_DEPLOYMENTS; pass another to keep an engine's own. Scripts run in
    the process's shared pool of ``script_workers`` worker processes of ``script_memory_mb`` each, under
    ``script_cpu_seconds`` of CPU time and ``script_wall_seconds`` of wall clock each. Documents' bytes go
    to ``document_storage`` ("folder": under ``document_dir``; "database": the document_content table); the default
    is the database on PostgreSQL (servers share it) and the folder on SQLite (``var/documents`` beside the
    database file when ``document_dir`` is not given)."""
    clock = clock or SystemClock()
    db = Database(
        database_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        unavailable=StoreUnavailable.because,
    )
    agencies = default_registry()
    compiled = deployments if deployments is not None else COMPILED_DEPLOYMENTS

    def compile_files(files: Sequence[SourceFile]) -> Deployment:
        return compiled.get_or_compile(files, agencies=agencies, check=check_source)

    calendar = CalendarService(db, clock, file=calendar_file, cutoff=calendar_cutoff, office_close=office_close)
    scripts = shared_pool(script_workers, script_memory_mb)
    runtime = Runtime(
        SandboxedScriptEngine(cpu_seconds=script_cpu_seconds, wall_seconds=script_wall_seconds, pool=scripts),
        clock,
        max_steps=max_steps,
        calendar=calendar.current,
        green_lane_cut=green_lane_cut,
        consultation_days=consultation_days,
    )
    executor = CommandExecutor(
        db,
        runtime=runtime,
        compile_files=compile_files,
        clock=clock,
        publisher=MessageDelivery,
        cache=WorkflowCache(cache_size),
        warning_ratio=warning_ratio,
        end_commands=DecisionRevisions,
    )
    timers = TimerCommands(executor, RetryPolicy(job_retries))
    content = _content_store(db, document_storage, document_dir)
    # task, start forms and external tasks are read from the executor's compiled models (the same Form objects)
    instance_reads = InstanceReads(
        db, clock, warning_ratio=warning_ratio, models=executor.model, calendar=calendar.current
    )
    # notifications: one hook on what commands write, in their transaction; email from the outbox (smtp None: none)
    notifier = Notifier(agencies, email_enabled=smtp is not None, public_url=public_url)
    write_hooks.install(db.engine, notifier.on_write)
    mail = MailDelivery(db, clock, notifier, smtp)
    notification_jobs = NotificationJobs(
        db, clock, notifier, mail, calendar=calendar.current, office_hours=(OFFICE_OPEN, office_close)
    )
    webhook_delivery = WebhookDelivery(
        db,
        clock,
        max_attempts=webhook_max_attempts,
        timeout_seconds=webhook_timeout_seconds,
        backoff_seconds=webhook_backoff_seconds,
        lease_seconds=webhook_lease_seconds,
    )
    return EngineContainer(
        db=db,
        clock=clock,
        agencies=agencies,
        executor=executor,
        deployments=DeploymentCommands(executor),
        versions=VersionCommands(executor),
        instances=InstanceCommands(executor),
        incidents=IncidentCommands(executor),
        tasks=TaskCommands(executor),
        task_flow=TaskFlowCommands(executor),
        messages=MessageCommands(executor),
        external_tasks=ExternalTaskCommands(executor),
        instance_migration=InstanceMigration(executor),
        timers=timers,
        decisions=Decisions(db, runtime),
        calendar=calendar,
        api_keys=ApiKeys(db, clock),
        web_sessions=WebSessions(db, clock),
        documents=DocumentCommands(executor, content, max_bytes=document_max_bytes),
        document_reads=DocumentReads(db, content, trust_roots=signature_trust_roots),
        task_reads=TaskReads(db, clock, models=executor.model),
        instance_reads=instance_reads,
        instance_views=InstanceViews(db, instance_reads),
        definition_reads=DefinitionReads(db, models=executor.model),
        version_reads=VersionReads(db),
        audit_reads=AuditReads(db),
        external_task_reads=ExternalTaskReads(db, clock),
        dashboard=Dashboard(db, clock, agencies),
        metrics=MetricsReads(db, clock),
        scheduler=TimerScheduler(timers, clock, jobs=(notification_jobs.run_due,), webhooks=webhook_delivery),
        comments=CommentCommands(db, clock, agencies),
        notifications=NotificationCommands(db, clock),
        notification_jobs=notification_jobs,
        mail=mail,
        webhooks=Webhooks(db, clock),
        webhook_delivery=webhook_delivery,
        scripts=scripts,
        assignments=Assignments(executor),
        delegations=Delegations(db, clock),
        workload_reads=WorkloadReads(db, clock, agencies),
        # slip templates: <folder>/<process key>/slips/<kind>.docx, the configured processes first, then the shipped
        slip_reads=SlipReads(db, clock, agencies, instance_reads, (*slip_folders, SHIPPED_SLIP_FOLDER)),
    )


def _content_store(db: Database, storage: str | None, folder: Path | None) -> ContentStore:
    kind = storage or ("database" if db.engine.dialect.name == "postgresql" else "folder")
    if kind == "database":
        return DatabaseStore()
    if kind != "folder":
        raise ValueError(f"document storage must be 'folder' or 'database', not {kind!r}")
    if folder is None:
        database_file = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
        base = Path(database_file).parent if database_file and database_file != ":memory:" else Path("var")
        folder = base / "documents"
    return FolderStore(folder)


__all__ = ["COMPILED_DEPLOYMENTS", "EngineContainer", "build_engine", "stop_script_workers"]
