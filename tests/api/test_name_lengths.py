"""Names longer than the columns that store them are refused at deploy (422 naming the element) and by validate,
instead of a 201 followed by a 500 at every start (issue 13, item 6). The limits are the store's own column sizes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.store.tables import definition_table, human_task_table, task_candidate_table

from .calls import DEFINITIONS, OWNER, assert_problem, start, upload

TASK_NAME = human_task_table.c.name.type.length
ELEMENT_ID = human_task_table.c.element_id.type.length
ASSIGNEE = human_task_table.c.assignee.type.length
GROUP = task_candidate_table.c.value.type.length
PROCESS_ID = definition_table.c.key.type.length


def process(*, key: str = "dai", task_id: str = "t1", name: str = "Tiếp nhận", attributes: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://phoihop/test">
  <bpmn:process id="{key}" name="Tên dài" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="L" name="skhcn"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>{task_id}</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="{task_id}" name="{name}" {attributes}><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="{task_id}"/>
    <bpmn:sequenceFlow id="f1" sourceRef="{task_id}" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


CASES = {
    "task name": (dict(name="N" * (TASK_NAME + 1)), "t1", "name-too-long"),
    "element id": (dict(task_id="t" * (ELEMENT_ID + 1)), "t" * (ELEMENT_ID + 1), "name-too-long"),
    "candidate group": (dict(attributes=f'camunda:candidateGroups="skhcn,{"g" * (GROUP + 1)}"'), "t1", "name-too-long"),
    "assignee": (dict(attributes=f'camunda:assignee="{"a" * (ASSIGNEE + 1)}"'), "t1", "name-too-long"),
    "process id": (dict(key="p" * (PROCESS_ID + 1)), "p" * (PROCESS_ID + 1), "name-too-long"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_name_longer_than_its_column_is_refused_at_deploy_and_by_validate(client: TestClient, case: str) -> None:
    fields, element_id, code = CASES[case]
    content = process(**fields)

    body = assert_problem(upload(client, ("dai.bpmn", content)), 422, "invalid-bpmn")
    [problem] = [p for p in body["problems"] if p.get("code") == code]
    assert problem["element_id"] == element_id
    assert "ký tự" in problem["reason_vi"] and "characters" in problem["reason"]
    assert client.get(DEFINITIONS, headers=OWNER).json() == []  # nothing stored

    validated = client.post(
        f"{DEFINITIONS}/validate", headers=OWNER, files=[("files", ("dai.bpmn", content, "application/xml"))]
    ).json()
    assert [(f["code"], f["element_id"]) for f in validated["errors"]] == [(code, element_id)]


def test_names_exactly_as_long_as_their_columns_deploy_and_start(client: TestClient) -> None:
    content = process(
        key="p" * PROCESS_ID,
        task_id="t" * ELEMENT_ID,
        name="N" * TASK_NAME,
        attributes=f'camunda:candidateGroups="{"g" * GROUP}" camunda:assignee="{"a" * ASSIGNEE}"',
    )
    response = upload(client, ("dai.bpmn", content))
    assert response.status_code == 201, response.text
    [task] = start(client, "p" * PROCESS_ID)["open_tasks"]
    assert (task["name"], task["assignee"]) == ("N" * TASK_NAME, "a" * ASSIGNEE)
