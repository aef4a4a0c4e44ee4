"""engine.definitions.layout.diagram: generated diagrams cover every element, keep shapes inside their lanes, never overlap, leave
the semantic model untouched and are deterministic."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from phoihop.cli import main as cli_main
from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.layout.diagram import layout_bpmn
from phoihop.engine.definitions.layout.diagram import main as layout_main
from phoihop.engine.errors import InvalidDefinition, UnsafeXml
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile

ROOT = Path(__file__).parent.parent.parent
LAY_Y_KIEN = ROOT / "tests" / "fixtures" / "bpmn" / "lay_y_kien.bpmn"
MONTHLY_REPORT = ROOT / "processes" / "monthly_report" / "monthly_report.bpmn"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODES = (
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "manualTask",
    "callActivity",
    "subProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
)

# Loops back (supplementation), parallel split and join, a multi-instance task, a business rule task, a call
# activity, timer and message catch events, interrupting and non-interrupting boundary timers (one looping back to
# its own host), end events in three lanes, a comment and no DI namespaces declared on the root.
STRESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_Stress"
    targetNamespace="https://phoihop.hanoi/test">
  <bpmn:collaboration id="Collab_Stress">
    <bpmn:participant id="Part_Stress" name="Kiểm thử bố cục" processRef="Process_Stress" />
  </bpmn:collaboration>
  <bpmn:message id="Msg_BoSung" name="bo_sung" />
  <!-- a comment the layout must keep -->
  <bpmn:process id="Process_Stress" name="Kiểm thử bố cục" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_Skhcn" name="Sở Khoa học và Công nghệ">
        <bpmn:flowNodeRef>Bat_dau</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Receive</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Complete</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Supplement</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Split</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Join</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Call</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Wait</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>WaitMessage</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndReminded</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_Stp" name="Sở Tư pháp">
        <bpmn:flowNodeRef>Review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Route</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Late</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEscalated</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_VpUbnd" name="Văn phòng UBND Thành phố">
        <bpmn:flowNodeRef>Report</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Remind</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Nudge</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="Bat_dau"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Receive" name="Tiếp nhận">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Complete" name="Đủ hồ sơ?" default="f_ok">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_ok</bpmn:outgoing><bpmn:outgoing>f_more</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="Supplement" name="Bổ sung hồ sơ">
      <bpmn:incoming>f_more</bpmn:incoming><bpmn:outgoing>f_back</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:parallelGateway id="Split"><bpmn:incoming>f_ok</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="Review" name="Thẩm định">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="reviewer" name="reviewer" />
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Late" name="Quá hạn" attachedToRef="Review">
      <bpmn:outgoing>f_late</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_Late">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P5D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="EndEscalated" name="Chuyển xử lý"><bpmn:incoming>f_late</bpmn:incoming></bpmn:endEvent>
    <bpmn:businessRuleTask id="Route" name="Chọn cơ quan">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>Decision_DieuPhoi</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:parallelGateway id="Join"><bpmn:incoming>f5</bpmn:incoming><bpmn:incoming>f6</bpmn:incoming>
      <bpmn:outgoing>f7</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:callActivity id="Call" name="Góp ý kinh phí" calledElement="Process_Child">
      <bpmn:incoming>f7</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:intermediateCatchEvent id="Wait" name="Chờ một ngày">
      <bpmn:incoming>f8</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_Wait">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="WaitMessage" name="Chờ bổ sung">
      <bpmn:incoming>f9</bpmn:incoming><bpmn:outgoing>f10</bpmn:outgoing>
      <bpmn:messageEventDefinition id="MsgDef_Wait" messageRef="Msg_BoSung" />
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Report" name="Báo cáo">
      <bpmn:incoming>f10</bpmn:incoming><bpmn:incoming>f_nudged</bpmn:incoming><bpmn:outgoing>f11</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Remind" name="Nhắc" cancelActivity="false" attachedToRef="Report">
      <bpmn:outgoing>f_remind</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_Remind">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P2D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="Nudge" name="Đôn đốc" attachedToRef="Report">
      <bpmn:outgoing>f_nudged</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_Nudge">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P9D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="EndReminded" name="Đã nhắc"><bpmn:incoming>f_remind</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End" name="Xong"><bpmn:incoming>f11</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Bat_dau" targetRef="Receive" />
    <bpmn:sequenceFlow id="f2" sourceRef="Receive" targetRef="Complete" />
    <bpmn:sequenceFlow id="f_ok" sourceRef="Complete" targetRef="Split" />
    <bpmn:sequenceFlow id="f_more" sourceRef="Complete" targetRef="Supplement">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">missing == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_back" sourceRef="Supplement" targetRef="Receive" />
    <bpmn:sequenceFlow id="f3" sourceRef="Split" targetRef="Review" />
    <bpmn:sequenceFlow id="f4" sourceRef="Split" targetRef="Route" />
    <bpmn:sequenceFlow id="f_late" sourceRef="Late" targetRef="EndEscalated" />
    <bpmn:sequenceFlow id="f5" sourceRef="Review" targetRef="Join" />
    <bpmn:sequenceFlow id="f6" sourceRef="Route" targetRef="Join" />
    <bpmn:sequenceFlow id="f7" sourceRef="Join" targetRef="Call" />
    <bpmn:sequenceFlow id="f8" sourceRef="Call" targetRef="Wait" />
    <bpmn:sequenceFlow id="f9" sourceRef="Wait" targetRef="WaitMessage" />
    <bpmn:sequenceFlow id="f10" sourceRef="WaitMessage" targetRef="Report" />
    <bpmn:sequenceFlow id="f_remind" sourceRef="Remind" targetRef="EndReminded" />
    <bpmn:sequenceFlow id="f_nudged" sourceRef="Nudge" targetRef="Report" />
    <bpmn:sequenceFlow id="f11" sourceRef="Report" targetRef="End" />
  </bpmn:process>
  <bpmn:process id="Process_Child" name="Góp ý" isExecutable="true">
    <bpmn:laneSet id="LaneSet_Child">
      <bpmn:lane id="Lane_Stc" name="Sở Tài chính"><bpmn:flowNodeRef>Opinion</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="ChildStart"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Opinion" name="Góp ý"><bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="ChildEnd"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="ChildStart" targetRef="Opinion" />
    <bpmn:sequenceFlow id="c2" sourceRef="Opinion" targetRef="ChildEnd" />
  </bpmn:process>
</bpmn:definitions>
"""


def parse(content: bytes) -> Any:
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


def semantic(content: bytes) -> bytes:
    """Canonical XML of everything but the diagrams."""
    root = parse(content)
    for diagram in root.findall("bpmndi:BPMNDiagram", NS):
        root.remove(diagram)
    for element in root.iter():  # whitespace between elements is formatting, not semantics
        if element.tail is not None and not element.tail.strip():
            element.tail = None
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
    canonical: bytes = etree.tostring(root, method="c14n2", with_comments=True)
    return canonical


def bounds(shape: Any) -> tuple[int, int, int, int]:
    box = shape.find("dc:Bounds", NS)
    values = tuple(box.get(name) for name in ("x", "y", "width", "height"))
    assert all(value is not None and value.lstrip("-").isdigit() for value in values), values  # integers
    x, y, w, h = (int(value) for value in values)
    return x, y, w, h


def inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def check_diagram(content: bytes) -> dict[str, tuple[int, int, int, int]]:
    """Assert what bpmn-js needs and what a reader expects; return every shape's bounds by element id."""
    root = parse(content)
    by_id = {element.get("id"): element for element in root.iter() if isinstance(element.tag, str)}
    shapes: dict[str, tuple[int, int, int, int]] = {}
    planes = {}
    for plane in root.iterfind("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS):
        assert plane.get("bpmnElement") in by_id
        for shape in plane.iterfind("bpmndi:BPMNShape", NS):
            assert shape.get("bpmnElement") not in shapes, "one shape per element"
            shapes[shape.get("bpmnElement")] = bounds(shape)
            planes[shape.get("bpmnElement")] = plane.get("bpmnElement")
    edges = {}
    for edge in root.iterfind("bpmndi:BPMNDiagram/bpmndi:BPMNPlane/bpmndi:BPMNEdge", NS):
        points = [(int(p.get("x")), int(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        assert len(points) >= 2
        for start, end in itertools.pairwise(points):
            assert start[0] == end[0] or start[1] == end[1], f"{edge.get('bpmnElement')} is not orthogonal"
        edges[edge.get("bpmnElement")] = points
    ids = [element.get("id") for element in root.iter() if isinstance(element.tag, str) and element.get("id")]
    assert len(ids) == len(set(ids)), "DI ids must not collide with semantic ids"
    for kind in (*FLOW_NODES, "lane", "participant"):
        for element in root.iter(f"{{{NS['bpmn']}}}{kind}"):
            assert element.get("id") in shapes, f"{kind} {element.get('id')} has no shape"
    for flow in root.iter(f"{{{NS['bpmn']}}}sequenceFlow"):
        route = edges[flow.get("id")]
        source, target = shapes[flow.get("sourceRef")], shapes[flow.get("targetRef")]
        assert touches(route[0], source) and touches(route[-1], target), flow.get("id")
    for lane in root.iter(f"{{{NS['bpmn']}}}lane"):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            node = ref.text.strip()
            if by_id[node].get("attachedToRef") is None:
                assert inside(shapes[node], shapes[lane.get("id")]), f"{node} outside lane {lane.get('id')}"
            else:  # a boundary event sits on its host's edge, which is inside the lane
                assert inside(shapes[by_id[node].get("attachedToRef")], shapes[lane.get("id")])
    nodes = [i for i in shapes if by_id[i].tag.rsplit("}", 1)[-1] in FLOW_NODES]
    for a, b in itertools.combinations(nodes, 2):
        if planes[a] != planes[b] or by_id[a].get("attachedToRef") == b or by_id[b].get("attachedToRef") == a:
            continue
        assert not overlap(shapes[a], shapes[b]), f"{a} overlaps {b}"
    for boundary in root.iter(f"{{{NS['bpmn']}}}boundaryEvent"):
        host = shapes[boundary.get("attachedToRef")]
        x, y, w, h = shapes[boundary.get("id")]
        assert y + h // 2 == host[1] + host[3] and host[0] <= x and x + w <= host[0] + host[2]  # on the bottom edge
    return shapes


def touches(point: tuple[int, int], box: tuple[int, int, int, int]) -> bool:
    x, y = point
    return inside((x, y, 0, 0), box) and (x in (box[0], box[0] + box[2]) or y in (box[1], box[1] + box[3]))


def compiles(*files: SourceFile) -> None:
    compile_deployment(files, agencies=default_registry(), check=check_source)


def test_lay_y_kien_gets_a_complete_diagram_and_still_compiles() -> None:
    original = LAY_Y_KIEN.read_bytes()
    result = layout_bpmn(original)
    shapes = check_diagram(result)
    assert semantic(result) == semantic(original)
    assert shapes["lap_phieu"][2:] == (100, 80) and shapes["tach"][2:] == (50, 50) and shapes["start"][2:] == (36, 36)
    lanes = ["Lane_skhcn", "Lane_stp", "Lane_htkc", "Lane_ubnd"]
    tops = [shapes[lane][1] for lane in lanes]
    assert tops == sorted(tops) and all(inside(shapes[lane], shapes["Part_lay_y_kien"]) for lane in lanes)
    # columns follow the longest path: the join comes after both opinions, the end after the decision
    assert shapes["start"][0] < shapes["lap_phieu"][0] < shapes["tach"][0] < shapes["y_kien_phap_ly"][0]
    assert shapes["y_kien_phap_ly"][0] == shapes["y_kien_htkc"][0] < shapes["gop"][0]
    assert shapes["quyet_dinh"][0] < shapes["ket_thuc"][0]
    compiles(SourceFile("lay_y_kien.bpmn", result))
    assert layout_bpmn(result) == result  # regenerating a generated diagram changes nothing


def test_loops_lanes_and_boundary_events() -> None:
    original = STRESS.encode()
    result = layout_bpmn(original)
    shapes = check_diagram(result)
    assert semantic(result) == semantic(original)
    assert b"<!-- a comment the layout must keep -->" in result
    # the supplementation loop does not push the flow right: its back edge is routed below
    assert shapes["Supplement"][0] > shapes["Complete"][0] and shapes["Split"][0] > shapes["Complete"][0]
    root = parse(result)
    back = root.find(".//bpmndi:BPMNEdge[@bpmnElement='f_back']", NS)
    points = [(int(p.get("x")), int(p.get("y"))) for p in back.iterfind("di:waypoint", NS)]
    lowest = max(shapes["Supplement"][1] + shapes["Supplement"][3], shapes["Receive"][1] + shapes["Receive"][3])
    assert max(y for _, y in points) > lowest
    # the interrupting timer's path leads to an end event in its own lane, after the host
    assert shapes["EndEscalated"][0] > shapes["Review"][0]
    # two boundary events on one host do not overlap each other
    assert not overlap(shapes["Remind"], shapes["Nudge"])
    # the called process gets its own diagram; the collaboration's plane holds the pool
    planes = [plane.get("bpmnElement") for plane in root.iterfind(".//bpmndi:BPMNPlane", NS)]
    assert planes == ["Collab_Stress", "Process_Child"]
    dmn = SourceFile("routing.dmn", (FIXTURES / "routing.dmn").read_bytes())
    compiles(SourceFile("stress.bpmn", result), dmn)
    compiles(SourceFile("stress.bpmn", original), dmn)


def test_layout_is_deterministic_and_replaces_an_existing_diagram() -> None:
    first = layout_bpmn(STRESS.encode())
    assert layout_bpmn(STRESS.encode()) == first
    assert layout_bpmn(first) == first
    assert first.count(b"<bpmndi:BPMNDiagram") == 2
    # a hand-drawn diagram is replaced, not kept next to the new one
    hand_drawn = LAY_Y_KIEN.read_bytes()
    assert b'id="Diagram_lay_y_kien"' in hand_drawn
    regenerated = layout_bpmn(hand_drawn)
    assert regenerated.count(b"<bpmndi:BPMNDiagram") == 1 and b'id="Diagram_lay_y_kien"' not in regenerated


def test_monthly_report_diagram_is_current() -> None:
    """processes/monthly_report carries the generated diagram (``phoihop layout --check`` would pass)."""
    content = MONTHLY_REPORT.read_bytes()
    assert layout_bpmn(content) == content
    shapes = check_diagram(content)
    assert shapes["collect_reports"][2:] == (100, 80)  # the multi-instance collection, collapsed, with its own plane
    assert {"submit_report", "record_report"} <= set(shapes)


@pytest.mark.parametrize(
    "name", ["lanes.bpmn", "timers.bpmn", "camunda_modeler.bpmn", "call_parent.bpmn", "business_rule.bpmn"]
)
def test_fixtures_lay_out(name: str) -> None:
    original = (FIXTURES / name).read_bytes()
    result = layout_bpmn(original)
    check_diagram(result)
    assert semantic(result) == semantic(original)


def test_collapsed_subprocess_gets_its_own_plane() -> None:
    result = layout_bpmn((FIXTURES / "lanes.bpmn").read_bytes())
    root = parse(result)
    shape = root.find(".//bpmndi:BPMNShape[@bpmnElement='Sub_HuongDan']", NS)
    assert shape.get("isExpanded") == "false" and bounds(shape)[2:] == (100, 80)
    inner = root.find(".//bpmndi:BPMNPlane[@bpmnElement='Sub_HuongDan']", NS)
    assert {s.get("bpmnElement") for s in inner.iterfind("bpmndi:BPMNShape", NS)} == {
        "Sub_Start",
        "Task_HuongDan",
        "Sub_End",
    }


def test_refuses_unsafe_or_broken_input() -> None:
    with pytest.raises(UnsafeXml):
        layout_bpmn(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    with pytest.raises(InvalidDefinition):
        layout_bpmn((FIXTURES / "malformed.bpmn").read_bytes())
    with pytest.raises(InvalidDefinition) as caught:
        layout_bpmn(STRESS.replace('targetRef="End" />', 'targetRef="Nowhere" />').encode())
    assert caught.value.problems[0]["element_id"] == "f11"
    with pytest.raises(InvalidDefinition):
        layout_bpmn(b"<not-bpmn/>")


def test_cli_rewrites_in_place_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "stress.bpmn"
    target.write_text(STRESS, encoding="utf-8")
    assert cli_main(["layout", "--check", str(target)]) == 1
    assert target.read_text(encoding="utf-8") == STRESS  # --check never writes
    assert cli_main(["layout", str(target)]) == 0
    assert target.read_bytes() == layout_bpmn(STRESS.encode())
    assert cli_main(["layout", "--check", str(target)]) == 0
    assert layout_main(["--check", str(target)]) == 0
    moved = target.read_text(encoding="utf-8").replace('x="160"', 'x="161"', 1)  # a stale diagram
    target.write_text(moved, encoding="utf-8")
    assert layout_main(["--check", str(target)]) == 1
    assert layout_main([str(tmp_path / "missing.bpmn")]) == 1
    err = capsys.readouterr().err
    assert "diagram missing or stale" in err and "missing.bpmn" in err
