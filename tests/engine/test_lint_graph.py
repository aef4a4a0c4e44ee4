"""engine.definitions.lint.graph: the shape of each process and subprocess (``unreachable``, ``dead-end``,
``implicit-end``, ``flow-into-nothing``, ``gateway-one-way``, ``end-with-open-branches``), on small BPMN texts, and the
issue's scenario (the flow out of a task deleted) refused by validate and deploy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.definitions.lint.deployment import lint_files
from phoihop.engine.definitions.lint.graph import graph_findings
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.model import Finding, SourceFile
from tests.api.calls import DEFINITIONS, OWNER, assert_problem
from tests.engine.test_lint import compile_files, lint

PROCESSES = Path(__file__).parent.parent.parent / "processes"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_graph" targetNamespace="http://phoihop/test">\n'
    '<bpmn:process id="graph" isExecutable="true">\n'
)
TAIL = "</bpmn:process>\n</bpmn:definitions>\n"


def flows(*pairs: str) -> str:
    """``"a>b"`` → a sequence flow ``a_b`` from a to b; ``"a>b?x"`` with the condition ``x``."""
    out = []
    for pair in pairs:
        edge, _, condition = pair.partition("?")
        source, target = edge.split(">")
        inner = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
        body = f">{inner}</bpmn:sequenceFlow>" if condition else "/>"
        out.append(f'<bpmn:sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}"{body}')
    return "\n".join(out)


def process(*parts: str) -> str:
    return HEAD + "\n".join(parts) + "\n" + TAIL


def graph(text: str) -> list[tuple[str | None, str, str]]:
    found = graph_findings("graph.bpmn", parse_xml(text.encode("utf-8"), filename="graph.bpmn").getroot())
    return sorted((f["element_id"], f["code"], f["severity"]) for f in found)


def codes(findings: Sequence[Finding], *wanted: str) -> list[tuple[str | None, str, str]]:
    return [(f["element_id"], f["code"], f["severity"]) for f in findings if f["code"] in wanted]


GRAPH_CODES = (
    "unreachable",
    "dead-end",
    "implicit-end",
    "flow-into-nothing",
    "gateway-one-way",
    "end-with-open-branches",
)


# --- the scenario: the flow out of a task deleted -----------------------------------------------------------
def escalation_without(flow_id: str) -> list[SourceFile]:
    """processes/escalation with sequence flow ``flow_id`` deleted as a modeler deletes it (the flow, the
    incoming/outgoing references and the drawn edge)."""
    files = []
    for path in sorted((PROCESSES / "escalation").iterdir()):
        content = path.read_bytes()
        if path.suffix == ".bpmn":
            text = content.decode("utf-8")
            for pattern in (
                rf'\s*<bpmn:sequenceFlow id="{flow_id}"[^>]*/>',
                rf"\s*<bpmn:(incoming|outgoing)>{flow_id}</bpmn:\1>",
                rf'\s*<bpmndi:BPMNEdge id="{flow_id}_di".*?</bpmndi:BPMNEdge>',
            ):
                text, count = re.subn(pattern, "", text, flags=re.S)
                assert count, pattern
            content = text.encode("utf-8")
        files.append(SourceFile(path.name, content))
    return files


def test_deleting_the_flow_out_of_a_task_fails_validate_and_deploy_naming_the_elements(client: TestClient) -> None:
    files = escalation_without("flow_to_settle")  # classify → settle_routing: everything after classify is cut off
    upload = [("files", (f.name, f.content, "application/xml")) for f in files]

    validated = client.post(f"{DEFINITIONS}/validate", headers=OWNER, files=upload)

    assert validated.status_code == 200, validated.text
    body = validated.json()
    assert body["valid"] is False
    assert [(f["element_id"], f["code"]) for f in body["errors"]] == [("settle_routing", "unreachable")]
    assert ("classify", "implicit-end") in [(f["element_id"], f["code"]) for f in body["warnings"]]
    [error] = body["errors"]
    assert (
        error["file"] == "escalation.bpmn"
        and error["element_name"] == "Chốt phân công cơ quan cho ý kiến"
        and error["line"]
    )
    assert "không thể tới được" in error["message_vi"] and "unreachable" in error["message_en"]
    deployed = client.post(DEFINITIONS, headers=OWNER, files=upload)
    problem = assert_problem(deployed, 422, "invalid-bpmn")
    assert [(p["element_id"], p["code"]) for p in problem["problems"]] == [("settle_routing", "unreachable")]
    assert client.get(DEFINITIONS, headers=OWNER).json() == []


def test_the_shipped_escalation_has_no_graph_finding_before_the_flow_is_deleted() -> None:
    files = [SourceFile(p.name, p.read_bytes()) for p in sorted((PROCESSES / "escalation").iterdir())]
    assert codes(lint(files, strict=True), *GRAPH_CODES) == []


# --- dead ends and implicit ends ------------------------------------------------------------------------------------
def test_a_gateway_or_start_without_a_way_out_is_an_error_a_task_an_implicit_end_warning() -> None:
    text = process(
        '<bpmn:startEvent id="start"/><bpmn:startEvent id="idle"/>',
        '<bpmn:exclusiveGateway id="choose" default="start_choose"/><bpmn:task id="work"/>',
        '<bpmn:endEvent id="end"/>',
        flows("start>choose", "start>work"),
    )
    assert graph(text) == [
        ("choose", "dead-end", "error"),
        ("end", "unreachable", "error"),
        ("idle", "dead-end", "error"),
        ("work", "implicit-end", "warning"),
    ]


def test_an_implicit_end_deploys_with_its_warning_and_strict_refuses_it() -> None:
    plain = (Path(__file__).parent.parent / "fixtures" / "lint" / "plain.bpmn").read_text(encoding="utf-8")
    text = plain.replace('<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />', "").replace(
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>', ""
    )
    files = [SourceFile("plain.bpmn", text.encode("utf-8"))]
    assert codes(lint(files), *GRAPH_CODES) == [("review", "implicit-end", "warning")]
    assert codes(lint(files, strict=True), *GRAPH_CODES) == [("review", "implicit-end", "error")]


def test_a_loop_without_a_way_out_is_a_dead_end_where_the_path_enters_it() -> None:
    text = process(
        '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="first" default="first_again"/>',
        '<bpmn:exclusiveGateway id="again" default="again_work"/><bpmn:task id="work"/><bpmn:task id="check"/>',
        '<bpmn:endEvent id="end"/>',
        flows("start>first", "first>end?done", "first>again", "again>work", "work>check", "check>again"),
    )
    assert graph(text) == [("again", "dead-end", "error")]


# --- unreachable ----------------------------------------------------------------------------------------------------
def test_unreachable_is_reported_where_the_cut_off_part_begins_and_for_a_loop_nothing_enters() -> None:
    text = process(
        '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>',
        '<bpmn:task id="orphan"/><bpmn:task id="after"/><bpmn:endEvent id="after_end"/>',
        '<bpmn:boundaryEvent id="late" attachedToRef="orphan"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>',
        '<bpmn:task id="loop_a"/><bpmn:task id="loop_b"/>',
        flows("start>end", "orphan>after", "after>after_end", "late>after_end", "loop_a>loop_b", "loop_b>loop_a"),
    )
    assert graph(text) == [
        ("loop_a", "unreachable", "error"),
        ("loop_b", "unreachable", "error"),
        ("orphan", "unreachable", "error"),
    ]


VALID_SHAPES = {
    "event subprocess": (
        '<bpmn:subProcess id="on_cancel" triggeredByEvent="true">'
        '<bpmn:startEvent id="cancel_start"><bpmn:messageEventDefinition/></bpmn:startEvent>'
        '<bpmn:endEvent id="cancelled"/>' + flows("cancel_start>cancelled") + "</bpmn:subProcess>"
    ),
    "compensation handler": (
        '<bpmn:boundaryEvent id="undo" attachedToRef="work"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'
        '<bpmn:task id="refund" isForCompensation="true"/>'
        '<bpmn:association id="undo_refund" sourceRef="undo" targetRef="refund"/>'
    ),
    "link events": (
        '<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="tiep"/></bpmn:intermediateThrowEvent>'
        '<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="tiep"/></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="landed"/>' + flows("land>landed")
    ),
    "boundary events": (
        '<bpmn:boundaryEvent id="remind" cancelActivity="false" attachedToRef="work">'
        "<bpmn:timerEventDefinition/></bpmn:boundaryEvent>"
        '<bpmn:boundaryEvent id="timeout" attachedToRef="work"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="timed_out"/>' + flows("timeout>timed_out")
    ),
    "subprocess and terminate end": (
        '<bpmn:subProcess id="inner"><bpmn:startEvent id="inner_start"/>'
        '<bpmn:endEvent id="inner_end"><bpmn:terminateEventDefinition/></bpmn:endEvent>'
        + flows("inner_start>inner_end")
        + "</bpmn:subProcess>"
    ),
    "event-based gateway": (
        '<bpmn:eventBasedGateway id="wait"/>'
        '<bpmn:intermediateCatchEvent id="reply"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>'
        '<bpmn:intermediateCatchEvent id="timer"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="replied"/>' + flows("wait>reply", "wait>timer", "reply>replied", "timer>replied")
    ),
}


@pytest.mark.parametrize("shape", VALID_SHAPES)
def test_constructs_without_sequence_flows_of_their_own_are_no_finding(shape: str) -> None:
    route = {
        "link events": flows("start>work", "work>jump"),
        "subprocess and terminate end": flows("start>work", "work>inner", "inner>end"),
        "event-based gateway": flows("start>work", "work>wait"),
    }.get(shape, flows("start>work", "work>end"))
    text = process(
        '<bpmn:startEvent id="start"/><bpmn:task id="work"/><bpmn:endEvent id="end"/>', VALID_SHAPES[shape], route
    )
    findings = graph(text)
    assert findings == ([("end", "unreachable", "error")] if shape in ("link events", "event-based gateway") else [])


def test_a_link_throw_without_its_catch_is_a_dead_end() -> None:
    text = process(
        '<bpmn:startEvent id="start"/>',
        '<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="x"/></bpmn:intermediateThrowEvent>',
        flows("start>jump"),
    )
    assert graph(text) == [("jump", "dead-end", "error")]
    text = process(
        '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>',
        '<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="y"/></bpmn:intermediateCatchEvent>',
        flows("start>end", "land>end"),
    )
    assert graph(text) == [("land", "unreachable", "error")]  # a catch no throw names: nothing leads to it


# --- flows into nothing ---------------------------------------------------------------------------------------------
def test_a_flow_into_an_element_that_is_no_step_is_named() -> None:
    text = process(
        '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/><bpmn:dataObject id="ho_so"/>',
        flows("start>end", "start>ho_so"),
    )
    found = graph_findings("graph.bpmn", parse_xml(text.encode("utf-8"), filename="graph.bpmn").getroot())
    [flow] = [f for f in found if f["code"] == "flow-into-nothing"]
    assert (flow["element_id"], flow["severity"]) == ("start_ho_so", "error")
    assert "start_ho_so" in flow["message_en"] and "start_ho_so" in flow["message_vi"]
    assert "'ho_so'" in flow["message_en"]


def test_a_flow_naming_no_element_is_refused_by_the_compile_step_on_the_flow() -> None:
    """The catalog's reference check already refuses it (invalid-bpmn on the flow, with its line)."""
    plain = (Path(__file__).parent.parent / "fixtures" / "lint" / "plain.bpmn").read_text(encoding="utf-8")
    files = [SourceFile("plain.bpmn", plain.replace('targetRef="end"', 'targetRef="nowhere"').encode("utf-8"))]
    with pytest.raises(Exception) as refused:
        compile_files(files)
    assert [(p["element_id"], p["line"]) for p in refused.value.problems] == [("f2", 17)]  # type: ignore[attr-defined]


# --- gateways -------------------------------------------------------------------------------------------------------
def test_a_split_whose_only_way_out_is_conditional_without_default_is_a_warning() -> None:
    shape = '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="ok"{}/><bpmn:endEvent id="end"/>'
    stuck = process(shape.format(""), flows("start>ok", "ok>end?approved"))
    defaulted = process(shape.format(' default="ok_end"'), flows("start>ok", "ok>end?approved"))
    plain = process(shape.format(""), flows("start>ok", "ok>end"))

    assert graph(stuck) == [("ok", "gateway-one-way", "warning")]
    assert graph(defaulted) == graph(plain) == []


# --- parallel branches ----------------------------------------------------------------------------------------------
FORK = (
    '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>'
    '<bpmn:task id="a"/><bpmn:task id="b"/><bpmn:exclusiveGateway id="ok" default="ok_join"/><bpmn:endEvent id="end"/>'
)
REJECTED = '<bpmn:endEvent id="rejected"/>'
TERMINATED = '<bpmn:endEvent id="rejected"><bpmn:terminateEventDefinition/></bpmn:endEvent>'
REJECT_INSIDE = flows("start>fork", "fork>a", "fork>b", "a>ok", "ok>join", "ok>rejected?no", "b>join", "join>end")


def test_a_branch_that_can_end_before_the_join_waiting_for_it_is_an_error() -> None:
    assert graph(process(FORK, REJECTED, REJECT_INSIDE)) == [("rejected", "end-with-open-branches", "error")]


def test_a_branch_that_only_ends_while_the_join_waits_for_two_is_an_error() -> None:
    text = process(
        FORK,
        REJECTED,
        flows("start>fork", "fork>a", "fork>b", "a>rejected", "b>ok", "ok>join", "join>end"),
        '<bpmn:sequenceFlow id="again" sourceRef="ok" targetRef="join"/>',
    )
    assert graph(text) == [("rejected", "end-with-open-branches", "error")]


def test_branches_that_each_end_or_end_by_terminating_are_no_finding() -> None:
    separate = process(
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/><bpmn:task id="a"/><bpmn:task id="b"/>',
        '<bpmn:endEvent id="end"/>',
        REJECTED,
        flows("start>fork", "fork>a", "fork>b", "a>rejected", "b>end"),
    )
    assert graph(separate) == []
    assert graph(process(FORK, TERMINATED, REJECT_INSIDE)) == []


def test_strict_makes_a_one_way_gateway_an_error_and_files_that_do_not_compile_still_get_graph_findings() -> None:
    plain = (Path(__file__).parent.parent / "fixtures" / "lint" / "plain.bpmn").read_text(encoding="utf-8")
    one_way = plain.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="ok" /><bpmn:exclusiveGateway id="ok" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="ok" targetRef="end"><bpmn:conditionExpression>approved'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>",
    )
    files = [SourceFile("plain.bpmn", one_way.encode("utf-8"))]
    assert codes(lint(files), *GRAPH_CODES) == [("ok", "gateway-one-way", "warning")]
    assert codes(lint(files, strict=True), *GRAPH_CODES) == [("ok", "gateway-one-way", "error")]
    broken = one_way.replace("approved", "approved ==")  # a condition that does not compile
    found = lint_files([SourceFile("plain.bpmn", broken.encode("utf-8"))], compile_files=compile_files)
    assert ("ok", "gateway-one-way", "warning") in codes(found, *GRAPH_CODES)
    assert any(f["code"] == "invalid-bpmn" for f in found)
