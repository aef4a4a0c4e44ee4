"""Task and start forms in the page, from the form's JSON Schema (engine.definitions.forms): fields to render with HTML5
validation attributes, the submitted HTML form turned back into typed variables, and the server's 422 errors
placed at their fields.

Widgets: string (text; textarea from 1000 characters; date and date-time pickers), number and integer, boolean (yes /
no radios), enum (select), array of enum (checkboxes), array of strings (one per line), object (a fieldset of its
properties), array of objects whose properties are all of the scalar kinds above (rows: one fieldset per item, named
``kpis[0].target``, a <template> row that static/app.js clones for "Thêm dòng"; empty rows are left out). Anything
else (arrays inside the items, ...) is edited as JSON. The server validates everything again: the page's checks only
save a round trip."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

from phoihop.engine.clock import HANOI_TZ
from phoihop.web.i18n import Translator
from phoihop.web.numbers import NumberUnclear, format_money, is_money, read_number

__all__ = ["FormField", "agency_defaults", "build_fields", "errors_by_field", "officer_text", "parse_submission"]

TEXTAREA_FROM = 1000  # maxLength at or above which a string gets a textarea
MAX_DEPTH = 3  # nested objects rendered as fieldsets; deeper ones are edited as JSON
ROW_WIDGETS = frozenset({"text", "textarea", "date", "datetime", "number", "boolean", "select"})  # inside a row
INDEX = "__INDEX__"  # the row index in the names and ids of the <template> row, replaced by static/app.js
_ENUM_LABELS = re.compile(r"(\S+)\s*:\s*(.+?)\s*$")  # "... value: label" (the word before the colon)
_ASSUMPTION = re.compile(r"\s*Giả định\b[^.]*(?:\.|$)")  # "Giả định: thời hạn 5 ngày." (the modeller's note)
_FILE_REFERENCE = re.compile(r"\s*\((?:[^()]*\s)?[\w-]+\.(?:dmn|bpmn|json|toml)\)")  # "(eligibility.dmn)"
_CODE_IN_PARENS = re.compile(r"\s*\((?:ví dụ\s+)?[a-z0-9]+(?:_[a-z0-9]+)+\)")  # "(dossier_code)"


@dataclass
class FormField:
    name: str  # the submitted name: the property path joined with "." (applicant.name)
    id: str  # the element id in the page
    widget: str  # text, textarea, date, datetime, number, boolean, select, checkboxes, lines, json, group, rows, row,
    # document (a file input: web/routes/documents.py attaches the file and puts its id in the value)
    label: str
    help: str | None = None
    required: bool = False
    attrs: dict[str, str] = field(default_factory=dict)  # HTML5 validation attributes
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) of select and checkboxes
    value: Any = None  # str, or list[str] for checkboxes
    errors: list[str] = field(default_factory=list)
    children: list[FormField] = field(default_factory=list)  # a group's fields, the rows of rows, a row's fields
    schema: Mapping[str, Any] = field(default_factory=dict, repr=False)
    template: FormField | None = None  # rows: the empty row the page clones (not walked)
    in_row: bool = False  # a field of a row: ``required`` only while its row is filled (static/app.js keeps it so)
    row_filled: bool = False
    when_empty: Any = None  # rows: what is submitted when every row is empty ([] for a required property)

    def walk(self) -> Iterable[FormField]:
        yield self
        for child in self.children:
            yield from child.walk()


def _type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _items(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    items = schema.get("items")
    return items if isinstance(items, Mapping) else {}


def _number(value: Any) -> str | None:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _enum_options(schema: Mapping[str, Any]) -> list[tuple[Any, str]] | None:
    """(value, label) of an enumeration: ``oneOf``/``anyOf`` of ``{const, title}``; ``enum`` with labels read from a
    description written "value: label; value: label" for the values it names; else the values themselves."""
    for keyword in ("oneOf", "anyOf"):
        members = schema.get(keyword)
        if isinstance(members, list) and members and all(isinstance(m, Mapping) and "const" in m for m in members):
            return [(m["const"], str(m.get("title") or m["const"])) for m in members]
    values = schema.get("enum")
    if not isinstance(values, list) or not values:
        return None
    labels: dict[str, str] = {}
    description = schema.get("description")
    if isinstance(description, str):
        for part in description.rstrip(". ").split(";"):
            inner = part.rsplit("(", 1)[-1]
            if part.rstrip().endswith(")") and ":" in inner:  # "... (other: nghị quyết khác)"
                part = inner.rstrip(") ")
            match = _ENUM_LABELS.search(part)
            if match:
                labels[match.group(1)] = match.group(2)
    return [(v, labels.get(str(v), str(v))) for v in values]  # "(other: nghị quyết khác)" labels "other" alone


def officer_text(text: str | None, codes: Iterable[Any] = ()) -> str | None:
    """A help text or a step's note as an officer reads it (issue 10.3): without the "code: label" list of an
    enumeration whose options already carry the labels (``codes``: its values), file names ("(eligibility.dmn)"),
    identifiers in parentheses and the modeller's "Giả định" notes; None when nothing is left."""
    if not text:
        return None
    for code in sorted({str(code) for code in codes}, key=len, reverse=True):
        label = r"(?:[^;()]|\([^()]*\))*"  # a label may hold a remark in parentheses: "(chỉ một lần)"
        text = re.sub(rf"\s*\(?(?<![\w-]){re.escape(code)}\s*:\s*{label}\)?\s*(?:;|(?=\.)|$)", "", text)
    text = _ASSUMPTION.sub("", text)
    text = _FILE_REFERENCE.sub("", text)
    text = _CODE_IN_PARENS.sub("", text)
    text = re.sub(r"\s*\(\s*\)", "", text).strip()
    text = re.sub(r"[;,:]\s*$", ".", text).strip()
    return text or None


def _text_attrs(schema: Mapping[str, Any]) -> dict[str, str]:
    attrs = {}
    for keyword, attr in (("minLength", "minlength"), ("maxLength", "maxlength")):
        if isinstance(schema.get(keyword), int):
            attrs[attr] = str(schema[keyword])
    if isinstance(schema.get("pattern"), str):
        attrs["pattern"] = schema["pattern"]
    return attrs


def _display(value: Any, widget: str) -> Any:
    """A variable's value as the widget shows it."""
    if value is None:
        return None
    if widget == "checkboxes":
        return [str(v) for v in value] if isinstance(value, list) else []
    if widget == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if widget == "json":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    if widget == "money":
        return format_money(value)
    if widget == "boolean":
        return "true" if value is True else "false" if value is False else str(value)
    if widget == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(HANOI_TZ).strftime("%Y-%m-%dT%H:%M")
        except ValueError:
            return value
    return str(value)


class _Builder:
    def __init__(
        self,
        t: Translator,
        values: Mapping[str, Any],
        raw: Mapping[str, list[str]] | None,
        errors: Mapping[str, list[str]],
    ) -> None:
        self.t = t
        self.values = values
        self.raw = raw
        self.errors = errors
        self.ids = count(1)

    def fields(
        self,
        schema: Mapping[str, Any],
        prefix: str,
        values: Mapping[str, Any],
        depth: int,
        raw_prefix: str | None = None,
    ) -> list[FormField]:
        """``raw_prefix``: where the submission holds these fields when it differs from ``prefix`` (rows are
        numbered again without the empty ones)."""
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return []
        required = set(schema.get("required") or [])
        return [
            self.field(key, sub, prefix, values, key in required, depth, raw_prefix)
            for key, sub in properties.items()
            if isinstance(sub, Mapping) and sub.get("readOnly") is not True
        ]

    def field(
        self,
        key: str,
        schema: Mapping[str, Any],
        prefix: str,
        values: Mapping[str, Any],
        required: bool,
        depth: int,
        raw_prefix: str | None = None,
    ) -> FormField:
        name = f"{prefix}{key}"
        raw_name = f"{raw_prefix}{key}" if raw_prefix is not None else name
        title = schema.get("title")
        description = schema.get("description")
        made = FormField(
            name=name,
            id=f"field-{next(self.ids)}",
            widget="json",
            label=title.strip() if isinstance(title, str) and title.strip() else key,
            help=officer_text(description) if isinstance(description, str) else None,
            required=required,
            schema=schema,
            errors=list(self.errors.get(name, [])),
        )
        kind = _type(schema)
        options = _enum_options(schema)
        items = _items(schema)
        described = items if "description" in items else {**items, "description": schema.get("description")}
        item_options = _enum_options(described) if kind == "array" else None  # the array's "code: label" list
        if options is not None:
            made.widget, made.options = "select", [(str(v), label) for v, label in options]
            made.help = officer_text(made.help, [v for v, _label in options])
        elif kind == "object" and isinstance(schema.get("properties"), Mapping) and depth < MAX_DEPTH:
            found = values.get(key)
            nested: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
            made.widget = "group"
            made.children = self.fields(schema, f"{name}.", nested, depth + 1, f"{raw_name}.")
            return made
        elif (
            kind == "array"
            and _type(items) == "object"
            and depth < MAX_DEPTH
            and self.rows(made, items, values.get(key, schema.get("default")), raw_name, depth)
        ):
            made.required = required and isinstance(schema.get("minItems"), int) and schema["minItems"] > 0
            made.when_empty = [] if required else None
            return made
        elif kind == "string":
            made.attrs = _text_attrs(schema)
            fmt = schema.get("format")
            if fmt == "date":
                made.widget, made.attrs = "date", {}
            elif fmt == "document":  # a file input; the uploaded document's id becomes the value
                made.widget, made.attrs = "document", {}
            elif fmt == "date-time":
                made.widget, made.attrs = "datetime", {}
            elif isinstance(schema.get("maxLength"), int) and schema["maxLength"] >= TEXTAREA_FROM:
                made.widget = "textarea"
            else:
                made.widget = "text"
                if fmt == "email":
                    made.attrs["type"] = "email"
        elif kind in ("integer", "number") and is_money(schema):  # typed "600.000.000" in a text input
            made.widget = "money"
            made.attrs = {"inputmode": "numeric" if kind == "integer" else "decimal", "autocomplete": "off"}
        elif kind in ("integer", "number"):
            made.widget = "number"
            made.attrs = {"step": "1" if kind == "integer" else "any"}
            for keyword, attr in (("minimum", "min"), ("maximum", "max")):
                shown = _number(schema.get(keyword))
                if shown is not None:
                    made.attrs[attr] = shown
        elif kind == "boolean":
            made.widget = "boolean"
        elif kind == "array" and item_options is not None:
            made.widget, made.options = "checkboxes", [(str(v), label) for v, label in item_options]
            made.help = officer_text(made.help, [v for v, _label in item_options])
        elif kind == "array" and _type(items) == "string" and not items.get("format"):
            made.widget = "lines"
            made.help = " ".join(filter(None, [made.help, self.t("form.lines_help")]))
        else:
            made.help = " ".join(filter(None, [made.help, self.t("form.json_help")]))
        if self.raw is not None:  # a submission being shown again: exactly what was typed
            submitted = self.raw.get(raw_name, [])
            made.value = submitted if made.widget == "checkboxes" else (submitted[0] if submitted else None)
        else:
            made.value = _display(values.get(key, schema.get("default")), made.widget)
        return made

    def rows(self, made: FormField, items: Mapping[str, Any], current: Any, raw_name: str, depth: int) -> bool:
        """Make ``made`` the rows of an array of objects: the items shown (or the non-empty rows submitted, numbered
        again), one empty row when there are none, and the <template> row. False when a property of the items is
        not a scalar or a shown item does not fit the rows: the array stays JSON, nothing is lost."""
        template = self.row(made, items, INDEX, {}, None, depth, filled=False)
        keys = {child.name.rsplit(".", 1)[-1] for child in template.children}
        if not template.children or any(child.widget not in ROW_WIDGETS for child in template.children):
            return False
        if self.raw is not None:
            if raw_name in self.raw:  # posted from the JSON textarea
                return False
            posted = _posted_rows(self.raw, raw_name)
            made.children = [
                self.row(made, items, str(i), {}, f"{raw_name}[{old}].", depth, filled=True)
                for i, old in enumerate(posted)
            ]
        else:
            if current is None:
                current = []
            if not (
                isinstance(current, list)
                and all(
                    isinstance(item, Mapping)
                    and set(item) <= keys
                    and not any(isinstance(v, Mapping | list) for v in item.values())
                    for item in current
                )
            ):
                return False
            made.children = [
                self.row(made, items, str(i), item, None, depth, filled=True) for i, item in enumerate(current)
            ]
        if not made.children:
            made.children = [self.row(made, items, "0", {}, None, depth, filled=False)]
        made.widget, made.template = "rows", template
        made.attrs = {"data-next-index": str(len(made.children))}
        return True

    def row(
        self,
        rows: FormField,
        items: Mapping[str, Any],
        index: str,
        item: Mapping[str, Any],
        raw_prefix: str | None,
        depth: int,
        *,
        filled: bool,
    ) -> FormField:
        name = f"{rows.name}[{index}]"
        title = items.get("title")
        made = FormField(
            name=name,
            id=f"{rows.id}-{index}",
            widget="row",
            schema=items,
            label=title.strip() if isinstance(title, str) and title.strip() else rows.label,
            errors=list(self.errors.get(name, [])),
            row_filled=filled,
        )
        made.children = self.fields(items, f"{name}.", item, depth + 1, raw_prefix)
        for position, child in enumerate(made.children):
            child.id, child.in_row, child.row_filled = f"{made.id}-{position}", True, filled
            if not filled:
                child.value = None  # an empty row stays empty (no defaults): it is left out when submitted
        return made


def _posted_rows(raw: Mapping[str, list[str]], name: str) -> list[int]:
    """The indices of the submitted rows of ``name`` (``name[3].x``) with something typed in, in order."""
    pattern = re.compile(re.escape(name) + r"\[(\d{1,9})\]\.")
    filled: dict[int, bool] = {}
    for key, submitted in raw.items():
        match = pattern.match(key)
        if match:
            index = int(match.group(1))
            filled[index] = filled.get(index, False) or any(v.strip() for v in submitted)
    return [index for index in sorted(filled) if filled[index]]


def build_fields(
    schema: Mapping[str, Any] | None,
    t: Translator,
    *,
    values: Mapping[str, Any] | None = None,
    raw: Mapping[str, list[str]] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> list[FormField]:
    """The fields of a form. ``values``: variables to show (else each property's ``default``); ``raw``: a
    submission to show again as typed; ``errors``: messages by field name (see errors_by_field)."""
    if not schema:
        return []
    return _Builder(t, values or {}, raw, errors or {}).fields(schema, "", values or {}, 0)


def agency_defaults(schema: Mapping[str, Any] | None, agencies: Sequence[str]) -> dict[str, Any]:
    """A start form's agency fields pre-filled with the signed-in officer's agency (issue 10.3): each top-level
    property named ``agency`` or ``…_agency`` whose options include one of ``agencies`` (the first such)."""
    properties = schema.get("properties") if schema else None
    if not isinstance(properties, Mapping):
        return {}
    found: dict[str, Any] = {}
    for name, sub in properties.items():
        if not isinstance(sub, Mapping) or not (name == "agency" or name.endswith("_agency")):
            continue
        options = [str(value) for value, _label in _enum_options(sub) or []]
        mine = next((agency for agency in agencies if agency in options), None)
        if mine is not None:
            found[name] = mine
    return found


# --- submission ------------------------------------------------------------------------------------------------------
def _typed(value: str, options: Sequence[tuple[Any, str]]) -> Any:
    return next((v for v, _label in options if str(v) == value), value)


def _number_value(made: FormField, text: str, t: Translator, local: dict[str, list[str]]) -> Any:
    """The number typed (web/numbers.py); a field error when it could be read two ways; the text itself when it is
    no number at all (the server names the field and says it must be a number)."""
    try:
        return read_number(text, integer=_type(made.schema) == "integer", money=made.widget == "money")
    except NumberUnclear as unclear:
        local.setdefault(made.name, []).append(
            t("form.whole_unclear" if unclear.whole else "form.number_unclear", value=text)
        )
        return None


def _scalar(made: FormField, submitted: list[str], t: Translator, local: dict[str, list[str]]) -> Any:
    """The typed value of one non-group field, or None when it was left empty."""
    schema = made.schema
    if made.widget == "checkboxes":
        options = _enum_options(_items(schema)) or []
        chosen = [_typed(v, options) for v in submitted if v != ""]
        return chosen or None
    text = submitted[0] if submitted else ""
    if made.widget not in ("textarea", "lines", "json"):
        text = text.strip()
    if text.strip() == "":
        return None
    if made.widget == "select":
        return _typed(text, _enum_options(schema) or [])
    if made.widget in ("number", "money"):
        return _number_value(made, text, t, local)
    if made.widget == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if made.widget == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if made.widget == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=HANOI_TZ)
        return moment.isoformat(timespec="seconds")
    if made.widget == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            local.setdefault(made.name, []).append(t("form.json_invalid", error=exc.msg))
            return None
    return text


def _submitted(made: FormField) -> list[str]:
    """What was submitted for a field built from the submission (its value as typed)."""
    if isinstance(made.value, list):
        return [str(v) for v in made.value]
    return [] if made.value is None else [str(made.value)]


def _collect(fields: Sequence[FormField], t: Translator, local: dict[str, list[str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for made in fields:
        key = made.name.rsplit(".", 1)[-1]
        if made.widget == "group":
            nested = _collect(made.children, t, local)
            if any(v != [] for v in nested.values()):
                data[key] = nested
            continue
        if made.widget == "rows":
            items = [item for item in (_collect(row.children, t, local) for row in made.children) if item]
            if items or made.when_empty is not None:
                data[key] = items or made.when_empty
            continue
        value = _scalar(made, _submitted(made), t, local)
        if value is not None:
            data[key] = value
    return data


def parse_submission(
    schema: Mapping[str, Any] | None, form: Mapping[str, list[str]], t: Translator
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``(variables, local errors)`` of a submitted HTML form (name → values). Empty fields and empty rows are left
    out (the server then reports a missing required one; a required array with no rows is ``[]``); the rows are
    numbered again as the page shows them again (build_fields with ``raw``), so the server's ``kpis[1].target`` is
    the second row shown. Only JSON that does not parse is refused here."""
    local: dict[str, list[str]] = {}
    fields = build_fields(schema, t, raw=form)
    return _collect(fields, t, local), local


_STEP = re.compile(r"\[\d+\]|\.?[^.\[]+")  # documents[0].name → documents, [0], .name


def errors_by_field(
    errors: Iterable[Mapping[str, Any]], fields: Sequence[FormField], lang: str
) -> tuple[dict[str, list[str]], list[str]]:
    """The server's form errors (``{field, message_vi, message_en}``; field like ``applicant.name`` or
    ``kpis[1].target``) at the deepest rendered field they belong to (the field of a row, the row, the rows, or
    the JSON field of an array); the rest (root errors) apart."""
    names = {made.name for top in fields for made in top.walk() if made.widget != "group"}
    placed: dict[str, list[str]] = {}
    general: list[str] = []
    for error in errors:
        message = str(error.get("message_vi" if lang == "vi" else "message_en") or error.get("message_vi") or "")
        steps = _STEP.findall(str(error.get("field") or ""))
        target = None
        for end in range(len(steps), 0, -1):
            candidate = "".join(steps[:end]).lstrip(".")
            if candidate in names:
                target = candidate
                break
        if target is None:
            general.append(message)
        else:
            placed.setdefault(target, []).append(message)
    return placed, general
