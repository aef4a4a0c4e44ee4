"""Lint ``unset-variable`` (issue 13, item 1): a due date or a timer naming a variable that nothing sets is a warning
naming the element and the variable; the rule stays silent when it cannot know (a message payload, a service task)."""

from __future__ import annotations

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.lint.deployment import lint_deployment
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import Finding, SourceFile
from tests.engine.helpers import bpmn, lane

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
START_FORM = b'{"type": "object", "properties": {"han_xu_ly": {"type": "string", "default": "P3D"}}}'


def _process(first: str = "", due: str = "${han_xu_ly}", timer: str = "PT1H") -> str:
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="first"/>
    {first or '<bpmn:manualTask id="first"/>'}
    <bpmn:sequenceFlow id="f1" sourceRef="first" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="work"/>
    <bpmn:userTask id="work" name="Xử lý" camunda:dueDate="{due}"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>"""
    xml = bpmn("han", body, lanes=lane("L1", "Sở Khoa học và Công nghệ", "start", "first", "wait", "work", "end"))
    return xml.replace("<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1)


def _unset(xml: str, *extra: SourceFile) -> list[Finding]:
    files = [SourceFile("han.bpmn", xml.encode("utf-8")), *extra]
    deployment = compile_deployment(files, agencies=default_registry(), check=check_source)
    return [f for f in lint_deployment(deployment) if f["code"] == "unset-variable"]


def test_a_due_date_naming_a_variable_nothing_sets_is_a_warning_in_both_languages() -> None:
    (finding,) = _unset(_process())
    assert (finding["element_id"], finding["severity"], finding["file"]) == ("work", "warning", "han.bpmn")
    assert finding["line"] is not None
    assert "'han_xu_ly'" in finding["message_en"] and "camunda:dueDate" in finding["message_en"]
    assert "'han_xu_ly'" in finding["message_vi"] and "biến" in finding["message_vi"]


def test_a_timer_naming_a_variable_nothing_sets_is_a_warning() -> None:
    findings = _unset(_process(due="P3D", timer="${cho_den}"))
    assert [(f["element_id"], "'cho_den'" in f["message_en"]) for f in findings] == [("wait", True)]


def test_a_variable_set_by_a_form_field_or_a_script_is_set() -> None:
    assert _unset(_process(), SourceFile("start.form.json", START_FORM)) == []
    script = '<bpmn:scriptTask id="first" scriptFormat="python"><bpmn:script>han_xu_ly = "P5D"</bpmn:script>'
    assert _unset(_process(first=script + "</bpmn:scriptTask>")) == []
    assert _unset(_process(due="working_days(5)", timer="'PT2H'")) == []  # functions and literals name no variable


def test_data_the_lint_cannot_see_gives_no_finding() -> None:
    """A message caught without a message variable may carry any variable: when unsure, no warning."""
    catch = (
        '<bpmn:intermediateCatchEvent id="first"><bpmn:messageEventDefinition messageRef="m"/>'
        "</bpmn:intermediateCatchEvent>"
    )
    xml = _process(first=catch).replace("<bpmn:process ", '<bpmn:message id="m" name="bo_sung"/><bpmn:process ', 1)
    assert _unset(xml) == []
