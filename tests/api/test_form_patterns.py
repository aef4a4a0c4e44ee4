"""Form patterns run on RE2, a linear-time engine (issue 13, item 4): ``^(a+)+$`` no longer freezes the server on a
long value from any officer, in ``pattern`` or in ``patternProperties`` (a field's name), and a pattern RE2 cannot
run (a backreference, a lookaround) is refused at deploy and by validate, naming the form, the field and the BPMN
element that uses the form."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.definitions.forms.files import parse_form
from phoihop.engine.definitions.forms.validation import validate
from phoihop.engine.errors import FormInvalid

from .calls import DEFINITIONS, OWNER, PORTAL, assert_problem, start
from .test_forms_api import KEY, VALID_START, deploy_forms, files, schema

EVIL = "^(a+)+$"  # Python's re backtracks 2^n times on "a" * n + "!": 27 characters took 9.1 s, each one more doubles
LONG = "a" * 5000 + "!"


def with_start_form(change: dict[str, Any]) -> bytes:
    form = schema("kien_nghi.form.json")
    form.update(change)
    return json.dumps(form, ensure_ascii=False).encode()


def test_a_catastrophic_pattern_answers_at_once(client: TestClient) -> None:
    form = schema("kien_nghi.form.json")
    form["properties"]["ma_so_thue"]["pattern"] = EVIL
    deployed = deploy_forms(client, kien_nghi__form__json=json.dumps(form, ensure_ascii=False).encode())
    assert deployed.status_code == 201, deployed.text  # RE2 runs it in linear time: nothing to refuse

    response = client.post(
        "/api/v1/process-instances",
        json={"process_key": KEY, "variables": {**VALID_START, "ma_so_thue": LONG}},
        headers=PORTAL,
    )
    body = assert_problem(response, 422, "form-invalid")
    assert [e["field"] for e in body["errors"]] == ["ma_so_thue"]
    start(client, KEY, variables={**VALID_START, "ma_so_thue": "a" * 30})  # a matching value still passes


def test_a_catastrophic_pattern_property_answers_at_once(client: TestClient) -> None:
    content = with_start_form({"patternProperties": {EVIL: {"type": "string"}}})
    assert deploy_forms(client, kien_nghi__form__json=content).status_code == 201

    response = client.post(
        "/api/v1/process-instances",
        json={"process_key": KEY, "variables": {**VALID_START, LONG: "x"}},
        headers=PORTAL,
    )
    body = assert_problem(response, 422, "form-invalid")
    assert [e["rule"] for e in body["errors"]] == ["additionalProperties"]
    start(client, KEY, variables={**VALID_START, "aaaa": "x"})


UNSAFE = {
    "backreference": ("/properties/ma_so_thue/pattern", "ma_so_thue", r"^(\d)\1{9}$"),
    "lookahead": ("/properties/ma_so_thue/pattern", "ma_so_thue", r"^(?=\d{10})\d+$"),
    "pattern property": ("/patternProperties/^(?!_)x", "^(?!_)x", None),
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_a_pattern_re2_cannot_run_is_refused_at_deploy_naming_form_field_and_element(
    client: TestClient, case: str
) -> None:
    path, field, pattern = UNSAFE[case]
    form = schema("kien_nghi.form.json")
    if pattern is None:
        form["patternProperties"] = {field: {"type": "string"}}
    else:
        form["properties"][field]["pattern"] = pattern
    content = json.dumps(form, ensure_ascii=False).encode()

    body = assert_problem(deploy_forms(client, kien_nghi__form__json=content), 422, "invalid-bpmn")
    [found] = body["problems"]
    assert (found["file"], found["path"], found["element_id"]) == ("kien_nghi.form.json", path, "start")
    assert found["code"] == "form-pattern"
    assert f"'{field}'" in found["reason"] and f"'{field}'" in found["reason_vi"]
    assert "RE2" in found["reason"] and "start" in found["reason_vi"]
    assert client.get(DEFINITIONS, headers=OWNER).json() == []

    validated = client.post(f"{DEFINITIONS}/validate", headers=OWNER, files=files(kien_nghi__form__json=content)).json()
    assert [(f["code"], f["file"], f["element_id"]) for f in validated["errors"]] == [
        ("form-pattern", "kien_nghi.form.json", "start")
    ]


@pytest.mark.parametrize("closed", ["additionalProperties", "unevaluatedProperties"])
def test_every_keyword_that_reads_a_pattern_runs_on_re2(closed: str) -> None:
    form = parse_form(
        "f.form.json",
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "ma": {"type": "string", "pattern": EVIL},
                    "ten": {"type": "string", "pattern": r"^\w+$"},
                },
                "patternProperties": {EVIL: {"type": "string"}},
                closed: False,
            }
        ).encode(),
    )
    with pytest.raises(FormInvalid) as refused:
        validate(form, {"ma": LONG, LONG: "x", "aaa": "y", "ten": "Tiếng"})
    assert {(e["field"], e["rule"]) for e in refused.value.fields["errors"]} == {
        ("ma", "pattern"),
        (LONG, closed),
        ("ten", "pattern"),  # \w is ASCII, as in ECMA-262 (Python's re took "ế")
    }
