"""Who may do what, tested where the rules live: ``Actor`` (roles, candidates, who sees a task or a case) and every
handler's role check, with the real engine on SQLite and PostgreSQL (the reads' SQL visibility clauses included).

The HTTP tests keep one check per route that the rule is wired there (401 without credentials, 403 for the wrong role
or agency): tests/api/test_isolation.py, test_definitions.py, test_versions_api.py, test_validate_api.py,
test_instances.py, test_auth.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from phoihop.engine.commands.external_tasks import FetchTopic
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import EngineError, Forbidden, NotCandidate, RoleRequired
from phoihop.engine.instance_migration.commands import InstanceFilter, MigrationPlan
from phoihop.engine.model import Actor
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.engine.helpers import fixture_source, open_tasks, task_id

# --- the people ------------------------------------------------------------------------------------------------------
BY_ROLE: dict[str, Actor] = {
    "nobody": Actor.of("vo_danh", name="Vô danh"),  # signed in, no agency, no role
    "officer": officer("an", "skhcn"),
    "lead": officer("cuong", "skhcn", roles=("lead",)),
    "integrator": Actor.of("portal", name="Cổng dịch vụ công", roles=("integrator",)),
    "process-owner": Actor.of("owner", name="Chủ quy trình", roles=("process-owner",)),
    "admin": Actor.of("root", name="Quản trị", roles=("admin",)),
    "unknown roles": Actor.of("x", groups=("skhcn",), roles=("superuser", "root")),
}


# --- Actor: roles -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("required", "admitted"),
    [
        (("process-owner",), {"process-owner", "admin"}),
        (("lead",), {"lead", "admin"}),
        (("integrator",), {"integrator", "admin"}),
        (("admin",), {"admin"}),
        (("integrator", "officer", "lead"), {"integrator", "officer", "lead", "admin"}),
    ],
)
def test_require_role_admits_holders_of_one_of_the_roles_and_admins(
    required: tuple[str, ...], admitted: set[str]
) -> None:
    passed = set()
    for name, actor in BY_ROLE.items():
        try:
            actor.require_role(*required)
        except Forbidden as refused:
            assert refused.fields["required_roles"] == list(required)
            assert all(role in refused.detail_vi for role in required)
        else:
            passed.add(name)
    assert passed == admitted


def test_a_person_with_two_roles_has_both_and_only_admins_and_integrators_see_every_case() -> None:
    both = officer("mai", "skhcn", roles=("officer", "process-owner"))
    both.require_role("process-owner")
    both.require_role("officer")
    with pytest.raises(Forbidden):
        both.require_role("integrator")
    assert {name for name, actor in BY_ROLE.items() if actor.sees_all_instances} == {"integrator", "admin"}
    assert {name for name, actor in BY_ROLE.items() if actor.is_admin} == {"admin"}


# --- Actor: agencies and tasks -------------------------------------------------------------------------------------------
def task(**fields: Any) -> dict[str, Any]:
    return {
        "id": "t",
        "candidate_groups": ["skhcn"],
        "candidate_users": [],
        "assignee": None,
        "completed_by": None,
        "required_role": None,
        **fields,
    }


AGENCY_PEOPLE: dict[str, Actor] = {
    "an (skhcn)": officer("an", "skhcn"),
    "binh (skhcn)": officer("binh", "skhcn"),
    "dung (stp)": officer("dung", "stp"),
    "lan (stp, lead)": officer("lan", "stp", roles=("lead",)),
    "cuong (skhcn, lead)": officer("cuong", "skhcn", roles=("lead",)),
    "nobody": Actor.of("vo_danh"),
    "an, moved to sxd": officer("an", "sxd"),
    "portal (integrator)": Actor.of("portal", roles=("integrator",)),
    "root (admin)": Actor.of("root", roles=("admin",)),
}
SKHCN = {"an (skhcn)", "binh (skhcn)", "cuong (skhcn, lead)"}


@pytest.mark.parametrize(
    ("row", "sees", "acts"),
    [
        (task(), SKHCN | {"root (admin)"}, SKHCN | {"root (admin)"}),
        (task(candidate_groups=["stp"]), {"dung (stp)", "lan (stp, lead)", "root (admin)"}, None),
        (task(candidate_groups=["skhcn", "stp"]), SKHCN | {"dung (stp)", "lan (stp, lead)", "root (admin)"}, None),
        (task(candidate_groups=[], candidate_users=["binh"]), {"binh (skhcn)", "root (admin)"}, None),
        # the assignee stays a candidate after moving agency
        (task(assignee="an"), SKHCN | {"an, moved to sxd", "root (admin)"}, None),
        # whoever completed a task still sees it, and acts on it only as a candidate
        (task(completed_by="an"), SKHCN | {"an, moved to sxd", "root (admin)"}, SKHCN | {"root (admin)"}),
        # a task no one is named for (the lint's no-one-can-act warning): admins and any lead (issue 12)
        (
            task(candidate_groups=None, candidate_users=None),
            {"root (admin)", "lan (stp, lead)", "cuong (skhcn, lead)"},
            None,
        ),
    ],
    ids=["agency", "other-agency", "two-agencies", "user", "assignee", "completed-by", "no-candidates"],
)
def test_who_sees_a_task_and_who_may_act_on_it(row: dict[str, Any], sees: set[str], acts: set[str] | None) -> None:
    assert {name for name, actor in AGENCY_PEOPLE.items() if actor.may_see_task(row)} == sees
    admitted = set()
    for name, actor in AGENCY_PEOPLE.items():
        try:
            actor.require_candidate(row)
        except NotCandidate as refused:
            assert refused.fields["task_id"] == "t"
        else:
            admitted.add(name)
    assert admitted == (sees if acts is None else acts)


def test_a_task_that_needs_a_role_is_for_candidates_holding_it() -> None:
    decision = task(required_role="lead")
    admitted, role_refused = set(), set()
    for name, actor in AGENCY_PEOPLE.items():
        try:
            actor.require_candidate(decision)
        except RoleRequired as refused:
            assert refused.fields["required_role"] == "lead"
            role_refused.add(name)
        except NotCandidate:
            pass
        else:
            admitted.add(name)
    assert admitted == {"cuong (skhcn, lead)", "root (admin)"}
    assert role_refused == {"an (skhcn)", "binh (skhcn)"}  # they see it: their agency's, but a lead decides


WITHOUT_A_TASK_ROLE: dict[str, Actor] = {
    "no role": Actor.of("khach", groups=("skhcn",)),
    "integrator": Actor.of("portal", groups=("skhcn",), roles=("integrator",)),
    "process owner": Actor.of("owner", groups=("skhcn",), roles=("process-owner",)),
    "unknown role": Actor.of("x", groups=("skhcn",), roles=("superuser",)),
}


@pytest.mark.parametrize("name", list(WITHOUT_A_TASK_ROLE))
def test_task_work_needs_the_role_officer_or_lead_even_in_the_agency(name: str) -> None:
    actor = WITHOUT_A_TASK_ROLE[name]
    assert actor.may_see_task(task())  # reading a task of one's agency needs no role
    with pytest.raises(RoleRequired) as refused:
        actor.require_candidate(task())
    assert refused.value.fields["required_roles"] == ["officer", "lead"]
    assert "chuyên viên" in refused.value.detail_vi and "lãnh đạo" in refused.value.detail_vi
    with pytest.raises(NotCandidate):  # another agency's task: not a candidate, whatever the roles
        actor.require_candidate(task(candidate_groups=["stp"]))


def test_claiming_releasing_and_completing_without_a_task_role_is_refused_and_nothing_moves(
    container: EngineContainer, cases: dict[str, str]
) -> None:
    for actor in WITHOUT_A_TASK_ROLE.values():
        assert container.task_reads.get_task(actor, cases["t1"]).status == "open"
        for act in (container.tasks.claim, container.tasks.unclaim):
            with pytest.raises(RoleRequired):
                act(actor, cases["t1"])
        with pytest.raises(RoleRequired):
            container.tasks.complete(actor, cases["t1"], {"x": 1})
    row = container.task_reads.get_task(BY_ROLE["admin"], cases["t1"])
    assert (row.status, row.assignee) == ("open", None)
    assert set(open_tasks(container, cases["four"])) == {"t1"}
    container.tasks.complete(officer("an", "skhcn"), cases["t1"], {})  # an officer of the agency still may
    assert set(open_tasks(container, cases["four"])) == {"t2"}


# --- every handler's role check, on the real engine ------------------------------------------------------------------------
def started(container: EngineContainer) -> str:
    instance_id, _ = container.instances.start(INTEGRATOR, "four_tasks")
    return instance_id


PLAN = MigrationPlan("four_tasks", 1, 1)
DAY = date(2026, 3, 2)
Command = Callable[[EngineContainer, Actor], object]
COMMANDS: dict[str, tuple[Command, list[str]]] = {  # what it does, the roles it asks for (admins hold every role)
    "deploy": (lambda c, a: c.deployments.deploy(a, [fixture_source("four_tasks.bpmn")]), ["process-owner"]),
    "validate": (lambda c, a: c.deployments.validate(a, [fixture_source("four_tasks.bpmn")]), ["process-owner"]),
    "suspend a version": (lambda c, a: c.versions.suspend(a, "four_tasks", 1), ["process-owner"]),
    "activate a version": (lambda c, a: c.versions.activate(a, "four_tasks", 1), ["process-owner"]),
    "set the default version": (lambda c, a: c.versions.set_default(a, "four_tasks", 1), ["process-owner"]),
    "clear the default version": (lambda c, a: c.versions.clear_default(a, "four_tasks"), ["process-owner"]),
    "migration dry run": (lambda c, a: c.instance_migration.dry_run(a, PLAN, InstanceFilter()), ["process-owner"]),
    "migrate": (lambda c, a: c.instance_migration.migrate(a, PLAN, []), ["process-owner"]),
    "audit trail": (lambda c, a: c.audit_reads.audit_trail(a), ["process-owner", "admin"]),
    "start an instance": (lambda c, a: c.instances.start(a, "four_tasks"), ["integrator", "officer", "lead"]),
    "cancel an instance": (lambda c, a: c.instances.cancel(a, started(c)), ["lead"]),
    "correlate a message": (lambda c, a: c.messages.correlate(a, "khong_ai_cho"), ["integrator"]),
    "fetch external tasks": (
        lambda c, a: c.external_tasks.fetch_and_lock(a, "w", [FetchTopic("gui_thu", 1000)]),
        ["integrator"],
    ),
    "complete an external task": (lambda c, a: c.external_tasks.complete(a, "x", "w"), ["integrator"]),
    "report a BPMN error": (lambda c, a: c.external_tasks.handle_bpmn_error(a, "x", "w", "E1"), ["integrator"]),
    "report a failure": (lambda c, a: c.external_tasks.handle_failure(a, "x", "w"), ["integrator"]),
    "extend a lock": (lambda c, a: c.external_tasks.extend_lock(a, "x", "w", 1000), ["integrator"]),
    "unlock": (lambda c, a: c.external_tasks.unlock(a, "x"), ["integrator"]),
    "set retries": (lambda c, a: c.external_tasks.set_retries(a, "x", 1), ["integrator"]),
    "read an external task": (lambda c, a: c.external_task_reads.get_task(a, "x"), ["integrator"]),
    "list external tasks": (lambda c, a: c.external_task_reads.list_tasks(a), ["integrator"]),
    "list decisions": (lambda c, a: c.decisions.list(a), ["process-owner", "integrator"]),
    "read a decision": (lambda c, a: c.decisions.find(a, "khong_co"), ["process-owner", "integrator"]),
    "dashboard": (lambda c, a: c.dashboard.figures(a), ["officer", "lead", "process-owner", "admin"]),
    "list calendar overrides": (lambda c, a: c.calendar.list_overrides(a), ["admin"]),
    "set a calendar day": (
        lambda c, a: c.calendar.set_override(a, DAY, working=False, name_vi="Nghỉ bù"),
        ["admin"],
    ),
    "remove a calendar day": (lambda c, a: c.calendar.delete_override(a, DAY), ["admin"]),
}


def test_each_command_admits_exactly_the_roles_it_names(container: EngineContainer) -> None:
    """A refusal names the roles asked for; an admitted actor gets past the check (a result, or the command's next
    error: an unknown external task, no instance waiting for the message, ...)."""
    container.deployments.deploy(OWNER, [fixture_source("four_tasks.bpmn")])
    admitted: dict[str, set[str]] = {}
    for command, (call, required) in COMMANDS.items():
        admitted[command] = set()
        for name, actor in BY_ROLE.items():
            try:
                call(container, actor)
            except Forbidden as refused:
                assert refused.fields.get("required_roles") == required, (command, name, refused.fields)
                continue
            except EngineError:
                pass
            admitted[command].add(name)

    expected = {
        command: {name for name in BY_ROLE if name == "admin" or name in required}
        for command, (_, required) in COMMANDS.items()
    }
    assert admitted == expected
    assert admitted["start an instance"] == {"officer", "lead", "integrator", "admin"}
    assert admitted["audit trail"] == admitted["deploy"] == {"process-owner", "admin"}


# --- agencies on the real engine: the reads' SQL and the commands agree with Actor ------------------------------------------
@pytest.fixture
def cases(container: EngineContainer) -> dict[str, str]:
    """A four_tasks case of skhcn alone (t1 open) and a parallel review where an of skhcn completed ``receive``, so
    ``legal`` (stp) and ``board`` (htkc) are open. Both started by the portal."""
    container.deployments.deploy(OWNER, [fixture_source("four_tasks.bpmn"), fixture_source("parallel.bpmn")])
    four, _ = container.instances.start(INTEGRATOR, "four_tasks", business_key="HS-SKHCN")
    parallel, _ = container.instances.start(INTEGRATOR, "parallel_review", business_key="HS-LIEN-NGANH")
    receive = task_id(container, parallel, "receive")
    container.tasks.complete(AGENCY_PEOPLE["an (skhcn)"], receive, {})
    return {
        "four": four,
        "parallel": parallel,
        "t1": task_id(container, four, "t1"),
        "receive": receive,
        "legal": task_id(container, parallel, "legal"),
        "board": task_id(container, parallel, "board"),
    }


EVERYONE = {**AGENCY_PEOPLE, "giang (htkc)": officer("giang", "htkc")}


def test_each_person_lists_reads_and_claims_the_tasks_of_the_agency_only(
    container: EngineContainer, cases: dict[str, str]
) -> None:
    name_of = {cases[k]: k for k in ("t1", "receive", "legal", "board")}

    def listed(actor: Actor, **filters: Any) -> set[str]:
        return {name_of[t.id] for t in container.task_reads.list_tasks(actor, **filters).items}

    def readable(actor: Actor) -> set[str]:
        seen = set()
        for key in ("t1", "receive", "legal", "board"):
            try:
                container.task_reads.get_task(actor, cases[key])
            except NotCandidate:
                continue
            seen.add(key)
        return seen

    open_tasks = {name: listed(actor) for name, actor in EVERYONE.items()}
    done = {name: listed(actor, status="completed") for name, actor in EVERYONE.items()}
    reads = {name: readable(actor) for name, actor in EVERYONE.items()}
    skhcn_open, none = {"t1"}, set()
    assert open_tasks == {
        "an (skhcn)": skhcn_open,
        "binh (skhcn)": skhcn_open,
        "cuong (skhcn, lead)": skhcn_open,
        "dung (stp)": {"legal"},
        "lan (stp, lead)": {"legal"},
        "giang (htkc)": {"board"},
        "nobody": none,
        "an, moved to sxd": none,
        "portal (integrator)": none,  # integrators follow cases, not task lists
        "root (admin)": {"t1", "legal", "board"},
    }
    assert done == {
        **dict.fromkeys(EVERYONE, none),
        "an (skhcn)": {"receive"},
        "binh (skhcn)": {"receive"},
        "cuong (skhcn, lead)": {"receive"},
        "an, moved to sxd": {"receive"},  # whoever completed a task still finds it
        "root (admin)": {"receive"},
    }
    assert reads == {name: open_tasks[name] | done[name] for name in EVERYONE}  # the list and the read agree

    claimed = set()
    for name, actor in EVERYONE.items():
        for key in ("t1", "legal", "board"):
            try:
                container.tasks.claim(actor, cases[key])
            except NotCandidate:
                continue
            container.tasks.unclaim(actor, cases[key])  # open again for the next person
            claimed.add((name, key))
    assert claimed == {(name, key) for name, keys in open_tasks.items() for key in keys}


def test_an_outsider_cannot_complete_the_task_and_nothing_moves(
    container: EngineContainer, cases: dict[str, str]
) -> None:
    for outsider in ("dung (stp)", "nobody", "an, moved to sxd", "portal (integrator)"):
        with pytest.raises(NotCandidate):
            container.tasks.complete(EVERYONE[outsider], cases["t1"], {"x": 1})
    row = container.task_reads.get_task(EVERYONE["root (admin)"], cases["t1"])
    assert (row.status, row.assignee) == ("open", None)
    assert container.instance_reads.get_instance(EVERYONE["root (admin)"], cases["four"]).variables == {}

    container.tasks.complete(EVERYONE["root (admin)"], cases["t1"], {})  # an admin may complete any task

    row = container.task_reads.get_task(EVERYONE["root (admin)"], cases["t1"])
    assert (row.status, row.completed_by) == ("completed", "root")
    assert set(open_tasks(container, cases["four"])) == {"t2"}


def test_each_person_reads_and_lists_the_cases_of_the_agency_only(
    container: EngineContainer, cases: dict[str, str]
) -> None:
    def readable(actor: Actor) -> set[str]:
        seen = set()
        for key in ("four", "parallel"):
            try:
                container.instance_reads.get_instance(actor, cases[key])
            except Forbidden as refused:
                assert refused.fields["instance_id"] == cases[key]
                continue
            seen.add(key)
        return seen

    name_of = {cases["four"]: "four", cases["parallel"]: "parallel"}
    reads = {name: readable(actor) for name, actor in EVERYONE.items()}
    lists = {
        name: {name_of[i.id] for i in container.instance_reads.list_instances(actor).items}
        for name, actor in EVERYONE.items()
    }
    both, parallel_only = {"four", "parallel"}, {"parallel"}
    assert reads == {
        "an (skhcn)": both,
        "binh (skhcn)": both,
        "cuong (skhcn, lead)": both,
        "dung (stp)": parallel_only,  # stp joined the case when its task appeared
        "lan (stp, lead)": parallel_only,
        "giang (htkc)": parallel_only,
        "nobody": set(),
        "an, moved to sxd": parallel_only,  # he completed a task of it
        "portal (integrator)": both,
        "root (admin)": both,
    }
    assert lists == reads  # the SQL visibility clause agrees with the rule
    seen_by_stp = container.instance_reads.get_instance(EVERYONE["dung (stp)"], cases["parallel"])
    assert {t.element_id for t in seen_by_stp.open_tasks} == {"legal", "board"}  # the whole case, once in it


def test_only_a_lead_taking_part_or_an_admin_cancels(container: EngineContainer, cases: dict[str, str]) -> None:
    stp_lead, skhcn_lead = EVERYONE["lan (stp, lead)"], EVERYONE["cuong (skhcn, lead)"]
    with pytest.raises(Forbidden) as refused:
        container.instances.cancel(stp_lead, cases["four"])  # stp takes no part in it
    assert "required_roles" not in refused.value.fields and refused.value.fields["instance_id"] == cases["four"]
    assert container.instance_reads.get_instance(EVERYONE["root (admin)"], cases["four"]).status == "running"

    container.instances.cancel(stp_lead, cases["parallel"], reason="rút hồ sơ")  # stp's legal review is in it
    container.instances.cancel(skhcn_lead, cases["four"])
    assert [
        container.instance_reads.get_instance(EVERYONE["root (admin)"], cases[k]).status for k in ("four", "parallel")
    ] == [
        "cancelled",
        "cancelled",
    ]


def test_an_agency_joins_the_case_when_its_task_appears(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, [fixture_source("parallel.bpmn")])
    instance_id, _ = container.instances.start(INTEGRATOR, "parallel_review")
    stp, ubnd = EVERYONE["dung (stp)"], officer("hoa", "ubnd")
    with pytest.raises(Forbidden):
        container.instance_reads.get_instance(stp, instance_id)
    assert container.instance_reads.list_instances(stp).items == ()

    container.tasks.complete(EVERYONE["an (skhcn)"], task_id(container, instance_id, "receive"), {})

    assert container.instance_reads.get_instance(stp, instance_id).id == instance_id
    assert [i.id for i in container.instance_reads.list_instances(stp).items] == [instance_id]
    with pytest.raises(Forbidden):
        container.instance_reads.get_instance(ubnd, instance_id)  # ubnd has no task in it yet
