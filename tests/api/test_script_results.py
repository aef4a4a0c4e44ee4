"""What a script leaves in task data is checked like API input (issue 13, item 5): an integer outside 64 bits, bytes,
a dict with non-string keys, a lone surrogate, NUL, nesting past the limit, an infinite or NaN number. Each puts the
instance in error naming the element and the variable, instead of a 500 that rolls the completion back (or, for
``inf``, a ``null`` stored silently). The officer's completion stands; nothing of the script's result is kept."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .calls import ADMIN, INSTANCES, SKHCN, complete, deploy, instance, start, upload

N = 2**62  # the API accepts it; the script multiplies it by 4
BAD = {  # kind → (variable, path of the bad value)
    "big": ("m", "m"),
    "small": ("m", "m"),
    "bytes": ("m", "m"),
    "keys": ("m", "m"),
    "surrogate": ("m", "m"),
    "nul": ("m", "m"),
    "deep": ("m", "m" + "[0]" * 20),
    "inf": ("m", "m"),
    "nan": ("m", "m"),
    "timedelta": ("m", "m"),
    "nested": ("m", "m.chi_tiet[1].so"),
    "edited": ("ho_so", "ho_so.so"),
}


def run(client: TestClient, kind: str) -> tuple[str, dict[str, Any]]:
    deploy(client, "script_results.bpmn")
    started = start(client, "script_results", variables={"n": N, "ho_so": {"so": 1}})
    [task] = started["open_tasks"]
    response = complete(client, task["id"], SKHCN, kind=kind)  # 200: the officer's work is done
    assert response.json()["status"] == "completed"
    return started["id"], instance(client, started["id"])


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_script_result_is_an_instance_error_naming_the_element_and_the_variable(
    client: TestClient, kind: str
) -> None:
    instance_id, failed = run(client, kind)

    assert failed["status"] == "incident"
    error = failed["error"]
    assert error["element_id"] == "compute"
    assert error["code"] == "invalid-script-result"
    variable, path = BAD[kind]
    assert (error["variable"], error["path"]) == (variable, path)
    for message in (error["message"], error["message_vi"]):
        assert message.startswith("compute: ") and repr(variable) in message
    # nothing half-written: the officer's input is kept, nothing the script computed is
    assert failed["variables"] == {"n": N, "ho_so": {"so": 1}, "kind": kind}
    assert failed["open_tasks"] == []
    events = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    assert (events[-1]["kind"], events[-1]["element_id"]) == ("instance_error", "compute")


def test_a_good_script_result_is_stored(client: TestClient) -> None:
    _, moved = run(client, "fine")
    assert moved["status"] == "running"
    assert moved["variables"]["m"] == N + 1 and moved["variables"]["da_tinh"] is True
    assert [t["element_id"] for t in moved["open_tasks"]] == ["check"]


DECISION = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="D_muc" name="Mức" namespace="http://phoihop/test">
  <decision id="muc_phi" name="Mức phí">
    <decisionTable id="T_muc" hitPolicy="UNIQUE">
      <input id="I_n" label="Số"><inputExpression id="E_n" typeRef="number"><text>n</text></inputExpression></input>
      <output id="O_muc" label="Mức" name="muc" typeRef="number" />
      <rule id="R_1"><inputEntry id="U_1"><text>-</text></inputEntry>
        <outputEntry id="L_1"><text>n * 4</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>""".encode()
RULE_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D_rule" targetNamespace="http://phoihop/test">
  <bpmn:process id="rule_result" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="L" name="skhcn"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>fill</bpmn:flowNodeRef><bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>check</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="Nhập"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:businessRuleTask id="decide" name="Tính mức">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>muc_phi</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:userTask id="check" name="Xem"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fill"/>
    <bpmn:sequenceFlow id="f1" sourceRef="fill" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.mark.parametrize(("n", "stored"), [(N, None), (5, 20)])
def test_a_decision_result_is_checked_like_a_script_result(client: TestClient, n: int, stored: int | None) -> None:
    response = upload(client, ("rule_result.bpmn", RULE_PROCESS), ("muc_phi.dmn", DECISION))
    assert response.status_code == 201, response.text
    started = start(client, "rule_result")
    [task] = started["open_tasks"]
    complete(client, task["id"], SKHCN, n=n)

    after = instance(client, started["id"])
    if stored is not None:
        assert (after["status"], after["variables"]) == ("running", {"n": n, "muc": stored})
        return
    assert after["status"] == "incident"
    error = after["error"]
    assert (error["element_id"], error["code"], error["variable"]) == ("decide", "invalid-script-result", "muc")
    assert error["message"].startswith("decide: ") and "'muc'" in error["message_vi"]
    assert after["variables"] == {"n": n}
