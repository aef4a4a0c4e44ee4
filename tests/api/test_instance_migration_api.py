"""Migrating running ``escalation`` instances over the REST API (``/api/v1/migrations``), on SQLite and PostgreSQL:
a dry run that writes nothing, an execution for the chosen instances, and a migrated instance walked to its end along
version 2 by the agencies that own each step. Versions 1 and 2 are those tests/engine/test_instance_migration.py uses:
the project's process as it stood before issue 10, and a version 2 made from it (a task added, one removed, one
renamed, one moved to another lane, a condition changed)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.api.calls import ADMIN, INSTANCES, OWNER, assert_problem, instance, upload
from tests.conftest import auth
from tests.engine.test_instance_migration import escalation_v1_files, escalation_v2_files
from tests.processes.escalation_steps import (
    REPORT,
    REPORTER,
    SKHCN,
    STP_LEAD,
    act,
    close,
    decide,
    hanoi,
    history,
    open_task,
    propose_to_decision,
    report,
)

DRY_RUN = "/api/v1/migrations/dry-run"
EXECUTE = "/api/v1/migrations/execute"
PLAN: dict[str, Any] = {
    "process_key": "escalation",
    "from_version": 1,
    "to_version": 2,
    "mapping": {"legal_review": "legal_appraisal"},
}
ONE_STOP = auth("khanh", groups="ttpvhcc", name="Phạm Văn Khánh")


@pytest.fixture
def waiting(client: TestClient, clock: FakeClock) -> dict[str, str]:
    """Version 1 (deployed strictly, as the project deploys it) with three instances waiting, then version 2."""
    clock.set(hanoi(2026, 3, 2, 9))
    response = upload(client, *((f.name, f.content) for f in escalation_v1_files()))
    assert response.status_code == 201, response.text
    # version 1's start form has urgency as a yes/no (the levels came later)
    claimed, legal, guided = (report(client, urgent=False) for _ in range(3))
    assert (
        client.post(f"/api/v1/tasks/{open_task(client, claimed, 'classify')['id']}/claim", headers=SKHCN).status_code
        == 200
    )
    act(
        client,
        legal,
        "classify",
        SKHCN,
        resolution_path="escalate",
        classification_note="Liên ngành",
        needs_legal_review=True,
        needs_htkc_opinion=False,
        needs_funding=False,
    )
    assert (
        client.post(
            f"/api/v1/tasks/{open_task(client, legal, 'legal_review')['id']}/claim", headers=STP_LEAD
        ).status_code
        == 200
    )
    act(client, guided, "classify", SKHCN, resolution_path="guidance", classification_note="Hướng dẫn được")
    response = upload(client, *((f.name, f.content) for f in escalation_v2_files()))
    assert response.status_code == 201 and response.json()[0]["version"] == 2, response.text
    return {"claimed": claimed, "legal": legal, "guided": guided}


def test_dry_run_then_execute_then_walk_to_the_end_on_version_2(client: TestClient, waiting: dict[str, str]) -> None:
    before = {i: (instance(client, i), len(history(client, i))) for i in waiting.values()}
    response = client.post(DRY_RUN, json={**PLAN, "filter": {"statuses": ["running"]}}, headers=OWNER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {i: (instance(client, i), len(history(client, i))) for i in waiting.values()} == before
    assert body["total"] == 3 and body["summary"] == {"listed": 3, "migratable": 2, "not_migratable": 1}
    found = {item["instance_id"]: item for item in body["instances"]}
    [task] = found[waiting["claimed"]]["tasks"]
    assert (task["assignee"], task["lane_after"], task["candidate_groups_after"]) == (
        "an",
        "Trung tâm Phục vụ hành chính công",
        ["ttpvhcc"],
    )
    assert task["due_at_before"] == task["due_at_after"]
    [timer] = found[waiting["legal"]]["timers"]
    assert (timer["outcome"], timer["due_at_before"]) == ("kept", timer["due_at_after"])
    reasons = found[waiting["guided"]]["reasons"]
    assert {r["element_id"] for r in reasons} == {"guide", "guide_overdue"}
    assert all(r["code"] == "element-removed" and r["message_vi"] for r in reasons)

    response = client.post(EXECUTE, json={**PLAN, "instance_ids": list(waiting.values())}, headers=OWNER)
    assert response.status_code == 200, response.text
    results = {r["instance_id"]: r for r in response.json()["results"]}
    assert {i: r["status"] for i, r in results.items()} == {
        waiting["claimed"]: "migrated",
        waiting["legal"]: "migrated",
        waiting["guided"]: "refused",
    }
    assert [instance(client, i)["process_version"] for i in waiting.values()] == [2, 2, 1]
    legal = open_task(client, waiting["legal"], "legal_appraisal")
    assert (legal["name"], legal["assignee"], legal["status"]) == ("Thẩm định cơ chế, chính sách", "duc", "claimed")
    assert open_task(client, waiting["guided"], "guide")["status"] == "open"

    # the claimed instance goes on: its assignee classifies, then the step version 2 added, then to the end
    claimed = waiting["claimed"]
    act(
        client,
        claimed,
        "classify",
        SKHCN,
        resolution_path="escalate",
        classification_note="Cần UBND quyết định",
        needs_legal_review=False,
        needs_htkc_opinion=False,
        needs_funding=False,
    )
    act(client, claimed, "check_completeness", SKHCN, dossier_complete=True, completeness_note="Đủ tài liệu")
    propose_to_decision(client, claimed)
    decide(client, claimed, "approve")
    close(client, claimed)
    kinds = [e["kind"] for e in history(client, claimed)]
    assert "instance_migrated" in kinds and kinds[-1] == "instance_completed"
    steps = [e["element_id"] for e in history(client, claimed) if e["kind"] == "task_completed"]
    assert steps[:2] == ["classify", "check_completeness"]

    audit = client.get("/api/v1/audit", params={"kind": "instances_migrated"}, headers=OWNER)
    assert audit.status_code == 200, audit.text
    [event] = audit.json()["items"]
    assert event["process_key"] == "escalation" and event["actor"] == "owner"
    assert event["data"]["summary"] == {"migrated": 2, "refused": 1, "failed": 0}
    assert sorted(event["data"]["migrated"]) == sorted([waiting["claimed"], waiting["legal"]])


def test_an_unclaimed_task_moves_to_the_new_lane(client: TestClient, waiting: dict[str, str]) -> None:
    started = client.post(
        INSTANCES,
        json={"process_key": "escalation", "version": 1, "variables": {**REPORT, "urgent": False}},
        headers=REPORTER,
    )
    assert started.status_code == 201, started.text
    fresh = started.json()["id"]
    newer = report(client, urgent=False)  # starts on version 2, the latest: not what the plan moves
    response = client.post(EXECUTE, json={**PLAN, "instance_ids": [fresh, newer]}, headers=ADMIN)
    assert response.status_code == 200 and response.json()["summary"] == {"migrated": 1, "refused": 1, "failed": 0}
    refused = next(r for r in response.json()["results"] if r["status"] == "refused")
    assert (refused["instance_id"], refused["reasons"][0]["code"]) == (newer, "not-on-source-version")
    task = open_task(client, fresh, "classify")
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=SKHCN).status_code == 403
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=ONE_STOP).status_code == 200


def test_who_may_migrate_and_what_is_refused(client: TestClient, waiting: dict[str, str]) -> None:
    assert_problem(client.post(DRY_RUN, json=PLAN, headers=SKHCN), 403, "forbidden")
    assert_problem(
        client.post(EXECUTE, json={**PLAN, "instance_ids": [waiting["claimed"]]}, headers=SKHCN), 403, "forbidden"
    )
    assert_problem(client.post(DRY_RUN, json={**PLAN, "to_version": 7}, headers=OWNER), 404, "definition-not-found")
    assert_problem(
        client.post(DRY_RUN, json={**PLAN, "process_key": "khong_co"}, headers=OWNER), 404, "definition-not-found"
    )
    body = assert_problem(
        client.post(
            DRY_RUN,
            json={**PLAN, "mapping": {"legal_review": "legal_opinion", "no_such_step": "classify"}},
            headers=OWNER,
        ),
        422,
        "invalid-migration-plan",
    )
    assert {(p["source_id"], p["target_id"]) for p in body["problems"]} == {
        ("legal_review", "legal_opinion"),
        ("no_such_step", "classify"),
    }
    assert body["detail_vi"].startswith("Kế hoạch chuyển phiên bản")
    assert_problem(client.post(EXECUTE, json=PLAN, headers=OWNER), 422, "invalid-request")  # instance_ids required
    assert_problem(client.post(EXECUTE, json={**PLAN, "instance_ids": []}, headers=OWNER), 422, "invalid-request")
    assert_problem(
        client.post(DRY_RUN, json={**PLAN, "filter": {"statuses": ["sleeping"]}}, headers=OWNER), 422, "invalid-request"
    )
    unknown = client.post(EXECUTE, json={**PLAN, "instance_ids": ["not-an-id"]}, headers=OWNER)
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()["results"][0]["reasons"][0]["code"] == "instance-not-found"
    assert client.get(f"{INSTANCES}/{waiting['claimed']}", headers=ADMIN).json()["process_version"] == 1
