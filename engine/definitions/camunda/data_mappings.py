"""Data mappings in Camunda: ``camunda:inputOutput`` parameters (a literal text, one ``${…}``, or a ``camunda:map`` /
``camunda:list`` of those, nested up to 20 deep) on a task become spiffworkflow pre-/post-script assignments
(a map a dict, a list a list), and ``camunda:in``/``camunda:out`` (``source``, ``sourceExpression``, ``target``) of a
call activity likewise. A mapping any part of which is refused adds no script at all.

A dotted target (``Fact.type``) names, in Camunda, one variable with a dot in its name: no expression can read it
(``${Fact.type}`` reads the property ``type`` of ``Fact``), only Java code. Its assignment is left out, and the lint
says so (``camunda-ignored``, engine.definitions.lint.camunda_attributes)."""

from __future__ import annotations

import re
from typing import Any

from phoihop.engine.definitions.camunda.edits import add_script
from phoihop.engine.definitions.camunda.expressions import python_of
from phoihop.engine.definitions.camunda.forms import is_variable
from phoihop.engine.definitions.camunda.juel import looks_like_juel
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.expressions import owner
from phoihop.engine.definitions.structure import CAMUNDA_NS, NSMAP, local_name

__all__ = ["is_dotted_name", "rewrite_call_mappings", "rewrite_input_output"]

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


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_MAX_DEPTH = 20  # camunda:map/list nesting read; deeper is refused


def is_dotted_name(name: str | None) -> bool:
    """``a.b`` (identifiers joined by dots): one Camunda variable no expression here can read by that name."""
    return name is not None and _DOTTED.fullmatch(name) is not None


def _refuse_kind(rewrite: Rewrite, element: Any, what: str, child: Any) -> None:
    kind = local_name(child)
    rewrite.refuse(
        element,
        f"{what}: a camunda:{kind} value is not supported, only a literal text, one ${{…}} expression, or a "
        "camunda:map or camunda:list of those",
        f"{what}: không hỗ trợ giá trị camunda:{kind}, chỉ dùng văn bản cố định, một biểu thức ${{…}}, hoặc "
        "camunda:map, camunda:list của chúng",
        line=child.sourceline,
    )


def _children(holder: Any) -> list[Any]:
    return [child for child in holder if isinstance(child.tag, str)]


def _value(rewrite: Rewrite, holder: Any, element: Any, what: str, depth: int = 0) -> str | None:
    """The Python of the value ``holder`` (a parameter, a map entry or a list value) carries: its text (a literal, or
    one ``${…}``), or its one child camunda:map (a dict of its camunda:entry keys) or camunda:list (a list of its
    camunda:value items); None after reporting a refusal. Nothing in it is skipped unread."""
    children = _children(holder)
    if not children:
        text = holder.text
        if text is None or not text.strip():
            return "None"
        if looks_like_juel(text):
            return python_of(rewrite, text, element, (what, what), holder.sourceline)
        return repr(text)
    kind = local_name(children[0])
    if len(children) > 1 or kind not in ("map", "list") or depth >= _MAX_DEPTH:
        _refuse_kind(rewrite, element, what, children[0] if kind not in ("map", "list") else children[-1])
        return None
    item_kind = "entry" if kind == "map" else "value"
    items = _children(children[0])
    for item in items:
        if local_name(item) != item_kind:
            _refuse_kind(rewrite, element, what, item)
            return None
    if kind == "list":
        values = [_value(rewrite, item, element, what, depth + 1) for item in items]
        return None if None in values else "[" + ", ".join(str(value) for value in values) + "]"
    pairs: list[str] = []
    for entry in items:
        key = entry.get("key")
        if key is None:
            rewrite.refuse(
                element,
                f"{what}: a camunda:entry has no key",
                f"{what}: một camunda:entry không có key",
                line=entry.sourceline,
            )
            return None
        python = _value(rewrite, entry, element, what, depth + 1)
        if python is None:
            return None
        pairs.append(f"{key!r}: {python}")
    return "{" + ", ".join(pairs) + "}"


def _parameter_value(rewrite: Rewrite, parameter: Any, element: Any) -> str | None:
    """The Python of a camunda:inputParameter/outputParameter value; None after reporting a refusal."""
    return _value(rewrite, parameter, element, f"{local_name(parameter)} {parameter.get('name') or ''!r}")


def _assignment(rewrite: Rewrite, target: str | None, python: str | None, element: Any, source: Any) -> str | None:
    if python is None:
        return None
    if is_dotted_name(target):
        return ""  # a variable no expression here can read (the module's docstring); the lint warns
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
            if lines and None not in lines and any(lines):
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
            if lines and None not in lines and any(lines):
                add_script(call, script, "\n".join(line for line in lines if line), first=kind == "in")
