"""Camunda constructs this engine cannot run, refused at deploy with the element and the reason: Camunda 8 (Zeebe)
extensions, execution and task listeners, Java implementations (``camunda:class``, ``delegateExpression``,
``expression``, ``type``) on a send task, business rule task or message event (where Camunda runs them; a service
task's are judged by engine.execution.external_task_spec, and Camunda ignores them anywhere else), and scripts not
in Python (``scriptFormat``) or not written in the task. A ``camunda:expression`` that is literal text (no ``${…}`` or
``#{…}``) runs no code in Camunda (the text is its own value) and is not refused: the lint warns that it has no
effect (engine.definitions.lint.camunda_attributes)."""

from __future__ import annotations

from phoihop.engine.definitions.camunda.edits import replace_script
from phoihop.engine.definitions.camunda.juel import looks_like_juel
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.expressions import owner
from phoihop.engine.definitions.structure import BPMN_NS, CAMUNDA_NS, NSMAP, local_name

__all__ = ["IMPLEMENTED_ON", "is_literal_expression", "refuse_extensions", "refuse_script_languages"]

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
# Where Camunda 7 runs camunda:class/delegateExpression/expression/type (besides the service task, judged by
# engine.execution.external_task_spec); on any other element it ignores them (a lint warning here, camunda-ignored).
IMPLEMENTED_ON = frozenset({"sendTask", "businessRuleTask", "messageEventDefinition"})
_C = f"{{{CAMUNDA_NS}}}"


def is_literal_expression(element: object) -> bool:
    """The element's camunda:expression is literal text, which Camunda evaluates to itself: it runs nothing."""
    value = element.get(_C + "expression")  # type: ignore[attr-defined]
    return value is not None and not looks_like_juel(value)


def refuse_extensions(rewrite: Rewrite) -> None:
    """Zeebe extensions, listeners and Java implementations anywhere in the document."""
    root = rewrite.document.root
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        zeebe_element = element.tag.startswith(f"{{{ZEEBE_NS}}}")
        if zeebe_element or any(a.startswith(f"{{{ZEEBE_NS}}}") for a in element.attrib):
            target = owner(element) if zeebe_element else element
            rewrite.refuse(
                target,
                f"Camunda 8 (Zeebe) extension {_short(element.tag)} is not supported: save the "
                "file for Camunda 7 (Camunda Platform) in Camunda Modeler",
                f"không hỗ trợ phần mở rộng Camunda 8 (Zeebe) {_short(element.tag)}: hãy lưu tệp cho "
                "Camunda 7 (Camunda Platform) trong Camunda Modeler",
            )
            continue
        name = local_name(element)
        if element.tag in (_C + "executionListener", _C + "taskListener"):
            rewrite.refuse(
                owner(element),
                f"camunda:{name} runs Java or script code inside Camunda, which this "
                "engine cannot do: remove it, or model the work as a script task or an "
                "external task",
                f"camunda:{name} chạy mã Java hoặc kịch bản bên trong Camunda, máy chủ này không làm được: "
                "hãy bỏ đi, hoặc mô hình hóa bằng công việc kịch bản hay công việc bên ngoài",
                line=element.sourceline,
            )
        elif element.tag.startswith(f"{{{BPMN_NS}}}") and name in IMPLEMENTED_ON:
            implemented = [
                a
                for a in ("class", "delegateExpression", "expression", "type")
                if element.get(_C + a) is not None and not (a == "expression" and is_literal_expression(element))
            ]
            if implemented:
                target = owner(element) if name.endswith("EventDefinition") else element
                rewrite.refuse(
                    target,
                    f"camunda:{implemented[0]} on a {name} runs Java code inside Camunda, which "
                    "this engine cannot do: only a service task can be an external task "
                    '(camunda:type="external")',
                    f"camunda:{implemented[0]} trên {name} là mã Java chạy trong Camunda, máy chủ này "
                    "không chạy được: chỉ công việc tự động (service task) mới là công việc bên ngoài "
                    '(camunda:type="external")',
                )


def refuse_script_languages(rewrite: Rewrite) -> None:
    """Script tasks not in Python (their script becomes ``pass``), or not written in the task."""
    for task in rewrite.document.root.iterfind(".//bpmn:scriptTask", NSMAP):
        script_format = (task.get("scriptFormat") or "").strip()
        if script_format.lower() not in ("", "python"):
            rewrite.refuse(
                task,
                f"script task {task.get('id')}: scriptFormat {script_format!r} is not supported, scripts are Python",
                f"công việc kịch bản {task.get('id')}: không hỗ trợ scriptFormat {script_format!r}, kịch "
                "bản phải viết bằng Python",
            )
            replace_script(task, "pass")
        for attribute in ("resource", "resultVariable"):
            if task.get(_C + attribute) is not None:
                rewrite.refuse(
                    task,
                    f"script task {task.get('id')}: camunda:{attribute} is not supported (write the "
                    "script in the task, assign variables in it)",
                    f"công việc kịch bản {task.get('id')}: không hỗ trợ camunda:{attribute} (viết kịch bản "
                    "ngay trong công việc và gán biến trong đó)",
                )


def _short(tag: str) -> str:
    return "zeebe:" + tag.rsplit("}", 1)[-1]
