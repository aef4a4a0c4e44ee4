"""The OpenAPI document an integrator can use: the security schemes applied where they are enforced, every error
answer declared with the problem+json schema (phoihop/problems.py builds those bodies), no pattern-generated noise.

Routes declare the errors of their own (a 409 of a state conflict, a 403 of a role) with ``problem_responses``;
``install`` adds the ones every route shares: 401 and 403 where a caller is authenticated, 404 where the path names
a resource, and replaces FastAPI's own 422 (``HTTPValidationError``, a body we never send) by the problem."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from phoihop.deps import API_KEY, BEARER, get_actor
from phoihop.problems import MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"


class FieldError(BaseModel):
    field: str = Field(description="The offending field, dotted (`variables.dossier.code`, `query.limit`)")
    message: str = Field(description="What is wrong with it (English)")
    type: str = Field(description="The validation error's kind (`missing`, `string_too_long`, …)")


class Problem(BaseModel):
    """An RFC 9457 problem (``application/problem+json``): every error this API answers has this body. ``type`` is
    stable: branch on it, not on ``detail``. Extension members (``errors``, ``field``, ``task_id``, …) name what the
    error is about; more of them may appear, a client ignores those it does not know."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "/problems/task-not-open",
                "title": "Nhiệm vụ không còn mở / Task not open",
                "status": 409,
                "detail": "task 4f0c2d7e-… is completed",
                "detail_vi": "Nhiệm vụ 4f0c2d7e-… đã hoàn thành",
                "instance": "/api/v1/tasks/4f0c2d7e-…/complete",
                "task_id": "4f0c2d7e-…",
            }
        },
    )

    type: str = Field(description="A stable URI reference naming the error, `/problems/<code>`")
    title: str = Field(description="Short title, Vietnamese / English")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What happened, in English, naming the field, task or element")
    detail_vi: str | None = Field(default=None, description="The same in Vietnamese (tiếng Việt)")
    instance: str | None = Field(default=None, description="The request path")
    errors: list[FieldError] | None = Field(
        default=None, description="`invalid-request` (422): one entry per invalid field"
    )
    field: str | None = Field(default=None, description="The field or variable the error is about, when one is")


DESCRIPTIONS = {
    401: "Not authenticated: no, an expired or an unknown bearer token or API key (`/problems/unauthenticated`)",
    403: "Authenticated, but this caller's agency or role may not do it (`/problems/forbidden`, `not-candidate`, …)",
    404: "No such resource, or one this caller may not see (`/problems/*-not-found`)",
    409: "The resource is not in a state that allows it (`/problems/task-not-open`, `instance-not-running`, …)",
    413: "The body is too large (`/problems/payload-too-large`, `document-too-large`)",
    415: "The document's type is not accepted (`/problems/unsupported-document`)",
    422: "Invalid request: a field fails validation (`/problems/invalid-request`, with `errors`) or the engine refuses "
    "the input (`/problems/invalid-input`, …, naming the `field`)",
    503: "The database was unavailable; nothing was written, send the same request again after `Retry-After` seconds",
}

EXAMPLES: dict[int, dict[str, Any]] = {
    401: {
        "type": "/problems/unauthenticated",
        "title": "Chưa xác thực / Unauthenticated",
        "status": 401,
        "detail": "authentication required: Bearer token or X-API-Key",
        "detail_vi": "Cần xác thực: mã Bearer hoặc X-API-Key",
        "instance": "/api/v1/process-instances",
    },
    403: {
        "type": "/problems/forbidden",
        "title": "Không có quyền / Forbidden",
        "status": 403,
        "detail": "role integrator, officer or lead required",
        "detail_vi": "Cần vai trò integrator, officer hoặc lead",
        "instance": "/api/v1/process-instances",
    },
    404: {
        "type": "/problems/instance-not-found",
        "title": "Không tìm thấy hồ sơ quy trình / Process instance not found",
        "status": 404,
        "detail": "instance 7d5e0c1a-2b9f-4f0e-9a51-3c8d2e6f4b10 not found",
        "detail_vi": "Không tìm thấy hồ sơ 7d5e0c1a-2b9f-4f0e-9a51-3c8d2e6f4b10",
        "instance": "/api/v1/process-instances/7d5e0c1a-2b9f-4f0e-9a51-3c8d2e6f4b10",
    },
    409: {
        "type": "/problems/instance-not-running",
        "title": "Quy trình không còn đang chạy / Process instance is not running",
        "status": 409,
        "detail": "instance 7d5e0c1a-2b9f-4f0e-9a51-3c8d2e6f4b10 is completed",
        "detail_vi": "Hồ sơ 7d5e0c1a-2b9f-4f0e-9a51-3c8d2e6f4b10 đã kết thúc",
        "instance": "/api/v1/process-instances/7d5e0c1a-2b9f-4f0e-9a51-3c8d2e6f4b10/cancel",
    },
    422: {
        "type": "/problems/invalid-request",
        "title": "Yêu cầu không hợp lệ / Invalid request",
        "status": 422,
        "detail": "invalid fields: process_key",
        "detail_vi": "Các trường không hợp lệ: process_key",
        "instance": "/api/v1/process-instances",
        "errors": [{"field": "process_key", "message": "Field required", "type": "missing"}],
    },
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One declared error answer, problem+json with the Problem schema."""
    content: dict[str, Any] = {"schema": {"$ref": PROBLEM_REF}}
    if status in EXAMPLES:
        content["example"] = EXAMPLES[status]
    return {"description": description or DESCRIPTIONS.get(status, "Error"), "content": {MEDIA_TYPE: content}}


def problem_responses(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: ``problem_responses(409)``, or with a route-specific description
    ``problem_responses(**{"409": "the task is not open"})``."""
    out: dict[int | str, dict[str, Any]] = {status: problem_response(status) for status in statuses}
    for status, description in described.items():
        out[int(status)] = problem_response(int(status), description)
    return out


# Text fields carry the pattern ``^[^\x00]*$`` (PostgreSQL text holds no NUL): Swagger UI would show an example
# generated from it, a string of noise. The rule is said in words instead; pydantic still enforces it.
NUL_GUARD = r"^[^\x00]*$"


def _strip_nul_guard(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("pattern") == NUL_GUARD:
            del node["pattern"]
        for value in node.values():
            _strip_nul_guard(value)
    elif isinstance(node, list):
        for value in node:
            _strip_nul_guard(value)


CONVENTIONS = """

**Authentication**: a bearer JWT (`Authorization: Bearer …`) or an integrator's API key (`X-API-Key: …`), on every
operation but `/healthz`, `/readyz` and `/metrics` (its own token); "Authorize" above takes either.
**Errors**: `application/problem+json` (RFC 9457), the `Problem` schema: branch on `type`; `detail` is English,
`detail_vi` Vietnamese; extension members name the field, task or element.
**Times**: RFC 3339 `date-time`, always UTC with `Z` (`2026-01-09T10:00:00Z`; a dossier's appointment too).
**Retries**: `POST /api/v1/process-instances` with an `Idempotency-Key` answers a repeat with 200 and the same
instance. A worked example of a portal's calls: docs/integration-example.md."""


def _document(schema: dict[str, Any]) -> dict[str, Any]:
    schema["info"]["description"] = schema["info"].get("description", "") + CONVENTIONS
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            wanted: set[int] = {422} if "422" in responses or operation.get("requestBody") else set()
            if operation.get("security"):
                wanted |= {401, 403}
            if re.search(r"\{[^}]+\}", path):
                wanted.add(404)
            for status in sorted(wanted):
                current = responses.get(str(status))
                if current is None or "HTTPValidationError" in str(current):
                    responses[str(status)] = problem_response(status)
            for code, answer in responses.items():  # an error declared by its description only: the body it has
                if code[0] in "45" and "content" not in answer:
                    responses[code] = problem_response(int(code), answer.get("description"))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _strip_nul_guard(schema)
    return schema


def _authenticates(dependant: Dependant) -> bool:
    return any(d.call is get_actor or _authenticates(d) for d in dependant.dependencies)


def _apply_security(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """The bearer and API-key schemes on every operation whose caller get_actor authenticates (phoihop/deps.py: it
    reads the headers itself, so that FastAPI does not run the two scheme objects on every request to document them)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    for scheme in (BEARER, API_KEY):
        schemes[scheme.scheme_name] = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
    paths = schema.get("paths", {})
    for route in iter_route_contexts(routes):  # every route, those of the included routers too
        dependant = getattr(route, "dependant", None)
        if not (isinstance(dependant, Dependant) and getattr(route, "include_in_schema", False)):
            continue
        if not _authenticates(dependant):
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None and not operation.get("security"):
                operation["security"] = [{BEARER.scheme_name: []}, {API_KEY.scheme_name: []}]
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(
                _apply_security(
                    get_openapi(
                        title=app.title,
                        version=app.version,
                        description=app.description,
                        routes=app.routes,
                        tags=app.openapi_tags,
                    ),
                    app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
