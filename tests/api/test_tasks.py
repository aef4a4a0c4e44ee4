"""/api/v1/tasks: listing with filters, task details, claim/unclaim/complete rules, parallel join, exclusive routing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests.conftest import auth

from .calls import (
    ADMIN,
    HTKC,
    SKHCN,
    SKHCN_2,
    SKHCN_LEAD,
    STP,
    TASKS,
    UBND,
    assert_problem,
    complete,
    deploy,
    instance,
    open_tasks,
    start,
    task_list,
)


def claim(client: TestClient, task_id: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(f"{TASKS}/{task_id}/claim", headers=headers)


def first_task(client: TestClient, process_key: str, **body: Any) -> tuple[str, str]:
    started = start(client, process_key, **body)
    return started["id"], started["open_tasks"][0]["id"]


def test_list_shows_the_callers_open_tasks_with_paging(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    deploy(client, "parallel.bpmn")
    ids = []
    for _ in range(3):
        ids.append(first_task(client, "four_tasks")[1])
        clock.advance(timedelta(minutes=1))
    receive = first_task(client, "parallel_review")[1]

    page = task_list(client, SKHCN)
    assert page["total"] == 4
    assert [t["id"] for t in page["items"]] == [receive, *ids]  # due date first, then oldest first
    assert {t["status"] for t in page["items"]} == {"open"}
    assert task_list(client, STP) == {
        "total": 0,
        "limit": 50,
        "offset": 0,
        "items": [],
        "has_more": False,
        "total_capped": False,
        "next_cursor": None,
    }
    first = task_list(client, SKHCN, limit=2)
    assert (first["total"], first["has_more"], [t["id"] for t in first["items"]]) == (4, True, [receive, ids[0]])
    second = task_list(client, SKHCN, limit=2, offset=2)
    assert (second["total"], second["has_more"], [t["id"] for t in second["items"]]) == (4, False, ids[1:])
    assert second["next_cursor"] is None
    # the keyset page: the tasks after the first page's last one, the same as the offset page
    after = task_list(client, SKHCN, limit=2, after=first["next_cursor"])
    assert (after["has_more"], after["next_cursor"], after["items"]) == (False, None, second["items"])
    body = assert_problem(client.get(TASKS, params={"after": "bm90IGEgY3Vyc29y"}, headers=SKHCN), 422, "invalid-input")
    assert body["field"] == "after"


def test_filters_process_instance_group_status_and_assignee(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    deploy(client, "parallel.bpmn")
    four_id, t1 = first_task(client, "four_tasks")
    _, other_t1 = first_task(client, "four_tasks")
    par_id, receive = first_task(client, "parallel_review")
    claim(client, t1, SKHCN).raise_for_status()
    complete(client, receive, SKHCN_2)

    def ids(headers: dict[str, str], **params: object) -> set[str]:
        return {t["id"] for t in task_list(client, headers, **params)["items"]}

    legal, board = open_tasks(client, par_id)["legal"]["id"], open_tasks(client, par_id)["board"]["id"]
    assert ids(SKHCN, process_key="four_tasks") == {t1, other_t1}
    assert ids(SKHCN, instance_id=four_id) == {t1}
    assert ids(SKHCN, assignee="me") == {t1}
    assert ids(SKHCN_2, assignee="me") == set()
    assert ids(SKHCN, status="claimed") == {t1}
    assert ids(SKHCN, status="open") == {other_t1}
    assert ids(SKHCN_2, status="completed") == {receive}
    assert ids(SKHCN, status="completed") == {receive}
    assert ids(ADMIN, candidate_group="stp") == {legal}
    assert ids(ADMIN, candidate_group="htkc") == {board}
    assert ids(ADMIN, candidate_group="skhcn") == {t1, other_t1}
    assert ids(ADMIN) == {t1, other_t1, legal, board}
    assert ids(SKHCN, candidate_group="stp") == set()
    assert ids(SKHCN, instance_id="khong-ton-tai") == set()


def test_list_refuses_unknown_filter_values(client: TestClient) -> None:
    assert_problem(client.get(TASKS, params={"status": "done"}, headers=SKHCN), 422, "invalid-request")
    # assignee is "me" or a person's id (phân công: GET /api/v1/tasks?assignee=an); a longer one names nobody
    assert_problem(client.get(TASKS, params={"assignee": "a" * 201}, headers=SKHCN), 422, "invalid-request")


def test_task_details(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "parallel.bpmn")
    deploy(client, "four_tasks.bpmn")
    _, receive = first_task(client, "parallel_review")
    clock.advance(timedelta(minutes=30))
    _, t1 = first_task(client, "four_tasks")

    task = client.get(f"{TASKS}/{receive}", headers=SKHCN).json()
    assert {
        k: task[k]
        for k in (
            "name",
            "element_id",
            "lane",
            "candidate_groups",
            "candidate_users",
            "assignee",
            "status",
            "process_key",
            "created_at",
            "due_at",
            "documentation",
        )
    } == {
        "name": "Tiếp nhận và phân loại",
        "element_id": "receive",
        "lane": "skhcn",
        "candidate_groups": ["skhcn"],
        "candidate_users": [],
        "assignee": None,
        "status": "open",
        "process_key": "parallel_review",
        "created_at": "2026-01-05T08:00:00Z",
        "due_at": "2026-01-10T08:00:00Z",
        "documentation": None,
    }
    four = client.get(f"{TASKS}/{t1}", headers=SKHCN).json()
    assert (four["documentation"], four["lane"], four["due_at"]) == (
        "Tiếp nhận hồ sơ",
        "Sở Khoa học và Công nghệ",
        None,
    )
    assert four["created_at"] == "2026-01-05T08:30:00Z"


def test_unknown_task_is_404(client: TestClient) -> None:
    for method, path in (("GET", ""), ("POST", "/claim"), ("POST", "/unclaim"), ("POST", "/complete")):
        response = client.request(method, f"{TASKS}/00000000-0000-0000-0000-000000000000{path}", headers=SKHCN)
        assert assert_problem(response, 404, "task-not-found")["task_id"] == "00000000-0000-0000-0000-000000000000"


def test_claim_then_a_second_claimer_gets_409(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    _, t1 = first_task(client, "four_tasks")
    clock.advance(timedelta(minutes=3))

    response = claim(client, t1, SKHCN)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["assignee"], body["claimed_at"]) == ("claimed", "an", "2026-01-05T08:03:00Z")
    assert claim(client, t1, SKHCN).json()["status"] == "claimed"  # the assignee again: no-op
    conflict = assert_problem(claim(client, t1, SKHCN_2), 409, "task-already-claimed")
    assert conflict["assignee"] == "an"
    assert client.get(f"{TASKS}/{t1}", headers=SKHCN_2).json()["assignee"] == "an"


def test_claim_outside_the_candidates_is_403(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    _, t1 = first_task(client, "four_tasks")

    body = assert_problem(claim(client, t1, STP), 403, "not-candidate")

    assert body["candidate_groups"] == ["skhcn"]
    assert client.get(f"{TASKS}/{t1}", headers=SKHCN).json()["status"] == "open"


def test_unclaim_by_the_assignee_or_a_lead(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    _, t1 = first_task(client, "four_tasks")
    claim(client, t1, SKHCN).raise_for_status()

    assert_problem(client.post(f"{TASKS}/{t1}/unclaim", headers=SKHCN_2), 403, "not-assignee")
    assert_problem(client.post(f"{TASKS}/{t1}/unclaim", headers=STP), 403, "not-candidate")
    released = client.post(f"{TASKS}/{t1}/unclaim", headers=SKHCN)
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["assignee"], released.json()["claimed_at"]) == (
        "open",
        None,
        None,
    )
    claim(client, t1, SKHCN_2).raise_for_status()
    by_lead = client.post(f"{TASKS}/{t1}/unclaim", headers=SKHCN_LEAD)
    assert (by_lead.status_code, by_lead.json()["status"]) == (200, "open")
    kinds = [
        e["kind"]
        for e in client.get(f"/api/v1/process-instances/{by_lead.json()['instance_id']}/history", headers=ADMIN).json()
        if e["kind"].startswith("task_")
    ]
    assert kinds == ["task_claimed", "task_unclaimed", "task_claimed", "task_unclaimed"]


def test_complete_claims_implicitly_and_opens_the_next_task(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    instance_id, t1 = first_task(client, "four_tasks")
    clock.advance(timedelta(hours=2))

    response = complete(client, t1, SKHCN, ket_luan="đủ")

    done = response.json()
    assert (done["status"], done["assignee"], done["completed_by"]) == ("completed", "an", "an")
    assert done["completed_at"] == "2026-01-05T10:00:00Z"
    after = instance(client, instance_id)
    assert [t["element_id"] for t in after["open_tasks"]] == ["t2"]
    assert after["variables"] == {"ket_luan": "đủ"}
    assert [t["element_id"] for t in task_list(client, SKHCN)["items"]] == ["t2"]


def test_an_implicit_claim_is_recorded_like_a_claim(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    _, t1 = first_task(client, "four_tasks")
    clock.advance(timedelta(hours=1))

    done = complete(client, t1, SKHCN).json()

    assert done["claimed_at"] == done["completed_at"] == "2026-01-05T09:00:00Z"


def test_the_completed_task_is_the_row_the_database_holds(client: TestClient, clock: FakeClock) -> None:
    """The completion answers the row as its UPDATE … RETURNING left it: the same as reading the task afterwards,
    with the claim time of an earlier claim kept."""
    deploy(client, "four_tasks.bpmn")
    _, t1 = first_task(client, "four_tasks")
    assert claim(client, t1, SKHCN).status_code == 200
    clock.advance(timedelta(hours=1))

    done = complete(client, t1, SKHCN, ket_luan="đủ").json()
    done.pop("next_tasks")

    read = client.get(f"{TASKS}/{t1}", headers=SKHCN).json()
    assert done == {
        k: v
        for k, v in read.items()
        if k not in ("form", "values", "returned", "draft", "approval", "earlier", "summary")
    }
    assert (done["claimed_at"], done["completed_at"]) == ("2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z")


def test_complete_answers_the_next_tasks_as_the_inbox_lists_them(client: TestClient, clock: FakeClock) -> None:
    """A client walks an instance with one request per step: each complete answers the next task, the very row the
    inbox lists (same fields, same values), until the end answers none."""
    deploy(client, "four_tasks.bpmn")
    instance_id, task_id = first_task(client, "four_tasks")
    walked = []
    for step in ("t1", "t2", "t3", "t4"):
        clock.advance(timedelta(minutes=10))
        done = complete(client, task_id, SKHCN, **{f"buoc_{step}": True}).json()
        walked.append(done["element_id"])
        if step == "t4":
            assert done["next_tasks"] == []
            break
        inbox = task_list(client, SKHCN, instance_id=instance_id)["items"]
        assert done["next_tasks"] == inbox
        assert [t["status"] for t in inbox] == ["open"]
        task_id = done["next_tasks"][0]["id"]

    assert walked == ["t1", "t2", "t3", "t4"]
    assert instance(client, instance_id)["status"] == "completed"


def test_next_tasks_leave_out_the_tasks_of_other_agencies(client: TestClient) -> None:
    """The next tasks are those in the caller's inbox: the receiving officer does not see the two agencies' branches
    that its complete opened; an officer of one branch does not see the other branch, still open from before, nor the
    city's decision (next test); one who works for both agencies sees the other branch."""
    deploy(client, "parallel.bpmn")
    _, receive = first_task(client, "parallel_review")
    opened = complete(client, receive, SKHCN).json()
    assert opened["next_tasks"] == []

    _, receive_2 = first_task(client, "parallel_review")
    as_admin = complete(client, receive_2, ADMIN).json()["next_tasks"]
    assert sorted((t["element_id"], t["candidate_groups"]) for t in as_admin) == [
        ("board", ["htkc"]),
        ("legal", ["stp"]),
    ]
    legal = next(t for t in as_admin if t["element_id"] == "legal")
    board = next(t for t in as_admin if t["element_id"] == "board")
    both = auth("lan", groups="stp,htkc")
    after_legal = complete(client, legal["id"], both, legal_ok=True).json()["next_tasks"]
    assert after_legal == task_list(client, both, instance_id=legal["instance_id"])["items"]
    assert [t["id"] for t in after_legal] == [board["id"]]  # opened by an earlier command: read in this one


def test_each_branch_officer_is_answered_no_task_of_the_other_agency(client: TestClient) -> None:
    deploy(client, "parallel.bpmn")
    instance_id, receive = first_task(client, "parallel_review")
    complete(client, receive, SKHCN)
    branches = open_tasks(client, instance_id)

    after_legal = complete(client, branches["legal"]["id"], STP, legal_ok=True).json()
    assert after_legal["next_tasks"] == []  # the board's task (htkc) is still open, not STP's
    after_board = complete(client, branches["board"]["id"], HTKC, board_ok=True).json()
    assert after_board["next_tasks"] == []  # the decision is the city's (ubnd)
    assert [t["element_id"] for t in instance(client, instance_id)["open_tasks"]] == ["decide"]


def test_walking_every_task_completes_the_instance(client: TestClient, clock: FakeClock) -> None:
    deploy(client, "four_tasks.bpmn")
    instance_id, _ = first_task(client, "four_tasks")
    for step in ("t1", "t2", "t3", "t4"):
        clock.advance(timedelta(minutes=10))
        complete(client, open_tasks(client, instance_id)[step]["id"], SKHCN, **{f"buoc_{step}": True})

    done = instance(client, instance_id)
    assert (done["status"], done["ended_at"], done["open_tasks"]) == ("completed", "2026-01-05T08:40:00Z", [])
    assert done["variables"] == {"buoc_t1": True, "buoc_t2": True, "buoc_t3": True, "buoc_t4": True}
    assert [e["kind"] for e in client.get(f"/api/v1/process-instances/{instance_id}/history", headers=ADMIN).json()][
        -1
    ] == "instance_completed"


def test_completing_twice_is_409(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    _, t1 = first_task(client, "four_tasks")
    complete(client, t1, SKHCN)

    body = assert_problem(client.post(f"{TASKS}/{t1}/complete", headers=SKHCN), 409, "task-not-open")
    assert body["task_id"] == t1
    assert_problem(client.post(f"{TASKS}/{t1}/claim", headers=SKHCN_2), 409, "task-not-open")
    assert_problem(client.post(f"{TASKS}/{t1}/unclaim", headers=SKHCN), 409, "task-not-open")
    done = client.get(f"{TASKS}/{t1}", headers=SKHCN).json()
    assert (done["status"], done["completed_by"]) == ("completed", "an")


def test_completing_a_task_claimed_by_someone_else_is_403(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    instance_id, t1 = first_task(client, "four_tasks")
    claim(client, t1, SKHCN).raise_for_status()

    body = assert_problem(
        client.post(f"{TASKS}/{t1}/complete", json={"variables": {}}, headers=SKHCN_2), 403, "not-assignee"
    )

    assert body["assignee"] == "an"
    assert [t["element_id"] for t in instance(client, instance_id)["open_tasks"]] == ["t1"]


def test_parallel_join_waits_for_both_branches(client: TestClient) -> None:
    deploy(client, "parallel.bpmn")
    instance_id, receive = first_task(client, "parallel_review")
    complete(client, receive, SKHCN)
    branches = open_tasks(client, instance_id)
    assert set(branches) == {"legal", "board"}
    assert (branches["legal"]["candidate_groups"], branches["board"]["candidate_groups"]) == (["stp"], ["htkc"])

    complete(client, branches["legal"]["id"], STP, legal_ok=True)
    assert set(open_tasks(client, instance_id)) == {"board"}
    assert instance(client, instance_id)["status"] == "running"

    complete(client, branches["board"]["id"], HTKC, board_ok=True)
    assert set(open_tasks(client, instance_id)) == {"decide"}


def walk_to_route(client: TestClient, *, legal_ok: object, board_ok: object) -> str:
    instance_id, receive = first_task(client, "parallel_review")
    complete(client, receive, SKHCN)
    branches = open_tasks(client, instance_id)
    complete(client, branches["legal"]["id"], STP, legal_ok=legal_ok)
    complete(client, branches["board"]["id"], HTKC, board_ok=board_ok)
    return instance_id


def test_both_opinions_positive_route_to_the_city_committee(client: TestClient) -> None:
    deploy(client, "parallel.bpmn")
    instance_id = walk_to_route(client, legal_ok=True, board_ok=True)

    [decide] = instance(client, instance_id)["open_tasks"]
    assert (decide["element_id"], decide["candidate_groups"], decide["candidate_users"]) == (
        "decide",
        ["ubnd"],
        ["chu_tich"],
    )
    assert [t["id"] for t in task_list(client, UBND)["items"]] == [decide["id"]]
    chairman = auth("chu_tich")
    assert [t["id"] for t in task_list(client, chairman)["items"]] == [decide["id"]]
    complete(client, decide["id"], chairman, quyet_dinh="đồng ý")
    assert instance(client, instance_id)["status"] == "completed"


@pytest.mark.parametrize(("legal_ok", "board_ok"), [(True, False), (False, True), (False, False), ("True", True)])
def test_any_negative_opinion_routes_to_a_proposal(client: TestClient, legal_ok: object, board_ok: object) -> None:
    deploy(client, "parallel.bpmn")
    instance_id = walk_to_route(client, legal_ok=legal_ok, board_ok=board_ok)

    [propose] = instance(client, instance_id)["open_tasks"]
    assert (propose["element_id"], propose["candidate_groups"]) == ("propose", ["skhcn"])
    assert task_list(client, UBND)["total"] == 0
    assert instance(client, instance_id)["variables"] == {"legal_ok": legal_ok, "board_ok": board_ok}
