"""Request and response models (what travels), never table models. Response models read the engine's result
dataclasses by attribute (``from_attributes``)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Variables = dict[str, Any]
DeadlineState = Literal["on_time", "warning", "overdue", "early", "late"]
# PostgreSQL text cannot hold NUL (pydantic-core itself refuses lone surrogates in str fields)
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StartInstance(_In):
    process_key: Text = Field(min_length=1, max_length=200, description="Executable process id (khóa quy trình)")
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Exact version; latest active when omitted"
    )
    business_key: Text | None = Field(default=None, min_length=1, max_length=200)
    variables: Variables = Field(default_factory=dict)


class CompleteTask(_In):
    variables: Variables = Field(default_factory=dict)


class CancelInstance(_In):
    reason: Text | None = Field(default=None, max_length=2000)


class SendMessage(_In):
    name: Text = Field(min_length=1, max_length=200)
    business_key: Text | None = Field(default=None, max_length=200)
    correlation_keys: Variables | None = None
    variables: Variables = Field(default_factory=dict)
    all: bool = Field(default=False, description="deliver to every matching waiting instance (else exactly one)")


class FindingOut(_Out):
    """A "6 rõ" lint finding (engine.definitions.lint) on an element of the deployed files."""

    code: str = Field(
        description="lane-not-agency, no-documentation, no-due-date, due-date-invalid, no-form, "
        "dmn-no-default, dmn-feel, dmn-hit-policy, dmn-required-decision, camunda-ignored; "
        "from validation also invalid-bpmn (XML, schema, references, expressions), "
        "juel-unsupported, feel-unsupported, camunda-unsupported"
    )
    severity: Literal["warning", "error"] = Field(description="warning (deployed anyway) or error (refused)")
    file: str
    element_id: str | None
    element_name: str | None
    message_en: str
    message_vi: str
    line: int | None


class ValidationOut(_Out):
    """What deploying the files would say, without storing anything (``POST /process-definitions/validate``)."""

    valid: bool = Field(description="true when there is no error: deploying these files would succeed")
    errors: list[FindingOut] = Field(
        description="what refuses the deployment: XML, schema, references, expressions, "
        "Camunda constructs that cannot run, lint errors"
    )
    warnings: list[FindingOut] = Field(description='"6 rõ" gaps and ignored Camunda attributes: deployed anyway')


class DeployedOut(_Out):
    key: str
    version: int
    content_hash: str
    name: str | None
    created: bool
    warnings: list[FindingOut] = Field(
        default_factory=list, description='"6 rõ" findings of the deployment that did not block it'
    )
    default_version: int | None = Field(
        default=None,
        description="The key's explicit default version: starts "
        "naming no version still run on it (not on this one) until it is cleared",
    )
    kind: Literal["process", "decision"] = Field(
        default="process", description="decision: a DMN decision of a deployment of DMN files alone (key = decision id)"
    )


class DefinitionVersionOut(_Out):
    version: int
    name: str | None
    content_hash: str
    status: str
    deployed_by: str
    deployed_at: datetime


class DefinitionOut(_Out):
    key: str
    name: str | None
    latest_version: int
    versions: list[DefinitionVersionOut]


class StartFormOut(_Out):
    key: str
    version: int
    form: dict[str, Any] | None = Field(description="JSON Schema (2020-12) of the start variables; null: none")


class TaskOut(_Out):
    id: str
    instance_id: str
    process_key: str
    element_id: str
    name: str | None
    lane: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    status: str
    documentation: str | None
    form_key: str | None
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None
    warn_at: datetime | None = Field(default=None, description="From here the task is 'warning' (sắp đến hạn)")
    deadline_state: DeadlineState | None = Field(
        default=None, description="Open: on_time, warning, overdue; completed: early, on_time, late; else null"
    )
    required_role: str | None = Field(default=None, description="Only actors with this role claim and complete")


class TaskDetailOut(TaskOut):
    form: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema (2020-12) of the variables that complete the task, labels in Vietnamese; null: none",
    )


class DossierOut(_Out):
    code: str | None = Field(description="Mã hồ sơ <agency>-YYMMDD-NNNN (Thông tư 01/2018/TT-VPCP Điều 19)")
    status: int | None = Field(description="Trạng thái hồ sơ, 1–10 (national public-service portal)")
    status_name_vi: str | None
    status_name_en: str | None


class InstanceSummaryOut(_Out):
    id: str
    process_key: str
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    error: dict[str, Any] | None
    due_at: datetime | None = Field(default=None, description="The appointment date (variable appointment_at)")
    deadline_state: DeadlineState | None = None
    dossier: DossierOut | None = None


class IncidentOut(_Out):
    """An external task whose retries ran out: nobody fetches it until its retries are set again."""

    external_task_id: str
    element_id: str
    name: str | None
    topic: str
    error_message: str | None
    incident_at: datetime | None


class InstanceOut(InstanceSummaryOut):
    process_version: int | None
    variables: Variables
    open_tasks: list[TaskOut]
    incidents: list[IncidentOut] = Field(
        default_factory=list, description="External tasks out of retries (PUT .../retries resolves)"
    )


class HistoryEventOut(_Out):
    id: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    task_id: str | None
    data: dict[str, Any]


class PageOut(_Out):
    total: int
    limit: int
    offset: int


class TaskPage(PageOut):
    items: list[TaskOut]


class InstancePage(PageOut):
    items: list[InstanceSummaryOut]


class MessageDelivery(_Out):
    instance_id: str
    started: bool


class MessageOut(_Out):
    delivered: list[MessageDelivery]


class HealthOut(_Out):
    status: str
    database: str


# --- business calendar -----------------------------------------------------------------------------------------------
class CalendarDayOut(_Out):
    date: dt.date = Field(validation_alias="day")  # engine.time.calendar's DayOff and Override name it day
    name_vi: str
    name_en: str | None


class WorkingDaysOut(_Out):
    start: datetime = Field(description="The receipt moment, Hanoi time (a date is taken as 00:00 that day)")
    add: int = Field(description="Working days added")
    received_on: date = Field(description="The day deemed the day of receipt (after the cut-off and days off)")
    due_date: date
    due_at: datetime = Field(description="Office close of due_date, UTC")
    skipped: list[CalendarDayOut] = Field(description="Non-working days passed over, weekends included")


class CalendarYearOut(_Out):
    year: int
    days_off: list[CalendarDayOut] = Field(description="Holidays and days off by override (not plain weekends)")
    working_weekend_days: list[CalendarDayOut] = Field(description="Saturdays/Sundays worked (announced swaps)")


class CalendarOverrideIn(_In):
    working: bool = Field(description="true: a working day (a swapped Saturday); false: a day off")
    name_vi: Text = Field(min_length=1, max_length=300, description="Tên ngày, ví dụ: Nghỉ bù Tết Dương lịch")
    name_en: Text | None = Field(default=None, max_length=300)


class CalendarOverrideOut(_Out):
    date: dt.date = Field(validation_alias="day")  # engine.commands.calendar's CalendarOverride names it day
    working: bool
    name_vi: str
    name_en: str | None
    source: str = Field(description="api (set by an admin) or file (processes/calendar.toml)")
    updated_by: str
    updated_at: datetime


# --- external tasks (Camunda's external-task API, snake_case) ------------------------------------------------------
Milliseconds = Annotated[int, Field(ge=1, le=30 * 24 * 3600 * 1000, description="milliseconds")]
WorkerId = Annotated[Text, Field(min_length=1, max_length=200, description="the worker's id (workerId)")]


class FetchTopicIn(_In):
    topic: Text = Field(min_length=1, max_length=200, description="camunda:topic of the tasks (topicName)")
    lock_duration: Milliseconds = Field(description="how long the tasks stay locked for this worker, ms")
    variables: list[Text] | None = Field(
        default=None, max_length=1000, description="variable names to return; omitted: all"
    )


class FetchAndLockIn(_In):
    worker_id: WorkerId
    max_tasks: int = Field(default=10, ge=1, le=100)
    use_priority: bool = Field(default=False, description="highest camunda:taskPriority first (else oldest first)")
    topics: list[FetchTopicIn] = Field(min_length=1, max_length=100)


class CompleteExternalTaskIn(_In):
    worker_id: WorkerId
    variables: Variables = Field(default_factory=dict)


class ExternalTaskFailureIn(_In):
    worker_id: WorkerId
    error_message: Text | None = Field(default=None, max_length=2000)
    error_details: Text | None = Field(default=None, max_length=100_000)
    retries: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="retries left; 0 makes an incident; omitted: one fewer than before",
    )
    retry_timeout: int = Field(
        default=0, ge=0, le=30 * 24 * 3600 * 1000, description="ms before the task can be fetched again"
    )


class ExternalTaskBpmnErrorIn(_In):
    worker_id: WorkerId
    error_code: Text = Field(
        min_length=1,
        max_length=200,
        description="errorCode of a bpmn:error caught by an error boundary event on the task",
    )
    error_message: Text | None = Field(default=None, max_length=2000)
    variables: Variables = Field(default_factory=dict)


class ExtendLockIn(_In):
    worker_id: WorkerId
    new_duration: Milliseconds = Field(description="the lock now ends this many ms from now")


class SetRetriesIn(_In):
    retries: int = Field(ge=0, le=2**31 - 1, description="> 0 resolves an incident; 0 makes one")


class ExternalTaskOut(_Out):
    id: str
    instance_id: str
    process_key: str
    business_key: str | None
    element_id: str
    name: str | None
    topic: str
    status: Literal["open", "locked", "completed", "incident", "cancelled"] = Field(
        description="an expired lock reads as open"
    )
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None = Field(description="null until a failure is reported")
    error_message: str | None
    retry_at: datetime | None = Field(description="not fetched before (retry timeout of the last failure)")
    priority: int
    created_at: datetime
    incident_at: datetime | None
    ended_at: datetime | None


class ExternalTaskDetailOut(ExternalTaskOut):
    error_details: str | None


class LockedExternalTaskOut(ExternalTaskOut):
    variables: Variables = Field(description="the instance's variables (only those named, if the topic named some)")


class ExternalTaskPage(PageOut):
    items: list[ExternalTaskOut]


# --- process definition versions and their audit trail ---------------------------------------------------------------
class VersionOut(_Out):
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


class VersionFileOut(_Out):
    name: str
    kind: Literal["bpmn", "dmn", "form", "other"]
    media_type: str
    size: int = Field(description="bytes (UTF-8)")


class VersionDetailOut(VersionOut):
    files: list[VersionFileOut]


class VersionStatusIn(_In):
    reason: Text | None = Field(default=None, max_length=2000, description="Kept in the audit trail")


class DefaultVersionIn(_In):
    version: int = Field(ge=1, le=2**31 - 1)


class DefaultVersionOut(_Out):
    key: str
    version: int | None = Field(description="The version starts naming none get; null: every version is suspended")
    explicit: bool = Field(
        description="true: chosen with PUT default-version (it stays until DELETE); false: the latest active version"
    )
    set_by: str | None
    set_at: datetime | None


class DiffElementOut(_Out):
    element_id: str
    type: str = Field(description="BPMN element: userTask, sequenceFlow, lane, boundaryEvent, exclusiveGateway, ...")
    name: str | None
    lane: str | None = Field(description="The lane's name (an agency) of a flow node")


class FieldChangeOut(_Out):
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


class FileChangesOut(_Out):
    added: list[str]
    removed: list[str]
    changed: list[str]


class DiffSummaryOut(_Out):
    added: int
    removed: int
    changed: int


class DefinitionDiffOut(_Out):
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


class AuditEventOut(_Out):
    id: int
    at: datetime
    actor: str
    kind: str = Field(
        description="deployed, version_suspended, version_activated, default_version_set, "
        "default_version_cleared (with process_key), calendar_changed, ..."
    )
    process_key: str | None = Field(description="The process key a definition event is about")
    data: dict[str, Any] = Field(description="before and after values, version, change_note or reason, ...")


class AuditPage(PageOut):
    items: list[AuditEventOut]


# --- decisions (DMN) ------------------------------------------------------------------------------------------------
class EvaluateDecision(_In):
    inputs: Variables = Field(default_factory=dict, description="Values of the variables the table reads")


class DecisionInputOut(_Out):
    id: str
    label: str | None
    expression: str | None = Field(description="Python expression of the input (None: the variable named by label)")
    type_ref: str | None


class DecisionOutputOut(_Out):
    id: str
    name: str = Field(description="The variable a business rule task sets")
    label: str | None
    type_ref: str | None


class DecisionRuleOut(_Out):
    id: str
    index: int = Field(description="Row number, from 1")
    annotation: str | None
    input_entries: list[str | None] = Field(description="Python cells; None matches anything ('-')")
    output_entries: list[str | None]


class ProcessVersionRef(_Out):
    key: str
    version: int


class DecisionOut(_Out):
    id: str = Field(description="The DMN decision id: the key of the decision")
    name: str | None
    file: str
    hit_policy: str
    inputs: list[DecisionInputOut]
    outputs: list[DecisionOutputOut]
    variables: list[str] = Field(description="Variables the input expressions read: the inputs to give")
    rule_count: int
    version: int = Field(description="Decision version: a new one each time a deployment changes the table")
    deployment_id: int
    deployed_at: datetime
    deployed_by: str
    processes: list[ProcessVersionRef] = Field(description="Process versions deployed together with this version")
    engine: Literal["python"] = Field(description="DMN cells are Python expressions, not FEEL")
    rules: list[DecisionRuleOut] | None = None


class DecisionRefOut(_Out):
    id: str
    name: str | None
    hit_policy: str
    version: int
    file: str


class DecisionMatchOut(_Out):
    rule_id: str
    index: int = Field(description="Row number, from 1")
    annotation: str | None = Field(description="The rule's description")
    outputs: dict[str, Any] | None = Field(description="The rule's outputs (None: failed in a rule outside the result)")
    in_result: bool = Field(
        description="Whether these outputs are in the result (every match for COLLECT, else the first)"
    )


class DecisionNoteOut(_Out):
    code: str = Field(description="no-match, unique-overlap, unused-inputs, unreached-cell-fails")
    detail: str
    detail_vi: str


class DecisionEvaluationOut(_Out):
    decision: DecisionRefOut
    matched: list[DecisionMatchOut]
    outputs: dict[str, Any] = Field(
        description="What a business rule task calling the decision adds to its data: "
        "the first match's outputs, or for COLLECT each output as a list"
    )
    notes: list[DecisionNoteOut]
    engine: Literal["python"] = Field(description="DMN cells are Python expressions, not FEEL")


# --- migrating running instances (engine/instance_migration/commands.py)-----------------------------------------------
ElementId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
InstanceStatus = Literal["running", "completed", "cancelled", "error"]


class MigrationPlanIn(_In):
    process_key: Text = Field(min_length=1, max_length=200, description="Executable process id")
    from_version: int = Field(ge=1, le=2**31 - 1, description="The version the instances run on now")
    to_version: int = Field(ge=1, le=2**31 - 1, description="The version to move them to")
    mapping: dict[ElementId, ElementId] = Field(
        default_factory=dict,
        max_length=2000,
        description="Element id of from_version → element id of to_version, where ids changed; other elements "
        "map to the same id",
    )


def _running_only() -> list[InstanceStatus]:
    return ["running"]


class MigrationFilterIn(_In):
    statuses: list[InstanceStatus] = Field(
        default_factory=_running_only,
        max_length=4,
        description="Only running instances move; others are listed as refused",
    )
    business_keys: list[Text] = Field(default_factory=list, max_length=1000)
    instance_ids: list[Text] = Field(default_factory=list, max_length=1000)


class MigrationDryRunIn(MigrationPlanIn):
    filter: MigrationFilterIn = Field(default_factory=MigrationFilterIn)
    limit: int = Field(default=100, ge=1, le=1000, description="Instances examined at most (oldest first)")


class MigrationExecuteIn(MigrationPlanIn):
    instance_ids: list[Text] = Field(min_length=1, max_length=500, description="Exactly the instances to move")


class MigrationReasonOut(_Out):
    code: str = Field(
        description="element-removed, element-kind-changed, variable-missing, history-not-mappable, "
        "boundary-events-added, boundary-events-removed, subprocess-not-mappable, "
        "loop-in-progress, instance-not-running, not-on-source-version, "
        "instance-not-found, filtered-out, settle-error, rebuild-failed, "
        "task-not-buildable, migration-failed; notes: boundary-event-not-started"
    )
    element_id: str | None
    message_en: str
    message_vi: str
    blocking: bool = Field(description="False for a note: told, but the instance still moves")


class MigrationTaskOut(_Out):
    task_id: str
    outcome: Literal["kept", "closed", "opened", "blocked"] = Field(
        description="kept: the same task on its target element; closed: cancelled by the move; opened: a task the "
        "move opens; blocked: the instance cannot move"
    )
    element_from: str | None
    element_to: str | None
    name_before: str | None
    name_after: str | None
    status: str = Field(description="open or claimed")
    assignee: str | None
    assignee_kept: bool
    lane_before: str | None
    lane_after: str | None
    candidate_groups_before: list[str]
    candidate_groups_after: list[str] | None
    candidate_users_before: list[str]
    candidate_users_after: list[str] | None
    form_key_before: str | None
    form_key_after: str | None
    due_at_before: datetime | None
    due_at_after: datetime | None = Field(description="Kept: a step's due time is the one given when it began")
    due_date_rule_before: str | None = Field(description="camunda:dueDate of the source element")
    due_date_rule_after: str | None = Field(description="camunda:dueDate of the target: for steps reached later")


class MigrationTimerOut(_Out):
    task_id: str
    outcome: Literal["kept", "cancelled", "started", "blocked"]
    element_from: str | None
    element_to: str | None
    due_at_before: datetime | None
    due_at_after: datetime | None


class MigrationInstanceOut(_Out):
    instance_id: str
    business_key: str | None
    status: str | None
    migratable: bool
    reasons: list[MigrationReasonOut]
    notes: list[MigrationReasonOut]
    tasks: list[MigrationTaskOut]
    timers: list[MigrationTimerOut]


class MigrationDryRunSummaryOut(_Out):
    listed: int
    migratable: int
    not_migratable: int


class MigrationDryRunOut(_Out):
    process_key: str
    from_version: int
    to_version: int
    mapping: dict[str, str]
    instances: list[MigrationInstanceOut]
    total: int = Field(description="Instances the filter selects (at most `limit` are examined)")
    summary: MigrationDryRunSummaryOut


class MigrationResultOut(_Out):
    instance_id: str
    business_key: str | None
    status: Literal["migrated", "refused", "failed"]
    migrated: bool
    reasons: list[MigrationReasonOut]
    notes: list[MigrationReasonOut]
    tasks: list[MigrationTaskOut]
    timers: list[MigrationTimerOut]


class MigrationExecuteSummaryOut(_Out):
    migrated: int
    refused: int
    failed: int


class MigrationExecuteOut(_Out):
    process_key: str
    from_version: int
    to_version: int
    mapping: dict[str, str]
    results: list[MigrationResultOut]
    summary: MigrationExecuteSummaryOut


# --- dashboard (Điều 23.4; engine/reads/dashboard.py)------------------------------------------------------------------
class TaskFiguresOut(_Out):
    open: int = Field(description="Human tasks open at `as_of` (the end of the month, or now)")
    warning: int = Field(description="Of those, past 75 % of their time limit but not overdue (sắp đến hạn)")
    overdue: int = Field(description="Of those, past their due time (quá hạn)")
    completed: int = Field(description="Tasks completed in the month")
    on_time: int = Field(description="Completed at or before their due time")
    late: int = Field(description="Completed after their due time")
    no_deadline: int = Field(description="Completed, without a due time")


class DashboardTotalsOut(TaskFiguresOut):
    instances_completed: int = Field(description="Instances completed in the month")
    median_cycle_seconds: float | None = Field(description="Median of ended_at − started_at of those instances")


class DashboardAgencyOut(TaskFiguresOut):
    agency: str | None = Field(description="Agency code (a candidate group); null: tasks offered to named users only")
    name_vi: str
    name_en: str


class DashboardProcessOut(TaskFiguresOut):
    process_key: str
    name: str
    instances_completed: int
    median_cycle_seconds: float | None = Field(
        description="Median of ended_at − started_at of the instances of this process completed in the month"
    )


class ReportAgencyOut(_Out):
    agency: str | None
    name_vi: str
    name_en: str
    status: Literal["on_time", "late", "missing"] = Field(description="missing: not submitted (yet)")
    on_time: int
    late: int
    missing: int
    submitted_at: datetime | None
    due_at: datetime | None


class MonthlyReportsOut(_Out):
    process_key: str
    period: str = Field(
        description="The reported month (YYYY-MM): the month before the dashboard's month, whose "
        "reports are due before the 5th of the dashboard's month (Điều 23.3)"
    )
    due_at: datetime | None
    deadline_passed: bool
    on_time: int
    late: int
    missing: int
    agencies: list[ReportAgencyOut]


class DashboardOut(_Out):
    month: str = Field(description="YYYY-MM, a calendar month in Hanoi time")
    start: datetime
    end: datetime
    as_of: datetime = Field(description="Open and overdue are counted at this moment: the month's end, or now")
    current: bool = Field(description="The month is the current one")
    totals: DashboardTotalsOut
    agencies: list[DashboardAgencyOut]
    processes: list[DashboardProcessOut]
    monthly_reports: MonthlyReportsOut
