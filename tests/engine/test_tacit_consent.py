"""Consultations ended by tacit consent (issue 10, "quá thời hạn không có ý kiến được coi là đồng ý"): an interrupting
boundary timer whose id ends in ``_tacit_consent`` writes the audit event ``consultation_tacit_consent`` {element_id,
agency} in the transaction that fires it; the agency is that of the lane of the task it interrupts. The naming
convention alone is enough (tests/fixtures/engine/tacit_consent.bpmn has no other marker)."""

from __future__ import annotations

from datetime import timedelta

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.model import SourceFile
from tests.conftest import INTEGRATOR
from tests.engine.helpers import ENGINE_FIXTURES, HTKC, SKHCN, deploy, history, instance, open_tasks, task_id, timers
from tests.engine.test_lint import compile_files, lint

SECOND = timedelta(seconds=1)


def start(container: EngineContainer) -> str:
    deploy(container, "tacit_consent.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "tacit_consent", business_key="HS-YK")
    return instance_id


def consents(container: EngineContainer, instance_id: str) -> list[dict[str, object]]:
    return [e for e in history(container, instance_id) if e["kind"] == "consultation_tacit_consent"]


def test_the_silent_agency_is_recorded_as_consenting_and_the_one_that_answered_is_not(
    container: EngineContainer, clock: FakeClock
) -> None:
    instance_id = start(container)
    due = {t["element_id"]: t["due_at"] for t in timers(container, instance_id)}
    assert due["consult_stp_tacit_consent"] < due["consult_htkc_reminder"] < due["consult_htkc_tacit_consent"]

    clock.advance(due["consult_stp_tacit_consent"] - clock.now() + SECOND)
    assert container.scheduler.run_once() == 1

    (event,) = consents(container, instance_id)
    assert (event["actor"], event["element_id"]) == ("system", "consult_stp")
    assert event["data"] == {
        "element_id": "consult_stp_tacit_consent",
        "agency": "stp",
        "agency_name_vi": "Sở Tư pháp",
        "task_element_id": "consult_stp",
        "summary_vi": "Quá thời hạn không có ý kiến: coi như đồng ý",
    }
    fired = [e for e in history(container, instance_id) if e["kind"] == "timer_fired"]
    assert [e["at"] for e in fired] == [event["at"]]  # written by the command that fired the timer
    assert set(open_tasks(container, instance_id)) == {"consult_htkc"}  # the consultation ended
    assert instance(container, instance_id)["variables"]["stp_consent"] == "tacit"

    clock.advance(due["consult_htkc_reminder"] - clock.now() + SECOND)
    assert container.scheduler.run_once() == 1  # a non-interrupting reminder: no consent, the board still answers
    assert len(consents(container, instance_id)) == 1
    assert set(open_tasks(container, instance_id)) == {"consult_htkc"}

    container.tasks.complete(HTKC, task_id(container, instance_id, "consult_htkc"), {"htkc_opinion": "Đồng ý"})
    clock.advance(timedelta(days=30))
    assert container.scheduler.run_once() == 0  # the board answered: its timer is gone, no consent recorded
    container.tasks.complete(SKHCN, task_id(container, instance_id, "synthesize"), {})
    assert instance(container, instance_id)["status"] == "completed"
    assert [e["data"]["agency"] for e in consents(container, instance_id)] == ["stp"]


def test_the_board_silent_too_is_recorded_with_its_own_agency(container: EngineContainer, clock: FakeClock) -> None:
    instance_id = start(container)
    clock.advance(timedelta(days=30))
    assert container.scheduler.run_once() == 1
    found = {e["data"]["element_id"]: e["data"]["agency"] for e in consents(container, instance_id)}
    assert found == {"consult_stp_tacit_consent": "stp", "consult_htkc_tacit_consent": "htkc"}
    assert set(open_tasks(container, instance_id)) == {"synthesize"}


def test_a_firing_rolled_back_writes_no_consent(container: EngineContainer, clock: FakeClock) -> None:
    instance_id = start(container)
    due = {t["element_id"]: t["due_at"] for t in timers(container, instance_id)}
    clock.advance(due["consult_stp_tacit_consent"] - clock.now() + SECOND)

    calls: list[int] = []

    def crash() -> None:  # the second transaction is the one that fires the timers (the first reads what is due)
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("crash before commit")

    container.executor.fail_before_commit = crash
    try:
        assert container.timers.fire_due_timers() == 0  # the job failed alone (engine/commands/jobs.py)
    finally:
        container.executor.fail_before_commit = None
    assert consents(container, instance_id) == []
    assert set(open_tasks(container, instance_id)) == {"consult_stp", "consult_htkc"}


# --- the lint: a timer named as a tacit consent that the engine would not record ------------------------------------
FIXTURE = ENGINE_FIXTURES / "tacit_consent.bpmn"


def lint_variant(**replacements: str) -> list[tuple[str | None, str, str]]:
    text = FIXTURE.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    found = lint([SourceFile("tacit_consent.bpmn", text.encode("utf-8"))], strict=True)
    return [(f["element_id"], f["code"], f["severity"]) for f in found if f["code"] == "tacit-consent"]


def test_the_fixture_follows_the_convention_and_the_catalog_finds_both_consents() -> None:
    assert lint_variant() == []
    (model,) = compile_files([SourceFile("tacit_consent.bpmn", FIXTURE.read_bytes())]).processes
    assert {k: (v.task_element_id, v.agency) for k, v in model.tacit_consents.items()} == {
        "consult_stp_tacit_consent": ("consult_stp", "stp"),
        "consult_htkc_tacit_consent": ("consult_htkc", "htkc"),
    }


def test_a_non_interrupting_tacit_consent_timer_is_a_finding() -> None:
    non_interrupting = 'id="consult_stp_tacit_consent" name="Quá thời hạn không có ý kiến: coi như đồng ý" '
    assert lint_variant(**{non_interrupting: non_interrupting + 'cancelActivity="false" '}) == [
        ("consult_stp_tacit_consent", "tacit-consent", "error")  # strict: warnings count as errors
    ]


def test_a_tacit_consent_in_a_lane_naming_no_agency_is_a_finding() -> None:
    assert lint_variant(**{'name="Sở Tư pháp"': 'name="Tổ giúp việc"'}) == [
        ("consult_stp_tacit_consent", "tacit-consent", "error")
    ]
