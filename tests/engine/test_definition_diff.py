"""The element diff between two versions, on realistic changes of the escalation process (a snapshot copy in
tests/fixtures/versions/escalation, edited in memory): each change deployed as a new version on SQLite and
PostgreSQL and reported exactly. Then the fields one by one on a small process, without a database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.diff import diff_versions
from phoihop.engine.errors import DefinitionNotFound
from phoihop.engine.model import SourceFile
from phoihop.engine.reads.versions import ChangedElement, DiffElement, DiffSummary, FieldChange, FileChanges
from tests.conftest import OWNER

from .helpers import bpmn, lane

ESCALATION = Path(__file__).parent.parent / "fixtures" / "versions" / "escalation"
SKHCN, STP = "Sở Khoa học và Công nghệ", "Sở Tư pháp"


def escalation_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(ESCALATION.iterdir())}


def edit(xml: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    return xml


def add_duplicate_check(xml: str) -> str:
    """A new user task between the registration script and the classification, in the Sở KH&CN lane."""
    task = (
        '<bpmn:userTask id="check_duplicates" name="Kiểm tra trùng lặp vướng mắc" '
        'camunda:dueDate="working_days(1)">\n'
        "      <bpmn:documentation>Sở KH&amp;CN kiểm tra vướng mắc đã được báo cáo trước đó chưa. "
        "Giả định: 1 ngày làm việc.</bpmn:documentation>\n"
        "      <bpmn:incoming>flow_to_classify</bpmn:incoming>\n"
        "      <bpmn:outgoing>flow_checked</bpmn:outgoing>\n"
        '    </bpmn:userTask>\n    <bpmn:userTask id="classify" '
    )
    return edit(
        xml,
        (
            "<bpmn:flowNodeRef>register</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>register</bpmn:flowNodeRef>\n"
            "        <bpmn:flowNodeRef>check_duplicates</bpmn:flowNodeRef>",
        ),
        ('<bpmn:userTask id="classify" ', task),
        (
            "<bpmn:incoming>flow_to_classify</bpmn:incoming>\n      <bpmn:outgoing>flow_to_route",
            "<bpmn:incoming>flow_checked</bpmn:incoming>\n      <bpmn:outgoing>flow_to_route",
        ),
        (
            '<bpmn:sequenceFlow id="flow_to_classify" sourceRef="register" targetRef="classify"/>',
            '<bpmn:sequenceFlow id="flow_to_classify" sourceRef="register" targetRef="check_duplicates"/>\n'
            '    <bpmn:sequenceFlow id="flow_checked" sourceRef="check_duplicates" targetRef="classify"/>',
        ),
    )


def remove_record_outcome(xml: str) -> str:
    """Sở KH&CN no longer records the decision as a separate step: the decision goes straight to the summary."""
    start = xml.index('    <bpmn:userTask id="record_outcome"')
    end = xml.index("</bpmn:userTask>", start) + len("</bpmn:userTask>\n")
    xml = xml[:start] + xml[end:]
    return edit(
        xml,
        ("        <bpmn:flowNodeRef>record_outcome</bpmn:flowNodeRef>\n", ""),
        ('sourceRef="decision_made" targetRef="record_outcome"', 'sourceRef="decision_made" targetRef="merge_outcome"'),
        ("<bpmn:incoming>flow_outcome_recorded</bpmn:incoming>", "<bpmn:incoming>flow_decided</bpmn:incoming>"),
        (
            '    <bpmn:sequenceFlow id="flow_outcome_recorded" sourceRef="record_outcome" '
            'targetRef="merge_outcome"/>\n',
            "",
        ),
    )


def rename_classify(xml: str) -> str:
    return edit(xml, ('name="Tiếp nhận, phân loại vướng mắc"', 'name="Tiếp nhận, vào sổ và phân loại vướng mắc"'))


def move_legal_review_to_skhcn(xml: str) -> str:
    """The legal review moves from the Sở Tư pháp lane to Sở KH&CN (its overdue timer stays with Sở Tư pháp)."""
    return edit(
        xml,
        ("        <bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>\n", ""),
        (
            "<bpmn:flowNodeRef>register</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>register</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>",
        ),
    )


def narrow_legal_condition(xml: str) -> str:
    return edit(
        xml,
        (
            '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">needs_legal_review</bpmn:conditionExpression>',
            '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">needs_legal_review and not '
            "urgent</bpmn:conditionExpression>",
        ),
    )


CHANGES: dict[str, tuple[Callable[[str], str], dict[str, Any]]] = {
    "task-added": (
        add_duplicate_check,
        {
            "added": [
                {
                    "element_id": "check_duplicates",
                    "type": "userTask",
                    "name": "Kiểm tra trùng lặp vướng mắc",
                    "lane": SKHCN,
                },
                {"element_id": "flow_checked", "type": "sequenceFlow", "name": None, "lane": None},
            ],
            "removed": [],
            "changed": [
                {
                    "element_id": "flow_to_classify",
                    "type": "sequenceFlow",
                    "name": None,
                    "lane": None,
                    "changes": [{"field": "target", "before": "classify", "after": "check_duplicates"}],
                }
            ],
        },
    ),
    "task-removed": (
        remove_record_outcome,
        {
            "added": [],
            "removed": [
                {
                    "element_id": "record_outcome",
                    "type": "userTask",
                    "name": "Cập nhật kết quả, hướng dẫn thực hiện",
                    "lane": SKHCN,
                },
                {"element_id": "flow_outcome_recorded", "type": "sequenceFlow", "name": None, "lane": None},
            ],
            "changed": [
                {
                    "element_id": "flow_decided",
                    "type": "sequenceFlow",
                    "name": "Chấp thuận / không chấp thuận",
                    "lane": None,
                    "changes": [{"field": "target", "before": "record_outcome", "after": "merge_outcome"}],
                }
            ],
        },
    ),
    "task-renamed": (
        rename_classify,
        {
            "added": [],
            "removed": [],
            "changed": [
                {
                    "element_id": "classify",
                    "type": "userTask",
                    "name": "Tiếp nhận, vào sổ và phân loại vướng mắc",
                    "lane": SKHCN,
                    "changes": [
                        {
                            "field": "name",
                            "before": "Tiếp nhận, phân loại vướng mắc",
                            "after": "Tiếp nhận, vào sổ và phân loại vướng mắc",
                        }
                    ],
                }
            ],
        },
    ),
    "task-moved-lane": (
        move_legal_review_to_skhcn,
        {
            "added": [],
            "removed": [],
            "changed": [
                {
                    "element_id": "legal_review",
                    "type": "userTask",
                    "name": "Thẩm định pháp lý",
                    "lane": SKHCN,
                    "changes": [{"field": "lane", "before": STP, "after": SKHCN}],
                }
            ],
        },
    ),
    "condition-changed": (
        narrow_legal_condition,
        {
            "added": [],
            "removed": [],
            "changed": [
                {
                    "element_id": "flow_to_legal_review",
                    "type": "sequenceFlow",
                    "name": "Cần thẩm định pháp lý",
                    "lane": None,
                    "changes": [
                        {
                            "field": "condition",
                            "before": "needs_legal_review",
                            "after": "needs_legal_review and not urgent",
                        }
                    ],
                }
            ],
        },
    ),
}


def elements(expected: list[dict[str, Any]]) -> tuple[DiffElement, ...]:
    """The typed elements of an expectation written as the API's JSON."""
    return tuple(
        ChangedElement(
            e["element_id"],
            e["type"],
            e["name"],
            e["lane"],
            tuple(FieldChange(c["field"], c["before"], c["after"]) for c in e["changes"]),
        )
        if "changes" in e
        else DiffElement(e["element_id"], e["type"], e["name"], e["lane"])
        for e in expected
    )


def deploy_files(container: EngineContainer, files: dict[str, bytes], note: str) -> int:
    [result] = container.deployments.deploy(OWNER, [SourceFile(n, c) for n, c in files.items()], change_note=note)
    assert result.created
    return result.version


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_realistic_change_is_reported_exactly(container: EngineContainer, change: str) -> None:
    edit_xml, expected = CHANGES[change]
    original = escalation_files()
    changed = {**original, "escalation.bpmn": edit_xml(original["escalation.bpmn"].decode()).encode()}
    v1 = deploy_files(container, original, "Bản gốc")
    v2 = deploy_files(container, changed, change)

    diff = container.version_reads.definition_diff("escalation", v1, v2)

    assert (diff.added, diff.removed, diff.changed) == tuple(
        elements(expected[k]) for k in ("added", "removed", "changed")
    )
    assert diff.summary == DiffSummary(**{k: len(expected[k]) for k in ("added", "removed", "changed")})
    assert (diff.key, diff.from_version, diff.to, diff.process) == ("escalation", 1, 2, ())
    assert diff.files == FileChanges(added=(), removed=(), changed=("escalation.bpmn",))


def test_all_changes_at_once_and_the_way_back(container: EngineContainer) -> None:
    original = escalation_files()
    xml = original["escalation.bpmn"].decode()
    for edit_xml, _ in CHANGES.values():
        xml = edit_xml(xml)
    deploy_files(container, original, "Bản gốc")
    deploy_files(container, {**original, "escalation.bpmn": xml.encode()}, "Năm thay đổi")

    forward = container.version_reads.definition_diff("escalation", 1, 2)
    backward = container.version_reads.definition_diff("escalation", 2, 1)

    expected = {k: [e for _, change in CHANGES.values() for e in change[k]] for k in ("added", "removed")}
    assert sorted(e.element_id for e in forward.added) == sorted(e["element_id"] for e in expected["added"])
    assert sorted(e.element_id for e in forward.removed) == sorted(e["element_id"] for e in expected["removed"])
    assert {c.element_id for c in forward.changed} == {
        "flow_to_classify",
        "flow_decided",
        "classify",
        "legal_review",
        "flow_to_legal_review",
    }
    assert backward.added == forward.removed
    assert backward.removed == forward.added
    assert {c.element_id: [(f.field, f.after, f.before) for f in c.changes] for c in backward.changed} == {
        c.element_id: [(f.field, f.before, f.after) for f in c.changes] for c in forward.changed
    }


def test_same_version_and_unknown_versions(container: EngineContainer) -> None:
    deploy_files(container, escalation_files(), "Bản gốc")

    same = container.version_reads.definition_diff("escalation", 1, 1)

    assert same.summary == DiffSummary(added=0, removed=0, changed=0)
    assert same.files == FileChanges(added=(), removed=(), changed=())
    with pytest.raises(DefinitionNotFound):
        container.version_reads.definition_diff("escalation", 1, 2)
    with pytest.raises(DefinitionNotFound):
        container.version_reads.definition_diff("khong_co", 1, 1)


def test_a_changed_form_file_shows_in_files_only(container: EngineContainer) -> None:
    original = escalation_files()
    form = original["classify.form.json"].decode().replace('"title": "', '"title": "Mẫu mới: ', 1).encode()
    deploy_files(container, original, "Bản gốc")
    deploy_files(container, {**original, "classify.form.json": form}, "Sửa biểu mẫu phân loại")

    diff = container.version_reads.definition_diff("escalation", 1, 2)

    assert diff.summary == DiffSummary(added=0, removed=0, changed=0)
    assert diff.files == FileChanges(added=(), removed=(), changed=("classify.form.json",))


# --- the fields one by one, on a small process (no database) ---------------------------------------------------------
LANES = lane("Lane_skhcn", "Sở Khoa học và Công nghệ", "start", "review", "gate", "late", "end") + lane(
    "Lane_stp", "Sở Tư pháp", "wait"
)
BODY = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Xem xét" camunda:dueDate="P5D" camunda:formKey="review.form.json"
        camunda:candidateGroups="skhcn">
      <bpmn:documentation>Xem xét hồ sơ.</bpmn:documentation>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="Quá hạn" attachedToRef="review" cancelActivity="false">
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="gate" default="f3"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="wait" name="Chờ bổ sung"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Msg_more"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="gate"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gate" targetRef="wait">
      <bpmn:conditionExpression>need_more</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gate" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="wait" targetRef="end"/>
"""


def small(body: str = BODY, lanes: str = LANES) -> dict[str, bytes]:
    xml = (
        bpmn("small", body, lanes=lanes)
        .replace('id="Defs_small"', 'id="Defs_small" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')
        .replace(
            "<bpmn:collaboration",
            '<bpmn:message id="Msg_more" name="bo_sung"/><bpmn:message id="Msg_other" '
            'name="khac"/>\n  <bpmn:collaboration',
        )
    )
    return {"small.bpmn": xml.encode()}


def changes_of(after: dict[str, bytes]) -> dict[str, list[tuple[str, Any, Any]]]:
    diff = diff_versions("small", 1, small(), 2, after)
    assert diff["added"] == [] and diff["removed"] == []
    return {c["element_id"]: [(f["field"], f["before"], f["after"]) for f in c["changes"]] for c in diff["changed"]}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'camunda:dueDate="P5D"',
            'camunda:dueDate="working_days(3)"',
            {"review": [("due_date", "P5D", "working_days(3)")]},
        ),
        (
            'camunda:formKey="review.form.json"',
            'camunda:formKey="review2.form.json"',
            {"review": [("form", "review.form.json", "review2.form.json")]},
        ),
        (
            'camunda:candidateGroups="skhcn"',
            'camunda:candidateGroups="skhcn,stp"',
            {"review": [("candidate_groups", "skhcn", "skhcn,stp")]},
        ),
        (
            '<bpmn:userTask id="review"',
            '<bpmn:manualTask id="review"',
            {"review": [("type", "userTask", "manualTask")]},
        ),
        ("Xem xét hồ sơ.", "Xem xét kỹ hồ sơ.", {"review": [("documentation", None, None)]}),
        (
            '<bpmn:timeDuration>"P5D"</bpmn:timeDuration>',
            '<bpmn:timeDuration>"P3D"</bpmn:timeDuration>',
            {"late": [("timer", 'timeDuration: "P5D"', 'timeDuration: "P3D"')]},
        ),
        (
            'attachedToRef="review" cancelActivity="false"',
            'attachedToRef="review"',
            {"late": [("cancel_activity", False, True)]},
        ),
        ('default="f3"', 'default="f2"', {"gate": [("default_flow", "f3", "f2")]}),
        ('messageRef="Msg_more"', 'messageRef="Msg_other"', {"wait": [("event", "message: bo_sung", "message: khac")]}),
        (
            "<bpmn:conditionExpression>need_more</bpmn:conditionExpression>",
            "",
            {"f2": [("condition", "need_more", None)]},
        ),
    ],
    ids=[
        "due-date",
        "form",
        "candidate-groups",
        "type",
        "documentation",
        "timer",
        "interrupting",
        "default-flow",
        "message",
        "condition-removed",
    ],
)
def test_field_changes(old: str, new: str, expected: dict[str, list[tuple[str, Any, Any]]]) -> None:
    after = BODY.replace(old, new)
    assert after != BODY
    if old.startswith("<bpmn:userTask"):
        after = after.replace("</bpmn:userTask>", "</bpmn:manualTask>")

    assert changes_of(small(after)) == expected


def test_renamed_lane_changes_the_lane_only_and_a_diagram_change_nothing() -> None:
    renamed = LANES.replace('name="Sở Tư pháp"', 'name="Sở Tư pháp Hà Nội"')
    with_diagram = small()["small.bpmn"].replace(
        b"</bpmn:definitions>",
        b'<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        b'id="d"><bpmndi:BPMNPlane id="p" bpmnElement="small"/></bpmndi:BPMNDiagram>'
        b"</bpmn:definitions>",
    )

    assert changes_of(small(lanes=renamed)) == {"Lane_stp": [("name", "Sở Tư pháp", "Sở Tư pháp Hà Nội")]}
    assert diff_versions("small", 1, small(), 2, {"small.bpmn": with_diagram})["summary"] == {
        "added": 0,
        "removed": 0,
        "changed": 0,
    }


def test_process_level_properties() -> None:
    after = small()["small.bpmn"].replace(
        b'<bpmn:process id="small" isExecutable="true">',
        '<bpmn:process id="small" name="Quy trình nhỏ" isExecutable="true">'.encode(),
    )

    diff = diff_versions("small", 1, small(), 2, {"small.bpmn": after})

    assert diff["process"] == [{"field": "name", "before": None, "after": "Quy trình nhỏ"}]
    assert diff["summary"] == {"added": 0, "removed": 0, "changed": 0}
