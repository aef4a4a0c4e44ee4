"""Revising a keyed decision table: the rows of a DMN decision whose one input is a code (a procedure catalogue), a
list of changes (add, change or remove the row of a code) applied to them, the DMN file written again, and the form
fields whose options are the table's codes regenerated.

A keyed table here: one input column, each rule's input entry a string literal (``"KHCN-01"``) except a catch-all
``-`` rule, which stays last. Output cells are Python literals (engine.definitions.dmn.feel: DMN cells are Python).
A form field lists the codes when it carries
``"x-options-from-decision": {"decision": <id>, "label_column": <output>}``: its ``oneOf`` becomes one
``{"const": code, "title": "code – <label output>"}`` per keyed rule, in table order, so the start form and the table
cannot drift apart. Pure functions over bytes: the end-event command that publishes a
revision (engine.commands.decision_revisions) stores the result as a new deployment.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from phoihop.engine.definitions.dmn.tables import decision_elements
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import InvalidInput

__all__ = [
    "OPTIONS_KEY",
    "DecisionRevisionInvalid",
    "KeyedRow",
    "keyed_rows",
    "refresh_form_options",
    "revise_rows",
    "write_rows",
]

OPTIONS_KEY = "x-options-from-decision"
ACTIONS = ("add", "change", "remove")
_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "double": (int, float),
    "number": (int, float),
    "long": (int,),
    "string": (str,),
}


class DecisionRevisionInvalid(InvalidInput):
    code = "decision-revision-invalid"
    title_vi = "Không sửa đổi được bảng quyết định"
    title_en = "The decision table cannot be revised"


@dataclass(frozen=True)
class KeyedRow:
    key: str
    outputs: Mapping[str, Any]
    description: str = ""
    rule_id: str = field(default="", compare=False)


def _refuse(en: str, vi: str, **fields: Any) -> DecisionRevisionInvalid:
    return DecisionRevisionInvalid(en, detail_vi=vi, **fields)


def _ns(root: Any) -> str:
    tag = root.tag if isinstance(root.tag, str) else ""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _decision(root: Any, decision_id: str) -> Any:
    for decision in decision_elements(root):
        if decision.get("id") == decision_id:
            return decision
    raise _refuse(
        f"no decision {decision_id!r} in the file",
        f"tệp không có bảng quyết định {decision_id!r}",
        decision_id=decision_id,
    )


def _table(root: Any, decision_id: str) -> tuple[Any, list[tuple[str, str | None]]]:
    """The decision table element and its outputs (name, typeRef), in column order."""
    ns = _ns(root)
    table = _decision(root, decision_id).find(f"{{{ns}}}decisionTable")
    if table is None or len(table.findall(f"{{{ns}}}input")) != 1:
        raise _refuse(
            f"decision {decision_id!r} is not a table keyed by one input",
            f"bảng quyết định {decision_id!r} không phải bảng tra theo một mã",
            decision_id=decision_id,
        )
    outputs = [(o.get("name") or o.get("label") or "", o.get("typeRef")) for o in table.findall(f"{{{ns}}}output")]
    return table, outputs


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return None


def keyed_rows(content: bytes, decision_id: str) -> list[KeyedRow]:
    """The keyed rules of the decision, in table order (the catch-all ``-`` rule is not one)."""
    root = parse_xml(content, filename="decision").getroot()
    ns = _ns(root)
    table, outputs = _table(root, decision_id)
    rows = []
    for rule in table.findall(f"{{{ns}}}rule"):
        entry = rule.findtext(f"{{{ns}}}inputEntry/{{{ns}}}text", "").strip()
        key = _literal(entry)
        if not isinstance(key, str):
            continue
        cells = [c.findtext(f"{{{ns}}}text", "") for c in rule.findall(f"{{{ns}}}outputEntry")]
        values = {name: _literal(cell) for (name, _), cell in zip(outputs, cells, strict=False)}
        rows.append(KeyedRow(key, values, (rule.findtext(f"{{{ns}}}description") or "").strip(), rule.get("id", "")))
    return rows


def _check_value(decision_id: str, key: str, name: str, type_ref: str | None, value: Any) -> None:
    allowed = _TYPES.get((type_ref or "").lower())
    if value is None or allowed is None:
        return
    if isinstance(value, bool) and bool not in allowed:
        allowed = ()
    if not isinstance(value, allowed):
        raise _refuse(
            f"{decision_id}: {key}: output {name!r} must be of type {type_ref}, not {value!r}",
            f"{decision_id}: {key}: cột {name!r} phải có kiểu {type_ref}, không phải {value!r}",
            decision_id=decision_id,
            key=key,
            output=name,
        )


def revise_rows(
    content: bytes, decision_id: str, rows: Sequence[KeyedRow], changes: Sequence[Mapping[str, Any]]
) -> list[KeyedRow]:
    """``rows`` with ``changes`` applied in order. Each change: ``{"action": "add"|"change"|"remove", "key": code,
    "outputs": {name: value}, "description": text}``; an add gives every output, a change the outputs it changes.
    A change that does not fit the table (an unknown code, a code added twice, an unknown output, a value of the
    wrong type) refuses the whole revision (DecisionRevisionInvalid)."""
    root = parse_xml(content, filename="decision").getroot()
    _, outputs = _table(root, decision_id)
    types = dict(outputs)
    result = list(rows)
    if not isinstance(changes, Sequence) or isinstance(changes, (str, bytes)) or not changes:
        raise _refuse(
            f"{decision_id}: the revision lists no change",
            f"{decision_id}: đề xuất không có thay đổi nào",
            decision_id=decision_id,
        )
    for number, change in enumerate(changes, 1):
        action = change.get("action") if isinstance(change, Mapping) else None
        key = change.get("key") if isinstance(change, Mapping) else None
        if action not in ACTIONS or not isinstance(key, str) or not key.strip():
            raise _refuse(
                f"{decision_id}: change {number} needs an action (add, change, remove) and a code",
                f"{decision_id}: thay đổi thứ {number} phải có thao tác (thêm, sửa, bỏ) và mã",
                decision_id=decision_id,
                change=number,
            )
        assert isinstance(change, Mapping)
        key = key.strip()
        index = next((i for i, row in enumerate(result) if row.key == key), None)
        given = change.get("outputs") or {}
        unknown = sorted(set(given) - set(types))
        if unknown:
            raise _refuse(
                f"{decision_id}: {key}: unknown output(s) {', '.join(unknown)}",
                f"{decision_id}: {key}: bảng không có cột {', '.join(unknown)}",
                decision_id=decision_id,
                key=key,
            )
        for name, value in given.items():
            _check_value(decision_id, key, name, types[name], value)
        description = str(change.get("description") or "").strip()
        if action == "add":
            if index is not None:
                raise _refuse(
                    f"{decision_id}: {key} is already in the table",
                    f"{decision_id}: mã {key} đã có trong danh mục",
                    decision_id=decision_id,
                    key=key,
                )
            missing = [name for name in types if name not in given]
            if missing:
                raise _refuse(
                    f"{decision_id}: {key}: a new row needs every output, missing {', '.join(missing)}",
                    f"{decision_id}: {key}: dòng mới phải có đủ các cột, còn thiếu {', '.join(missing)}",
                    decision_id=decision_id,
                    key=key,
                )
            result.append(KeyedRow(key, dict(given), description))
            continue
        if index is None:
            raise _refuse(
                f"{decision_id}: {key} is not in the table",
                f"{decision_id}: mã {key} không có trong danh mục",
                decision_id=decision_id,
                key=key,
            )
        if action == "remove":
            del result[index]
        else:
            old = result[index]
            result[index] = KeyedRow(key, {**old.outputs, **given}, description or old.description, old.rule_id)
    return result


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _rule_id(key: str, taken: set[str]) -> str:
    base = "rule_" + (re.sub(r"[^0-9a-z]+", "_", key.lower()).strip("_") or "code")
    candidate, suffix = base, 2
    while candidate in taken:
        candidate, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def write_rows(content: bytes, decision_id: str, rows: Sequence[KeyedRow]) -> bytes:
    """The DMN file with the decision's keyed rules replaced by ``rows`` (a kept row keeps its rule id), placed
    before the catch-all rule; everything else of the file stays as it was."""
    root = parse_xml(content, filename="decision").getroot()
    ns = _ns(root)
    table, outputs = _table(root, decision_id)
    rules = table.findall(f"{{{ns}}}rule")
    keyed = [r for r in rules if isinstance(_literal(r.findtext(f"{{{ns}}}inputEntry/{{{ns}}}text", "")), str)]
    anchor = next((r for r in rules if r not in keyed), None)
    taken = {r.get("id", "") for r in rules if r not in keyed}
    kept = {row.rule_id for row in rows if row.rule_id}
    taken |= kept
    for rule in keyed:
        table.remove(rule)
    for row in rows:
        rule_id = row.rule_id or _rule_id(row.key, taken)
        rule = etree.Element(f"{{{ns}}}rule", id=rule_id)
        if row.description:
            etree.SubElement(rule, f"{{{ns}}}description").text = row.description
        entry = etree.SubElement(rule, f"{{{ns}}}inputEntry", id=f"{rule_id}_in")
        etree.SubElement(entry, f"{{{ns}}}text").text = _cell(row.key)
        for name, _ in outputs:
            cell = etree.SubElement(rule, f"{{{ns}}}outputEntry", id=f"{rule_id}_{name}")
            etree.SubElement(cell, f"{{{ns}}}text").text = _cell(row.outputs.get(name))
        if anchor is not None:
            anchor.addprevious(rule)
        else:
            table.append(rule)
    etree.indent(root, space="  ")
    written: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return written + b"\n"


def refresh_form_options(content: bytes, decision_id: str, rows: Sequence[KeyedRow]) -> bytes | None:
    """A form whose fields take their options from ``decision_id`` (``x-options-from-decision``), written again with
    one option per row; None when the form has no such field (or is not JSON)."""
    try:
        schema = json.loads(content)
    except ValueError:
        return None
    changed = False

    def visit(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            source = node.get(OPTIONS_KEY)
            if isinstance(source, dict) and source.get("decision") == decision_id:
                title = source.get("label_column")
                node.pop("enum", None)
                node["oneOf"] = [
                    {
                        "const": row.key,
                        "title": f"{row.key} – {row.outputs.get(title)}"
                        if title and row.outputs.get(title)
                        else row.key,
                    }
                    for row in rows
                ]
                changed = True
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    if not changed:
        return None
    return (json.dumps(schema, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
