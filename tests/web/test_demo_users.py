"""The demo users (web/demo_users.py) cover every lane and role the processes use (issue 10.3): for each process in
processes/, each lane's agency has an officer, and a lead where that agency has a lead-only task, so a demo case can
be walked to its end without an admin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile
from phoihop.web.demo_users import DEMO_USERS

PROCESSES = Path(__file__).parents[2] / "processes"
FOLDERS = sorted(p for p in PROCESSES.iterdir() if p.is_dir())
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# lead-only tasks whose agency a variable names at run time: the agencies the variable can name
# monthly_report: every agency of its start form reports (agency) and may be assigned a meeting conclusion
MONTHLY_AGENCIES = {
    option["const"]
    for option in json.loads((PROCESSES / "monthly_report" / "start.form.json").read_text())["properties"]["agencies"][
        "items"
    ]["oneOf"]
}
NAMED_AT_RUN_TIME = {
    "processing_agency": {"skhcn", "htkc"},  # green_lane: eligibility.dmn
    "sector_agency": {"syt", "sgddt", "snnmt"},  # sandbox_review: sector_routing.dmn
    "agency": MONTHLY_AGENCIES,  # monthly_report: submit_report
    "instruction_agency": MONTHLY_AGENCIES,  # monthly_report: carry_out_instruction
}


def demo_agencies(role: str) -> set[str]:
    return {group for user in DEMO_USERS if role in user.roles for group in user.groups}


def lane_agencies(folder: Path) -> set[str]:
    registry = default_registry()
    found = set()
    for path in folder.glob("*.bpmn"):
        for lane in etree.parse(str(path)).iter(f"{BPMN}lane"):
            agency = registry.resolve(lane.get("name") or "")
            if agency is not None:
                found.add(agency.code)
    return found


def lead_agencies(folder: Path) -> set[str]:
    files = [SourceFile(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]
    deployment = compile_deployment(files, agencies=default_registry(), check=check_source)
    variables = {
        task.candidate_groups_variable
        for process in deployment.processes
        for task in process.user_tasks.values()
        if task.required_role == "lead" and task.candidate_groups_variable
    }
    assert variables <= NAMED_AT_RUN_TIME.keys(), f"say which agencies {variables} can name"
    return {
        agency
        for process in deployment.processes
        for task in process.user_tasks.values()
        if task.required_role == "lead"
        for agency in (
            ({task.agency} if task.agency else set())
            | set(task.candidate_groups)
            | NAMED_AT_RUN_TIME.get(task.candidate_groups_variable or "", set())
        )
    }


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_every_lane_has_a_demo_officer_and_every_lead_only_task_a_demo_lead(folder: Path) -> None:
    lanes = lane_agencies(folder)
    assert lanes, f"{folder.name}: no lane names an agency"
    leads = lead_agencies(folder)
    assert sorted((lanes | leads) - demo_agencies("officer")) == [], "lanes with no demo officer"
    assert sorted(leads - demo_agencies("lead")) == [], "lead-only tasks with no demo lead"


def test_demo_users_have_full_vietnamese_names_and_unique_logins() -> None:
    assert len({user.sub for user in DEMO_USERS}) == len(DEMO_USERS)
    for user in DEMO_USERS:
        assert len(user.name.split()) >= 3, user
