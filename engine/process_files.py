"""Reading deployable process folders from disk: each sub-folder of processes/ is one deployment."""

from __future__ import annotations

from pathlib import Path

from .catalog import SourceFile

SUFFIXES = (".bpmn", ".dmn", ".bpmn20.xml")


def deployable_sets(root: Path) -> list[tuple[str, list[SourceFile]]]:
    """[(label, files)] for every folder holding BPMN/DMN files (a file given directly is its own set)."""
    if root.is_file():
        return [(root.name, [SourceFile(root.name, root.read_bytes())])]
    sets: list[tuple[str, list[SourceFile]]] = []
    if not root.is_dir():
        return sets
    loose = [p for p in sorted(root.iterdir()) if p.is_file() and p.name.endswith(SUFFIXES)]
    for path in loose:
        sets.append((path.name, [SourceFile(path.name, path.read_bytes())]))
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [SourceFile(p.name, p.read_bytes()) for p in sorted(folder.iterdir())
                 if p.is_file() and p.name.endswith(SUFFIXES)]
        if files:
            sets.append((folder.name, files))
    return sets
