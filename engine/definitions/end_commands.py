"""Engine commands at end events: an end event whose ``camunda:properties`` name an ``engineCommand`` has the engine
run that command when the event is reached, in the same transaction as the step that reached it (a Camunda end
execution listener, limited to the commands the engine itself provides; Java listeners stay refused,
engine.definitions.camunda.refused).

The commands and the properties each needs are listed here, so a deployment naming an unknown command or missing a
property is refused at deploy time; engine.commands runs them (engine.commands.decision_revisions).

- ``revise_decision_table``: the approved changes in the variable ``changesVariable`` (a list of ``{"action", "key",
  "outputs", "description"}``) are applied to the keyed decision table ``decisionId`` deployed with the process
  ``processKey``, and that process's next version is deployed with the revised table
  (engine.definitions.dmn.revisions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from phoihop.engine.definitions.camunda.attributes import camunda_properties
from phoihop.engine.definitions.structure import NSMAP, problem
from phoihop.engine.model import Problem

__all__ = ["COMMAND_PROPERTY", "KNOWN_COMMANDS", "EndCommand", "end_commands"]

COMMAND_PROPERTY = "engineCommand"
KNOWN_COMMANDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"revise_decision_table": ("decisionId", "processKey", "changesVariable")}
)


@dataclass(frozen=True)
class EndCommand:
    element_id: str
    name: str  # one of KNOWN_COMMANDS
    parameters: Mapping[str, str] = field(default_factory=dict)


def end_commands(process: Any, file: str) -> tuple[dict[str, EndCommand], list[Problem]]:
    """The engine commands of the end events of ``process`` (subprocesses included), by element id."""
    found: dict[str, EndCommand] = {}
    problems: list[Problem] = []
    for end in process.iterfind(".//bpmn:endEvent", NSMAP) if process is not None else ():
        properties = camunda_properties(end)
        name = properties.pop(COMMAND_PROPERTY, None)
        if name is None:
            continue
        element_id = end.get("id") or ""
        if name not in KNOWN_COMMANDS:
            known = ", ".join(KNOWN_COMMANDS)
            problems.append(
                problem(
                    file,
                    f"end event {element_id}: unknown engine command {name!r} (known: {known})",
                    f"sự kiện kết thúc {element_id}: không có lệnh máy chủ {name!r} (các lệnh có: {known})",
                    element=end,
                )
            )
            continue
        missing = [p for p in KNOWN_COMMANDS[name] if not properties.get(p)]
        if missing:
            problems.append(
                problem(
                    file,
                    f"end event {element_id}: engine command {name} needs the properties {', '.join(missing)}",
                    f"sự kiện kết thúc {element_id}: lệnh {name} cần các thuộc tính {', '.join(missing)}",
                    element=end,
                )
            )
            continue
        found[element_id] = EndCommand(element_id, name, MappingProxyType(properties))
    return found, problems
