"""Data mappings in Camunda: ``camunda:inputOutput`` parameters (a literal text, or one ``${…}``) on a task become
spiffworkflow pre-/post-script assignments, and ``camunda:in``/``camunda:out`` (``source``, ``sourceExpression``,
``target``) of a call activity likewise. A mapping any part of which is refused adds no script at all."""

from __future__ import annotations

from typing import Any

from phoihop.engine.definitions.camunda.edits import add_script
from phoihop.engine.definitions.camunda.expressions import python_of
from phoihop.engine.definitions.camunda.forms import is_variable
from phoihop.engine.definitions.camunda.juel import looks_like_juel
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.expressions import owner
from phoihop.engine.definitions.structure import CAMUNDA_NS, NSMAP, local_name

__all__ = ["rewrite_call_mappings", "rewrite_input_output"]

_C = f"{{{CAMUNDA_NS}}}"
_TASKS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)


def _parameter_value(rewrite: Rewrite, parameter: Any, element: Any) -> str | None:
    """The Python of a camunda:inputParameter/outputParameter value; None after reporting a refusal."""
    name = parameter.get("name") or ""
    if len(parameter):
        kind = local_name(parameter[0])
        rewrite.refuse(
            element,
            f"{local_name(parameter)} {name!r}: a camunda:{kind} value is not supported, only "
            "a literal text or one ${…} expression",
            f"{local_name(parameter)} {name!r}: không hỗ trợ giá trị camunda:{kind}, chỉ dùng văn bản cố "
            "định hoặc một biểu thức ${…}",
            line=parameter.sourceline,
        )
        return None
    text = parameter.text
    if text is None or not text.strip():
        return "None"
    if looks_like_juel(text):
        return python_of(
            rewrite,
            text,
            element,
            (f"{local_name(parameter)} {name!r}", f"{local_name(parameter)} {name!r}"),
            parameter.sourceline,
        )
    return repr(text)


def _assignment(rewrite: Rewrite, target: str | None, python: str | None, element: Any, source: Any) -> str | None:
    if python is None:
        return None
    if not target or not is_variable(target):
        rewrite.refuse(
            element,
            f"{local_name(source)}: {target!r} is not a variable name that can be used here",
            f"{local_name(source)}: {target!r} không phải tên biến dùng được",
            line=source.sourceline,
        )
        return None
    return f"{target} = {python}"


def rewrite_input_output(rewrite: Rewrite) -> None:
    """camunda:inputOutput of every task as its pre-script (inputs) and post-script (outputs)."""
    for mapping in rewrite.document.root.iterfind(f".//{_C}inputOutput"):
        element = owner(mapping)
        if local_name(element) not in _TASKS:
            rewrite.refuse(
                element,
                f"camunda:inputOutput on a {local_name(element)} is not supported, only on tasks",
                f"không hỗ trợ camunda:inputOutput trên {local_name(element)}, chỉ trên công việc",
                line=mapping.sourceline,
            )
            continue
        for kind, script in (("inputParameter", "preScript"), ("outputParameter", "postScript")):
            lines = [
                _assignment(rewrite, p.get("name"), _parameter_value(rewrite, p, element), element, p)
                for p in mapping.iterfind(_C + kind)
            ]
            if lines and None not in lines:
                add_script(element, script, "\n".join(line for line in lines if line), first=kind.startswith("in"))


def rewrite_call_mappings(rewrite: Rewrite) -> None:
    """camunda:in and camunda:out of every call activity as its pre-script and post-script."""
    for call in rewrite.document.root.iterfind(".//bpmn:callActivity", NSMAP):
        for kind, script in (("in", "preScript"), ("out", "postScript")):
            lines: list[str | None] = []
            for mapping in call.iterfind(f"bpmn:extensionElements/{_C}{kind}", NSMAP):
                if mapping.get("variables") is not None or mapping.get("businessKey") is not None:
                    continue  # every variable is passed both ways anyway; the business key stays the instance's
                source, expression = mapping.get("source"), mapping.get("sourceExpression")
                python = (
                    python_of(
                        rewrite,
                        expression,
                        call,
                        (f"camunda:{kind} sourceExpression", f"camunda:{kind} sourceExpression"),
                        mapping.sourceline,
                    )
                    if expression is not None
                    else source
                    if source and is_variable(source)
                    else None
                )
                if expression is None and python is None:
                    rewrite.refuse(
                        call,
                        f"camunda:{kind}: source {source!r} is not a variable name",
                        f"camunda:{kind}: source {source!r} không phải tên biến",
                        line=mapping.sourceline,
                    )
                    lines.append(None)
                    continue
                lines.append(_assignment(rewrite, mapping.get("target"), python, call, mapping))
            if lines and None not in lines:
                add_script(call, script, "\n".join(line for line in lines if line), first=kind == "in")
