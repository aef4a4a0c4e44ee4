"""The command executor: what every command runs through, as Camunda 7's ``CommandExecutor`` runs each command
through the same interceptors.

``transaction()`` is one unit of work (one database transaction, one clock reading). Inside it a handler locks the
instance (``lock``), and ``advance`` does the rest: load the workflow (free from the live-object cache when the stored
version has not moved), run one action on it, save tasks, timers, subscriptions, task records, the instance row and
audit in the same transaction, publish the messages the instance threw and did not catch (the ``Publisher`` given at
construction: engine.commands.messages.MessageDelivery), and hand the live workflow to the cache once the
transaction commits.

Handlers (deployments, instances, tasks, messages, external tasks, timers, versions, instance migration) hold one
executor each and never inherit from it: every command that moves an instance, whoever runs it, publishes the same
way. The calendar and API-key commands touch no instance and open the same unit of work (store/unit_of_work.py)
directly.
"""

from __future__ import annotations

import copy
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

import orjson
from sqlalchemy import Connection

from phoihop.engine.clock import Clock
from phoihop.engine.commands.consultations import tacit_consent_events
from phoihop.engine.commands.portal_status import dossier_status_events, task_created_event
from phoihop.engine.definitions.catalog import Deployment, ProcessModel
from phoihop.engine.definitions.end_commands import EndCommand
from phoihop.engine.definitions.human_tasks import UserTaskModel
from phoihop.engine.dossier import (
    AGENCY_CODE_PROPERTY,
    check_agency_code,
    format_dossier_code,
    new_lookup_secret,
    receipt_day,
)
from phoihop.engine.errors import ConcurrentUpdate, DefinitionNotFound, InstanceNotFound, InvalidDefinition, ScriptError
from phoihop.engine.execution.external_task_spec import waiting_rows
from phoihop.engine.execution.outcomes import RunOutcome, Snapshot, ThrownMessage
from phoihop.engine.execution.runtime import Runtime
from phoihop.engine.execution.serializer import SERIALIZER_VERSION, StateSerializer
from phoihop.engine.execution.workflow_cache import LiveWorkflow, WorkflowCache
from phoihop.engine.model import ADMIN_ONLY, Actor, SourceFile
from phoihop.engine.reads.views import InstanceStatus
from phoihop.engine.search_text import task_search_text
from phoihop.engine.store import external_tasks as external_store
from phoihop.engine.store import jobs as job_store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database
from phoihop.engine.store.unit_of_work import UnitOfWork, unit_of_work
from phoihop.engine.time.due_dates import DEFAULT_WARNING_RATIO, resolve_due, warning_time

log = logging.getLogger("phoihop.command")


@dataclass(frozen=True)
class CommandResult:
    """Where a command left the instance: its status and the human tasks open now."""

    instance_id: str
    status: InstanceStatus
    open_tasks: tuple[str, ...]
    # the ``human_task`` rows this command inserted, as written (no read-back): a caller answering with the next
    # tasks (POST /api/v1/tasks/{id}/complete) needs no further query when they are all the open ones
    opened: tuple[Mapping[str, Any], ...] = field(default=(), kw_only=True, compare=False, repr=False)


class Publisher(Protocol):
    """Delivers, in the command's own transaction, the messages an instance threw that nothing inside it caught."""

    def publish(self, uow: UnitOfWork, head: Mapping[str, Any], thrown: list[ThrownMessage]) -> None: ...


class EndCommandRunner(Protocol):
    """Runs the engine command of an end event (engine.definitions.end_commands) in the command's own transaction;
    returns the kind and data of the audit event recorded on the instance."""

    def run(
        self,
        uow: UnitOfWork,
        head: Mapping[str, Any],
        command: EndCommand,
        variables: Mapping[str, Any],
        actor: Actor,
    ) -> tuple[str, dict[str, Any]]: ...


class CommandExecutor:
    """Lock → load → run → save → publish, one transaction. Store calls go through ``repo.X`` at call time, so a test
    that patches ``repository.X`` reaches them."""

    def __init__(
        self,
        db: Database,
        *,
        runtime: Runtime,
        compile_files: Callable[[Sequence[SourceFile]], Deployment],
        clock: Clock,
        publisher: Callable[[CommandExecutor], Publisher],
        cache: WorkflowCache | None = None,
        warning_ratio: float = DEFAULT_WARNING_RATIO,
        end_commands: Callable[[CommandExecutor], EndCommandRunner] | None = None,
    ) -> None:
        """``publisher`` builds the message publisher around this executor (it delivers through it); ``end_commands``
        the runner of the end events' engine commands (engine.commands.decision_revisions), built the same way."""
        self.db = db
        self.warning_ratio = warning_ratio
        self.runtime = runtime
        self.compile_files = compile_files
        self.clock = clock
        self.serializer = StateSerializer()
        self.cache = cache if cache is not None else WorkflowCache()
        self._models: dict[int, ProcessModel] = {}
        self.fail_before_commit: Callable[[], None] | None = None  # test hook (crash consistency)
        # told each command's name, outcome ("ok" | "error") and seconds (the app's metrics); None: nobody
        self.observer: Callable[[str, str, float], None] | None = None
        self.publisher = publisher(self)
        self.end_commands = end_commands(self) if end_commands is not None else None

    def transaction(self, *, write: bool = True) -> AbstractContextManager[UnitOfWork]:
        """One command's unit of work: commit once at the end, roll back everything on any exception. The command is
        named after the handler method that opened it (``TaskCommands.complete``): its duration and outcome go to one
        log line and to ``observer`` (the app's latency histogram, phoihop/observability.py)."""
        name = sys._getframe(1).f_code.co_qualname
        work = unit_of_work(self.db, self.clock.now, write=write, fail_before_commit=self.fail_before_commit)
        return self._observed(name, work, logging.INFO if write else logging.DEBUG)

    @contextmanager
    def _observed(self, name: str, work: AbstractContextManager[UnitOfWork], level: int) -> Iterator[UnitOfWork]:
        """Time the command; its log line is INFO for a write, DEBUG for a read-only look (the scheduler asks what is
        due twice a second) unless it failed."""
        started = time.perf_counter()
        outcome = "error"
        try:
            with work as uow:
                yield uow
            outcome = "ok"
        finally:
            seconds = time.perf_counter() - started
            log.log(
                level if outcome == "ok" else logging.INFO,
                "command %s %s in %.1f ms",
                name,
                outcome,
                seconds * 1000,
                extra={"command": name, "outcome": outcome, "duration_ms": round(seconds * 1000, 2)},
            )
            if self.observer is not None:
                self.observer(name, outcome, seconds)

    def model(self, conn: Connection, definition_id: int) -> ProcessModel:
        model = self._models.get(definition_id)
        if model is None:
            definition = repo.definition_by_id(conn, definition_id)
            if definition is None:
                raise DefinitionNotFound(
                    f"definition {definition_id} not found", detail_vi=f"Không tìm thấy định nghĩa {definition_id}"
                )
            files = [
                SourceFile(f["name"], f["content"].encode("utf-8"))
                for f in repo.deployment_files(conn, definition["deployment_id"])
            ]
            deployment = self.compile_files(files)
            model = next(p for p in deployment.processes if p.key == definition["key"])
            self._models[definition_id] = model
        return model

    def lock(self, conn: Connection, instance_id: str) -> repo.Row:
        head = repo.lock_instance_head(conn, instance_id)
        if head is None:
            raise InstanceNotFound.of(instance_id)
        return head

    def advance(
        self,
        uow: UnitOfWork,
        head: Mapping[str, Any],
        action: Callable[[Any], RunOutcome],
        actor: Actor,
        audit: dict[str, Any],
        *,
        completed_task: str | None = None,
        gone_status: str = "cancelled",
        opened: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> CommandResult:
        """Load, run ``action``, save. ``gone_status``: how the human tasks the action removed are closed (a send-back
        closes them as "returned"); ``opened``: fields of the new human tasks' rows to set, by task id (a send-back's
        remaining time)."""
        model = self.model(uow.conn, head["definition_id"])
        prior = self.cache.take(head["id"], head["version"]) or self.load(uow.conn, head, model)
        # a timer that failed is fired by its own job only (engine/commands/jobs.py)
        held = frozenset(repo.held_timers(uow.conn, head["id"])) if prior.timers else frozenset()
        with self.runtime.holding_timers(held):
            outcome = action(prior.workflow)
        return self.save(
            uow,
            head,
            model,
            prior.workflow,
            outcome,
            prior,
            actor,
            audit,
            completed_task=completed_task,
            gone_status=gone_status,
            opened=opened,
        )

    def load(self, conn: Connection, head: Mapping[str, Any], model: ProcessModel) -> LiveWorkflow:
        """The instance as stored (never the cached object): its workflow on ``model``'s spec, and the rows a save
        compares with to write only what changed."""
        instance_id = head["id"]
        meta, _ = repo.instance_state(conn, instance_id)
        records = repo.task_records(conn, instance_id)
        workflow = self.serializer.loads_split(
            meta, [(t, b) for t, _, b in records], model.spec, model.subprocess_specs
        )
        self.runtime.attach(workflow, {t: seq for t, seq, _ in records})
        return LiveWorkflow(
            head["version"],
            workflow,
            frozenset(repo.open_task_ids(conn, instance_id)),
            tuple((t["element_id"], t["task_id"], t["due_at"]) for t in repo.instance_timers(conn, instance_id)),
            tuple(
                (m["message_name"], orjson.dumps(m["correlations"]).decode())
                for m in repo.instance_subscriptions(conn, instance_id)
            ),
            repo.instance_variables(conn, instance_id),
        )

    def new_dossier_code(self, uow: UnitOfWork, model: ProcessModel) -> str | None:
        """A dossier code for a new instance when the process has ``dossierAgencyCode`` (engine/dossier.py): the
        next number of the receipt day (Hanoi time), taken in this command's transaction. None otherwise."""
        agency_code = model.properties.get(AGENCY_CODE_PROPERTY)
        if not agency_code:
            return None
        try:
            check_agency_code(agency_code)
        except ValueError as exc:
            reason_vi = f"mã cơ quan {agency_code!r} (dossierAgencyCode) không hợp lệ, ví dụ đúng: 000.00.25.H26"
            raise InvalidDefinition(
                f"process {model.key!r}: {exc}",
                detail_vi=f"Quy trình {model.key!r}: {reason_vi}",
                problems=[{"element_id": model.key, "reason": str(exc), "reason_vi": reason_vi}],
            ) from None
        day = receipt_day(uow.now)
        return format_dossier_code(agency_code, day, repo.next_dossier_number(uow.conn, agency_code, f"{day:%y%m%d}"))

    def save_new(
        self,
        uow: UnitOfWork,
        instance_id: str,
        definition: Mapping[str, Any],
        business_key: str | None,
        model: ProcessModel,
        workflow: Any,
        outcome: RunOutcome,
        actor: Actor,
        started: dict[str, Any],
        *,
        dossier_code: str | None = None,
    ) -> CommandResult:
        """Insert a just-started instance's row, then save it like any command (``started``: the audit data)."""
        repo.insert_instance(
            uow.conn,
            id=instance_id,
            definition_id=definition["id"],
            process_key=definition["key"],
            business_key=business_key,
            status="running",
            state="{}",
            serializer_version=SERIALIZER_VERSION,
            version=0,
            variables={},
            error=None,
            started_by=actor.id,
            started_at=uow.now,
            dossier_code=dossier_code,
            lookup_secret=new_lookup_secret() if dossier_code is not None else None,  # printed on the receipt
        )
        head = {"id": instance_id, "version": 0, "business_key": business_key, "process_key": definition["key"]}
        if dossier_code is not None:
            started = {**started, "dossier_code": dossier_code}
        audit = {"kind": "instance_started", "data": {**started, "version": definition["version"]}}
        return self.save(uow, head, model, workflow, outcome, None, actor, audit)

    def save(
        self,
        uow: UnitOfWork,
        head: Mapping[str, Any],
        model: ProcessModel,
        workflow: Any,
        outcome: RunOutcome,
        prior: LiveWorkflow | None,
        actor: Actor,
        audit: dict[str, Any],
        *,
        completed_task: str | None = None,
        gone_status: str = "cancelled",
        opened: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> CommandResult:
        conn, now, instance_id = uow.conn, uow.now, head["id"]
        snapshot: Snapshot = self.runtime.snapshot(workflow, outcome)
        prior_tasks = prior.open_tasks if prior is not None else frozenset()
        new_tasks = [tid for tid in snapshot.open_tasks if tid not in prior_tasks]
        rows = [
            self.task_row(
                instance_id,
                head["process_key"],
                tid,
                model.user_tasks.get(snapshot.open_tasks[tid]),
                snapshot.open_tasks[tid],
                now,
                workflow,
            )
            for tid in new_tasks
        ]
        for row in rows:  # what the inbox search finds it by (engine/search_text.py)
            row.update((opened or {}).get(row["id"], {}))
            row["search_text"] = task_search_text(
                row["name"], head["business_key"], self.runtime.task_data(workflow, row["id"])
            )
        repo.insert_human_tasks(conn, rows)
        gone = [tid for tid in prior_tasks if tid not in snapshot.open_tasks and tid != completed_task]
        repo.close_tasks(conn, gone, status=gone_status, at=now)
        timers = tuple((t.element_id, t.task_id, t.due_at) for t in snapshot.timers)
        if timers != (prior.timers if prior is not None else ()):  # a new instance has no rows yet
            parked_gone = repo.replace_timers(
                conn,
                instance_id,
                [{"task_id": t.task_id, "element_id": t.element_id, "due_at": t.due_at} for t in snapshot.timers],
            )
            job_store.resolve_incidents(conn, parked_gone, now)  # their timers are gone: nothing left to retry
        messages = tuple((m.name, self.serializer.to_json_text(m.correlations)) for m in snapshot.messages)
        if messages != (prior.messages if prior is not None else ()):
            repo.replace_subscriptions(
                conn,
                instance_id,
                [
                    {"message_name": name, "business_key": head["business_key"], "correlations": orjson.loads(c)}
                    for name, c in messages
                ],
            )
        # a process with external tasks: their rows for workers (engine/commands/external_tasks.py). A step that
        # failed as an incident holds only its own branch: the others' external tasks stay fetchable, and their rows
        # (an external task's own incident, retries 0, among them) stay as they are
        waiting = waiting_rows(model.spec, model.subprocess_specs, workflow, waits=snapshot.waits)
        if waiting is not None:
            external_store.sync_instance(conn, instance_id, head["process_key"], waiting, now)
        status, error, incident_events = self.record_incidents(uow, head, workflow, snapshot)
        finished = status in ("completed", "error", "incident")  # not kept in the cache: the next command reloads
        # a new instance starts from its start variables (copied: the caller's objects are not ours to keep)
        previous = prior.variables if prior is not None else copy.deepcopy(dict(workflow.task_tree.data))
        merged = self.runtime.merge_variables(workflow, previous, snapshot.steps)
        variables = self.serializer.to_json_text(merged)
        changed, removed = self.runtime.changes(workflow)
        repo.write_task_records(
            conn, instance_id, [(str(t.id), seq, self.serializer.dumps_task(t)) for t, seq in changed], removed
        )
        if not repo.save_instance(
            conn,
            instance_id,
            head["version"],
            state=self.serializer.dumps_meta(workflow),
            status=status,
            variables=variables,
            error=error,
            ended_at=now if snapshot.status == "completed" else None,
        ):
            raise ConcurrentUpdate(
                f"instance {instance_id} moved during the command",
                detail_vi="Hồ sơ vừa được cập nhật bởi yêu cầu khác",
                instance_id=instance_id,
            )
        events = [
            {"instance_id": instance_id, "at": now, "actor": actor.id, "element_id": None, "task_id": None, **audit}
        ]
        events += [
            {
                "instance_id": instance_id,
                "at": now,
                "actor": "system",
                "kind": "element_completed",
                "element_id": s.element_id,
                "task_id": s.task_id,
                "data": {"name": s.name, "type": s.kind},
            }
            for s in snapshot.steps
            if s.kind != "human_task"
        ]
        events += tacit_consent_events(model, snapshot.steps, instance_id, now)  # "cho ý kiến" ended by silence
        events += incident_events
        if snapshot.error is not None:  # a failure in this command (a fatal one, or a new incident)
            events.append(
                {
                    "instance_id": instance_id,
                    "at": now,
                    "actor": "system",
                    "kind": "instance_error",
                    "element_id": (snapshot.error or {}).get("element_id"),
                    "task_id": None,
                    "data": snapshot.error or {},
                }
            )
        elif snapshot.status == "completed":
            events.append(
                {
                    "instance_id": instance_id,
                    "at": now,
                    "actor": "system",
                    "kind": "instance_completed",
                    "element_id": None,
                    "task_id": None,
                    "data": {},
                }
            )
        if snapshot.status != "error" or snapshot.incidents:  # a fatal failure keeps nothing of the end events
            events += self.run_end_commands(uow, head, model, snapshot.steps, merged, actor)
        # webhook events beside the audit's (engine/store/outbox.py): tasks created, dossier status, in this transaction
        repo.insert_audit(
            conn,
            events,
            webhook_events=[task_created_event(row) for row in rows]
            + dossier_status_events(instance_id, head["process_key"], previous, merged, now),
        )
        thrown = self.runtime.thrown_messages(workflow)
        if thrown:
            self.publisher.publish(uow, head, thrown)
        if not finished:
            entry = LiveWorkflow(
                head["version"] + 1, workflow, frozenset(snapshot.open_tasks), timers, messages, merged
            )
            uow.after_commit.append(lambda: self.cache.put(instance_id, entry))
        return CommandResult(instance_id, cast(InstanceStatus, status), tuple(snapshot.open_tasks), opened=tuple(rows))

    def record_incidents(
        self, uow: UnitOfWork, head: Mapping[str, Any], workflow: Any, snapshot: Snapshot
    ) -> tuple[str, dict[str, Any] | None, list[dict[str, Any]]]:
        """Steps that failed become incidents (table ``incident``, ``job_kind`` "task"), as Camunda's: the step waits
        in ERROR for a lead or admin to retry or skip it (engine/commands/incidents.py) while the other branches go
        on. A step that fails again keeps its incident with the new message; an incident whose step no longer waits
        in ERROR (retried, skipped, cancelled with its branch) is resolved. While one is open the instance's status
        is ``incident`` (its ``error``: the last incident) and goes back to ``running`` when none is left; ``error``
        stays for a failure that is no incident (nothing to retry). Returns the status, the error and the audit
        events."""
        conn, now, instance_id = uow.conn, uow.now, head["id"]
        status, error = snapshot.status, snapshot.error
        if head.get("status") not in ("error", "incident") and not snapshot.incidents:
            return status, error, []  # the hot path: nothing failed, nothing was open
        open_rows = {row["task_id"]: row for row in job_store.open_task_incidents(conn, instance_id)}
        gone = [row for task, row in open_rows.items() if not self.runtime.has_failed(workflow, task)]
        job_store.resolve_incidents(conn, [row["id"] for row in gone], now)
        for row in gone:
            del open_rows[row["task_id"]]
        events: list[dict[str, Any]] = []
        for failure in snapshot.incidents:
            message = str(failure.get("message") or "")[:2000]
            known = open_rows.get(failure.get("task_id"))
            if known is not None:
                job_store.failed_again(conn, known["id"], message)
                failure["incident_id"] = known["id"]
                continue
            incident_id = job_store.insert_incident(
                conn,
                instance_id=instance_id,
                process_key=head["process_key"],
                element_id=failure.get("element_id"),
                task_id=failure.get("task_id"),
                job_kind="task",
                message=message,
                attempts=1,
                created_at=now,
            )
            failure["incident_id"] = incident_id
            open_rows[failure.get("task_id")] = {"id": incident_id, **failure}
            events.append(
                {
                    "instance_id": instance_id,
                    "at": now,
                    "actor": "system",
                    "kind": "incident_created",
                    "element_id": failure.get("element_id"),
                    "task_id": None,
                    "data": {"incident_id": incident_id, "job_kind": "task", "message": message, "attempts": 1},
                }
            )
        # the runtime says "error" for a new incident too; a failure that became no incident (no incident_id) is fatal
        fatal = status == "error" and (error is None or "incident_id" not in error)
        if status == "running" and open_rows:
            status = "incident"
            last = list(open_rows.values())[-1]
            error = {"element_id": last["element_id"], "task_id": last["task_id"], "message": last["message"]}
            error["incident_id"] = last["id"]
        elif status == "error" and not fatal and open_rows:
            status = "incident"
        elif status == "running" and job_store.parked_incident_open(conn, instance_id):
            status = "incident"  # a timer parked after its retries, an external task out of retries: still incidents
        return status, error, events

    def run_end_commands(
        self,
        uow: UnitOfWork,
        head: Mapping[str, Any],
        model: ProcessModel,
        steps: Sequence[Any],
        variables: Mapping[str, Any],
        actor: Actor,
    ) -> list[dict[str, Any]]:
        """The engine commands of the end events reached in this command, each with its audit event; a command that
        fails fails the whole command (nothing of it is kept)."""
        events: list[dict[str, Any]] = []
        for step in steps:
            command = model.end_commands.get(step.element_id)
            if command is None:
                continue
            if self.end_commands is None:
                raise ScriptError(
                    f"end event {step.element_id}: this engine runs no engine command ({command.name})",
                    detail_vi=f"sự kiện kết thúc {step.element_id}: máy chủ này không chạy lệnh {command.name}",
                    element_id=step.element_id,
                )
            kind, data = self.end_commands.run(uow, head, command, variables, actor)
            events.append(
                {
                    "instance_id": head["id"],
                    "at": uow.now,
                    "actor": actor.id,
                    "kind": kind,
                    "element_id": step.element_id,
                    "task_id": step.task_id,
                    "data": data,
                }
            )
        return events

    def task_row(
        self,
        instance_id: str,
        process_key: str,
        task_id: str,
        info: UserTaskModel | None,
        element_id: str,
        now: datetime,
        workflow: Any,
    ) -> dict[str, Any]:
        groups = list(info.candidate_groups) if info else []
        users = list(info.candidate_users) if info else []
        if info is not None and info.candidate_groups_variable:
            groups += self.groups_from_data(workflow, task_id, info)
        assignee = info.assignee if info else None
        if info is not None and info.assignee_variable and assignee is None:  # ${initiator}: a user id, or no one
            value = self.runtime.task_data(workflow, task_id).get(info.assignee_variable)
            assignee = value.strip() if isinstance(value, str) and value.strip() else None
        if assignee and assignee not in users:  # still a candidate once the task is unclaimed
            users.append(assignee)
        named_at_run_time = info is not None and bool(info.assignee_variable or info.candidate_groups_variable)
        nobody = named_at_run_time and not (groups or users or assignee)
        due_at = resolve_due(
            info.due_date if info else None,
            now,
            lambda text: self.runtime.evaluate_on_task(workflow, task_id, text),
            element_id=element_id,
        )
        return {
            "id": task_id,
            "instance_id": instance_id,
            "process_key": process_key,
            "element_id": element_id,
            "name": info.name if info else element_id,
            "lane": info.lane if info else None,
            "candidate_groups": list(dict.fromkeys(groups)),
            "candidate_users": users,
            "assignee": assignee,
            "status": "claimed" if assignee else "open",
            "documentation": info.documentation if info else None,
            "form_key": info.form_key if info else None,
            "created_at": now,
            "claimed_at": now if assignee else None,
            "due_at": due_at,
            "warn_at": warning_time(
                now, due_at, self.warning_ratio, calendar=self.runtime.calendar() if due_at is not None else None
            ),
            # a run-time assignment that named no one fails closed: admins act, not every lead (ADMIN_ONLY)
            "required_role": ADMIN_ONLY if nobody else info.required_role if info else None,
        }

    def groups_from_data(self, workflow: Any, task_id: str, info: UserTaskModel) -> list[str]:
        """Candidate agencies named at run time by a variable (property ``candidateGroupsVariable``)."""
        name = info.candidate_groups_variable or ""
        value = self.runtime.task_data(workflow, task_id).get(name)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        groups = [v.strip() for v in values if isinstance(v, str) and v.strip()]
        if not groups:
            raise ScriptError(
                f"no one can act on task {info.element_id}: variable {name!r} names no agency ({value!r})",
                detail_vi=f"không ai có thể xử lý công việc {info.element_id}: biến {name!r} không chỉ ra cơ quan nào "
                f"({value!r})",
                element_id=info.element_id,
                variable=name,
            )
        return groups
