"""POST /api/v1/decisions/{key}/evaluate on a FEEL decision table written as Camunda Modeler writes it (translated at
deploy by engine.definitions.dmn.feel_python), and an unsupported FEEL cell refused at deploy naming its rule."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.calls import OWNER, upload

FIXTURE = Path(__file__).parent.parent / "fixtures" / "dmn" / "feel_camunda.dmn"


def test_a_feel_table_is_deployed_and_evaluated(client: TestClient) -> None:
    response = upload(client, ("feel_camunda.dmn", FIXTURE.read_bytes()))
    assert response.status_code == 201, response.text
    inputs = {"amount": 1000, "input": "b", "continue": True, "received": "2026-06-01"}
    evaluated = client.post("/api/v1/decisions/phan_luong/evaluate", json={"inputs": inputs}, headers=OWNER)
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json()["outputs"] == {"route": "big a/b", "days": 10}
    inputs = {"amount": 7, "input": "z", "continue": False, "received": "2025-01-01"}
    evaluated = client.post("/api/v1/decisions/phan_luong/evaluate", json={"inputs": inputs}, headers=OWNER)
    assert evaluated.json()["outputs"] == {"route": "closed range", "days": 1}


def test_an_unsupported_feel_cell_is_refused_naming_rule_and_column(client: TestClient) -> None:
    content = FIXTURE.read_text(encoding="utf-8").replace("<text>amount / 100</text>", "<text>count(amount)</text>")
    response = upload(client, ("feel_camunda.dmn", content.encode("utf-8")))
    assert response.status_code == 422, response.text
    (found,) = [p for p in response.json()["problems"] if p["code"] == "dmn-feel"]
    assert found["element_id"] == "Rule_big"
    assert "count()" in found["reason"] and "quy tắc Rule_big, cột 'Số ngày'" in found["reason_vi"]


def test_a_feel_cell_that_is_not_python_either_is_refused_as_feel(client: TestClient) -> None:
    content = FIXTURE.read_text(encoding="utf-8").replace(
        '<inputEntry id="UnaryTests_r3a"><text>&gt;= 1000</text>',
        '<inputEntry id="UnaryTests_r3a"><text>&gt;= 1000 and &lt; 2000</text>',
    )
    response = upload(client, ("feel_camunda.dmn", content.encode("utf-8")))
    assert response.status_code == 422, response.text
    (found,) = response.json()["problems"]
    assert found["code"] == "dmn-feel" and found["element_id"] == "Rule_big"
    assert "FEEL input entry '>= 1000 and < 2000' is not supported" in found["reason"]
    assert "không phải FEEL" not in found["reason_vi"]


def test_a_feel_string_with_an_escape_json_does_not_know_is_refused_not_a_500(client: TestClient) -> None:
    content = FIXTURE.read_text(encoding="utf-8").replace("<text>amount / 100</text>", '<text>"a\\q"</text>')
    response = upload(client, ("feel_camunda.dmn", content.encode("utf-8")))
    assert response.status_code == 422, response.text  # was 500: JSONDecodeError escaped the translator
    (found,) = [p for p in response.json()["problems"] if p["code"] == "dmn-feel"]
    assert found["element_id"] == "Rule_big"
