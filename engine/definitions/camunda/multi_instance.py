"""``camunda:collection`` and ``camunda:elementVariable`` on a multi-instance loop become the BPMN standard
``bpmn:loopDataInputRef`` (the collection variable) and ``bpmn:inputDataItem`` (each instance's own item variable),
which SpiffWorkflow's Spiff parser runs: one instance per item of the list (or per value of a mapping), each with
its item. Unlike Camunda, SpiffWorkflow merges each instance's data back, its item included: the item outlives the
loop (holding one of the items). For that reason a sequential loop is refused: SpiffWorkflow would find the first
item already there when it creates the second instance. The collection must name one variable (``items`` or
``${items}``); anything else, a missing ``camunda:elementVariable``, a sequential loop or a loop that also gives a
cardinality or a ``bpmn:loopDataInputRef`` is refused, naming the element."""

from __future__ import annotations

from typing import Any

from lxml import etree

from phoihop.engine.definitions.camunda.juel import JuelRefused, is_juel, translate
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.expressions import owner
from phoihop.engine.definitions.structure import BPMN_NS, CAMUNDA_NS, NSMAP

__all__ = ["rewrite_collections"]

_C = f"{{{CAMUNDA_NS}}}"
_B = f"{{{BPMN_NS}}}"


def rewrite_collections(rewrite: Rewrite) -> None:
    """Every multi-instance loop with ``camunda:collection`` rewritten to the BPMN data input, or refused."""
    for loop in rewrite.document.root.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NSMAP):
        collection = loop.get(_C + "collection")
        if collection is None:
            continue
        variable = _variable(collection)
        element = (loop.get(_C + "elementVariable") or "").strip()
        reason = _refusal(loop, collection, variable, element)
        if reason is not None:
            rewrite.refuse(owner(loop), reason[0], reason[1], line=loop.sourceline)
            continue
        del loop.attrib[_C + "collection"]
        del loop.attrib[_C + "elementVariable"]
        _insert_first(loop, _B + "inputDataItem", {"id": element, "name": element})
        _insert_first(loop, _B + "loopDataInputRef", {}).text = variable


def _variable(collection: str) -> str | None:
    text = collection.strip()
    if is_juel(text):
        try:
            return translate(text).variable
        except JuelRefused:
            return None
    return text if text.isidentifier() else None


def _refusal(loop: Any, collection: str, variable: str | None, element: str) -> tuple[str, str] | None:
    if variable is None:
        return (
            f"camunda:collection {collection.strip()!r} must name one variable holding the list (such as "
            "${danh_sach}): compute the list into a variable in an earlier step",
            f"camunda:collection {collection.strip()!r} phải là tên một biến chứa danh sách (như ${{danh_sach}}): "
            "hãy tính danh sách vào một biến ở bước trước",
        )
    if not element.isidentifier():
        return (
            "camunda:collection needs camunda:elementVariable naming the variable each instance gets its item in",
            "camunda:collection cần camunda:elementVariable là tên biến chứa phần tử của từng thực thể",
        )
    if loop.get("isSequential") == "true":
        return (
            "a sequential camunda:collection is not supported yet (SpiffWorkflow 3.2 keeps each item in the "
            "instance's data, so the second item stops the instance): make the loop parallel",
            "chưa hỗ trợ camunda:collection tuần tự (SpiffWorkflow 3.2 giữ phần tử trong dữ liệu của hồ sơ nên "
            "phần tử thứ hai làm dừng hồ sơ): hãy để vòng lặp song song",
        )
    if loop.find("bpmn:loopCardinality", NSMAP) is not None or loop.find("bpmn:loopDataInputRef", NSMAP) is not None:
        return (
            "camunda:collection cannot be combined with a loop cardinality or bpmn:loopDataInputRef: keep one",
            "không dùng camunda:collection cùng số lượng vòng lặp hoặc bpmn:loopDataInputRef: hãy giữ một cách",
        )
    return None


def _insert_first(loop: Any, tag: str, attributes: dict[str, str]) -> Any:
    """A child inserted before the others (the schema's order: loopCardinality, loopDataInputRef, …, inputDataItem)."""
    child = etree.Element(tag, attributes, nsmap=loop.nsmap)
    loop.insert(0, child)
    return child
