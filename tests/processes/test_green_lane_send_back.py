"""Send-back on a project process (processes/green_lane): inside the sub-process "Giải quyết hồ sơ" across its
parallel legal opinion of Sở Tư pháp (a joint procedure), and out of it to the one-stop desk's check, each step loaded from the database; the case
then runs to its end."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.api.calls import DEFINITIONS, TASKS
from tests.conftest import auth
from tests.processes.test_green_lane import OWNER, PROCESS_DIR, RECEIVED, STP_LEAD, GreenLane

SKHCN_LEAD = auth("lanh_dao_skhcn", groups="skhcn", roles="lead,officer")


@pytest.fixture
def lane(client: TestClient, app_container: EngineContainer, clock: FakeClock) -> GreenLane:
    clock.set(RECEIVED)
    files = [("files", (p.name, p.read_bytes())) for p in sorted(PROCESS_DIR.iterdir()) if p.is_file()]
    assert client.post(DEFINITIONS, files=files, headers=OWNER).status_code == 201
    return GreenLane(client, app_container, clock)


def send_back(lane: GreenLane, instance_id: str, element_id: str, **body: Any) -> dict[str, Any]:
    task = lane.task(instance_id, element_id)
    response = lane.client.post(f"{TASKS}/{task['id']}/return", json=body, headers=SKHCN_LEAD)
    assert response.status_code == 200, response.text
    reopened: dict[str, Any] = response.json()
    return reopened


def test_a_decision_goes_back_to_the_legal_opinion_then_to_the_one_stop_desk(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-02")  # a joint procedure: Sở Tư pháp's lead gives a legal opinion
    lane.accept(instance_id)
    lane.complete(instance_id, "legal_risk_opinion", STP_LEAD, legal_compliant=True, legal_opinion="Phù hợp.")
    lane.consult_all(instance_id)
    lane.appraise(instance_id)

    reopened = send_back(
        lane, instance_id, "decide", reason="Cần ý kiến pháp lý đầy đủ", to_element_id="legal_risk_opinion"
    )

    assert (reopened["element_id"], reopened["candidate_groups"]) == ("legal_risk_opinion", ["stp"])
    assert lane.open_elements(instance_id) == ["legal_risk_opinion"]
    lane.complete(
        instance_id, "legal_risk_opinion", STP_LEAD, legal_compliant=True, legal_opinion="Phù hợp, đã bổ sung."
    )
    assert lane.open_elements(instance_id) == ["decide"]  # the joined appraisal and consultation were kept

    back = send_back(lane, instance_id, "decide", reason="Hồ sơ thiếu bản gốc", to_element_id="check_completeness")

    assert back["element_id"] == "check_completeness"
    assert lane.open_elements(instance_id) == ["check_completeness"]  # the sub-process and its timers are gone
    lane.accept(instance_id)
    assert lane.open_elements(instance_id) == ["appraise_skhcn", "consult_htkc", "legal_risk_opinion"]
    lane.complete(instance_id, "legal_risk_opinion", STP_LEAD, legal_compliant=True, legal_opinion="Phù hợp.")
    lane.consult_all(instance_id)
    lane.appraise(instance_id)
    lane.decide(instance_id)
    lane.return_result(instance_id)
    assert lane.view(instance_id)["status"] == "completed"
    assert lane.variables(instance_id)["legal_opinion"] == "Phù hợp."
