"""The engine reads the web app added (engine/reads/instance_views.py, engine/store/instance_views.py), on SQLite and PostgreSQL:
inbox text search, the dossier labels of task rows, and an instance's diagram with the path taken, what it waits on
and what is overdue, under the instance API's visibility rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.errors import Forbidden, InstanceNotFound
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.reads.instance_views import InstanceLabels
from tests.conftest import INTEGRATOR, OWNER, officer
from tests.web.conftest import green_lane_dossier

GREEN_LANE = Path(__file__).parents[2] / "processes" / "green_lane"
DESK = officer("khanh", "ttpvhcc")
SKHCN = officer("an", "skhcn")
STP = officer("dung", "stp")
RECEIVED = datetime(2026, 2, 12, 2, 0, tzinfo=UTC)  # Thursday 12/2/2026 09:00 in Hanoi


@pytest.fixture
def green_lane(container: EngineContainer, clock: FakeClock) -> EngineContainer:
    clock.set(RECEIVED)
    files = [SourceFile(p.name, p.read_bytes()) for p in sorted(GREEN_LANE.iterdir()) if p.is_file()]
    container.deployments.deploy(OWNER, files)
    return container


def submit(container: EngineContainer, business_key: str, **fields: object) -> str:
    instance_id, _ = container.instances.start(
        INTEGRATOR, "green_lane", business_key=business_key, variables=green_lane_dossier(**fields)
    )
    return instance_id


def open_task(container: EngineContainer, instance_id: str, actor: Actor) -> str:
    task_id: str = container.task_reads.open_task_ids(actor, instance_id)[0]
    return task_id


def test_inbox_text_search_matches_task_name_business_key_and_dossier_code(green_lane: EngineContainer) -> None:
    task_reads = green_lane.task_reads
    first = submit(green_lane, "HS-2026_0001")
    second = submit(green_lane, "HS-2026%0002")
    dossier = green_lane.instance_reads.get_instance(INTEGRATOR, second).dossier
    assert dossier is not None and dossier.code is not None
    code = dossier.code

    def found(text: str) -> list[str]:
        return sorted(t.instance_id for t in task_reads.list_tasks(DESK, text=text).items)

    assert found("HS-2026_0001") == [first]
    assert found("hs-2026%0002") == [second]  # case-insensitive; % and _ match themselves
    assert found("2026_") == [first] and found("%") == [second]
    assert found(code) == [second]
    assert found("kiểm tra tính đầy đủ") == sorted([first, second])  # the task name
    assert found("không có") == []
    assert task_reads.list_tasks(SKHCN, text="HS-2026").total == 0  # still only the caller's tasks
    rows = task_reads.list_tasks(DESK, text=code).items
    labels = green_lane.instance_views.instance_labels(rows)
    assert [labels[r.instance_id] for r in rows] == [
        InstanceLabels("HS-2026%0002", code, "Giải quyết thủ tục hành chính theo làn xanh")
    ]


def test_the_diagram_marks_the_path_the_waiting_steps_and_overdue_tasks(
    green_lane: EngineContainer, clock: FakeClock
) -> None:
    instance_id = submit(green_lane, "HS-1")
    diagram = green_lane.instance_views.instance_diagram(DESK, instance_id)
    assert diagram.file == "green_lane.bpmn" and diagram.xml.startswith("<?xml")
    assert diagram.completed[:3] == ("dossier_submitted", "eligibility", "register_dossier")
    assert "check_completeness" in diagram.active and diagram.overdue == ()
    assert diagram.lanes["check_completeness"] == "Trung tâm Phục vụ hành chính công"
    assert diagram.names["check_completeness"] == "Kiểm tra tính đầy đủ của hồ sơ"
    assert diagram.history[0].kind == "instance_started"

    green_lane.tasks.complete(
        DESK, open_task(green_lane, instance_id, DESK), {"outcome": "complete", "routing": "confirm"}
    )
    diagram = green_lane.instance_views.instance_diagram(SKHCN, instance_id)
    assert {"check_completeness", "accept_dossier", "assign_appraisal"} <= set(diagram.completed)
    # the appraisal runs inside the collapsed sub-process "processing": both are active
    assert {"appraise_skhcn", "processing"} <= set(diagram.active)
    assert "check_completeness" not in diagram.active

    clock.set(RECEIVED + timedelta(days=30))  # long past the appraisal's due time
    diagram = green_lane.instance_views.instance_diagram(SKHCN, instance_id)
    assert {"appraise_skhcn", "processing"} <= set(diagram.overdue)


def test_the_diagram_follows_the_instance_visibility_rule(green_lane: EngineContainer) -> None:
    instance_id = submit(green_lane, "HS-2")
    with pytest.raises(Forbidden):
        green_lane.instance_views.instance_diagram(STP, instance_id)
    with pytest.raises(Forbidden):
        green_lane.instance_views.instance_bpmn(STP, instance_id)
    with pytest.raises(InstanceNotFound):
        green_lane.instance_views.instance_bpmn(DESK, "01234567-89ab-7def-8123-456789abcdef")
    name, content = green_lane.instance_views.instance_bpmn(DESK, instance_id)
    assert name == "green_lane.bpmn" and 'id="green_lane"' in content


def test_inbox_search_ignores_case_and_diacritics_and_finds_applicants_and_case_titles(
    green_lane: EngineContainer,
) -> None:
    """Issue 10.3: 'KIỂM', 'kiem tra', NFD input, 'đ' typed as 'd' (and the other way), the applicant's name and the
    procedure (the case's title) are found."""
    import unicodedata

    task_reads = green_lane.task_reads
    first = submit(green_lane, "HS-A1", applicant_name="Hợp tác xã Đông Anh")
    second = submit(green_lane, "HS-B2", applicant_name="Công ty TNHH Ánh Dương", procedure_code="KHCN-03")

    def found(text: str) -> list[str]:
        return sorted(t.instance_id for t in task_reads.list_tasks(DESK, text=text).items)

    both = sorted([first, second])
    assert found("KIỂM") == both and found("kiem tra tinh") == both and found("KIEM TRA") == both
    assert found(unicodedata.normalize("NFD", "Kiểm tra tính đầy đủ")) == both
    assert found("dong anh") == [first] and found("ĐÔNG ANH") == [first] and found("hop tac xa") == [first]
    assert found(unicodedata.normalize("NFD", "Ánh Dương")) == [second] and found("anh duong") == [second]
    assert found("du an ung dung cong nghe cao") == [second]  # the procedure (from the catalogue), the case's title
    assert found("doanh nghiep khoa hoc") == [first]
    assert found("hs-a1") == [first]
    assert found("đong") == [first]  # đ and d are one letter to the search
