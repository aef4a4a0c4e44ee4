"""The OpenAPI document an integrator uses (/openapi.json, the /docs page's Authorize): security schemes where a caller
is authenticated, a summary and a description on every operation, every error answer with the problem+json schema,
and no example Swagger UI would have to generate from a regular expression. The document is checked against the
answers the server really sends: a 401, a 404 and a 422 each match the declared Problem schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from .calls import INSTANCES, PORTAL

# no token/API key (metrics: its own token; the public dossier lookup: the receipt's secret)
PUBLIC = {("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get"), ("/api/v1/public/dossiers/{code}", "get")}
PROBLEM_REF = "#/components/schemas/Problem"
SQLITE_ONLY = pytest.mark.sqlite_only("reads the OpenAPI document only: no SQL runs")


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(found) > 50, found
    return found


@SQLITE_ONLY
def test_security_schemes_are_declared_and_applied_where_a_caller_is_authenticated(spec: dict[str, Any]) -> None:
    assert "Authorize" in spec["info"]["description"] and "problem+json" in spec["info"]["description"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, method, operation in operations(spec):
        if (path, method) in PUBLIC:
            assert not operation.get("security"), (path, method)
            continue
        assert {"bearer": []} in operation["security"], (path, method)
        assert {"apiKey": []} in operation["security"], (path, method)
        # the schemes replace raw header parameters: no Authorization / X-API-Key parameter is left to type in
        names = {p["name"].lower() for p in operation.get("parameters", [])}
        assert not names & {"authorization", "x-api-key"}, (path, method)


@SQLITE_ONLY
def test_every_operation_has_a_summary_and_a_description(spec: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}: {what}"
        for path, method, operation in operations(spec)
        for what in ("summary", "description")
        if len(operation.get(what, "").strip()) < 10
    ]
    assert not missing, "\n".join(missing)


@SQLITE_ONLY
def test_every_error_answer_is_a_problem(spec: dict[str, Any]) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"detail_vi", "instance", "errors", "field"} <= set(problem["properties"])
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        errors = {status: answer for status, answer in responses.items() if status[0] in "45"}
        if (path, method) not in PUBLIC:
            assert {"401", "403"} <= set(errors), (path, method)
        if "{" in path:
            assert "404" in errors, (path, method)
        if operation.get("requestBody"):
            assert "422" in errors, (path, method)
        for status, answer in errors.items():
            content = answer["content"]
            assert list(content) == ["application/problem+json"], (path, method, status)
            assert content["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}, (path, method, status)


@SQLITE_ONLY
def test_the_start_call_documents_the_idempotent_retry_and_its_conflicts(spec: dict[str, Any]) -> None:
    start = spec["paths"]["/api/v1/process-instances"]["post"]
    assert {"200", "201", "404", "409", "422"} <= set(start["responses"])
    assert "Idempotency-Key" in start["responses"]["200"]["description"]
    assert start["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/InstanceOut")
    [header] = [p for p in start["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header" and header["schema"]["examples"] == ["DVC-2026-000123"]
    example = spec["components"]["schemas"]["StartInstance"]["example"]
    assert example["process_key"] == "green_lane" and example["variables"]["applicant"]["name"]


def _pattern_without_example(node: Any, path: str, covered: bool, found: list[str]) -> None:
    if isinstance(node, dict):
        covered = covered or any(key in node for key in ("example", "examples", "enum", "const"))
        if isinstance(node.get("pattern"), str) and not covered:
            found.append(f"{path}: {node['pattern']}")
        for key, value in node.items():
            _pattern_without_example(value, f"{path}/{key}", covered and key != "properties", found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _pattern_without_example(value, f"{path}[{index}]", covered, found)


@SQLITE_ONLY
def test_no_string_is_left_for_swagger_ui_to_generate_from_a_pattern(spec: dict[str, Any]) -> None:
    """Swagger UI fills "Try it out" and the example bodies from ``pattern`` (random-looking strings) when a field has
    no example: every patterned field has one, or the pattern (the NUL guard of Text fields) is not published."""
    found: list[str] = []
    _pattern_without_example(spec, "", False, found)
    assert not found, "\n".join(found)


def test_the_answers_sent_match_the_declared_problem_schema(client: TestClient, spec: dict[str, Any]) -> None:
    schema = {**spec["components"]["schemas"]["Problem"], "components": spec["components"]}
    schema = jsonschema.validators.validator_for(schema)(schema)  # type: ignore[assignment]
    unauthenticated = client.post(INSTANCES, json={"process_key": "green_lane"})
    not_found = client.get(f"{INSTANCES}/7d5e0c1a-2b9f-4f0e-9a51-3c8d2e6f4b10", headers=PORTAL)
    invalid = client.post(INSTANCES, json={"variables": {}}, headers=PORTAL)
    for response, status in ((unauthenticated, 401), (not_found, 404), (invalid, 422)):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        schema.validate(response.json())  # type: ignore[attr-defined]
    assert invalid.json()["errors"][0]["field"] == "process_key"


@SQLITE_ONLY
def test_state_conflicts_are_declared_where_they_happen(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/tasks/{task_id}/claim", "post"),
        ("/api/v1/tasks/{task_id}/complete", "post"),
        ("/api/v1/process-instances/{instance_id}/cancel", "post"),
        ("/api/v1/messages", "post"),
        ("/api/v1/incidents/{incident_id}/retry", "post"),
        ("/api/v1/webhook-deliveries/{delivery_id}/replay", "post"),
    ):
        assert "409" in paths[path][method]["responses"], (path, method)
    assert {"413", "415"} <= set(paths["/api/v1/process-instances/{instance_id}/documents"]["post"]["responses"])
