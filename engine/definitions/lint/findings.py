"""Lint findings: one built for an element, the list settled (``strict``, sorted), a finding shown as the catalog's
problem or as a line of ``phoihop lint``, a compile problem read as a finding, and the errors refused at deploy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from phoihop.engine.errors import InvalidDefinition
from phoihop.engine.model import Finding, Problem, Severity

__all__ = ["as_problem", "finding_at", "format_finding", "from_problem", "has_errors", "refuse_errors", "settled"]


def finding_at(
    code: str,
    severity: Severity,
    file: str,
    element: Any,
    element_id: str | None,
    en: str,
    vi: str,
) -> Finding:
    """A finding at ``element`` (an lxml element: its name and line), or at none (``element`` None)."""
    name = element.get("name") if element is not None else None
    return Finding(
        code=code,
        severity=severity,
        file=file,
        element_id=element_id,
        element_name=name or None,
        message_en=en,
        message_vi=vi,
        line=element.sourceline if element is not None else None,
    )


def settled(findings: list[Finding], *, strict: bool) -> list[Finding]:
    """``strict`` makes every finding an error; sorted by file, line, element and code."""
    if strict:
        for finding in findings:
            finding["severity"] = "error"
    return sorted(findings, key=lambda f: (f["file"], f["line"] or 0, f["element_id"] or "", f["code"]))


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding["severity"] == "error" for finding in findings)


def as_problem(finding: Finding) -> Problem:
    """A finding in the catalog's problem shape (``reason``/``reason_vi``), with its ``code`` and ``severity``."""
    found: Problem = {"file": finding["file"], "element_id": finding["element_id"]}
    if finding["element_name"]:
        found["element_name"] = finding["element_name"]
    if finding["line"]:
        found["line"] = finding["line"]
    found.update(
        reason=finding["message_en"],
        reason_vi=finding["message_vi"],
        code=finding["code"],
        severity=finding["severity"],
    )
    return found


def refuse_errors(findings: Sequence[Finding]) -> None:
    """Raise InvalidDefinition listing the error findings (with codes), if there are any."""
    errors = [finding for finding in findings if finding["severity"] == "error"]
    if not errors:
        return
    first = errors[0]
    where = first["file"] + (f" ({first['element_id']})" if first["element_id"] else "")
    others = len(errors) - 1
    more, more_vi = (f" and {others} more", f" và {others} lỗi khác") if others else ("", "")
    raise InvalidDefinition(
        f"the process definition fails the 6 rõ check: {where}: {first['message_en']}{more}",
        detail_vi=f"quy trình chưa đạt yêu cầu 6 rõ: {where}: {first['message_vi']}{more_vi}",
        problems=[as_problem(finding) for finding in errors],
    )


def from_problem(found: Problem, code: str) -> Finding:
    """A compile problem (engine.definitions.catalog) as an error finding; ``code`` when the problem carries none."""
    return Finding(
        code=str(found.get("code") or code),
        severity="error",
        file=str(found.get("file") or ""),
        element_id=found.get("element_id"),
        element_name=found.get("element_name"),
        message_en=str(found.get("reason", "")),
        message_vi=str(found.get("reason_vi", "")),
        line=found.get("line"),
    )


def format_finding(finding: Finding, directory: Path | None = None) -> str:
    """``file:line element_id [severity code] message_vi / message_en``, the file under ``directory`` if given."""
    file = str(directory / finding["file"]) if directory is not None and finding["file"] else finding["file"]
    where = file + (f":{finding['line']}" if finding["line"] else "")
    return (
        f"{where} {finding['element_id'] or '-'} [{finding['severity']} {finding['code']}] "
        f"{finding['message_vi']} / {finding['message_en']}"
    )
