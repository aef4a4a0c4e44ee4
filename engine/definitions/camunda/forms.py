"""Camunda 7 generated task forms (``camunda:formData`` / ``camunda:formField``) as JSON Schema forms
(engine.definitions.forms).

A field becomes a property: ``string`` → string, ``long`` → integer, ``boolean`` → boolean, ``date`` → string of
format ``date`` (ISO), ``enum`` → string whose ``enum`` lists the ``camunda:value`` ids (and ``oneOf`` const/title
pairs carry their names); ``label`` is the title, ``defaultValue`` the default. Validation constraints: ``required``
(the ``required`` list), ``readonly`` (``readOnly``), ``minlength``/``maxlength`` on strings, ``min``/``max`` on longs.
Anything else (other types, custom validators, expressions as defaults, ids that are not variable names) is refused
with a reason and the field's line, never dropped silently. Nothing here reads files or the network.

:func:`generate_forms` adds the forms to the deployment, each named by the element's ``camunda:formKey``, or
``generated:<element id>`` when it has none.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phoihop.engine.definitions.camunda.attributes import camunda_attribute
from phoihop.engine.definitions.camunda.juel import looks_like_juel
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.forms.files import is_form_file, parse_form
from phoihop.engine.definitions.structure import BPMN_NS, CAMUNDA_NS, NSMAP
from phoihop.engine.errors import InvalidDefinition

__all__ = [
    "GENERATED_FORM_PREFIX",
    "FieldRefused",
    "boolean_default",
    "form_schema",
    "generate_forms",
    "is_variable",
]

GENERATED_FORM_PREFIX = "generated:"

_C = f"{{{CAMUNDA_NS}}}"
_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "long": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "enum": {"type": "string"},
}
_CONSTRAINTS = {
    "minlength": ("minLength", "string"),
    "maxlength": ("maxLength", "string"),
    "min": ("minimum", "long"),
    "max": ("maximum", "long"),
}


# Camunda Modeler writes any text into a boolean field's defaultValue; Camunda reads "true" and everything else as
# false. The yes/no words public files use (SpiffWorkflow's own test data writes "No") are read for what they say, with
# a warning (engine.definitions.lint.camunda_attributes, ``camunda-coerced``); other texts stay refused.
_BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "yes", "y", "on", "1"), True),
    **dict.fromkeys(("false", "no", "n", "off", "0"), False),
}


def boolean_default(text: str) -> bool | None:
    """The value of a boolean form field's ``defaultValue`` (``true``/``false``, or yes/no, y/n, on/off, 1/0 in any
    case), or None when it is none of these."""
    return _BOOLEAN_WORDS.get(text.strip().lower())


@dataclass(frozen=True)
class FieldRefused:
    reason: str
    reason_vi: str
    line: int | None


def is_variable(name: str | None) -> bool:
    """A name the sandbox lets a script assign: an identifier, not a keyword, not starting with ``_``."""
    return name is not None and name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")


def form_schema(title: str, fields: Sequence[Any]) -> tuple[dict[str, Any] | None, list[FieldRefused]]:
    """The JSON Schema of the form ``fields`` (lxml ``camunda:formField`` elements) make, or None and the reasons."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    refused: list[FieldRefused] = []
    for field in fields:
        found = _field(field)
        if isinstance(found, FieldRefused):
            refused.append(found)
            continue
        name, schema, is_required = found
        properties[name] = schema
        if is_required:
            required.append(name)
    if refused:
        return None, refused
    return {
        "title": title,
        "type": "object",
        "properties": properties,
        **({"required": required} if required else {}),
    }, []


def _field(field: Any) -> tuple[str, dict[str, Any], bool] | FieldRefused:
    name, kind = (field.get("id") or "").strip(), (field.get("type") or "string").strip()

    def refuse(en: str, vi: str) -> FieldRefused:
        return FieldRefused(f"form field {name!r}: {en}", f"trường biểu mẫu {name!r}: {vi}", field.sourceline)

    if not is_variable(name):
        return refuse("the id must be a variable name (letters, digits, _)", "mã trường phải là tên biến (chữ, số, _)")
    if kind not in _TYPES:
        return refuse(
            f"type {kind!r} is not supported (string, long, boolean, date, enum)",
            f"không hỗ trợ kiểu {kind!r} (string, long, boolean, date, enum)",
        )
    schema: dict[str, Any] = {"title": (field.get("label") or name).strip(), **_TYPES[kind]}
    if kind == "enum":
        values = [
            (v.get("id") or "", (v.get("name") or v.get("id") or "").strip()) for v in field.iterfind(_C + "value")
        ]
        if not values:
            return refuse("an enum needs camunda:value entries", "kiểu enum cần các giá trị camunda:value")
        schema["enum"] = [value for value, _ in values]
        schema["oneOf"] = [{"const": value, "title": title} for value, title in values]
    is_required = False
    for constraint in field.iterfind(f"{_C}validation/{_C}constraint"):
        rule, config = (constraint.get("name") or "").strip(), (constraint.get("config") or "").strip()
        if rule == "required":
            is_required = True
        elif rule == "readonly":
            schema["readOnly"] = True
        elif (
            rule in _CONSTRAINTS
            and _CONSTRAINTS[rule][1] == ("long" if kind == "long" else "string")
            and re.fullmatch(r"-?\d{1,15}", config)
            and (kind != "string" or not config.startswith("-"))
        ):
            schema[_CONSTRAINTS[rule][0]] = int(config)
        else:
            return refuse(
                f"validation constraint {rule!r} (config {config!r}) is not supported for type {kind}",
                f"không hỗ trợ ràng buộc {rule!r} (config {config!r}) cho kiểu {kind}",
            )
    default = field.get("defaultValue")
    if default is not None:
        value = _default(kind, default, schema.get("enum"))
        if value is None:
            return refuse(
                f"defaultValue {default!r} is not a {kind} value",
                f"defaultValue {default!r} không phải giá trị kiểu {kind}",
            )
        schema["default"] = value
    return name, schema, is_required


def _default(kind: str, text: str, choices: list[str] | None) -> Any:
    if looks_like_juel(text):
        return None  # an expression: Camunda evaluates it when the form is shown; refused here
    if kind == "long":
        return int(text) if re.fullmatch(r"[+-]?\d{1,15}", text.strip()) else None
    if kind == "boolean":
        return boolean_default(text)
    if kind == "date":
        return text.strip() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()) else None
    if kind == "enum":
        return text if choices is not None and text in choices else None
    return text


def generate_forms(rewrite: Rewrite) -> None:
    """Each user task's or start event's form fields as a form of the deployment (``rewrite.forms``), named by its
    ``camunda:formKey``, or ``generated:<element id>`` when it has none or when an earlier element's fields under the
    same key differ; a JSON form file named by the key wins."""
    schemas: dict[str, tuple[str, dict[str, Any]]] = {}  # form name → (first element id, schema)
    for element in rewrite.document.root.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}startEvent"):
        fields = element.findall(f"bpmn:extensionElements/{_C}formData/{_C}formField", NSMAP)
        key = camunda_attribute(element, "formKey")
        if not fields or (key is not None and is_form_file(key)):
            continue  # a JSON form file wins, as a form key wins over form fields in Camunda
        schema, refused = form_schema((element.get("name") or element.get("id") or "").strip(), fields)
        for reason in refused:
            rewrite.refuse(element, reason.reason, reason.reason_vi, line=reason.line)
        if schema is None:
            continue
        name = key or GENERATED_FORM_PREFIX + element.get("id")
        first = schemas.setdefault(name, (element.get("id"), schema))
        if first[1] != schema:
            # One key, other fields (SpiffWorkflow's test data does this): Camunda shows each task its own fields
            # when the key names no form it knows, so each gets its own form.
            name = GENERATED_FORM_PREFIX + element.get("id")
            schemas[name] = (element.get("id"), schema)
        element.set(_C + "formKey", name)
        try:
            rewrite.forms[name] = parse_form(name, json.dumps(schema, ensure_ascii=False).encode())
        except InvalidDefinition as exc:
            for found in exc.problems:
                rewrite.refuse(element, found["reason"], found["reason_vi"])
