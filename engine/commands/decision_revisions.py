"""The end events' engine commands (engine.definitions.end_commands), run by the executor in the transaction of the step
that reached the end event.

``revise_decision_table``: an approved revision of a keyed decision table becomes the next version of the process
that uses it. The files of the process's latest version are read, the table is revised
(engine.definitions.dmn.revisions: the approved changes applied, the forms listing its codes regenerated), compiled and
linted, and stored through the deploy command's own storing (``DeploymentCommands.store_in``), with a change note
naming the instance whose approval made it. New instances start on that version; running ones keep theirs. Anything
that does not fit (a code not in the table, a table the process does not have, a revised file the lint refuses) fails
the approving step as a whole: nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phoihop.engine.commands.deployments import DeploymentCommands
from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.definitions.dmn.revisions import (
    DecisionRevisionInvalid,
    keyed_rows,
    refresh_form_options,
    revise_rows,
    write_rows,
)
from phoihop.engine.definitions.dmn.tables import decision_elements
from phoihop.engine.definitions.end_commands import EndCommand
from phoihop.engine.definitions.forms.files import is_form_file
from phoihop.engine.definitions.lint.deployment import lint_deployment
from phoihop.engine.definitions.lint.findings import refuse_errors
from phoihop.engine.definitions.structure import DMN_SUFFIXES
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import DefinitionNotFound
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.store import repository as repo
from phoihop.engine.store.tables import NAME_LIMITS
from phoihop.engine.store.unit_of_work import UnitOfWork

__all__ = ["DecisionRevisions"]

AUDIT_KIND = "decision_revised"


def _holds(name: str, content: bytes, decision_id: str) -> bool:
    if not name.lower().endswith(DMN_SUFFIXES):
        return False
    root = parse_xml(content, filename=name).getroot()
    return any(d.get("id") == decision_id for d in decision_elements(root))


class DecisionRevisions:
    """The runner of end events' engine commands (engine.commands.executor.EndCommandRunner)."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    def run(
        self,
        uow: UnitOfWork,
        head: Mapping[str, Any],
        command: EndCommand,
        variables: Mapping[str, Any],
        actor: Actor,
    ) -> tuple[str, dict[str, Any]]:
        assert command.name == "revise_decision_table"  # the only one (engine.definitions.end_commands)
        decision_id = command.parameters["decisionId"]
        process_key = command.parameters["processKey"]
        changes = variables.get(command.parameters["changesVariable"])
        latest = repo.latest_definition(uow.conn, process_key, lock=True)
        if latest is None:
            raise DefinitionNotFound(
                f"{command.element_id}: process {process_key!r} is not deployed",
                detail_vi=f"{command.element_id}: chưa triển khai quy trình {process_key!r}",
                process_key=process_key,
            )
        files = [
            SourceFile(f["name"], f["content"].encode("utf-8"))
            for f in repo.deployment_files(uow.conn, latest["deployment_id"])
        ]
        table = next((f for f in files if _holds(f.name, f.content, decision_id)), None)
        if table is None:
            raise DecisionRevisionInvalid(
                f"{command.element_id}: process {process_key!r} has no decision table {decision_id!r}",
                detail_vi=f"{command.element_id}: quy trình {process_key!r} không có bảng quyết định {decision_id!r}",
                decision_id=decision_id,
            )
        rows = revise_rows(table.content, decision_id, keyed_rows(table.content, decision_id), changes or [])
        revised: list[SourceFile] = []
        for source in files:
            if source is table:
                revised.append(SourceFile(source.name, write_rows(source.content, decision_id, rows)))
            elif is_form_file(source.name):
                form = refresh_form_options(source.content, decision_id, rows)
                revised.append(SourceFile(source.name, form) if form is not None else source)
            else:
                revised.append(source)
        deployment = self.executor.compile_files(revised)
        refuse_errors(lint_deployment(deployment, strict=False, limits=NAME_LIMITS))
        note = (
            f"Bảng quyết định {decision_id} sửa đổi theo hồ sơ {head['id']} đã được phê duyệt / "
            f"decision table {decision_id} revised as approved in instance {head['id']}"
        )
        deployed = DeploymentCommands.store_in(uow, actor, deployment, note)
        version = next((d.version for d in deployed if d.key == process_key), None)
        return AUDIT_KIND, {
            "decision_id": decision_id,
            "process_key": process_key,
            "version": version,
            "previous_version": latest["version"],
            "changes": [dict(c) for c in changes or []],
            "codes": [row.key for row in rows],
        }
