"""Reading deployable process folders from disk: each sub-folder of processes/ is one deployment (its BPMN and DMN
files with the ``*.form.json`` forms beside them)."""

from __future__ import annotations

from pathlib import Path

from phoihop.engine.definitions.forms.files import is_camunda_form_file, is_form_file
from phoihop.engine.model import SourceFile

SUFFIXES = (".bpmn", ".dmn", ".bpmn20.xml")


def _folder_set(folder: Path) -> list[SourceFile] | None:
    paths = [p for p in sorted(folder.iterdir()) if p.is_file()]
    if not any(p.name.endswith(SUFFIXES) for p in paths):  # forms alone are no deployment
        return None
    return [
        SourceFile(p.name, p.read_bytes())
        for p in paths
        if p.name.endswith(SUFFIXES) or is_form_file(p.name) or is_camunda_form_file(p.name)
    ]


def deployable_sets(root: Path) -> list[tuple[str, list[SourceFile]]]:
    """[(label, files)]: a file given directly is its own set; a process folder (BPMN/DMN files and no sub-folder
    holding any) is one set with its forms; a folder of process folders (processes/) gives one set per sub-folder,
    and each BPMN/DMN file lying loose in it is its own set."""
    if root.is_file():
        return [(root.name, [SourceFile(root.name, root.read_bytes())])]
    if not root.is_dir():
        return []
    folders = [
        (folder.name, files)
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
        if (files := _folder_set(folder)) is not None
    ]
    if not folders:
        files = _folder_set(root)
        return [(root.name, files)] if files is not None else []
    loose = [p for p in sorted(root.iterdir()) if p.is_file() and p.name.endswith(SUFFIXES)]
    return [(path.name, [SourceFile(path.name, path.read_bytes())]) for path in loose] + folders
