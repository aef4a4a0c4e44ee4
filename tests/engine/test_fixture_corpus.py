"""Every BPMN file under tests/fixtures that validate accepts deploys and starts, with no variables, without an error
the engine did not mean (a 5xx over HTTP): refusals are EngineErrors (4xx), never a crash (issue 12.2)."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.lint.findings import has_errors
from phoihop.engine.errors import EngineError
from phoihop.engine.model import SourceFile
from tests.conftest import INTEGRATOR, OWNER

FIXTURES = Path(__file__).parent.parent / "fixtures"
BPMN = (".bpmn", ".bpmn20.xml")
COMPANIONS = (".dmn", ".form.json")  # deployed with each BPMN file of their folder


def candidate_sets() -> list[tuple[str, list[Path]]]:
    """Each BPMN file with the DMN and form files of its folder, then each folder whole (call activities)."""
    sets: list[tuple[str, list[Path]]] = []
    for folder in sorted({path.parent for path in FIXTURES.rglob("*") if path.name.endswith(BPMN)}):
        files = sorted(p for p in folder.iterdir() if p.is_file())
        companions = [p for p in files if p.name.endswith(COMPANIONS)]
        bpmn = [p for p in files if p.name.endswith(BPMN)]
        sets += [(str(p.relative_to(FIXTURES)), [p, *companions]) for p in bpmn]
        if len(bpmn) > 1:
            sets.append((str(folder.relative_to(FIXTURES)) + "/", [*bpmn, *companions]))
    return sets


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the engine's paths, once: kept cheap
def test_every_fixture_that_validates_deploys_and_starts_without_a_crash(container: EngineContainer) -> None:
    crashes: list[str] = []
    started = 0
    for label, paths in candidate_sets():
        files = [SourceFile(p.name, p.read_bytes()) for p in paths]
        step = "validate"
        try:
            if has_errors(container.deployments.validate(OWNER, files)):
                continue
            step = "deploy"
            deployed = container.deployments.deploy(OWNER, files)
            for process in deployed:
                if process.kind != "process":
                    continue
                step = f"start {process.key}"
                try:
                    container.instances.start(INTEGRATOR, process.key, version=process.version)
                    started += 1
                except EngineError:
                    pass  # refused on purpose (a message start, a required start form...): a 4xx
        except EngineError:
            if step == "validate":
                continue
            crashes.append(f"{label}: {step} refused what validate accepted:\n{traceback.format_exc(limit=3)}")
        except Exception:
            crashes.append(f"{label}: {step} crashed:\n{traceback.format_exc(limit=6)}")
    assert not crashes, "\n".join(crashes)
    assert started >= 10  # the corpus is read: most fixtures are runnable processes
