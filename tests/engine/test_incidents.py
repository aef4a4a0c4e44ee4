"""Incidents you can resolve (issue 14, item 7): a script step that fails in one parallel branch is an incident; the
other branch's task stays open and completes; a lead retries it with the variable fixed, or skips it with a
reason; only leads of the instance's agencies and admins may."""

from __future__ import annotations

import pytest

from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import Forbidden, IncidentNotOpen, InvalidInput
from phoihop.engine.model import Actor
from tests.conftest import INTEGRATOR
from tests.engine.helpers import ADMIN, SKHCN, audit_kinds, bpmn, deploy_xml, history, instance, lane, task_id

BODY = """
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="tinh_phi"/>
    <bpmn:scriptTask id="tinh_phi" name="Tính phí"><bpmn:script>phi = so_trang * 2000</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="tinh_phi" targetRef="thu_phi"/>
    <bpmn:userTask id="thu_phi" name="Thu phí"/>
    <bpmn:sequenceFlow id="f3" sourceRef="thu_phi" targetRef="join"/>
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="tham_dinh"/>
    <bpmn:userTask id="tham_dinh" name="Thẩm định"/>
    <bpmn:sequenceFlow id="f5" sourceRef="tham_dinh" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
REFS = ("start", "fork", "tinh_phi", "thu_phi", "tham_dinh", "join", "end")
XML = bpmn("le_phi", BODY, lanes=lane("L1", "skhcn", *REFS)).replace(
    "<bpmn:userTask id=", '<bpmn:userTask camunda:candidateGroups="skhcn" id='
)
XML = XML.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ', 1)
LEAD_SKHCN = Actor.of("lanh_dao_skhcn", groups=("skhcn",), roles=("lead", "officer"))
LEAD_STP = Actor.of("lanh_dao_stp", groups=("stp",), roles=("lead", "officer"))


def _failed(container: EngineContainer) -> tuple[str, int]:
    deploy_xml(container, "le_phi.bpmn", XML)
    instance_id, _ = container.instances.start(INTEGRATOR, "le_phi")  # so_trang is missing: tinh_phi fails
    [incident] = container.incidents.open_incidents(ADMIN).items
    return instance_id, incident.id


def test_a_failing_branch_is_an_incident_and_the_other_branch_goes_on(container: EngineContainer) -> None:
    instance_id, incident_id = _failed(container)
    page = container.incidents.open_incidents(LEAD_SKHCN, process_key="le_phi")
    [incident] = page.items
    assert (page.total, page.counts) == (1, {"le_phi": 1})
    assert (incident.element_id, incident.kind, incident.retries_left) == ("tinh_phi", "task", 0)
    assert "so_trang" in incident.message
    assert instance(container, instance_id)["status"] == "incident"
    assert "incident_created" in audit_kinds(container, instance_id)

    done = container.tasks.complete(SKHCN, task_id(container, instance_id, "tham_dinh"), {})
    assert done.status == "incident"  # the incident is still open; the instance waits at the join
    assert container.incidents.open_incidents(LEAD_SKHCN).total == 1

    again = container.incidents.retry(LEAD_SKHCN, incident_id, {"ghi_chu": "chưa sửa"})
    assert again.incident.resolved_at is None and again.incident.attempts == 2 and "so_trang" in again.incident.message

    fixed = container.incidents.retry(LEAD_SKHCN, incident_id, {"so_trang": 3})
    assert fixed.incident.resolved_at is not None and fixed.instance is not None
    assert fixed.instance.status == "running"
    assert instance(container, instance_id)["variables"]["phi"] == 6000
    container.tasks.complete(SKHCN, task_id(container, instance_id, "thu_phi"), {})
    assert instance(container, instance_id)["status"] == "completed"
    assert audit_kinds(container, instance_id).count("incident_retried") == 2


def test_skip_completes_the_step_without_running_it_with_the_reason(container: EngineContainer) -> None:
    instance_id, incident_id = _failed(container)
    with pytest.raises(InvalidInput):
        container.incidents.skip(LEAD_SKHCN, incident_id, "  ")
    skipped = container.incidents.skip(LEAD_SKHCN, incident_id, "Hồ sơ miễn phí theo quy định")
    assert skipped.incident.resolved_at is not None
    assert skipped.instance is not None and skipped.instance.status == "running"
    assert "phi" not in instance(container, instance_id)["variables"]
    [event] = [e for e in history(container, instance_id) if e["kind"] == "incident_skipped"]
    assert (event["element_id"], event["data"]["reason"]) == ("tinh_phi", "Hồ sơ miễn phí theo quy định")
    with pytest.raises(IncidentNotOpen):
        container.incidents.retry(ADMIN, incident_id)


def test_only_leads_of_the_instance_and_admins_resolve(container: EngineContainer) -> None:
    instance_id, incident_id = _failed(container)
    assert container.incidents.open_incidents(LEAD_STP).total == 0
    with pytest.raises(Forbidden):
        container.incidents.retry(LEAD_STP, incident_id, {"so_trang": 1})
    with pytest.raises(Forbidden, match="roles"):
        container.incidents.skip(SKHCN, incident_id, "không")
    assert container.incidents.open_incidents(ADMIN).total == 1
    container.instances.cancel(ADMIN, instance_id, reason="hồ sơ rút")  # a cancelled case leaves no open incident
    assert container.incidents.open_incidents(ADMIN).total == 0
