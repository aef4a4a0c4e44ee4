"""Business rule tasks in Camunda: ``camunda:decisionRef`` becomes ``spiffworkflow:calledDecisionId``, and
``camunda:resultVariable`` with ``camunda:mapDecisionResult`` (singleEntry, singleResult, collectEntries, resultList)
becomes a post-script building that variable from the decision's outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phoihop.engine.definitions.camunda.attributes import camunda_attribute
from phoihop.engine.definitions.camunda.edits import add_script, extension_elements, sub_element
from phoihop.engine.definitions.camunda.forms import is_variable
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.structure import NSMAP, SPIFF_NS

__all__ = ["rewrite_business_rules"]


def rewrite_business_rules(rewrite: Rewrite, decisions: Mapping[str, Any]) -> None:
    """decisionRef and resultVariable of every business rule task; ``decisions``: the deployment's, by id."""
    for task in rewrite.document.root.iterfind(".//bpmn:businessRuleTask", NSMAP):
        reference = camunda_attribute(task, "decisionRef")
        spiff = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NSMAP)
        if reference is not None and spiff is None:
            sub_element(extension_elements(task), f"{{{SPIFF_NS}}}calledDecisionId", task).text = reference
        decision = reference if spiff is None else (spiff.text or "").strip()
        if decision is None:
            continue
        variable = camunda_attribute(task, "resultVariable")
        if variable is not None and decision in decisions:
            script = _decision_result(rewrite, task, variable, decisions[decision])
            if script is not None:
                add_script(task, "postScript", script, first=False)


def _decision_result(rewrite: Rewrite, task: Any, variable: str, decision: Any) -> str | None:
    tid = task.get("id")
    mapping = camunda_attribute(task, "mapDecisionResult") or "resultList"
    namespace = decision.tag[1:].split("}", 1)[0]
    table = decision.find(f"{{{namespace}}}decisionTable")
    outputs = [
        (o.get("name") or o.get("label") or "").strip()
        for o in (table.findall(f"{{{namespace}}}output") if table is not None else [])
    ]
    bad = [o for o in outputs if not is_variable(o)] if outputs else ["(none)"]
    if not is_variable(variable) or bad:
        rewrite.refuse(
            task,
            f"business rule task {tid}: camunda:resultVariable {variable!r} needs a variable name "
            f"and decision outputs named as variables (not {', '.join(bad or [variable])})",
            f"công việc quy tắc {tid}: camunda:resultVariable {variable!r} cần tên biến hợp lệ và các cột "
            f"đầu ra đặt tên như biến (không phải {', '.join(bad or [variable])})",
        )
        return None
    collect = (table.get("hitPolicy") or "UNIQUE").upper() == "COLLECT" if table is not None else False
    single = len(outputs) == 1
    row = "{" + ", ".join(f"{o!r}: {o}" for o in outputs) + "}"
    if mapping in ("singleEntry", "collectEntries") and not single:
        rewrite.refuse(
            task,
            f"business rule task {tid}: camunda:mapDecisionResult={mapping!r} needs a decision with "
            f"one output, this one has {len(outputs)}",
            f"công việc quy tắc {tid}: camunda:mapDecisionResult={mapping!r} cần bảng quyết định có một "
            f"cột đầu ra, bảng này có {len(outputs)}",
        )
        return None
    if mapping == "singleEntry" or (mapping == "collectEntries" and collect):
        return f"{variable} = {outputs[0]}"
    if mapping == "collectEntries":
        return f"{variable} = [{outputs[0]}]"
    if mapping == "singleResult":
        return f"{variable} = {row}"
    if mapping != "resultList":
        rewrite.refuse(
            task,
            f"business rule task {tid}: camunda:mapDecisionResult={mapping!r} is unknown",
            f"công việc quy tắc {tid}: không biết camunda:mapDecisionResult={mapping!r}",
        )
        return None
    if not collect:
        return f"{variable} = [{row}]"
    names = ", ".join(f"v{i}" for i in range(len(outputs)))
    values = "{" + ", ".join(f"{o!r}: v{i}" for i, o in enumerate(outputs)) + "}"
    return f"{variable} = [{values} for {names}{',' if single else ''} in zip({', '.join(outputs)})]"
