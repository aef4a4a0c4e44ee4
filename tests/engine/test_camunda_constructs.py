"""Camunda 7 constructs with a Python meaning, translated at deploy (engine.definitions.camunda): ``camunda:collection``
multi-instance, cron ``timeCycle`` start timers and the ``dateTime()`` / ``now()`` JUEL idioms."""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.agencies import default_registry
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.errors import InvalidDefinition
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile
from tests.conftest import INTEGRATOR, OWNER, officer

from .helpers import ADMIN, load_workflow, tasks

ONE_STOP = officer("mot_cua", "ttpvhcc")

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn"
    exporter="Camunda Modeler" exporterVersion="5.31.0">
  <bpmn:process id="Process_NhieuMuc" name="Kiểm tra từng mục" isExecutable="true">
"""


def collection_file(loop: str, task: str = "userTask") -> SourceFile:
    text = (
        HEAD
        + f"""    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{task} id="Activity_KiemTra" name="Kiểm tra mục" camunda:candidateGroups="ttpvhcc">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      {loop}
    </bpmn:{task}>
    <bpmn:endEvent id="Event_Xong"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_KiemTra" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_KiemTra" targetRef="Event_Xong" />
  </bpmn:process>
</bpmn:definitions>
"""
    )
    return SourceFile("nhieu_muc.bpmn", text.encode())


def compile_files(*files: SourceFile) -> Deployment:
    return compile_deployment(files, agencies=default_registry(), check=check_source)


def problems_of(*files: SourceFile) -> list[dict[str, Any]]:
    with pytest.raises(InvalidDefinition) as refused:
        compile_files(*files)
    return refused.value.problems


# --- camunda:collection / camunda:elementVariable -------------------------------------------------------------------
@pytest.mark.parametrize("collection", ["${danh_sach}", "danh_sach"])
def test_a_collection_multi_instance_creates_one_task_per_item(container: EngineContainer, collection: str) -> None:
    loop = f'<bpmn:multiInstanceLoopCharacteristics camunda:collection="{collection}" camunda:elementVariable="muc" />'
    container.deployments.deploy(OWNER, [collection_file(loop)])
    instance_id, _ = container.instances.start(INTEGRATOR, "Process_NhieuMuc", variables={"danh_sach": ["a", "b", "c"]})
    opened = tasks(container, instance_id, open_only=True)
    assert [t["element_id"] for t in opened] == ["Activity_KiemTra"] * 3
    ready = load_workflow(container, instance_id).get_tasks(state=TaskState.READY)
    assert sorted(t.data["muc"] for t in ready if "muc" in t.data) == ["a", "b", "c"]
    for task in opened:
        container.tasks.complete(ONE_STOP, task["id"], {})
    assert container.instance_reads.get_instance(ADMIN, instance_id).status == "completed"


@pytest.mark.parametrize(
    ("loop", "text"),
    [
        (
            '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${ho_so.danh_sach}" '
            'camunda:elementVariable="muc" />',
            "camunda:collection",
        ),
        ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${danh_sach}" />', "camunda:elementVariable"),
    ],
)
def test_a_collection_that_is_not_a_variable_is_refused_naming_the_task(loop: str, text: str) -> None:
    found = problems_of(collection_file(loop))
    assert [(p["element_id"], text in p["reason"]) for p in found] == [("Activity_KiemTra", True)], found
