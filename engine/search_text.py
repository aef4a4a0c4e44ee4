"""Inbox search that ignores case and Vietnamese diacritics: ``fold`` ("Kiểm tra", "KIEM TRA", the same text in
NFD, "đ" and "d" all fold to "kiem tra"), and the folded text a human task is found by (its name, the case's business
key and dossier code, the case's title and the applicant's name). The text is written with the task's row
(``human_task.search_text``) and searched with LIKE on the folded query, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = ["CASE_TEXT_VARIABLES", "fold", "task_search_text"]

# variables that name a case (its title) or who it is for; ``applicant`` is an object whose ``name`` counts
CASE_TEXT_VARIABLES = ("dossier_code", "title", "procedure_name", "technology_name", "applicant_name", "period")
_D = str.maketrans({"đ": "d", "Đ": "d"})


@functools.lru_cache(maxsize=4096)  # a process folds the same task names and case titles over and over
def fold(text: str) -> str:
    """``text`` without case, diacritics (NFD, combining marks dropped) and runs of white space; đ/Đ read as d."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def task_search_text(name: str | None, business_key: str | None, variables: Mapping[str, Any]) -> str:
    """The folded text a task is searched by, parts separated by " | " (a query never spans two parts)."""
    parts: list[str] = [name or "", business_key or ""]
    parts += [v for v in (variables.get(k) for k in CASE_TEXT_VARIABLES) if isinstance(v, str)]
    applicant = variables.get("applicant")
    if isinstance(applicant, Mapping):
        parts += [v for v in (applicant.get("name"), applicant.get("representative")) if isinstance(v, str)]
    return " | ".join(fold(p) for p in parts if p.strip())
