"""GET /api/v1/tasks/{id} shows the earlier answers a task form names in "x-show-earlier" and the case's start-form
answers, labelled and formatted for an officer; completing it over the API never defaults an earlier answer away."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.calls import HTKC, SKHCN, STP, TASKS, complete, instance, open_tasks, start, upload

FIXTURES = Path(__file__).parent.parent / "fixtures" / "show_earlier"


def test_a_task_shows_the_earlier_answers_its_form_names(client: TestClient) -> None:
    response = upload(client, *((p.name, p.read_bytes()) for p in sorted(FIXTURES.iterdir())))
    assert response.status_code == 201, response.text
    started = start(
        client,
        "de_xuat",
        variables={
            "title": "Đề xuất hỗ trợ thử nghiệm",
            "applicant": {"name": "Công ty Cổ phần A", "representative": "Nguyễn Văn B"},
            "amount": 600_000_000,
            "needs_funding": True,
            "received_on": "2026-12-07",
            "sector": "khcn",
        },
    )
    complete(
        client,
        open_tasks(client, started["id"])["y_kien"]["id"],
        STP,
        legal_opinion="Phù hợp quy định",
        legal_result="agree",
    )
    task_id = open_tasks(client, started["id"])["quyet_dinh"]["id"]

    task = client.get(f"{TASKS}/{task_id}", headers=SKHCN).json()
    assert [(a["field"], a["label"], a["text"]) for a in task["earlier"]] == [
        ("legal_result", "Kết luận", "Đồng ý"),
        ("legal_opinion", "Ý kiến pháp lý", "Phù hợp quy định"),
        ("amount", "Kinh phí đề nghị", "600.000.000 đồng"),
        ("needs_funding", "Cần kinh phí", "Có"),
    ]
    assert task["earlier"][0]["form_title"] == "Ý kiến pháp lý của Sở Tư pháp"
    assert task["earlier"][2]["value"] == 600_000_000
    summary = {a["field"]: a["text"] for a in task["summary"]}
    assert summary == {
        "applicant": "Tên tổ chức: Công ty Cổ phần A; Người đại diện: Nguyễn Văn B",
        "title": "Đề xuất hỗ trợ thử nghiệm",
        "received_on": "07/12/2026",
        "sector": "Khoa học và công nghệ",
    }
    assert task["values"] == {"needs_funding": True}  # the form starts from the earlier answer, not its default
    assert client.get(f"{TASKS}/{task_id}", headers=HTKC).status_code == 403  # another agency sees nothing

    complete(client, task_id, SKHCN, decision="Đồng ý hỗ trợ")  # needs_funding left out: not defaulted to false
    assert instance(client, started["id"])["variables"]["needs_funding"] is True
