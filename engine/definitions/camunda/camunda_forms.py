"""Camunda Forms (``*.form``, the form-js JSON Camunda Modeler saves) named by ``camunda:formKey="camunda-forms:
app:NAME.form"`` (or ``camunda-forms:deployment:NAME.form``) on a user task or start event, when the deployment holds
``NAME.form``: translated into a JSON Schema form of the deployment named by the key, shown with the task and enforced
on completion like any other form (engine.definitions.forms).

A component with a ``key`` is a field: ``textfield``/``textarea`` (text), ``number``, ``checkbox`` (boolean),
``radio``/``select`` (one of its static ``values``), ``checklist``/``taglist`` (a list of them / of texts),
``datetime`` (``date`` or ``datetime`` subtype); ``label`` is its title, ``defaultValue`` its default; ``validate``
``required``, ``minLength``/``maxLength``, ``min``/``max`` and ``pattern`` (checked on RE2 like every form pattern)
become the JSON Schema constraints. ``group`` components are flattened; ``text``, ``html``, ``image``, ``spacer``,
``separator`` and ``button`` carry no data. Refused, naming the element and the component: FEEL (a property starting
with ``=``: conditions, computed labels), options from a variable (``valuesKey``/``valuesExpression``), keys that
are not variable names, and component types not listed here. A key naming no file of the deployment keeps today's
meaning: it is passed on in the task's ``form_key``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from phoihop.engine.definitions.camunda.attributes import camunda_attribute
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.forms.files import parse_form, read_json_object
from phoihop.engine.definitions.structure import BPMN_NS
from phoihop.engine.errors import InvalidDefinition

__all__ = ["CAMUNDA_FORM_KEY", "form_js_schema", "rewrite_camunda_forms"]

CAMUNDA_FORM_KEY = re.compile(r"camunda-forms:(?:app|deployment):(?:.*/)?([^/]+\.form)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NO_DATA = frozenset({"text", "html", "image", "spacer", "separator", "button", "iframe"})
_CONTAINERS = frozenset({"group", "default"})


class _Refusal(ValueError):
    def __init__(self, en: str, vi: str) -> None:
        super().__init__(en)
        self.en, self.vi = en, vi


def _components(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for component in node.get("components") or []:
        if not isinstance(component, Mapping):
            raise _Refusal("a component is not a JSON object", "một thành phần không phải đối tượng JSON")
        if component.get("type") in _CONTAINERS and "key" not in component:
            yield from _components(component)
        else:
            yield component


def _feel(component: Mapping[str, Any]) -> str | None:
    stack: list[Any] = [component]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and value.startswith("="):
            return value
        if isinstance(value, Mapping):
            stack.extend(v for k, v in value.items() if k != "components")
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _choices(component: Mapping[str, Any], label: str) -> list[Any]:
    if "valuesKey" in component or "valuesExpression" in component:
        raise _Refusal(
            f"{label}: options read from a variable (valuesKey) are not supported: list them in the form",
            f"{label}: không hỗ trợ lấy lựa chọn từ biến (valuesKey): hãy liệt kê chúng trong biểu mẫu",
        )
    values = component.get("values") or []
    choices = [v.get("value") for v in values if isinstance(v, Mapping) and "value" in v]
    if not choices:
        raise _Refusal(f"{label}: no options", f"{label}: không có lựa chọn nào")
    return choices


def _field(component: Mapping[str, Any], label: str) -> dict[str, Any]:
    kind = component.get("type")
    given = component.get("validate")
    validate: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    schema: dict[str, Any]
    if kind in ("textfield", "textarea"):
        schema = {"type": "string"}
        for source, target in (("minLength", "minLength"), ("maxLength", "maxLength"), ("pattern", "pattern")):
            if validate.get(source) not in (None, ""):
                schema[target] = validate[source]
    elif kind == "number":
        schema = {"type": "integer" if component.get("decimalDigits") == 0 else "number"}
        for source, target in (("min", "minimum"), ("max", "maximum")):
            if validate.get(source) not in (None, ""):
                schema[target] = validate[source]
    elif kind == "checkbox":
        schema = {"type": "boolean"}
    elif kind in ("radio", "select"):
        schema = {"enum": _choices(component, label)}
    elif kind == "checklist":
        schema = {"type": "array", "items": {"enum": _choices(component, label)}, "uniqueItems": True}
    elif kind == "taglist":
        schema = {"type": "array", "items": {"type": "string"}}
    elif kind == "datetime":
        subtype = component.get("subtype", "date")
        if subtype not in ("date", "datetime"):
            raise _Refusal(
                f"{label}: a datetime of subtype {subtype!r} is not supported (date or datetime)",
                f"{label}: không hỗ trợ datetime kiểu {subtype!r} (chỉ date hoặc datetime)",
            )
        schema = {"type": "string", "format": "date" if subtype == "date" else "date-time"}
    else:
        raise _Refusal(
            f"{label}: the component type {kind!r} is not supported",
            f"{label}: không hỗ trợ loại thành phần {kind!r}",
        )
    if isinstance(component.get("label"), str) and component["label"].strip():
        schema = {"title": component["label"].strip(), **schema}
    if "defaultValue" in component and component["defaultValue"] not in (None, ""):
        schema["default"] = component["defaultValue"]
    if component.get("readonly") is True or component.get("disabled") is True:
        schema["readOnly"] = True
    return schema


def form_js_schema(title: str, document: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The JSON Schema of a Camunda Form, or None with every refusal (English, Vietnamese)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    refused: list[tuple[str, str]] = []
    try:
        components = list(_components(document))
    except _Refusal as exc:
        return None, [(exc.en, exc.vi)]
    for component in components:
        kind = component.get("type")
        key = component.get("key")
        label = f"component {component.get('id') or key or kind!s}"
        feel = _feel(component)
        if feel is not None:
            refused.append(
                (
                    f"{label}: FEEL ({feel[:60]!r}) is not supported in forms",
                    f"{label}: không hỗ trợ FEEL ({feel[:60]!r}) trong biểu mẫu",
                )
            )
            continue
        if kind in _NO_DATA and key is None:
            continue
        if not isinstance(key, str) or not _NAME.fullmatch(key):
            refused.append(
                (
                    f"{label}: the key {key!r} is not a variable name (letters, digits and _)",
                    f"{label}: khóa {key!r} không phải tên biến (chữ, số và _)",
                )
            )
            continue
        try:
            properties[key] = _field(component, label)
        except _Refusal as exc:
            refused.append((exc.en, exc.vi))
            continue
        validate = component.get("validate")
        if isinstance(validate, Mapping) and validate.get("required") is True:
            required.append(key)
    if refused:
        return None, refused
    schema: dict[str, Any] = {"title": title, "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema, []


def rewrite_camunda_forms(rewrite: Rewrite, files: Mapping[str, bytes]) -> None:
    """Each ``camunda-forms:…:NAME.form`` key whose file is in the deployment becomes a form named by the key."""
    for element in rewrite.document.root.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}startEvent"):
        key = camunda_attribute(element, "formKey")
        matched = CAMUNDA_FORM_KEY.fullmatch(key) if key else None
        if key is None or matched is None or matched.group(1) not in files or key in rewrite.forms:
            continue
        file_name = matched.group(1)
        try:
            document = read_json_object(file_name, files[file_name])
        except InvalidDefinition as exc:
            for found in exc.problems:
                rewrite.refuse(element, found["reason"], found["reason_vi"])
            continue
        title = (element.get("name") or element.get("id") or "").strip()
        schema, refused = form_js_schema(title, document)
        for en, vi in refused:
            rewrite.refuse(element, f"Camunda Form {file_name}: {en}", f"biểu mẫu Camunda {file_name}: {vi}")
        if schema is None:
            continue
        try:
            rewrite.forms[key] = parse_form(key, json.dumps(schema, ensure_ascii=False).encode())
        except InvalidDefinition as exc:
            for found in exc.problems:
                rewrite.refuse(element, f"Camunda Form {file_name}: {found['reason']}", found["reason_vi"])
