"""The lint's entry points: a compiled deployment (:func:`lint_deployment`, every rule family of this package), files
that may not compile (:func:`lint_files`: compile problems first, then what the XML alone tells), and a folder of
them (:func:`lint_path`, as ``phoihop lint`` and the processes/ tests read it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from phoihop.engine.definitions.catalog import Deployment
from phoihop.engine.definitions.expressions import Check
from phoihop.engine.definitions.forms.files import is_camunda_form_file, is_form_file
from phoihop.engine.definitions.lint.calls import recursion_findings
from phoihop.engine.definitions.lint.camunda_attributes import camunda_findings
from phoihop.engine.definitions.lint.consultations import tacit_consent_findings
from phoihop.engine.definitions.lint.dmn_coverage import coverage_findings, form_domains
from phoihop.engine.definitions.lint.dmn_tables import dmn_findings
from phoihop.engine.definitions.lint.findings import from_problem, settled
from phoihop.engine.definitions.lint.graph import graph_findings, tree_graph_findings
from phoihop.engine.definitions.lint.human_tasks import task_files, task_findings, xml_task_findings
from phoihop.engine.definitions.lint.lengths import length_findings
from phoihop.engine.definitions.lint.show_earlier import show_earlier_findings
from phoihop.engine.definitions.lint.variables import unset_variable_findings
from phoihop.engine.definitions.process_files import SUFFIXES, deployable_sets
from phoihop.engine.definitions.slips import lint_slip_folder
from phoihop.engine.definitions.structure import BPMN_SUFFIXES, DMN_SUFFIXES, local_name
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import InvalidDefinition, UnsafeXml
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import Finding, SourceFile

__all__ = ["lint_deployment", "lint_files", "lint_path"]


def lint_deployment(
    deployment: Deployment,
    *,
    strict: bool = False,
    check: Check = check_source,
    limits: Mapping[str, int] | None = None,
) -> list[Finding]:
    """Every "6 rõ" finding of a compiled deployment, sorted by file and line; ``strict`` makes warnings errors.
    ``limits``: the longest name the store keeps of each kind (engine.store.tables.NAME_LIMITS), checked when given."""
    trees = {
        source.name: parse_xml(source.content, filename=source.name)
        for source in deployment.files
        if source.name.lower().endswith(BPMN_SUFFIXES + DMN_SUFFIXES)
    }
    elements: dict[str, dict[str, Any]] = {
        name: {
            element.get("id"): element
            for element in tree.getroot().iter()
            if isinstance(element.tag, str) and element.get("id") is not None and local_name(element) != "formField"
        }
        for name, tree in trees.items()
        if name.lower().endswith(BPMN_SUFFIXES)
    }
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for process in deployment.processes:
        files = task_files(process)
        for element_id, task in process.user_tasks.items():
            file = files.get(element_id, "")
            if (file, element_id) in seen:
                continue
            seen.add((file, element_id))
            findings += task_findings(task, file, elements.get(file, {}).get(element_id), check)
    variables = form_domains(
        {name: form for process in deployment.processes for name, form in process.forms.items()}.values()
    )
    for name, tree in trees.items():
        if name.lower().endswith(DMN_SUFFIXES):
            # first: it translates a FEEL file's cells into Python in place (engine.definitions.dmn.feel_python)
            findings += dmn_findings(name, tree.getroot())  # FEEL read as Python, hit policies, requirement graphs
            findings += coverage_findings(name, tree.getroot(), variables)
        else:
            findings += camunda_findings(name, tree.getroot())
    findings += recursion_findings(trees)
    findings += tree_graph_findings(trees)  # dead ends, unreachable elements, flows into nothing, stuck gateways
    findings += unset_variable_findings(deployment, trees, elements)  # due dates and timers naming unset variables
    findings += tacit_consent_findings(deployment, trees)  # "<task>_tacit_consent" timers the engine would not record
    findings += show_earlier_findings(
        deployment.processes, elements, trees
    )  # "x-show-earlier" fields no earlier form asks
    if limits is not None:
        findings += length_findings(deployment.processes, elements, limits)
    return settled(findings, strict=strict)


def lint_files(
    files: Sequence[SourceFile],
    *,
    compile_files: Callable[[Sequence[SourceFile]], Deployment],
    strict: bool = False,
    check: Check = check_source,
    refuse_unsafe: bool = False,
    limits: Mapping[str, int] | None = None,
) -> list[Finding]:
    """Compile ``files`` and lint them: compile problems come back as error findings (code ``invalid-bpmn`` or the
    problem's own), so one list tells everything wrong with a process folder. ``refuse_unsafe``: a hostile or
    oversized file (UnsafeXml) is raised instead, as ``POST /process-definitions/validate`` answers it with 422."""
    try:
        deployment = compile_files(files)
    except InvalidDefinition as exc:
        if refuse_unsafe and isinstance(exc, UnsafeXml):
            raise
        errors = [from_problem(found, exc.code) for found in exc.problems]
        if isinstance(exc, UnsafeXml):
            return errors
        reported = {found["element_id"] for found in errors}  # an element with an error already is not listed twice
        return errors + [
            found
            for found in [
                *xml_task_findings(files, strict=strict, check=check),
                *settled(_xml_graph_findings(files), strict=strict),
            ]
            if found["element_id"] not in reported
        ]
    return lint_deployment(deployment, strict=strict, check=check, limits=limits)


def _xml_graph_findings(files: Sequence[SourceFile]) -> list[Finding]:
    """The graph findings of the BPMN files that parse, for a deployment that does not compile."""
    findings: list[Finding] = []
    for source in files:
        if source.name.lower().endswith(BPMN_SUFFIXES):
            try:
                root = parse_xml(source.content, filename=source.name).getroot()
            except InvalidDefinition:
                continue
            findings += graph_findings(source.name, root)
    return findings


def _process_folder(path: Path) -> list[SourceFile] | None:
    """The files of ``path`` when it is itself a process folder (BPMN/DMN files directly in it, no process folders
    below it): one deployment with its forms, as it is a sub-folder of processes/."""
    if not path.is_dir():
        return None
    files = [p for p in sorted(path.iterdir()) if p.is_file()]
    if not any(p.name.endswith(SUFFIXES) for p in files) or any(
        q.name.endswith(SUFFIXES) for sub in path.iterdir() if sub.is_dir() for q in sub.iterdir()
    ):
        return None
    return [
        SourceFile(p.name, p.read_bytes())
        for p in files
        if p.name.endswith(SUFFIXES) or is_form_file(p.name) or is_camunda_form_file(p.name)
    ]


def lint_path(
    path: Path,
    *,
    compile_files: Callable[[Sequence[SourceFile]], Deployment],
    strict: bool = False,
    limits: Mapping[str, int] | None = None,
) -> list[tuple[Path, list[Finding]]]:
    """Lint what ``path`` holds: a process folder is one deployment, a folder of process folders one per sub-folder
    (as ``deployable_sets`` reads processes/), a file alone its own. Returns [(the folder of the files, findings)]."""
    own = _process_folder(path)
    if own is not None:
        found = lint_files(own, compile_files=compile_files, strict=strict, limits=limits)
        return [(path, found + lint_slip_folder(path / "slips"))]
    results = []
    for label, files in deployable_sets(path):
        folder = path.parent if path.is_file() else path / label if (path / label).is_dir() else path
        found = lint_files(files, compile_files=compile_files, strict=strict, limits=limits)
        slips = lint_slip_folder(folder / "slips") if not path.is_file() else []  # the slip templates' fields
        results.append((folder, found + slips))
    return results
