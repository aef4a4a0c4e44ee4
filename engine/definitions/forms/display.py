"""Case data as an officer reads it (issue 10.3): each variable under the label its form gives it, and its value in
Vietnamese — an enumeration by its option's title, a date dd/mm/yyyy, a moment dd/mm/yyyy HH:MM in Hanoi time, money
"600.000.000 đồng", a yes/no "Có"/"Không", a list one item after another — never a code, raw JSON or an ISO time.

``field_labels`` reads the labels of a process's forms (the start form first, then the task forms by name: the first
form that asks for a field names it); ``display_value`` formats one value by the schema of its field (or, without one,
by what the value looks like)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from phoihop.engine.clock import HANOI_TZ

__all__ = ["EMPTY", "SHOW_EARLIER", "FieldLabel", "display_value", "enum_titles", "field_labels"]

SHOW_EARLIER = "x-show-earlier"  # a task form's list of earlier fields shown read-only with the task (linted)
EMPTY = "Chưa có"
YES, NO = "Có", "Không"
MONEY_UNIT = "đồng"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_LABELLED = re.compile(r"(\S+)\s*:\s*(.+?)\s*$")  # "... value: label" in a description
_GROUP_FROM = 10_000  # 2026 stays 2026 (a year, a count); 600000 is 600.000


@dataclass(frozen=True)
class FieldLabel:
    """A top-level field of a process's forms: its ``label`` (the property's title), the ``form`` whose question it
    is (file name) and that form's ``form_title``, and the property's ``schema``."""

    name: str
    label: str
    form: str
    form_title: str | None
    schema: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _title(schema: Mapping[str, Any], fallback: str) -> str:
    title = schema.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else fallback


def field_labels(forms: Iterable[tuple[str, Mapping[str, Any]]], *, start: str | None = None) -> dict[str, FieldLabel]:
    """Field name → its label, from ``forms`` (file name, JSON Schema); the form named ``start`` is read first."""
    ordered = sorted(forms, key=lambda item: (item[0] != start, item[0]))
    found: dict[str, FieldLabel] = {}
    for name, schema in ordered:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            continue
        form_title = schema.get("title") if isinstance(schema.get("title"), str) else None
        for key, sub in properties.items():
            if key in found or not isinstance(sub, Mapping):
                continue
            found[key] = FieldLabel(key, _title(sub, key), name, form_title, sub)
    return found


def enum_titles(schema: Mapping[str, Any]) -> dict[str, str] | None:
    """Value (as text) → title of an enumeration: ``oneOf``/``anyOf`` of ``{const, title}``, or an ``enum`` whose
    description labels its values "value: label; value: label" (as the web form's options read it)."""
    for keyword in ("oneOf", "anyOf"):
        members = schema.get(keyword)
        if isinstance(members, list) and members and all(isinstance(m, Mapping) and "const" in m for m in members):
            return {str(m["const"]): str(m.get("title") or m["const"]) for m in members}
    values = schema.get("enum")
    if not isinstance(values, list) or not values:
        return None
    labels: dict[str, str] = {}
    description = schema.get("description")
    for part in description.rstrip(". ").split(";") if isinstance(description, str) else ():
        inner = part.rsplit("(", 1)[-1]
        if part.rstrip().endswith(")") and ":" in inner:
            part = inner.rstrip(") ")
        match = _LABELLED.search(part)
        if match:
            labels[match.group(1)] = match.group(2)
    return {str(v): labels.get(str(v), str(v)) for v in values}


def _number(value: int | float, *, money: bool) -> str:
    whole = int(abs(value))
    grouped = f"{whole:,}".replace(",", ".") if money or abs(value) >= _GROUP_FROM else str(whole)
    sign = "-" if value < 0 else ""
    text = grouped
    if isinstance(value, float) and not value.is_integer():
        text = f"{grouped},{f'{abs(value):.6f}'.split('.')[1].rstrip('0')}"
    return f"{sign}{text}" + (f" {MONEY_UNIT}" if money else "")


def _moment(text: str, *, date_only: bool) -> str | None:
    try:
        if date_only or _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text[:10]).strftime("%d/%m/%Y")
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(HANOI_TZ)
    return moment.strftime("%d/%m/%Y %H:%M")


def _type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def display_value(value: Any, schema: Mapping[str, Any] | None = None) -> str:
    """``value`` in Vietnamese for an officer, formatted by its field's ``schema`` (see the module's rules)."""
    schema = schema or {}
    if value is None or value == "" or value == []:
        return EMPTY
    titles = enum_titles(schema)
    if titles is not None and not isinstance(value, list | dict):
        return titles.get(str(value), str(value))
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, int | float):
        return _number(value, money=schema.get("format") == "money")
    if isinstance(value, str):
        fmt = schema.get("format")
        if fmt in ("date", "date-time") or _ISO_MOMENT.fullmatch(value) or _ISO_DATE.fullmatch(value):
            return _moment(value, date_only=fmt == "date") or value
        return value
    listed = schema.get("items")
    items: Mapping[str, Any] = listed if isinstance(listed, Mapping) else {}
    if "description" not in items and "description" in schema:  # the array's "code: label" list names its items
        items = {**items, "description": schema["description"]}
    if isinstance(value, list):
        return "; ".join(display_value(item, items) for item in value)
    if isinstance(value, Mapping):
        found = schema.get("properties")
        properties: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        parts = []
        for key, item in value.items():
            named = properties.get(key)
            sub: Mapping[str, Any] = named if isinstance(named, Mapping) else {}
            if item is None or item == "" or item == []:
                continue
            parts.append(f"{_title(sub, str(key))}: {display_value(item, sub)}")
        return "; ".join(parts) or EMPTY
    return str(value)
