"""The formats a form may name (``date``, ``date-time``, ``time``, ``email``, ``uuid``, ``document`` (the id of a
document attached to the case), ``money`` on an integer or number field: an amount in đồng), checked by our own checker:
no I/O, and nothing the default checker would fetch or import."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import date, datetime, time

from jsonschema import FormatChecker

__all__ = ["FORMATS", "money_fields"]

FORMATS = FormatChecker(formats=())
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = r"\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]" + _TIME)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def _fixed_fraction(text: str) -> str:
    """datetime.fromisoformat takes 3 or 6 fraction digits only: pad or cut to 6."""
    match = re.search(r"\.(\d+)", text)
    if match is None:
        return text
    return text[: match.start(1)] + match.group(1)[:6].ljust(6, "0") + text[match.end(1) :]


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or (_DATE.fullmatch(value) is not None and bool(date.fromisoformat(value)))


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return _DATE_TIME.fullmatch(value) is not None and bool(datetime.fromisoformat(_fixed_fraction(value.upper())))


@FORMATS.checks("time", raises=ValueError)
def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return re.fullmatch(_TIME, value) is not None and time.fromisoformat(_fixed_fraction(value.upper())) is not None


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or (len(value) == 36 and bool(uuid.UUID(value)))


@FORMATS.checks("document", raises=ValueError)
def _is_document(value: object) -> bool:
    """A document attached to the case (its id, a UUID): the web app renders the field as a file input and puts the
    uploaded document's id in the variable (docs/process-authoring.md)."""
    return not isinstance(value, str) or (len(value) == 36 and bool(uuid.UUID(value)))


@FORMATS.checks("money")
def _is_money(value: object) -> bool:
    """An amount in đồng: the field's type (integer, number) says what is stored; the format marks it as money, read
    and shown the Vietnamese way ("600.000.000 đồng") by the web app. A text is no amount."""
    return not isinstance(value, str)


def money_fields(files: Iterable[tuple[str, str | bytes]]) -> frozenset[str]:
    """The variables that some form among ``files`` (name, content) marks as money: top-level properties with
    ``"format": "money"`` of every ``*.form.json`` (a file that does not parse names none)."""
    found: set[str] = set()
    for name, content in files:
        if not name.endswith(".form.json"):
            continue
        try:
            schema = json.loads(content)
        except ValueError:
            continue
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(properties, dict):
            found |= {k for k, v in properties.items() if isinstance(v, dict) and v.get("format") == "money"}
    return frozenset(found)
