"""Instances: start one (from the API, the web app or a portal) and cancel one (a lead)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.definitions.forms.validation import validate as validate_form
from phoihop.engine.definitions.forms.validation import with_defaults
from phoihop.engine.dossier import CODE_VARIABLE
from phoihop.engine.errors import (
    ConcurrentUpdate,
    Forbidden,
    IdempotencyConflict,
    InstanceNotRunning,
)
from phoihop.engine.ids import uuid7
from phoihop.engine.model import Actor
from phoihop.engine.reads.versions import start_definition
from phoihop.engine.store import external_tasks as external_store
from phoihop.engine.store import jobs as job_store
from phoihop.engine.store import repository as repo
from phoihop.engine.variables import check_variables


class InstanceCommands:
    """Starting an instance (with an idempotency key, the start form, a dossier code) and cancelling one."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    def start(
        self,
        actor: Actor,
        process_key: str,
        *,
        version: int | None = None,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[str, bool]:
        """Start an instance; returns (instance id, created). A repeated Idempotency-Key returns the first one."""
        actor.require_role("integrator", "officer", "lead")
        data = check_variables(variables)
        instance_id = uuid7()
        with self.executor.transaction() as uow:
            if idempotency_key is not None:
                request_hash = hashlib.sha256(
                    orjson.dumps([process_key, version, business_key, data], option=orjson.OPT_SORT_KEYS)
                ).hexdigest()
                if not repo.reserve_idempotency_key(
                    uow.conn,
                    caller=actor.id,
                    key=idempotency_key,
                    request_hash=request_hash,
                    instance_id=instance_id,
                    at=uow.now,
                ):
                    record = repo.idempotency_record(uow.conn, actor.id, idempotency_key)
                    assert record is not None
                    if record["request_hash"] != request_hash:
                        raise IdempotencyConflict(
                            "this Idempotency-Key was already used with a different request",
                            detail_vi="Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác",
                            idempotency_key=idempotency_key,
                        )
                    return str(record["instance_id"]), False
            definition = start_definition(uow.conn, process_key, version)
            model = self.executor.model(uow.conn, definition["id"])
            if model.start_form is not None:  # before anything is written (the key reservation rolls back with it)
                data = with_defaults(model.start_form, data)
                validate_form(model.start_form, data, process_key=process_key)
            dossier_code = self.executor.new_dossier_code(
                uow, model
            )  # after the idempotency check: a replay takes none
            start_data = {**data, CODE_VARIABLE: dossier_code} if dossier_code is not None else data
            if model.initiator_variable:  # camunda:initiator: the starter's id, whatever the caller sent
                start_data = {**start_data, model.initiator_variable: actor.id}
            workflow, outcome = self.executor.runtime.start(model.spec, model.subprocess_specs, start_data)
            self.executor.save_new(
                uow,
                instance_id,
                definition,
                business_key,
                model,
                workflow,
                outcome,
                actor,
                {"variables": data, "business_key": business_key},
                dossier_code=dossier_code,
            )
        return instance_id, True

    def cancel(self, actor: Actor, instance_id: str, *, reason: str | None = None) -> None:
        actor.require_role("lead")
        with self.executor.transaction() as uow:
            head = self.executor.lock(uow.conn, instance_id)
            if head["status"] not in ("running", "incident", "error"):
                raise InstanceNotRunning(
                    f"instance {instance_id} is {head['status']}",
                    detail_vi=f"Hồ sơ {instance_id} đang ở trạng thái {head['status']}",
                    instance_id=instance_id,
                    instance_status=head["status"],
                )
            if not actor.sees_all_instances and not self._takes_part(uow.conn, actor, instance_id, head):
                raise Forbidden(
                    "you take no part in this instance",
                    detail_vi="Bạn không tham gia hồ sơ này",
                    instance_id=instance_id,
                )
            self.executor.cache.discard(instance_id)
            repo.close_tasks(uow.conn, repo.open_task_ids(uow.conn, instance_id), status="cancelled", at=uow.now)
            job_store.resolve_incidents(uow.conn, repo.replace_timers(uow.conn, instance_id, []), uow.now)
            failed_steps = job_store.open_task_incidents(uow.conn, instance_id)  # nothing left to retry or skip
            job_store.resolve_incidents(uow.conn, [row["id"] for row in failed_steps], uow.now)
            repo.replace_subscriptions(uow.conn, instance_id, [])
            external_store.close_instance(uow.conn, instance_id, uow.now)  # its external tasks (external_tasks.py)
            if not repo.set_instance_status(
                uow.conn, instance_id, head["version"], status="cancelled", ended_at=uow.now
            ):
                raise ConcurrentUpdate(
                    f"instance {instance_id} moved during the command",
                    detail_vi="Hồ sơ vừa được cập nhật bởi yêu cầu khác",
                    instance_id=instance_id,
                )
            repo.insert_audit(
                uow.conn,
                [
                    {
                        "instance_id": instance_id,
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "instance_cancelled",
                        "data": {"reason": reason},
                    }
                ],
            )

    @staticmethod
    def _takes_part(conn: Connection, actor: Actor, instance_id: str, head: Mapping[str, Any]) -> bool:
        if head["started_by"] == actor.id:
            return True
        return any(actor.may_see_task(t) for t in repo.tasks_of_instance(conn, instance_id, open_only=False))
