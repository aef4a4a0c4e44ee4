"""Messages: delivered by integrators (``correlate_message``) and thrown by processes themselves.

A message reaches the instances waiting for it (same business key and correlation variables) or, when none waits,
starts the processes whose start event catches it. A message thrown by a process (an intermediate throw or end event
with ``messageEventDefinition``, payload from ``spiffworkflow:messagePayload``) that the process does not catch
itself is published the same way, in the same transaction as the command that threw it, with the thrower's business
key: one case can open another (a sandbox evaluation recommending a legal change starts an ``escalation``), and
either both are saved or neither is. Every published message is in the thrower's history with where it went.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.definitions.forms.validation import with_defaults
from phoihop.engine.dossier import CODE_VARIABLE
from phoihop.engine.errors import MessageAmbiguous, MessageNotCorrelated
from phoihop.engine.execution.outcomes import ThrownMessage
from phoihop.engine.ids import uuid7
from phoihop.engine.model import SYSTEM, Actor
from phoihop.engine.store import repository as repo
from phoihop.engine.store.unit_of_work import UnitOfWork
from phoihop.engine.variables import check_variables

MAX_MESSAGE_HOPS = 8  # a message that makes another instance throw one, and so on: bounded per command


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a message went: an instance that waited for it, or one it started (``started``)."""

    instance_id: str
    started: bool


class MessageDelivery:
    """Delivers a message to the instances waiting for it, or starts the processes it starts; publishes what an
    instance threw (the executor's ``Publisher``). Stateless apart from its executor: one per handler is fine."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    def deliver(
        self,
        uow: UnitOfWork,
        actor: Actor,
        name: str,
        business_key: str | None,
        keys: dict[str, Any],
        data: dict[str, Any],
        *,
        all_instances: bool,
        exclude: str | None = None,
    ) -> list[Delivery]:
        waiting = repo.subscriptions_for(uow.conn, name, business_key)
        # locked in id order: two deliveries that match the same instances can never lock them crosswise
        instance_ids = sorted(
            {
                s["instance_id"]
                for s in waiting
                if s["instance_id"] != exclude and all((s["variables"] or {}).get(k) == v for k, v in keys.items())
            }
        )
        if len(instance_ids) > 1 and not all_instances:
            raise MessageAmbiguous(
                f"{len(instance_ids)} instances wait for message {name!r}; narrow it with business_key or "
                "correlation_keys, or send it to all of them with all=true",
                detail_vi=f"Có {len(instance_ids)} hồ sơ đang chờ thông điệp {name!r}; hãy nêu business_key "
                "hoặc correlation_keys, hoặc gửi cho tất cả với all=true",
                message_name=name,
                matches=len(instance_ids),
            )
        delivered: list[Delivery] = []
        for instance_id in instance_ids:
            head = self.executor.lock(uow.conn, instance_id)
            still_waiting = [m for m in repo.instance_subscriptions(uow.conn, instance_id) if m["message_name"] == name]
            if head["status"] not in ("running", "incident", "error") or not still_waiting:
                continue  # another command delivered it between our read and our lock
            audit = {"kind": "message_received", "data": {"message": name, "variables": data}}
            try:
                self.executor.advance(
                    uow, head, lambda wf: self.executor.runtime.deliver_message(wf, name, data), actor, audit
                )
            except MessageNotCorrelated:
                continue  # raised before anything of this instance was written; its cached object was dropped
            delivered.append(Delivery(instance_id, started=False))
        if not delivered and not keys:
            for definition in repo.definitions_started_by_message(uow.conn, name):
                started = self._start_by_message(uow, actor, definition, name, business_key, data)
                delivered.append(Delivery(started, started=True))
        return delivered

    def _start_by_message(
        self,
        uow: UnitOfWork,
        actor: Actor,
        definition: repo.Row,
        name: str,
        business_key: str | None,
        data: dict[str, Any],
    ) -> str:
        model = self.executor.model(uow.conn, definition["id"])
        dossier_code = self.executor.new_dossier_code(uow, model)
        workflow, outcome = self.executor.runtime.start(
            model.spec,
            model.subprocess_specs,
            {CODE_VARIABLE: dossier_code} if dossier_code is not None else {},
            trigger=name,
        )
        if outcome.error is None:  # the start form's defaults fill what the message leaves out, as for a start
            outcome = self.executor.runtime.deliver_message(workflow, name, with_defaults(model.start_form, data))
        instance_id = uuid7()
        self.executor.save_new(
            uow,
            instance_id,
            definition,
            business_key,
            model,
            workflow,
            outcome,
            actor,
            {"message": name, "variables": data},
            dossier_code=dossier_code,
        )
        return instance_id

    def publish(self, uow: UnitOfWork, head: Mapping[str, Any], thrown: list[ThrownMessage]) -> None:
        """Deliver what an instance threw and did not catch itself; recorded in its history either way."""
        hops = uow.message_hops
        for message in thrown:
            note: str | None
            if hops >= MAX_MESSAGE_HOPS:
                delivered: list[Delivery] = []
                note = f"not delivered: more than {MAX_MESSAGE_HOPS} messages in a chain"
            else:
                uow.message_hops = hops + 1
                try:
                    data = check_variables(
                        message.payload if isinstance(message.payload, dict) else {"payload": message.payload}
                    )
                    delivered = self.deliver(
                        uow,
                        SYSTEM,
                        message.name,
                        head["business_key"],
                        {},
                        data,
                        all_instances=True,
                        exclude=head["id"],
                    )
                    note = None if delivered else "no instance or process waits for it"
                finally:
                    uow.message_hops = hops
            repo.insert_audit(
                uow.conn,
                [
                    {
                        "instance_id": head["id"],
                        "at": uow.now,
                        "actor": "system",
                        "kind": "message_sent",
                        "element_id": message.element_id,
                        "task_id": None,
                        "data": {
                            "message": message.name,
                            "delivered": [{"instance_id": d.instance_id, "started": d.started} for d in delivered],
                            **({"note": note} if note else {}),
                        },
                    }
                ],
            )


class MessageCommands:
    """Messages sent by integrators (role integrator)."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor
        self.delivery = MessageDelivery(executor)

    def correlate(
        self,
        actor: Actor,
        name: str,
        *,
        business_key: str | None = None,
        correlation_keys: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        all_instances: bool = False,
    ) -> list[Delivery]:
        """Deliver a message to the instance waiting for it (matching business key and correlation variables);
        if none waits, start the processes whose start event catches it. Returns where it went.

        As in Camunda, a message that several waiting instances match is refused (MessageAmbiguous) unless
        ``all_instances`` asks to deliver it to each of them: a forgotten key must not move many cases at once."""
        actor.require_role("integrator")
        data = check_variables(variables)
        with self.executor.transaction() as uow:
            delivered = self.delivery.deliver(
                uow, actor, name, business_key, dict(correlation_keys or {}), data, all_instances=all_instances
            )
        if not delivered:
            raise MessageNotCorrelated(
                f"no instance waits for message {name!r}",
                detail_vi=f"Không có hồ sơ nào đang chờ thông điệp {name!r}",
                message_name=name,
                business_key=business_key,
            )
        return delivered
