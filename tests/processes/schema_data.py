"""Random data a form accepts, generated from its JSON Schema with a seeded ``random.Random``: every property filled (a
top-level one with a default: its default, as a form starts from it)
(so that an ``if``/``then`` asking for more is satisfied), an enumeration's value chosen at random, text within its
lengths, dates, money and numbers within their bounds, arrays of one or two items. A draw the form's validator
refuses (a condition between fields) is drawn again."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from jsonschema import Draft202012Validator

from phoihop.engine.definitions.forms.files import Form

__all__ = ["DataNotDrawn", "form_data", "schema_data", "value_for"]

_PATTERN_CANDIDATES = (
    "0123456789",
    "012345678901",
    "0123456789-001",
    "0912 345 678",
    "2026-11",
    "ABC-01",
    "KHCN-01",
    "01/2026/QĐ-UBND",
    "",
)
_WORDS = [
    "Nội",
    "dung",
    "thử",
    "nghiệm",
    "của",
    "cơ",
    "quan",
    "về",
    "hồ",
    "sơ",
    "đề",
    "nghị",
    "tháo",
    "gỡ",
    "vướng",
    "mắc",
]


class DataNotDrawn(Exception):
    """No draw satisfied the form (not an AssertionError: a broken walk is no expected failure)."""


def _type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _choices(schema: Mapping[str, Any]) -> list[Any] | None:
    for keyword in ("oneOf", "anyOf"):
        members = schema.get(keyword)
        if isinstance(members, list) and members and all(isinstance(m, Mapping) and "const" in m for m in members):
            return [m["const"] for m in members]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _text(schema: Mapping[str, Any], rng: random.Random) -> str | None:
    fmt = schema.get("format")
    if fmt == "date":
        return (date(2026, 12, 7) + timedelta(days=rng.randint(0, 60))).isoformat()
    if fmt == "date-time":
        return f"{(date(2026, 12, 7) + timedelta(days=rng.randint(0, 60))).isoformat()}T09:30:00+07:00"
    if fmt == "email":
        return f"can.bo{rng.randint(1, 99)}@hanoi.gov.vn"
    if fmt in ("uri", "iri", "uri-reference"):
        return f"https://dichvucong.hanoi.gov.vn/ho-so/{rng.randint(1, 999)}"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        fitting = [c for c in _PATTERN_CANDIDATES if re.search(pattern, c)]
        fitting = [c for c in fitting if _lengths_fit(c, schema)]
        return rng.choice(fitting) if fitting else None
    low = schema.get("minLength") if isinstance(schema.get("minLength"), int) else 0
    high = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else 200
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12)))
    while len(words) < low:
        words += " " + rng.choice(_WORDS)
    return words[:high].strip() if len(words[:high].strip()) >= low else words[:high]


def _lengths_fit(text: str, schema: Mapping[str, Any]) -> bool:
    low, high = schema.get("minLength"), schema.get("maxLength")
    return (not isinstance(low, int) or len(text) >= low) and (not isinstance(high, int) or len(text) <= high)


def _number(schema: Mapping[str, Any], rng: random.Random, *, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    high = schema.get(
        "maximum", schema.get("exclusiveMaximum", 1_000_000_000 if schema.get("format") == "money" else 100)
    )
    if not isinstance(low, int | float):
        low = 0
    if not isinstance(high, int | float) or high < low:
        high = low + 100
    if "exclusiveMinimum" in schema:
        low += 1
    if "exclusiveMaximum" in schema:
        high -= 1
    if integer:
        return rng.randint(int(low), max(int(low), int(high)))
    return round(rng.uniform(float(low), float(high)), 2)


def value_for(schema: Mapping[str, Any], rng: random.Random, depth: int = 0, *, first: bool = False) -> Any:
    """A random value of ``schema`` (None: none could be made, leave the property out); ``first``: an enumeration's
    first option and yes, not a random one (the way forward, as forms list it first)."""
    choices = _choices(schema)
    if choices is not None:
        return choices[0] if first else rng.choice(choices)
    kind = _type(schema)
    if kind == "string":
        return _text(schema, rng)
    if kind == "boolean":
        return True if first else rng.choice([True, False])
    if kind in ("integer", "number"):
        return _number(schema, rng, integer=kind == "integer")
    if kind == "object" or isinstance(schema.get("properties"), Mapping):
        return _object(schema, rng, depth + 1, first=first) if depth < 5 else {}
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {"type": "string"}
        assert isinstance(items, Mapping)
        item_choices = _choices(items)
        low = schema.get("minItems") if isinstance(schema.get("minItems"), int) else 1
        count = max(low, rng.randint(1, 2))
        if item_choices is not None and first:
            return item_choices[:count]
        if item_choices is not None:
            picked = rng.sample(item_choices, min(count, len(item_choices)))
            return picked  # distinct values: a set of options
        made = [value_for(items, rng, depth + 1, first=first) for _ in range(count)]
        return [item for item in made if item is not None]
    return None


def _object(schema: Mapping[str, Any], rng: random.Random, depth: int, *, first: bool = False) -> dict[str, Any]:
    properties = schema.get("properties")
    out: dict[str, Any] = {}
    if isinstance(properties, Mapping):
        for key, sub in properties.items():
            if not isinstance(sub, Mapping) or sub.get("readOnly") is True:
                continue
            if "default" in sub and depth == 0:  # what a form starts from (a field the system fills, as a rule)
                out[key] = sub["default"]
                continue
            made = value_for(sub, rng, depth, first=first)
            if made is not None:
                out[key] = made
    return out


def form_data(form: Form | None, rng: random.Random, *, attempts: int = 200) -> dict[str, Any]:
    """Data ``form`` accepts (its validator's judgement), drawn again until it does; {} without a form."""
    if form is None:
        return {}
    return schema_data(form.schema, rng, form.validator, name=form.name, attempts=attempts)


def schema_data(
    schema: Mapping[str, Any],
    rng: random.Random,
    validator: Any = None,
    *,
    name: str = "form",
    attempts: int = 200,
    forward: bool = False,
) -> dict[str, Any]:
    """Data ``schema`` accepts (``validator``: a jsonschema validator; else a 2020-12 one of ``schema``).
    ``forward``: the first draw takes each enumeration's first option and yes (the way forward), later ones are
    random."""
    check = validator or Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    data: dict[str, Any] = {}
    for attempt in range(attempts):
        data = _object(schema, rng, 0, first=forward and attempt == 0)
        if not any(True for _error in check.iter_errors(data)):
            return data
    errors = [e.message for e in check.iter_errors(data)]
    raise DataNotDrawn(f"no valid data drawn for {name} in {attempts} attempts: {errors[:3]}")
