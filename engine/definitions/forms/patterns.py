"""Form patterns (``pattern``, ``patternProperties``) run on RE2, a regular-expression engine whose matching time is
linear in the text: no pattern and no value, however long, can hold the server (Python's ``re`` backtracks: ``^(a+)+$``
took 9.1 s on 27 characters, doubling with each one more).

jsonschema matches patterns with ``re.search`` in four keywords (``pattern``, ``patternProperties``,
``additionalProperties`` and ``unevaluatedProperties``, the last two to find the names a pattern declares), through
the ``re`` module its keyword modules import. :func:`install` hands those modules an object whose ``search`` is
RE2's, so every keyword of every form validator matches on RE2; the forms' own code calls :func:`search` too.

RE2 has no backreferences (``\\1``) and no lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``): :func:`refusal` says why
a pattern cannot run, and a form holding one is refused at deploy (engine.definitions.forms.files). Its classes
follow ECMA-262 as JSON Schema asks: ``\\d`` and ``\\w`` are ASCII (Python's ``re`` also took Unicode digits and
letters). In the officer's browser, the field's HTML ``pattern`` attribute runs on the browser's engine, in that tab
only.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import re2
from jsonschema import _keywords, _legacy_keywords, _utils

__all__ = ["install", "refusal", "search"]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported to the process owner, not logged to stderr by RE2


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def refusal(pattern: str) -> str | None:
    """Why RE2 cannot run ``pattern`` (its own words), or None when it can."""
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


def search(pattern: str, text: str) -> Any:
    """``re.search`` on RE2: a match object or None. A pattern RE2 cannot compile raises ``re2.error`` (deploy refuses
    such forms, so none reaches a validator)."""
    try:
        compiled = _compiled(pattern)
    except re2.error:  # stored before deploys checked patterns: the value cannot be checked, so it is not accepted
        return None
    return compiled.search(text)


_RE2 = types.SimpleNamespace(search=search)


def install() -> None:
    """Make jsonschema's keywords match on RE2 (idempotent)."""
    for module in (_keywords, _legacy_keywords, _utils):
        setattr(module, "re", _RE2)  # noqa: B010 - the modules' ``re`` global; mypy types it as the module
