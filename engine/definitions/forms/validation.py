"""Validating submitted variables against a form: every wrong field listed once (``FormInvalid``), named by the
``title`` of its schema, with the message of the keyword it fails (engine.definitions.forms.messages); and a
submission completed with the form's defaults, as a browser would send it."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from typing import Any

from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from phoihop.engine.definitions.forms.files import Form
from phoihop.engine.definitions.forms.messages import keyword_message
from phoihop.engine.definitions.forms.patterns import search
from phoihop.engine.errors import FormInvalid

__all__ = ["MAX_ERRORS", "FormError", "validate", "with_defaults"]

MAX_ERRORS = 100  # entries listed in one FormInvalid

FormError = dict[str, Any]  # {"field", "message_vi", "message_en", "rule"}


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
    return [key for key in instance if key not in names and not any(search(p, key) for p in patterns)]


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
        yield _entry(path, keyword, *keyword_message(keyword, value, instance, vi, en))


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
