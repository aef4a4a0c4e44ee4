"""engine.definitions.camunda.juel: the JUEL subset Camunda 7 users write is translated to Python that means the same; the rest is refused
with a reason, at deploy, and what is translated routes instances at run time."""

from __future__ import annotations

from typing import Any

import pytest

from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.camunda.juel import MAX_DEPTH, JuelRefused, is_juel, looks_like_juel, translate
from phoihop.engine.execution.sandbox import SandboxedEnvironment
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile
from tests.conftest import INTEGRATOR, OWNER

from .helpers import ADMIN, instance, open_tasks


def python(text: str) -> str:
    return translate(text).python


def evaluate(text: str, **data: Any) -> Any:
    """The translated expression, compiled by the deploy-time checker and run by the sandbox on ``data``."""
    source = python(text)
    check_source(source, "eval")
    return SandboxedEnvironment(cpu_seconds=1.0).evaluate(source, dict(data))


# --- translation ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("juel", "expected"),
    [
        ("${approved}", "approved"),
        ("  ${ han_xu_ly }  ", "han_xu_ly"),
        ("#{approved}", "approved"),
        ("${amount > 1000 && !urgent}", "((amount > 1000) and (not urgent))"),
        ("${a eq b or c ne d}", "((a == b) or (c != d))"),
        ("${a lt 1 and b gt 2 || c le 3 && d ge 4}", "(((a < 1) and (b > 2)) or ((c <= 3) and (d >= 4)))"),
        ("${not a}", "(not a)"),
        ("${ho_so.kinh_phi >= 500}", "(ho_so['kinh_phi'] >= 500)"),
        ("${ho_so.chu_tri.ten == 'Sở Tư pháp'}", "(ho_so['chu_tri']['ten'] == 'Sở Tư pháp')"),
        ("${danh_sach[0]['ma']}", "danh_sach[0]['ma']"),
        ('${loai == "khẩn"}', "(loai == 'khẩn')"),
        ("${'it\\'s' == ten}", '("it\'s" == ten)'),
        ("${true && false || null == x}", "((True and False) or (None == x))"),
        ("${007 + 1.5e3 - .5}", "((7 + 1500.0) - 0.5)"),
        ("${a * b / c div d % e mod f}", "(((((a * b) / c) / d) % e) % f)"),
        ("${-x + - -y}", "((-x) + (-(-y)))"),
        ("${empty ghi_chu}", "(ghi_chu in (None, '', [], {}))"),
        ("${not empty ghi_chu && ok}", "((not (ghi_chu in (None, '', [], {}))) and ok)"),
        ("${a ? 'x' : b ? 1 : 2}", "('x' if a else (1 if b else 2))"),
        ("${(a || b) && c}", "((a or b) and c)"),
        ("${a < b == c < d}", "((a < b) == (c < d))"),  # JUEL precedence: relational before equality, never chained
    ],
)
def test_the_subset_is_translated(juel: str, expected: str) -> None:
    assert python(juel) == expected
    check_source(expected, "eval")  # what the catalog runs the translation through


def test_a_bare_variable_is_known_as_one() -> None:
    assert translate("${reviewer}").variable == "reviewer"
    assert translate("${ho_so.reviewer}").variable is None
    assert translate("${(reviewer)}").variable is None
    assert translate("${true}").variable is None


@pytest.mark.parametrize(
    ("juel", "reason"),
    [
        ("${x.size() > 0}", "method call size"),
        ("${danh_sach.isEmpty()}", "method call isEmpty"),
        ("${execution.getVariable('a')}", "'execution' is a Camunda Java object"),
        ("${task.name}", "'task' is a Camunda Java object"),
        ("${authenticatedUserId}", "Camunda Java object"),
        ("${nrOfCompletedInstances >= 2}", "multi-instance counter"),
        ("${fn:contains(a, 'b')}", "function call fn:contains"),
        ("${dateTime().plusMonths(1)}", "plusMonths"),
        ("${myBean.compute(x)}", "method call compute"),
        ("${x instanceof y}", "instanceof"),
        ("${a = 1}", "assignment '='"),
        ("${a & b}", "'&' (write '&&')"),
        ("${a | b}", "'|' (write '||')"),
        ("${a; b}", "several expressions"),
        ("${{1, 2}}", "set or map"),
        ("${x -> x + 1}", "lambda"),
        ("${'Hồ sơ ' + ma}", "'+' adds numbers"),
        ("${ma + 'x'}", "'+' adds numbers"),
        ("Hồ sơ ${ma}", "composite"),
        ("${a}${b}", "composite"),
        ("${a} and more", "composite"),
        ("${}", "empty"),
        ("${a", "no closing"),
        ("${a &&}", "expected a value"),
        ("${(a}", "expected ')'"),
        ("${a ? b}", "expected ':'"),
        ("${class == 1}", "Python keyword"),
        ("${lambda}", "Python keyword"),
        ("${a.and}", "property name"),
        ("${1" + "0" * 60 + "}", "too long"),
        ("approved == True", "must start with ${"),
    ],
)
def test_everything_else_is_refused_with_a_reason(juel: str, reason: str) -> None:
    with pytest.raises(JuelRefused) as refused:
        translate(juel)
    assert reason in refused.value.reason
    assert refused.value.reason_vi and refused.value.reason_vi != refused.value.reason


def test_hostile_expressions_are_refused_without_recursing_or_growing() -> None:
    with pytest.raises(JuelRefused, match="nests deeper"):
        translate("${" + "(" * 1_000 + "a" + ")" * 1_000 + "}")
    with pytest.raises(JuelRefused, match="nests deeper"):
        translate("${" + "!" * 3_000 + "a}")
    with pytest.raises(JuelRefused, match="longer than"):
        translate("${" + "(" * 100_000 + "a" + ")" * 100_000 + "}")
    with pytest.raises(JuelRefused, match="longer than"):
        translate("${" + "a && " * 2_000 + "a}")
    assert python("${" + "(" * (MAX_DEPTH // 4) + "a" + ")" * (MAX_DEPTH // 4) + "}") == "a"


def test_recognising_juel() -> None:
    assert is_juel(" ${a}") and is_juel("#{a}") and not is_juel("a == '${b}'")
    assert looks_like_juel("x ${a}") and not looks_like_juel("x == 1")


# --- what the translation means ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("juel", "data", "expected"),
    [
        ("${amount > 1000 && !urgent}", {"amount": 1500, "urgent": False}, True),
        ("${amount > 1000 && !urgent}", {"amount": 1500, "urgent": True}, False),
        ("${amount > 1000 && !urgent}", {"amount": 900, "urgent": False}, False),
        ("${approved}", {"approved": True}, True),
        ("${empty ghi_chu}", {"ghi_chu": ""}, True),
        ("${empty ghi_chu}", {"ghi_chu": None}, True),
        ("${empty ghi_chu}", {"ghi_chu": []}, True),
        ("${empty ghi_chu}", {"ghi_chu": {}}, True),
        ("${empty ghi_chu}", {"ghi_chu": "x"}, False),
        ("${empty ghi_chu}", {"ghi_chu": 0}, False),  # JUEL: 0 is not empty (Python's `not 0` would say it is)
        ("${empty ghi_chu}", {"ghi_chu": False}, False),
        ("${ho_so.kinh_phi div 4}", {"ho_so": {"kinh_phi": 10}}, 2.5),  # JUEL division is never integer division
        ("${ho_so.kinh_phi mod 4}", {"ho_so": {"kinh_phi": 10}}, 2),
        ("${a ? 'có' : 'không'}", {"a": False}, "không"),
        ("${a < b == c < d}", {"a": 1, "b": 2, "c": 5, "d": 3}, False),
        ("${loai eq 'khan' or so_ngay lt 3}", {"loai": "thuong", "so_ngay": 2}, True),
    ],
)
def test_translations_evaluate_as_juel_does(juel: str, data: dict[str, Any], expected: Any) -> None:
    assert evaluate(juel, **data) == expected


# --- at run time: deployed, routed ----------------------------------------------------------------------------------
ROUTING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Defs_juel" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0">
  <bpmn:process id="juel_routing" name="Định tuyến JUEL" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="Lane_skhcn" name="Sở Khoa học và Công nghệ">
      <bpmn:flowNodeRef>review_board</bpmn:flowNodeRef><bpmn:flowNodeRef>review_simple</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="route" default="f_simple"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f_board</bpmn:outgoing><bpmn:outgoing>f_simple</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="review_board" name="Hội đồng thẩm định" camunda:dueDate="${han}">
      <bpmn:incoming>f_board</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="review_simple" name="Thẩm định rút gọn">
      <bpmn:incoming>f_simple</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="route" />
    <bpmn:sequenceFlow id="f_board" sourceRef="route" targetRef="review_board">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${amount &gt; 1000 &amp;&amp; !urgent}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_simple" sourceRef="route" targetRef="review_simple" />
    <bpmn:sequenceFlow id="f2" sourceRef="review_board" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="review_simple" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(
    ("variables", "task"),
    [
        ({"amount": 1500, "urgent": False, "han": "P10D"}, "review_board"),
        ({"amount": 1500, "urgent": True}, "review_simple"),
        ({"amount": 1000, "urgent": False}, "review_simple"),
    ],
)
def test_a_juel_condition_routes_at_run_time(container: EngineContainer, variables: dict[str, Any], task: str) -> None:
    container.deployments.deploy(OWNER, [SourceFile("juel_routing.bpmn", ROUTING.encode())])

    instance_id, _ = container.instances.start(INTEGRATOR, "juel_routing", variables=variables)

    (opened,) = open_tasks(container, instance_id).values()
    assert opened["element_id"] == task
    if task == "review_board":  # camunda:dueDate="${han}": the variable's ISO duration from the task's creation
        assert (opened["due_at"] - opened["created_at"]).days == 10
    assert instance(container, instance_id)["status"] == "running"


def test_a_juel_condition_on_missing_data_is_an_instance_error_not_a_crash(container: EngineContainer) -> None:
    container.deployments.deploy(OWNER, [SourceFile("juel_routing.bpmn", ROUTING.encode())])

    instance_id, _ = container.instances.start(INTEGRATOR, "juel_routing", variables={"amount": 5000})

    row = container.instance_reads.get_instance(ADMIN, instance_id)
    assert row.status == "incident" and row.error is not None
    assert "urgent" in row.error["message"]
