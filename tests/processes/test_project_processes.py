"""The project's own processes: each folder of processes/ passes the strict "6 rõ" lint with no finding at all, the
four coordination processes of Decision 5921 are there, and docs/traceability.md is complete and up to date."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from phoihop.cli import main as cli_main
from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.definitions.lint.deployment import lint_path
from phoihop.engine.definitions.lint.findings import format_finding
from phoihop.engine.definitions.process_files import deployable_sets
from phoihop.engine.definitions.traceability import render_markdown, trace_processes
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile

ROOT = Path(__file__).parent.parent.parent
PROCESSES = ROOT / "processes"
TRACEABILITY = ROOT / "docs" / "traceability.md"
COORDINATION = ("escalation", "green_lane", "sandbox_review", "monthly_report")  # Điều 4.đ, 4.e, 7.3, 23.3
FOLDERS = [label for label, _ in deployable_sets(PROCESSES)]
AGENCIES = default_registry()


def compile_files(files: Sequence[SourceFile]) -> Deployment:
    return compile_deployment(files, agencies=AGENCIES, check=check_source)


def test_the_four_coordination_processes_are_deployable_folders() -> None:
    assert set(COORDINATION) <= set(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_process_folder_passes_strict_lint_with_no_finding(folder: str) -> None:
    results = lint_path(PROCESSES / folder, compile_files=compile_files, strict=True)

    assert [path for path, _ in results] == [PROCESSES / folder]
    findings = [format_finding(finding, path) for path, found in results for finding in found]
    assert findings == []


def test_phoihop_lint_strict_on_processes_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["lint", "--strict", str(PROCESSES)]) == 0, capsys.readouterr().out


def test_traceability_has_no_problem() -> None:
    assert trace_processes(PROCESSES).problems == []


def test_docs_traceability_is_up_to_date() -> None:
    expected = render_markdown(trace_processes(PROCESSES))

    assert TRACEABILITY.is_file(), "run `phoihop trace`"
    assert TRACEABILITY.read_text(encoding="utf-8") == expected, "docs/traceability.md is stale: run `phoihop trace`"


def test_phoihop_trace_check_is_clean() -> None:
    assert cli_main(["trace", "--check", "--processes", str(PROCESSES), "--output", str(TRACEABILITY)]) == 0
