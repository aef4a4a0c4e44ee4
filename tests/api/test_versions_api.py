"""Process definition versions over HTTP: listing with change notes, files, suspend/activate, the default version,
the diff endpoint's errors, and the definition audit trail with its permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from tests.conftest import FIXTURES

from .calls import (
    ADMIN,
    DEFINITIONS,
    INSTANCES,
    MESSAGES,
    MOT_CUA,
    OWNER,
    PORTAL,
    SKHCN,
    assert_problem,
    bpmn,
    complete,
    instance,
    open_tasks,
    start,
)

AUDIT = "/api/v1/audit"
FOUR = bpmn("four_tasks.bpmn")
FOUR_V2 = FOUR.replace("Phân loại".encode(), "Phân loại hồ sơ".encode())
FOUR_V3 = FOUR.replace("Đề xuất".encode(), "Đề xuất phương án".encode())


def deploy(
    client: TestClient, name: str, content: bytes, *, note: str | None = None, headers: dict[str, str] = OWNER
) -> Response:
    data = {"change_note": note} if note is not None else None
    return client.post(DEFINITIONS, files=[("files", (name, content, "application/xml"))], data=data, headers=headers)


def deployed(client: TestClient, name: str, content: bytes, *, note: str | None = None) -> dict[str, Any]:
    response = deploy(client, name, content, note=note)
    assert response.status_code == 201, response.text
    first: dict[str, Any] = response.json()[0]  # the only process, or the first one of the file
    return first


def get(client: TestClient, path: str, headers: dict[str, str] = SKHCN, **params: Any) -> Any:
    response = client.get(path, params=params or None, headers=headers)  # {} would drop a query in ``path``
    assert response.status_code == 200, response.text
    return response.json()


def versions(client: TestClient, key: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = get(client, f"{DEFINITIONS}/{key}/versions")
    return listed


def audit(client: TestClient, headers: dict[str, str] = OWNER, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = get(client, AUDIT, headers, **params)
    return page


# --- versions and files -----------------------------------------------------------------------------------------------
def test_versions_list_hash_deployer_time_and_change_note(client: TestClient, clock: FakeClock) -> None:
    first = deployed(client, "four_tasks.bpmn", FOUR, note="Bản đầu tiên theo Quyết định 5921")
    first_at = clock.now()
    clock.advance(timedelta(hours=1))
    second = deployed(client, "four_tasks.bpmn", FOUR_V2, note="Đổi tên bước phân loại")

    listed = versions(client, "four_tasks")

    assert [
        (
            v["version"],
            v["content_hash"],
            v["deployed_by"],
            v["change_note"],
            v["status"],
            v["is_default"],
            v["instances"],
        )
        for v in listed
    ] == [
        (1, first["content_hash"], "owner", "Bản đầu tiên theo Quyết định 5921", "active", False, {}),
        (2, second["content_hash"], "owner", "Đổi tên bước phân loại", "active", True, {}),
    ]
    assert listed[0]["deployed_at"].startswith(first_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert listed[1]["deployed_at"].startswith((first_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"))


def test_identical_redeploy_makes_no_version_and_no_audit_event(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR, note="v1")

    again = deploy(client, "four_tasks.bpmn", FOUR, note="không đổi gì")

    assert again.status_code in (200, 201), again.text
    assert [(r["version"], r["created"]) for r in again.json()] == [(1, False)]
    assert [v["version"] for v in versions(client, "four_tasks")] == [1]
    assert versions(client, "four_tasks")[0]["change_note"] == "v1"
    assert [e["kind"] for e in audit(client, process_key="four_tasks")["items"]] == ["deployed"]


def test_reverting_to_older_content_makes_a_new_version(client: TestClient) -> None:
    v1 = deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)

    reverted = deployed(client, "four_tasks.bpmn", FOUR, note="Quay lại bản 1")

    assert (reverted["version"], reverted["created"], reverted["content_hash"]) == (3, True, v1["content_hash"])
    assert [(v["version"], v["is_default"]) for v in versions(client, "four_tasks")] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert start(client, "four_tasks")["process_version"] == 3


def test_version_detail_and_its_files_as_deployed(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR, note="Bản đầu")

    detail = get(client, f"{DEFINITIONS}/four_tasks/versions/1")
    files = get(client, f"{DEFINITIONS}/four_tasks/versions/1/files")
    raw = client.get(f"{DEFINITIONS}/four_tasks/versions/1/files/four_tasks.bpmn", headers=SKHCN)

    expected_file = {"name": "four_tasks.bpmn", "kind": "bpmn", "media_type": "application/xml", "size": len(FOUR)}
    assert files == [expected_file]
    assert (detail["version"], detail["name"], detail["change_note"], detail["files"]) == (
        1,
        "Bốn bước",
        "Bản đầu",
        [expected_file],
    )
    assert raw.status_code == 200, raw.text
    assert raw.content == FOUR
    assert raw.headers["content-type"] == "application/xml; charset=utf-8"
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert raw.headers["content-disposition"].startswith("attachment")


def test_form_and_dmn_files_are_listed_and_served_with_their_media_type(client: TestClient) -> None:
    sources = {
        "kien_nghi.bpmn": "forms/kien_nghi.bpmn",
        "kien_nghi.form.json": "forms/kien_nghi.form.json",
        "tham_dinh.form.json": "forms/tham_dinh.form.json",
    }
    response = client.post(
        DEFINITIONS,
        headers=OWNER,
        files=[
            ("files", (name, (FIXTURES / path).read_bytes(), "application/octet-stream"))
            for name, path in sources.items()
        ],
    )
    assert response.status_code == 201, response.text
    dmn = client.post(
        DEFINITIONS,
        headers=OWNER,
        files=[
            ("files", (name, (FIXTURES / "bpmn" / name).read_bytes(), "application/xml"))
            for name in ("business_rule.bpmn", "routing.dmn")
        ],
    )
    assert dmn.status_code == 201, dmn.text

    forms = {f["name"]: (f["kind"], f["media_type"]) for f in get(client, f"{DEFINITIONS}/kien_nghi/versions/1/files")}
    rules = {
        f["name"]: (f["kind"], f["media_type"]) for f in get(client, f"{DEFINITIONS}/Process_DieuPhoi/versions/1/files")
    }
    form = client.get(f"{DEFINITIONS}/kien_nghi/versions/1/files/kien_nghi.form.json", headers=SKHCN)
    table = client.get(f"{DEFINITIONS}/Process_DieuPhoi/versions/1/files/routing.dmn", headers=SKHCN)

    assert forms == {
        "kien_nghi.bpmn": ("bpmn", "application/xml"),
        "kien_nghi.form.json": ("form", "application/json"),
        "tham_dinh.form.json": ("form", "application/json"),
    }
    assert rules == {"business_rule.bpmn": ("bpmn", "application/xml"), "routing.dmn": ("dmn", "application/xml")}
    assert (form.status_code, form.headers["content-type"]) == (200, "application/json")
    assert form.content == (FIXTURES / "forms/kien_nghi.form.json").read_bytes()
    assert (table.status_code, table.headers["content-type"]) == (200, "application/xml; charset=utf-8")
    assert table.content == (FIXTURES / "bpmn/routing.dmn").read_bytes()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/nope/versions", 404, "definition-not-found"),
        ("/four_tasks/versions/9", 404, "definition-not-found"),
        ("/four_tasks/versions/9/files", 404, "definition-not-found"),
        ("/four_tasks/versions/1/files/other.bpmn", 404, "definition-not-found"),
        ("/four_tasks/versions/abc", 422, "invalid-request"),
        ("/four_tasks/versions/0", 422, "invalid-request"),
        ("/nope/default-version", 404, "definition-not-found"),
    ],
    ids=[
        "unknown-key",
        "unknown-version",
        "unknown-version-files",
        "unknown-file",
        "version-not-int",
        "version-zero",
        "default-of-unknown-key",
    ],
)
def test_missing_versions_and_files_are_problems(client: TestClient, path: str, status: int, code: str) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)

    body = assert_problem(client.get(DEFINITIONS + path, headers=SKHCN), status, code)

    assert body.get("detail_vi")


# --- suspend and activate ---------------------------------------------------------------------------------------------
def test_suspended_version_refuses_new_starts_while_its_instance_completes(client: TestClient) -> None:
    deployed(client, "messages.bpmn", bpmn("messages.bpmn"))
    running = start(client, "supplement_flow", business_key="HS-1")

    suspended = client.post(
        f"{DEFINITIONS}/supplement_flow/versions/1/suspend", headers=OWNER, json={"reason": "Đang sửa quy trình"}
    )

    assert suspended.status_code == 200, suspended.text
    assert (suspended.json()["status"], suspended.json()["status_changed_by"]) == ("suspended", "owner")
    assert suspended.json()["instances"] == {"running": 1}
    refused = assert_problem(
        client.post(INSTANCES, json={"process_key": "supplement_flow"}, headers=PORTAL), 409, "definition-suspended"
    )
    assert refused["process_key"] == "supplement_flow" and refused["detail_vi"]
    assert_problem(
        client.post(INSTANCES, json={"process_key": "supplement_flow", "version": 1}, headers=PORTAL),
        409,
        "definition-suspended",
    )
    # the running instance goes on: its task, its message, its last task
    complete(client, open_tasks(client, running["id"])["check"]["id"], MOT_CUA, du_ho_so=False)
    delivered = client.post(MESSAGES, json={"name": "bo_sung_ho_so", "business_key": "HS-1"}, headers=PORTAL)
    assert delivered.status_code == 200, delivered.text
    complete(client, open_tasks(client, running["id"])["recheck"]["id"], MOT_CUA)
    assert instance(client, running["id"])["status"] == "completed"
    assert versions(client, "supplement_flow")[0]["instances"] == {"completed": 1}


def test_suspended_version_keeps_its_timers_firing(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    deployed(client, "timers.bpmn", bpmn("timers.bpmn"))
    running = start(client, "timed_review")
    assert client.post(f"{DEFINITIONS}/timed_review/versions/1/suspend", headers=OWNER).status_code == 200
    complete(client, open_tasks(client, running["id"])["review"]["id"], SKHCN)  # now waiting one day

    clock.advance(timedelta(days=1, minutes=1))
    assert app_container.timers.fire_due_timers() == 1

    assert list(open_tasks(client, running["id"])) == ["after_wait"]


def test_message_start_skips_a_suspended_version(client: TestClient) -> None:
    deployed(client, "messages.bpmn", bpmn("messages.bpmn"))
    client.post(f"{DEFINITIONS}/report_intake/versions/1/suspend", headers=OWNER)

    refused = client.post(MESSAGES, json={"name": "bao_cao_vuong_mac"}, headers=PORTAL)

    assert_problem(refused, 404, "message-not-correlated")


def test_a_newer_active_version_takes_the_starts_and_activate_brings_back_the_old(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)
    client.post(f"{DEFINITIONS}/four_tasks/versions/2/suspend", headers=OWNER)

    assert start(client, "four_tasks")["process_version"] == 1
    assert [(v["version"], v["is_default"]) for v in versions(client, "four_tasks")] == [(1, True), (2, False)]

    activated = client.post(
        f"{DEFINITIONS}/four_tasks/versions/2/activate", headers=OWNER, json={"reason": "Đã sửa xong"}
    )
    assert activated.status_code == 200, activated.text
    assert (activated.json()["status"], activated.json()["is_default"]) == ("active", True)
    assert start(client, "four_tasks")["process_version"] == 2


def test_suspending_twice_changes_nothing_more(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    for _ in range(2):
        assert client.post(f"{DEFINITIONS}/four_tasks/versions/1/suspend", headers=OWNER).status_code == 200

    assert [e["kind"] for e in audit(client, process_key="four_tasks")["items"]] == ["version_suspended", "deployed"]


# --- default version --------------------------------------------------------------------------------------------------
def test_an_older_default_version_takes_new_starts_until_cleared(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)

    chosen = client.put(f"{DEFINITIONS}/four_tasks/default-version", json={"version": 1}, headers=OWNER)

    assert chosen.status_code == 200, chosen.text
    assert {k: chosen.json()[k] for k in ("key", "version", "explicit", "set_by")} == {
        "key": "four_tasks",
        "version": 1,
        "explicit": True,
        "set_by": "owner",
    }
    assert start(client, "four_tasks")["process_version"] == 1
    assert start(client, "four_tasks", version=2)["process_version"] == 2
    # a newer deployment does not move an explicit default, and says so
    v3 = deployed(client, "four_tasks.bpmn", FOUR_V3)
    assert (v3["version"], v3["default_version"]) == (3, 1)
    assert start(client, "four_tasks")["process_version"] == 1
    assert [(v["version"], v["is_default"], v["instances"]) for v in versions(client, "four_tasks")] == [
        (1, True, {"running": 2}),
        (2, False, {"running": 1}),
        (3, False, {}),
    ]

    cleared = client.delete(f"{DEFINITIONS}/four_tasks/default-version", headers=OWNER)

    assert cleared.status_code == 200, cleared.text
    assert {k: cleared.json()[k] for k in ("version", "explicit", "set_by")} == {
        "version": 3,
        "explicit": False,
        "set_by": None,
    }
    assert start(client, "four_tasks")["process_version"] == 3
    assert get(client, f"{DEFINITIONS}/four_tasks/default-version")["version"] == 3


def test_default_start_form_follows_the_default_version(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)
    client.put(f"{DEFINITIONS}/four_tasks/default-version", json={"version": 1}, headers=OWNER)

    assert get(client, f"{DEFINITIONS}/four_tasks/start-form")["version"] == 1


def test_a_message_start_event_starts_the_default_version(client: TestClient) -> None:
    deployed(client, "messages.bpmn", bpmn("messages.bpmn"))
    deployed(
        client,
        "messages.bpmn",
        bpmn("messages.bpmn").replace("Phân loại vướng mắc".encode(), "Phân loại báo cáo".encode()),
    )
    client.put(f"{DEFINITIONS}/report_intake/default-version", json={"version": 1}, headers=OWNER)

    response = client.post(MESSAGES, json={"name": "bao_cao_vuong_mac"}, headers=PORTAL)

    assert response.status_code == 200, response.text
    [started] = response.json()["delivered"]
    assert started["started"] is True
    assert instance(client, started["instance_id"])["process_version"] == 1


def test_a_suspended_version_cannot_become_the_default(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)
    client.post(f"{DEFINITIONS}/four_tasks/versions/1/suspend", headers=OWNER)

    refused = client.put(f"{DEFINITIONS}/four_tasks/default-version", json={"version": 1}, headers=OWNER)

    assert_problem(refused, 409, "definition-suspended")
    assert get(client, f"{DEFINITIONS}/four_tasks/default-version")["explicit"] is False


def test_suspending_the_explicit_default_refuses_starts_instead_of_picking_another(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)
    client.put(f"{DEFINITIONS}/four_tasks/default-version", json={"version": 1}, headers=OWNER)
    client.post(f"{DEFINITIONS}/four_tasks/versions/1/suspend", headers=OWNER)

    refused = assert_problem(
        client.post(INSTANCES, json={"process_key": "four_tasks"}, headers=PORTAL), 409, "definition-suspended"
    )

    assert refused["version"] == 1
    assert start(client, "four_tasks", version=2)["process_version"] == 2


@pytest.mark.parametrize(
    "body",
    [{}, {"version": 0}, {"version": "một"}, {"version": 1, "extra": True}],
    ids=["missing", "zero", "not-int", "extra-field"],
)
def test_bad_default_version_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)

    assert_problem(client.put(f"{DEFINITIONS}/four_tasks/default-version", json=body, headers=OWNER), 422)


def test_default_to_an_unknown_version_is_404(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)

    assert_problem(
        client.put(f"{DEFINITIONS}/four_tasks/default-version", json={"version": 5}, headers=OWNER),
        404,
        "definition-not-found",
    )


# --- diff -------------------------------------------------------------------------------------------------------------
def test_diff_names_the_renamed_task(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)

    diff = get(client, f"{DEFINITIONS}/four_tasks/diff?from=1&to=2")

    assert diff == {
        "key": "four_tasks",
        "from": 1,
        "to": 2,
        "added": [],
        "removed": [],
        "changed": [
            {
                "element_id": "t2",
                "type": "userTask",
                "name": "Phân loại hồ sơ",
                "lane": "Sở Khoa học và Công nghệ",
                "changes": [{"field": "name", "before": "Phân loại", "after": "Phân loại hồ sơ"}],
            }
        ],
        "process": [],
        "files": {"added": [], "removed": [], "changed": ["four_tasks.bpmn"]},
        "summary": {"added": 0, "removed": 0, "changed": 1},
    }


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("from=1&to=3", 404, "definition-not-found"),
        ("from=3&to=1", 404, "definition-not-found"),
        ("to=2", 422, "invalid-request"),
        ("from=1", 422, "invalid-request"),
        ("from=0&to=2", 422, "invalid-request"),
        ("from=a&to=2", 422, "invalid-request"),
        ("from=1&to=99999999999", 422, "invalid-request"),
    ],
    ids=["to-missing-version", "from-missing-version", "no-from", "no-to", "zero", "not-int", "too-large"],
)
def test_diff_errors(client: TestClient, query: str, status: int, code: str) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "four_tasks.bpmn", FOUR_V2)

    body = assert_problem(client.get(f"{DEFINITIONS}/four_tasks/diff?{query}", headers=SKHCN), status, code)

    assert body.get("detail_vi")


def test_diff_of_an_unknown_key_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{DEFINITIONS}/nope/diff?from=1&to=2", headers=SKHCN), 404, "definition-not-found")


# --- audit trail ------------------------------------------------------------------------------------------------------
def test_audit_trail_has_before_and_after_newest_first(
    client: TestClient, clock: FakeClock, app_container: EngineContainer
) -> None:
    v1 = deployed(client, "four_tasks.bpmn", FOUR, note="Bản đầu")
    clock.advance(60)
    v2 = deployed(client, "four_tasks.bpmn", FOUR_V2, note="Đổi tên bước")
    clock.advance(60)
    client.post(f"{DEFINITIONS}/four_tasks/versions/2/suspend", headers=OWNER, json={"reason": "Lỗi biểu mẫu"})
    clock.advance(60)
    client.post(f"{DEFINITIONS}/four_tasks/versions/2/activate", headers=ADMIN)
    clock.advance(60)
    client.put(f"{DEFINITIONS}/four_tasks/default-version", json={"version": 1}, headers=OWNER)
    clock.advance(60)
    client.delete(f"{DEFINITIONS}/four_tasks/default-version", headers=OWNER)

    page = audit(client, process_key="four_tasks")
    with app_container.db.transaction(write=False) as conn:  # ids are the database's: read, never assumed
        deployment_of = dict(
            conn.execute(text("SELECT version, deployment_id FROM process_definition WHERE key = 'four_tasks'")).all()
        )
    assert len(set(deployment_of.values())) == 2

    assert page["total"] == 6
    assert [(e["kind"], e["actor"], e["process_key"], e["data"]) for e in page["items"]] == [
        (
            "default_version_cleared",
            "owner",
            "four_tasks",
            {"before": {"version": 1, "explicit": True}, "after": {"version": 2, "explicit": False}},
        ),
        (
            "default_version_set",
            "owner",
            "four_tasks",
            {"version": 1, "before": {"version": 2, "explicit": False}, "after": {"version": 1, "explicit": True}},
        ),
        (
            "version_activated",
            "root",
            "four_tasks",
            {"version": 2, "reason": None, "before": {"status": "suspended"}, "after": {"status": "active"}},
        ),
        (
            "version_suspended",
            "owner",
            "four_tasks",
            {"version": 2, "reason": "Lỗi biểu mẫu", "before": {"status": "active"}, "after": {"status": "suspended"}},
        ),
        (
            "deployed",
            "owner",
            "four_tasks",
            {
                "version": 2,
                "deployment_id": deployment_of[2],
                "change_note": "Đổi tên bước",
                "files": ["four_tasks.bpmn"],
                "default_version": None,
                "before": {"version": 1, "content_hash": v1["content_hash"]},
                "after": {"version": 2, "content_hash": v2["content_hash"]},
            },
        ),
        (
            "deployed",
            "owner",
            "four_tasks",
            {
                "version": 1,
                "deployment_id": deployment_of[1],
                "change_note": "Bản đầu",
                "files": ["four_tasks.bpmn"],
                "default_version": None,
                "before": None,
                "after": {"version": 1, "content_hash": v1["content_hash"]},
            },
        ),
    ]
    times = [e["at"] for e in page["items"]]
    assert times == sorted(times, reverse=True)


def test_audit_filters_by_kind_key_and_time_and_pages(client: TestClient, clock: FakeClock) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    deployed(client, "loop.bpmn", bpmn("loop.bpmn"))
    clock.advance(timedelta(days=1))
    since = clock.now()
    deployed(client, "four_tasks.bpmn", FOUR_V2)
    client.post(f"{DEFINITIONS}/four_tasks/versions/1/suspend", headers=OWNER)

    by_kind = audit(client, kind="deployed")
    by_key = audit(client, process_key="looped")
    recent = audit(client, since=since.isoformat())
    first_page = audit(client, process_key="four_tasks", limit=1)
    second_page = audit(client, process_key="four_tasks", limit=1, offset=1)

    assert [(e["process_key"], e["data"]["version"]) for e in by_kind["items"]] == [
        ("four_tasks", 2),
        ("looped", 1),
        ("four_tasks", 1),
    ]
    assert [e["kind"] for e in by_key["items"]] == ["deployed"]
    assert [e["kind"] for e in recent["items"]] == ["version_suspended", "deployed"]
    assert (first_page["total"], first_page["limit"], [e["kind"] for e in first_page["items"]]) == (
        3,
        1,
        ["version_suspended"],
    )
    assert [e["data"]["version"] for e in second_page["items"]] == [2]
    assert audit(client, process_key="nope")["items"] == []


def test_instance_events_are_not_in_the_audit_trail(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)
    running = start(client, "four_tasks")
    complete(client, running["open_tasks"][0]["id"], SKHCN)

    kinds = {e["kind"] for e in audit(client, headers=ADMIN, limit=200)["items"]}

    assert "deployed" in kinds
    assert not kinds & {"instance_started", "task_completed", "task_claimed"}


def test_audit_needs_an_aware_since(client: TestClient) -> None:
    body = assert_problem(
        client.get(AUDIT, params={"since": "2026-11-28T08:00:00"}, headers=OWNER), 422, "invalid-request"
    )
    assert "since" in body["detail"]


# --- permissions ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/four_tasks/versions/1/suspend", None),
        ("POST", "/four_tasks/versions/1/activate", None),
        ("PUT", "/four_tasks/default-version", {"version": 1}),
        ("DELETE", "/four_tasks/default-version", None),
    ],
    ids=["suspend", "activate", "set-default", "clear-default"],
)
def test_version_changes_need_the_process_owner_role(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """One HTTP check per route; which roles each command admits: tests/engine/test_authorization.py."""
    deployed(client, "four_tasks.bpmn", FOUR)

    response = client.request(method, DEFINITIONS + path, json=body, headers=SKHCN)

    problem = assert_problem(response, 403, "forbidden")
    assert "process-owner" in problem["required_roles"]
    assert versions(client, "four_tasks")[0]["status"] == "active"
    assert get(client, f"{DEFINITIONS}/four_tasks/default-version")["explicit"] is False


def test_audit_is_for_process_owners_and_admins(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)

    body = assert_problem(client.get(AUDIT, headers=SKHCN), 403, "forbidden")

    assert body["detail_vi"]
    assert audit(client, headers=ADMIN, process_key="four_tasks")["total"] == 1


def test_reads_need_authentication(client: TestClient) -> None:
    deployed(client, "four_tasks.bpmn", FOUR)

    for path in (f"{DEFINITIONS}/four_tasks/versions", f"{DEFINITIONS}/four_tasks/diff?from=1&to=1", AUDIT):
        assert_problem(client.get(path), 401, "unauthenticated")


def test_change_note_is_limited_and_optional(client: TestClient) -> None:
    assert_problem(deploy(client, "four_tasks.bpmn", FOUR, note="x" * 2001), 422, "invalid-request")
    assert deployed(client, "four_tasks.bpmn", FOUR, note="")["version"] == 1
    assert versions(client, "four_tasks")[0]["change_note"] is None
