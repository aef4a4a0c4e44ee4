"""Form files (``*.form.json``): a JSON Schema (draft 2020-12) deployed with the BPMN, parsed and compiled.

A form file is untrusted input and is parsed as such: size and nesting limited, UTF-8 only, no duplicate keys, no
NaN or infinite numbers; it must be a JSON object that passes the 2020-12 meta-schema. Every ``$ref`` and
``$dynamicRef`` must point inside the document (``#...``) and resolve there, ``$id`` and ``$schema`` are allowed at
the root only, and the validator's registry cannot retrieve anything: no reference is ever fetched from the network
or the file system. Formats are checked by our own checker (engine.definitions.forms.formats), which does no I/O.
Patterns run on RE2 in linear time; a pattern RE2 cannot run is refused (engine.definitions.forms.patterns).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from phoihop.engine.definitions.forms import patterns
from phoihop.engine.definitions.forms.formats import FORMATS
from phoihop.engine.definitions.forms.patterns import refusal
from phoihop.engine.errors import InvalidDefinition

__all__ = [
    "FORM_SUFFIX",
    "MAX_FORM_BYTES",
    "PATTERN_CODE",
    "START_FORM",
    "Form",
    "compile_forms",
    "is_camunda_form_file",
    "is_form_file",
    "parse_form",
    "read_json_object",
]

FORM_SUFFIX = ".form.json"
START_FORM = "start.form.json"  # the start form of a deployment with one executable process, when none is named
MAX_FORM_BYTES = 256_000
PATTERN_CODE = "form-pattern"  # the problem code of a pattern RE2 cannot run (engine.definitions.forms.patterns)
MAX_FORM_DEPTH = 40  # nesting of the JSON document (the meta-schema check recurses once per level)
_SCHEMA_URIS = frozenset(
    {"https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2020-12/schema#"}
)
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})  # their values are data, not schemas
_UTF8_BOM = "\ufeff"
patterns.install()  # every keyword of every form validator matches on RE2


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


CAMUNDA_FORM_SUFFIX = ".form"  # a Camunda Form (form-js JSON), translated by engine.definitions.camunda.camunda_forms


def is_camunda_form_file(name: str) -> bool:
    return name.lower().endswith(CAMUNDA_FORM_SUFFIX)


# --- parsing --------------------------------------------------------------------------------------------------------
class _Refused(ValueError):
    def __init__(
        self, reason: str, reason_vi: str, *, line: int | None = None, path: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason, self.reason_vi, self.line, self.path, self.code = reason, reason_vi, line, path, code


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


def _patterns(schema: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(pattern, field, JSON pointer) of every ``pattern`` and ``patternProperties`` name in a schema position; the
    field is the property the pattern checks (a ``patternProperties`` name is its own field)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(schema, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, list):
            stack += [(item, (*path, index)) for index, item in enumerate(value)]
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "pattern" and isinstance(item, str):
                    names = [path[i + 1] for i in range(len(path) - 1) if path[i] == "properties"]
                    yield item, str(names[-1]) if names else "(gốc / root)", _pointer((*path, key))
                elif key == "patternProperties" and isinstance(item, dict):
                    yield from ((name, name, _pointer((*path, key, name))) for name in item)
                if key not in _DATA_KEYWORDS:
                    stack.append((item, (*path, key)))


def _check_patterns(schema: Mapping[str, Any]) -> None:
    for pattern, name, where in _patterns(schema):
        why = refusal(pattern)
        if why is not None:
            raise _Refused(
                f"the pattern {pattern!r} of field {name!r} cannot run on RE2, the linear-time engine that checks "
                f"form data ({why}): backreferences (\\1) and lookarounds ((?=, (?!, (?<=, (?<!) are not supported",
                f"mẫu {pattern!r} của trường {name!r} không chạy được trên RE2, bộ so khớp thời gian tuyến tính dùng "
                f"để kiểm tra dữ liệu biểu mẫu ({why}): không hỗ trợ tham chiếu ngược (\\1) và nhìn trước/nhìn sau "
                "((?=, (?!, (?<=, (?<!)",
                path=where,
                code=PATTERN_CODE,
            )


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
    _check_patterns(schema)
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
        raise _invalid(name, exc) from None
    return Form(name, schema, validator)


def read_json_object(name: str, content: bytes, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, Any]:
    """A JSON object read as untrusted as a form file is (size, UTF-8, no duplicate keys, no NaN), or InvalidDefinition
    naming the file; its content is not checked as a JSON Schema (a Camunda Form is read with it)."""
    try:
        return _load(content, max_bytes)
    except _Refused as exc:
        raise _invalid(name, exc) from None


def _invalid(name: str, exc: _Refused) -> InvalidDefinition:
    found: dict[str, Any] = {"file": name, "element_id": None}
    if exc.line is not None:
        found["line"] = exc.line
    if exc.path:
        found["path"] = exc.path
    if exc.code:
        found["code"] = exc.code
    at = f" at {exc.path}" if exc.path else ""
    at_vi = f" tại {exc.path}" if exc.path else ""
    found.update(reason=f"invalid form{at}: {exc.reason}", reason_vi=f"biểu mẫu không hợp lệ{at_vi}: {exc.reason_vi}")
    return InvalidDefinition(f"{name}: {found['reason']}", detail_vi=f"{name}: {found['reason_vi']}", problems=[found])


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
