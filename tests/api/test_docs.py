"""Offline API docs: /docs and /redoc load only local assets (city networks reach no CDN); /openapi.json is complete."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from .calls import assert_problem

SQLITE_ONLY = pytest.mark.sqlite_only("static pages and the OpenAPI document: no SQL runs")
ASSET_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
EXPECTED_OPERATIONS = {
    ("/api/v1/process-definitions", "get"),
    ("/api/v1/process-definitions", "post"),
    ("/api/v1/process-instances", "get"),
    ("/api/v1/process-instances", "post"),
    ("/api/v1/process-instances/{instance_id}", "get"),
    ("/api/v1/process-instances/{instance_id}/history", "get"),
    ("/api/v1/process-instances/{instance_id}/cancel", "post"),
    ("/api/v1/tasks", "get"),
    ("/api/v1/tasks/{task_id}", "get"),
    ("/api/v1/tasks/{task_id}/claim", "post"),
    ("/api/v1/tasks/{task_id}/unclaim", "post"),
    ("/api/v1/tasks/{task_id}/complete", "post"),
    ("/api/v1/messages", "post"),
    ("/healthz", "get"),
}


@SQLITE_ONLY
@pytest.mark.parametrize("docs_page", ["/docs", "/redoc"])  # not "page": pytest-playwright's fixture
def test_docs_pages_reference_only_local_assets(client: TestClient, docs_page: str) -> None:
    response = client.get(docs_page)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "http://" not in html and "https://" not in html, html
    assert "cdn" not in html.lower()
    assets = ASSET_URL.findall(html)
    assert assets, html
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "/openapi.json" in html


@SQLITE_ONLY
@pytest.mark.parametrize("docs_page", ["/docs", "/redoc"])
def test_every_referenced_asset_is_served(client: TestClient, docs_page: str) -> None:
    for url in ASSET_URL.findall(client.get(docs_page).text):
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 100, url
        if url.endswith(".js"):
            assert "javascript" in response.headers["content-type"], url
        if url.endswith(".css"):
            assert response.headers["content-type"].startswith("text/css"), url


@SQLITE_ONLY
def test_swagger_ui_does_not_call_the_online_validator(client: TestClient) -> None:
    html = client.get("/docs").text
    assert re.search(r"""["']?validatorUrl["']?\s*:\s*(null|["']none["'])""", html), html


@SQLITE_ONLY
def test_the_static_mount_serves_nothing_else(client: TestClient) -> None:
    for path in (
        "/static/docs/../../phoihop/settings.py",
        "/static/docs/%2e%2e/%2e%2e/phoihop/settings.py",
        "/static/docs/khong-co.js",
        "/static/docs/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "SecretStr" not in response.text


@SQLITE_ONLY
def test_docs_and_openapi_need_no_credentials(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/static/docs/favicon.png"):
        assert client.get(path).status_code == 200, path


@SQLITE_ONLY
def test_openapi_lists_every_endpoint(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "phoihop"
    operations = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert operations >= EXPECTED_OPERATIONS
    assert not {p for p in spec["paths"] if p in ("/docs", "/redoc") or p.startswith("/static")}
    schemas = spec["components"]["schemas"]
    assert {"StartInstance", "InstanceOut", "TaskOut", "SendMessage", "CompleteTask"} <= set(schemas)
    start = schemas["StartInstance"]
    assert start.get("additionalProperties") is False
    assert set(start["required"]) == {"process_key"}


def test_healthz_reports_the_database(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] in ("sqlite", "postgresql")
    assert_problem(client.post("/healthz"), 405, "method-not-allowed")
