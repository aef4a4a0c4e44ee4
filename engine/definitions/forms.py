"""Process forms: JSON Schema (draft 2020-12) files ``*.form.json`` deployed with the BPMN, and the validation of
submitted variables against them, with one Vietnamese and English message per wrong field.

A form file is untrusted input and is parsed as such: size and nesting limited, UTF-8 only, no duplicate keys, no
NaN or infinite numbers; it must be a JSON object that passes the 2020-12 meta-schema. Every ``$ref`` and
``$dynamicRef`` must point inside the document (``#...``) and resolve there, ``$id`` and ``$schema`` are allowed at
the root only, and the validator's registry cannot retrieve anything: no reference is ever fetched from the network
or the file system. Formats are checked by our own checker (date, date-time, time, email, uuid), which does no I/O.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from phoihop.engine.errors import FormInvalid, InvalidDefinition

__all__ = [
    "FORM_SUFFIX",
    "MAX_FORM_BYTES",
    "START_FORM",
    "Form",
    "FormError",
    "compile_forms",
    "is_form_file",
    "parse_form",
    "validate",
]

FORM_SUFFIX = ".form.json"
START_FORM = "start.form.json"  # the start form of a deployment with one executable process, when none is named
MAX_FORM_BYTES = 256_000
MAX_FORM_DEPTH = 40  # nesting of the JSON document (the meta-schema check recurses once per level)
MAX_ERRORS = 100  # entries listed in one FormInvalid
_SCHEMA_URIS = frozenset(
    {"https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2020-12/schema#"}
)
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})  # their values are data, not schemas
_UTF8_BOM = "\ufeff"

FormError = dict[str, Any]  # {"field", "message_vi", "message_en", "rule"}


@dataclass(frozen=True)
class Form:
    """A compiled form: ``schema`` as written (a JSON object, never mutated), ``validator`` ready to run."""

    name: str
    schema: dict[str, Any] = field(compare=False)
    validator: Validator = field(compare=False, repr=False)

    @property
    def title(self) -> str | None:
        title = self.schema.get("title")
        return title if isinstance(title, str) else None


def is_form_file(name: str) -> bool:
    return name.lower().endswith(FORM_SUFFIX)


# --- parsing --------------------------------------------------------------------------------------------------------
class _Refused(ValueError):
    def __init__(self, reason: str, reason_vi: str, *, line: int | None = None, path: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.reason_vi, self.line, self.path = reason, reason_vi, line, path


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refused(f"duplicate key {key!r}", f"khóa {key!r} bị lặp lại")
        found[key] = value
    return found


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"number {text} is out of range", f"số {text} vượt quá phạm vi")
    return value


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not valid JSON", f"{text} không phải JSON hợp lệ")


def _pointer(path: Sequence[Any]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else ""


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): the schema could not be served back
        return False
    return True


def _check_shape(schema: dict[str, Any]) -> None:
    """Depth, storable strings, and the keywords that may point outside the document."""
    stack: list[tuple[Any, tuple[Any, ...], bool]] = [(schema, (), True)]
    while stack:
        value, path, in_schema = stack.pop()
        if len(path) > MAX_FORM_DEPTH:
            raise _Refused(
                f"the form nests deeper than {MAX_FORM_DEPTH} levels",
                f"biểu mẫu lồng nhau quá {MAX_FORM_DEPTH} cấp",
                path=_pointer(path),
            )
        if isinstance(value, str) and not _storable(value):
            raise _Refused(
                "the form contains a lone surrogate character",
                "biểu mẫu chứa ký tự thay thế đơn lẻ",
                path=_pointer(path),
            )
        if isinstance(value, list):
            stack += [(item, (*path, index), in_schema) for index, item in enumerate(value)]
        if not isinstance(value, dict):
            continue
        for key, item in value.items():
            if not _storable(key):
                raise _Refused(
                    "the form contains a lone surrogate character",
                    "biểu mẫu chứa ký tự thay thế đơn lẻ",
                    path=_pointer(path),
                )
            where = _pointer((*path, key))
            if in_schema and isinstance(item, str):
                if key in ("$ref", "$dynamicRef") and not item.startswith("#"):
                    raise _Refused(
                        f"{key} {item!r} points outside the form: only references inside the document "
                        "(starting with '#') are allowed, nothing is ever fetched",
                        f"{key} {item!r} trỏ ra ngoài biểu mẫu: chỉ cho phép tham chiếu trong chính tài "
                        "liệu (bắt đầu bằng '#'), không tải gì từ bên ngoài",
                        path=where,
                    )
                if key in ("$id", "$schema") and path:
                    raise _Refused(
                        f"{key} is allowed only at the root of the form",
                        f"{key} chỉ được đặt ở gốc biểu mẫu",
                        path=where,
                    )
            stack.append((item, (*path, key), in_schema and key not in _DATA_KEYWORDS))


def _local_refs(schema: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(keyword, reference, JSON pointer) of every reference in a schema position."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(schema, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, list):
            stack += [(item, (*path, index)) for index, item in enumerate(value)]
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in ("$ref", "$dynamicRef") and isinstance(item, str):
                    yield key, item, _pointer((*path, key))
                elif key not in _DATA_KEYWORDS:
                    stack.append((item, (*path, key)))


def _load(content: bytes, max_bytes: int) -> dict[str, Any]:
    if len(content) > max_bytes:
        raise _Refused(
            f"the form is {len(content)} bytes, the limit is {max_bytes}",
            f"biểu mẫu có {len(content)} byte, vượt giới hạn {max_bytes} byte",
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(
            "the form is not valid UTF-8 text",
            "biểu mẫu không phải văn bản UTF-8 hợp lệ",
            line=content[: exc.start].count(b"\n") + 1,
        ) from None
    text = text.removeprefix(_UTF8_BOM)
    if not text.strip():
        raise _Refused("the form is empty", "biểu mẫu rỗng")
    try:
        loaded = json.loads(text, object_pairs_hook=_pairs, parse_float=_finite, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise _Refused(f"not valid JSON: {exc.msg}", f"không phải JSON hợp lệ: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise _Refused("the form is nested too deeply", "biểu mẫu lồng nhau quá sâu") from None
    except ValueError as exc:  # _Refused, or an integer literal of more than 4300 digits
        if isinstance(exc, _Refused):
            raise
        raise _Refused(f"not valid JSON: {exc}", f"không phải JSON hợp lệ: {exc}") from None
    if not isinstance(loaded, dict):
        raise _Refused(
            "the form must be a JSON object (a JSON Schema of type object)",
            "biểu mẫu phải là một đối tượng JSON (JSON Schema có type là object)",
        )
    return loaded


def _compile(schema: dict[str, Any]) -> Validator:
    _check_shape(schema)
    declared = schema.get("$schema")
    if declared is not None and declared not in _SCHEMA_URIS:
        raise _Refused(
            f"$schema {declared!r} is not JSON Schema draft 2020-12",
            f"$schema {declared!r} không phải JSON Schema phiên bản 2020-12",
            path="/$schema",
        )
    if schema.get("type", "object") != "object":
        raise _Refused(
            "the form's root must be of type object (the variables are an object)",
            "gốc của biểu mẫu phải có type là object (các biến là một đối tượng)",
            path="/type",
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise _Refused(
            f"not a valid JSON Schema 2020-12: {exc.message}",
            f"không phải JSON Schema 2020-12 hợp lệ: {exc.message}",
            path=_pointer(list(exc.absolute_path)),
        ) from None
    resource = DRAFT202012.create_resource(schema)
    base = resource.id() or ""
    resolver = Registry().with_resource(base, resource).crawl().resolver(base_uri=base)
    for keyword, reference, where in _local_refs(schema):
        try:
            resolver.lookup(reference)
        except Unresolvable:
            raise _Refused(
                f"{keyword} {reference!r} points to nothing in the form",
                f"{keyword} {reference!r} không trỏ tới phần nào của biểu mẫu",
                path=where,
            ) from None
    # Registry(): nothing can be retrieved (the default registry would fetch remote references over the network).
    return Draft202012Validator(schema, registry=Registry(), format_checker=FORMATS)


def parse_form(name: str, content: bytes, *, max_bytes: int = MAX_FORM_BYTES) -> Form:
    """Parse and compile a form file, or raise InvalidDefinition with one problem (file, line or JSON pointer)."""
    try:
        schema = _load(content, max_bytes)
        validator = _compile(schema)
    except _Refused as exc:
        found: dict[str, Any] = {"file": name, "element_id": None}
        if exc.line is not None:
            found["line"] = exc.line
        if exc.path:
            found["path"] = exc.path
        at = f" at {exc.path}" if exc.path else ""
        at_vi = f" tại {exc.path}" if exc.path else ""
        found.update(
            reason=f"invalid form{at}: {exc.reason}", reason_vi=f"biểu mẫu không hợp lệ{at_vi}: {exc.reason_vi}"
        )
        raise InvalidDefinition(
            f"{name}: {found['reason']}", detail_vi=f"{name}: {found['reason_vi']}", problems=[found]
        ) from None
    return Form(name, schema, validator)


# --- formats --------------------------------------------------------------------------------------------------------
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


# --- validation -----------------------------------------------------------------------------------------------------
_TYPES = {
    "string": ("chuỗi ký tự", "a string"),
    "integer": ("số nguyên", "an integer"),
    "number": ("số", "a number"),
    "boolean": ("giá trị đúng/sai (true/false)", "a boolean (true/false)"),
    "object": ("đối tượng", "an object"),
    "array": ("danh sách", "a list"),
    "null": ("null", "null"),
}
_FORMATS = {
    "date": ("ngày hợp lệ theo định dạng YYYY-MM-DD", "a valid date (YYYY-MM-DD)"),
    "date-time": (
        "ngày giờ hợp lệ theo định dạng YYYY-MM-DDThh:mm:ss+07:00",
        "a valid date-time (YYYY-MM-DDThh:mm:ss+07:00)",
    ),
    "time": ("giờ hợp lệ theo định dạng hh:mm:ss+07:00", "a valid time (hh:mm:ss+07:00)"),
    "email": ("địa chỉ thư điện tử hợp lệ", "a valid email address"),
    "uuid": ("mã UUID hợp lệ", "a valid UUID"),
}
_SHOWN_VALUES = 20


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def _values(values: Any) -> str:
    items = list(values) if isinstance(values, list) else [values]
    shown = ", ".join(_show(v) for v in items[:_SHOWN_VALUES])
    return shown + (", …" if len(items) > _SHOWN_VALUES else "")


def _field(path: Sequence[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Labels:
    """Field labels: the ``title`` of the property's schema, found by walking the form along the instance path."""

    def __init__(self, form: Form) -> None:
        self.form = form
        resource = DRAFT202012.create_resource(form.schema)
        base = resource.id() or ""
        self._resolver = Registry().with_resource(base, resource).crawl().resolver(base_uri=base)

    def variants(self, schema: Any) -> list[Mapping[str, Any]]:
        """The schema, what its local $ref points to, and its allOf/then/else members (where properties hide)."""
        found: list[Mapping[str, Any]] = []
        stack = [schema]
        while stack and len(found) < 20:
            current = stack.pop(0)
            if not isinstance(current, Mapping):
                continue
            found.append(current)
            reference = current.get("$ref")
            if isinstance(reference, str):
                with suppress(Unresolvable):
                    stack.append(self._resolver.lookup(reference).contents)
            for keyword in ("allOf", "anyOf", "oneOf"):
                members = current.get(keyword)
                stack += members if isinstance(members, list) else []
            stack += [current.get("then"), current.get("else")]
        return found

    def child(self, schema: Any, key: Any) -> Any:
        for variant in self.variants(schema):
            if isinstance(key, str):
                properties = variant.get("properties")
                if isinstance(properties, Mapping) and key in properties:
                    return properties[key]
            elif isinstance(key, int):
                prefix = variant.get("prefixItems")
                if isinstance(prefix, list) and key < len(prefix):
                    return prefix[key]
                if "items" in variant:
                    return variant["items"]
        return None

    def schema_at(self, path: Sequence[Any]) -> Any:
        schema: Any = self.form.schema
        for key in path:
            schema = self.child(schema, key)
            if schema is None:
                return None
        return schema

    def title(self, path: Sequence[Any], fallback: Any = None) -> str:
        for variant in [*self.variants(self.schema_at(path)), *self.variants(fallback)]:
            title = variant.get("title")
            if isinstance(title, str) and title.strip():
                return title.strip()
        return _field(path)


def _entry(path: Sequence[Any], rule: str, vi: str, en: str) -> FormError:
    return {"field": _field(path), "message_vi": vi, "message_en": en, "rule": rule}


def _subject(labels: _Labels, path: Sequence[Any], schema: Any = None) -> tuple[str, str]:
    if not path:
        return "Dữ liệu gửi lên", "The submitted data"
    label = labels.title(path, schema)
    return f"Trường '{label}'", f"Field '{label}'"


def _extras(labels: _Labels, schema: Any, instance: Any, *, nested: bool) -> list[str]:
    """Keys of ``instance`` that no ``properties``/``patternProperties`` of ``schema`` declares (``nested``: nor
    those of its $ref, allOf/anyOf/oneOf and then/else members, as unevaluatedProperties sees them)."""
    if not isinstance(instance, Mapping):
        return []
    names: set[str] = set()
    patterns: list[str] = []
    for variant in labels.variants(schema) if nested else [schema] if isinstance(schema, Mapping) else []:
        properties = variant.get("properties")
        names |= set(properties) if isinstance(properties, Mapping) else set()
        pattern_properties = variant.get("patternProperties")
        patterns += list(pattern_properties) if isinstance(pattern_properties, Mapping) else []
    return [key for key in instance if key not in names and not any(re.search(p, key) for p in patterns)]


def _missing(
    path: Sequence[Any], labels: _Labels, names: Sequence[str], rule: str, because: str | None = None
) -> Iterator[FormError]:
    for name in names:
        vi, en = _subject(labels, [*path, name])
        if because is None:
            yield _entry([*path, name], rule, f"{vi} là bắt buộc", f"{en} is required")
        else:
            other_vi, other_en = _subject(labels, [*path, because])
            yield _entry(
                [*path, name],
                rule,
                f"{vi} là bắt buộc khi có {other_vi[0].lower()}{other_vi[1:]}",
                f"{en} is required when {other_en[0].lower()}{other_en[1:]} is given",
            )


def _banned(labels: _Labels, path: list[Any], variables: Mapping[str, Any]) -> Iterator[FormError]:
    """Entries for the given properties whose schema is ``false``, found under ``path``."""
    parent: Any = variables
    for key in path:
        parent = parent[key] if isinstance(parent, Mapping | list) else None
    banned: list[list[Any]] = []
    for variant in labels.variants(labels.schema_at(path)):
        properties = variant.get("properties")
        if isinstance(properties, Mapping) and isinstance(parent, Mapping):
            banned += [[*path, name] for name, schema in properties.items() if schema is False and name in parent]
    for where in banned or [path]:
        vi, en = _subject(labels, where)
        yield _entry(where, "false", f"{vi} không được phép gửi", f"{en} is not allowed")


def _entries(error: ValidationError, labels: _Labels, variables: Mapping[str, Any]) -> Iterator[FormError]:
    """One error of the validator as entries, one per field it concerns."""
    path = list(error.absolute_path)
    keyword: Any = error.validator  # a keyword name; None for a `false` schema
    value: Any = error.validator_value
    instance = error.instance
    vi, en = _subject(labels, path, error.schema)
    if keyword == "required":
        present = instance if isinstance(instance, Mapping) else {}
        yield from _missing(path, labels, [n for n in value if n not in present], "required")
    elif keyword == "dependentRequired":
        present = instance if isinstance(instance, Mapping) else {}
        for name, needed in value.items():
            if name in present:
                yield from _missing(path, labels, [n for n in needed if n not in present], keyword, because=name)
    elif keyword in ("additionalProperties", "unevaluatedProperties"):
        extras = _extras(labels, error.schema, instance, nested=keyword == "unevaluatedProperties")
        for name in extras:
            yield _entry(
                [*path, name],
                keyword,
                f"Trường '{name}' không có trong biểu mẫu",
                f"Field '{name}' is not part of the form",
            )
        if not extras:
            yield _entry(
                path,
                keyword,
                f"{vi} có trường không có trong biểu mẫu",
                f"{en} has fields that are not part of the form",
            )
    elif keyword is None:  # a `false` schema: jsonschema reports it at the parent, without the property's name
        yield from _banned(labels, path, variables)
    else:
        yield _entry(path, keyword, *_message(keyword, value, instance, vi, en))


def _message(keyword: str, value: Any, instance: Any, vi: str, en: str) -> tuple[str, str]:
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        return (
            f"{vi} phải là " + " hoặc ".join(_TYPES.get(t, (t, t))[0] for t in types),
            f"{en} must be " + " or ".join(_TYPES.get(t, (t, t))[1] for t in types),
        )
    simple: dict[str, tuple[str, str]] = {
        "enum": (f"phải là một trong các giá trị: {_values(value)}", f"must be one of: {_values(value)}"),
        "const": (f"phải có giá trị {_show(value)}", f"must be {_show(value)}"),
        "minimum": (f"phải lớn hơn hoặc bằng {value}", f"must be at least {value}"),
        "exclusiveMinimum": (f"phải lớn hơn {value}", f"must be greater than {value}"),
        "maximum": (f"phải nhỏ hơn hoặc bằng {value}", f"must be at most {value}"),
        "exclusiveMaximum": (f"phải nhỏ hơn {value}", f"must be less than {value}"),
        "multipleOf": (f"phải là bội số của {value}", f"must be a multiple of {value}"),
        "minLength": (f"phải có ít nhất {value} ký tự", f"must have at least {value} characters"),
        "maxLength": (f"không được dài quá {value} ký tự", f"must have at most {value} characters"),
        "pattern": (f"không đúng mẫu quy định ({value})", f"does not match the required pattern ({value})"),
        "minItems": (f"phải có ít nhất {value} phần tử", f"must have at least {value} items"),
        "maxItems": (f"không được có quá {value} phần tử", f"must have at most {value} items"),
        "uniqueItems": ("không được có phần tử trùng nhau", "must not contain duplicate items"),
        "minProperties": (f"phải có ít nhất {value} trường", f"must have at least {value} fields"),
        "maxProperties": (f"không được có quá {value} trường", f"must have at most {value} fields"),
        "contains": ("phải chứa ít nhất một phần tử hợp lệ", "must contain at least one valid item"),
        "minContains": (f"phải chứa ít nhất {value} phần tử hợp lệ", f"must contain at least {value} valid items"),
        "maxContains": (f"không được chứa quá {value} phần tử hợp lệ", f"must contain at most {value} valid items"),
        "not": ("có giá trị không được phép", "has a value that is not allowed"),
        "anyOf": ("không khớp với lựa chọn nào của biểu mẫu", "matches none of the allowed choices"),
        "oneOf": ("phải khớp đúng một lựa chọn của biểu mẫu", "must match exactly one of the allowed choices"),
        "propertyNames": ("có tên trường không hợp lệ", "has an invalid field name"),
    }
    if keyword == "format":
        described = _FORMATS.get(value, (f"giá trị đúng định dạng {value}", f"a valid {value}"))
        return f"{vi} phải là {described[0]}", f"{en} must be {described[1]}"
    if keyword in simple:
        text_vi, text_en = simple[keyword]
        return f"{vi} {text_vi}", f"{en} {text_en}"
    return f"{vi} không hợp lệ (quy tắc {keyword})", f"{en} is invalid (rule {keyword})"


def with_defaults(form: Form | None, variables: Mapping[str, Any]) -> dict[str, Any]:
    """``variables`` plus the ``default`` of every top-level property of the form that they leave out, as a form in a
    browser would send it; a script can then rely on an optional field existing (scripts cannot test for a name)."""
    filled = dict(variables)
    properties = form.schema.get("properties") if form is not None else None
    if isinstance(properties, Mapping):
        for name, spec in properties.items():
            if name not in filled and isinstance(spec, Mapping) and "default" in spec:
                filled[name] = copy.deepcopy(spec["default"])
    return filled


def validate(form: Form, variables: Mapping[str, Any], **context: Any) -> None:
    """Raise FormInvalid listing every wrong field (one entry each, at most MAX_ERRORS) unless ``variables`` match.

    ``context`` (task_id, process_key...) is added to the error's fields.
    """
    labels: _Labels | None = None
    found: dict[str, FormError] = {}
    for error in form.validator.iter_errors(dict(variables)):
        labels = labels or _Labels(form)
        for entry in _entries(error, labels, variables):
            found.setdefault(entry["field"], entry)
        if len(found) >= MAX_ERRORS:
            break
    if not found:
        return
    errors = list(found.values())[:MAX_ERRORS]
    title = form.title or form.name
    listed_en = "; ".join(e["message_en"] for e in errors[:5]) + ("; …" if len(errors) > 5 else "")
    listed_vi = "; ".join(e["message_vi"] for e in errors[:5]) + ("; …" if len(errors) > 5 else "")
    raise FormInvalid(
        f"the data does not match the form {title!r}: {listed_en}",
        detail_vi=f"Dữ liệu không khớp biểu mẫu '{title}': {listed_vi}",
        form=form.name,
        errors=errors,
        **context,
    )


def compile_forms(files: Iterable[tuple[str, bytes]]) -> tuple[dict[str, Form], list[dict[str, Any]]]:
    """Every ``*.form.json`` of a deployment compiled, by file name, and the problems of those that are not forms."""
    forms: dict[str, Form] = {}
    problems: list[dict[str, Any]] = []
    for name, content in files:
        if is_form_file(name):
            try:
                forms[name] = parse_form(name, content)
            except InvalidDefinition as exc:
                problems += exc.problems
    return forms, problems
