"""Revising a keyed decision table (engine.definitions.dmn.revisions) and the end-event engine commands that deploy it
(engine.definitions.end_commands): pure functions over the shipped green-lane catalogue, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.dmn.revisions import (
    DecisionRevisionInvalid,
    keyed_rows,
    refresh_form_options,
    revise_rows,
    write_rows,
)
from phoihop.engine.errors import InvalidDefinition
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile

PROCESSES = Path(__file__).parents[2] / "processes"
CATALOGUE = (PROCESSES / "green_lane" / "eligibility.dmn").read_bytes()
DECISION = "green_lane_eligibility"
NEW = {
    "procedure_name": "Thủ tục mới",
    "green_lane": True,
    "standard_days": 10,
    "cut_rate": None,
    "in_hitech_park": False,
    "joint_processing": True,
}


def test_the_shipped_start_form_lists_exactly_the_catalogue() -> None:
    """start.form.json's procedure options are generated from eligibility.dmn: they cannot drift apart."""
    form = (PROCESSES / "green_lane" / "start.form.json").read_bytes()
    assert refresh_form_options(form, DECISION, keyed_rows(CATALOGUE, DECISION)) == form


def test_changes_are_applied_and_written_back_before_the_catch_all_rule() -> None:
    rows = keyed_rows(CATALOGUE, DECISION)
    assert [r.key for r in rows] == ["KHCN-01", "KHCN-02", "KHCN-03", "KHCN-04", "KHCN-05"]
    revised = revise_rows(
        CATALOGUE,
        DECISION,
        rows,
        [
            {"action": "add", "key": "KHCN-06", "outputs": NEW, "description": "KHCN-06 Thủ tục mới"},
            {"action": "change", "key": "KHCN-01", "outputs": {"standard_days": 9}},
            {"action": "remove", "key": "KHCN-05"},
        ],
    )
    written = write_rows(CATALOGUE, DECISION, revised)
    again = keyed_rows(written, DECISION)
    assert [r.key for r in again] == ["KHCN-01", "KHCN-02", "KHCN-03", "KHCN-04", "KHCN-06"]
    assert again[0].outputs["standard_days"] == 9 and again[0].rule_id == "rule_khcn_01"  # kept its id
    assert (again[-1].rule_id, dict(again[-1].outputs)) == ("rule_khcn_06", NEW)
    assert written.index(b'id="rule_khcn_06"') < written.index(b'id="rule_default"')
    files = [SourceFile(p.name, p.read_bytes()) for p in (PROCESSES / "green_lane").iterdir() if p.is_file()]
    files = [SourceFile(f.name, written) if f.name == "eligibility.dmn" else f for f in files]
    compile_deployment(files, agencies=default_registry(), check=check_source)  # still a valid deployment
    form = refresh_form_options((PROCESSES / "green_lane" / "start.form.json").read_bytes(), DECISION, again)
    assert form is not None
    options = json.loads(form)["properties"]["procedure_code"]["oneOf"]
    assert [o["const"] for o in options][-1] == "KHCN-06" and options[-1]["title"] == "KHCN-06 – Thủ tục mới"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"action": "remove", "key": "KHCN-77"}, "KHCN-77"),
        ({"action": "add", "key": "KHCN-01", "outputs": NEW}, "KHCN-01"),
        ({"action": "add", "key": "KHCN-08", "outputs": {"standard_days": 3}}, "procedure_name"),
        ({"action": "change", "key": "KHCN-01", "outputs": {"standard_days": "mười"}}, "standard_days"),
        ({"action": "change", "key": "KHCN-01", "outputs": {"fee": 1}}, "fee"),
        ({"action": "rename", "key": "KHCN-01"}, "thao tác"),
    ],
)
def test_a_change_that_does_not_fit_the_table_is_refused(change: dict[str, object], said: str) -> None:
    with pytest.raises(DecisionRevisionInvalid) as raised:
        revise_rows(CATALOGUE, DECISION, keyed_rows(CATALOGUE, DECISION), [change])
    assert said in raised.value.detail_vi and raised.value.code == "decision-revision-invalid"


def test_an_end_event_naming_an_unknown_engine_command_is_refused_at_deploy() -> None:
    bpmn = (PROCESSES / "procedure_list" / "procedure_list.bpmn").read_bytes()
    files = [SourceFile(p.name, p.read_bytes()) for p in (PROCESSES / "procedure_list").iterdir() if p.is_file()]
    deployment = compile_deployment(files, agencies=default_registry(), check=check_source)
    [command] = deployment.processes[0].end_commands.values()
    assert (command.element_id, command.name, command.parameters["processKey"]) == (
        "list_approved",
        "revise_decision_table",
        "green_lane",
    )
    for broken in (
        bpmn.replace(b'value="revise_decision_table"', b'value="drop_tables"'),
        bpmn.replace(b'<camunda:property name="processKey" value="green_lane"/>', b""),
    ):
        changed = [SourceFile(f.name, broken) if f.name.endswith(".bpmn") else f for f in files]
        with pytest.raises(InvalidDefinition) as raised:
            compile_deployment(changed, agencies=default_registry(), check=check_source)
        assert "list_approved" in raised.value.detail_vi
