"""The lint of Camunda 7 attributes that are read but have no effect in this engine (``camunda-ignored``): a starter
variable anywhere but on a start event, follow-up dates, priorities, starter groups and users, Camunda Forms, and
input/output parameters or call mappings to a dotted variable name (``Fact.type``, which no expression can read).
Values read other than Camunda reads them are ``camunda-coerced``: a boolean form field's ``defaultValue`` written
as yes/no (Camunda takes every text but ``true`` as false). What has no place here at all is refused at deploy
instead (engine.definitions.camunda)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phoihop.engine.definitions.camunda.data_mappings import is_dotted_name
from phoihop.engine.definitions.camunda.forms import boolean_default
from phoihop.engine.definitions.camunda.refused import IMPLEMENTED_ON, is_literal_expression
from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.definitions.structure import BPMN_NS, CAMUNDA_NS
from phoihop.engine.model import Finding

__all__ = ["camunda_findings"]

_C = f"{{{CAMUNDA_NS}}}"
_IGNORED: dict[str, tuple[str, str]] = {
    "initiator": (
        "only a start event stores the starter's id in a variable",
        "chỉ sự kiện bắt đầu mới lưu mã người khởi tạo vào biến",
    ),
    "followUpDate": ("there is no follow-up date", "không có ngày theo dõi"),
    "priority": ("tasks have no priority", "công việc không có độ ưu tiên"),
    "candidateStarterGroups": (
        "starts are allowed by role (integrator, officer, lead)",
        "quyền khởi tạo theo vai trò (integrator, officer, lead)",
    ),
    "candidateStarterUsers": (
        "starts are allowed by role (integrator, officer, lead)",
        "quyền khởi tạo theo vai trò (integrator, officer, lead)",
    ),
    "formRef": (
        "a Camunda Form is read only when camunda:formKey names its file (camunda-forms:deployment:NAME.form, "
        "deployed beside the BPMN), or use camunda:formField or a *.form.json form",
        "biểu mẫu Camunda chỉ được đọc khi camunda:formKey nêu tên tệp của nó (camunda-forms:deployment:TEN.form, "
        "triển khai cùng tệp BPMN), hoặc hãy dùng camunda:formField hay *.form.json",
    ),
}
_ONE_TENANT = (
    "this server has no tenants: every call and decision is looked up in the deployment's own versions",
    "máy chủ này không phân tách tenant: lời gọi và quyết định được tìm trong chính các phiên bản đã triển khai",
)
_IGNORED.update({name: _ONE_TENANT for name in ("calledElementTenantId", "decisionRefTenantId", "caseTenantId")})


_IMPLEMENTATIONS = ("class", "delegateExpression", "expression", "type")
_RUN_ON = IMPLEMENTED_ON | {"serviceTask"}


def _ignored_attributes(root: Any) -> Iterator[tuple[Any, str, str, str]]:
    """(element, attribute, why it has no effect in English, in Vietnamese) for Camunda attributes read nowhere."""
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        kind = element.tag.rsplit("}", 1)[-1]
        if kind not in _RUN_ON:
            for attribute in _IMPLEMENTATIONS:
                if element.get(_C + attribute) is not None:
                    yield (
                        element,
                        f"camunda:{attribute}",
                        f"Camunda runs it on service and send tasks, business rule tasks and message events only, "
                        f"and ignores it on a {kind}",
                        f"Camunda chỉ chạy nó trên công việc tự động, công việc gửi, công việc quy tắc nghiệp vụ và "
                        f"sự kiện thông điệp, và bỏ qua nó trên {kind}",
                    )
        elif kind in IMPLEMENTED_ON and is_literal_expression(element):
            yield (
                _owner(element) if kind.endswith("EventDefinition") else element,
                "camunda:expression",
                f"{element.get(_C + 'expression')!r} is literal text (no ${{…}}), which Camunda evaluates to itself",
                f"{element.get(_C + 'expression')!r} là văn bản cố định (không có ${{…}}), Camunda tính ra chính nó",
            )
        for attribute, (en, vi) in _IGNORED.items():
            if attribute == "initiator" and element.tag == f"{{{BPMN_NS}}}startEvent":
                continue  # stored at start (engine.commands.instances)
            if element.get(_C + attribute) is not None:
                yield element, f"camunda:{attribute}", en, vi


def _owner(extension: Any) -> Any:
    """The element (with an id) whose extensionElements hold ``extension``."""
    current = extension.getparent()
    while current is not None and current.get("id") is None:
        current = current.getparent()
    return current


def _dotted_targets(root: Any) -> Iterator[tuple[Any, str, str]]:
    """(owner, what, the dotted name) for each parameter or call mapping that assigns a dotted variable name."""
    for parameter in root.iter(_C + "inputParameter", _C + "outputParameter"):
        if is_dotted_name(parameter.get("name")):
            yield _owner(parameter), f"camunda:{parameter.tag.rsplit('}', 1)[-1]}", parameter.get("name")
    for mapping in root.iter(_C + "in", _C + "out"):
        if is_dotted_name(mapping.get("target")):
            yield _owner(mapping), f"camunda:{mapping.tag.rsplit('}', 1)[-1]} target", mapping.get("target")


def camunda_findings(file: str, root: Any) -> Iterator[Finding]:
    """``camunda-ignored``: the Camunda 7 attributes a BPMN file sets that have no effect here; ``camunda-coerced``:
    the values read other than Camunda reads them."""
    for element, attribute, en, vi in _ignored_attributes(root):
        yield finding_at(
            "camunda-ignored",
            "warning",
            file,
            element,
            element.get("id"),
            f"{attribute} has no effect in this engine: {en}",
            f"{attribute} không có tác dụng trong máy chủ này: {vi}",
        )
    for element, what, name in _dotted_targets(root):
        yield finding_at(
            "camunda-ignored",
            "warning",
            file,
            element,
            element.get("id") if element is not None else None,
            f"{what} {name!r} has no effect in this engine: a variable named with a dot cannot be read by any "
            f"expression (${{{name}}} reads a property of {name.split('.')[0]!r}); the assignment is left out",
            f"{what} {name!r} không có tác dụng trong máy chủ này: không biểu thức nào đọc được biến có dấu chấm "
            f"trong tên (${{{name}}} đọc thuộc tính của {name.split('.')[0]!r}); phép gán được bỏ qua",
        )
    for field in root.iter(_C + "formField"):
        default = field.get("defaultValue")
        if (field.get("type") or "").strip() != "boolean" or default is None:
            continue
        value = boolean_default(default)
        if value is not None and default.strip().lower() not in ("true", "false"):
            element = _owner(field)
            yield finding_at(
                "camunda-coerced",
                "warning",
                file,
                element,
                element.get("id") if element is not None else None,
                f"form field {field.get('id')!r}: defaultValue {default!r} is read as {str(value).lower()} "
                '(Camunda reads every text but "true" as false); write true or false',
                f"trường biểu mẫu {field.get('id')!r}: defaultValue {default!r} được hiểu là "
                f'{"đúng (true)" if value else "sai (false)"} (Camunda hiểu mọi văn bản khác "true" là false); '
                "hãy viết true hoặc false",
            )
