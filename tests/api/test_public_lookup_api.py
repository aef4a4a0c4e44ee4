"""The public dossier lookup over HTTP (no sign-in): the right code and secret answer the dossier's public view, with
no officer and no personal data in it; a wrong secret and a wrong code answer the same 404; each client address is
limited (429 with Retry-After). On SQLite and PostgreSQL.

The fixture (tests/fixtures/public/dossier_lookup.bpmn) receives a dossier (status 2, an appointment), has the
one-stop shop (ttpvhcc) check it (status 4), the processing agency (skhcn) issue an apology letter with a new date,
and waits on the decision."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.dossier import LOOKUP_SECRET_ALPHABET, LOOKUP_SECRET_LENGTH
from phoihop.settings import Settings
from tests.api.calls import ADMIN, INSTANCES, PORTAL, STP, assert_problem, complete, open_tasks, start
from tests.api.calls import upload as upload_files
from tests.conftest import auth, reused_app

FIXTURE = Path(__file__).parent.parent / "fixtures" / "public" / "dossier_lookup.bpmn"
PUBLIC = "/api/v1/public/dossiers"
APPOINTMENT = "2026-01-09T17:00:00+07:00"
NEW_APPOINTMENT = "2026-01-14T17:00:00+07:00"
APPLICANT = {
    "applicant_name": "Nguyễn Văn Người Nộp",
    "applicant_id_number": "001099012345",
    "applicant_email": "nguoinop@example.vn",
}
MOT_CUA = auth("le.motcua", groups="ttpvhcc", name="Lê Thị Một Cửa")
SKHCN = auth("pham.thamdinh", groups="skhcn", roles="officer,lead", name="Phạm Văn Thẩm Định")
OFFICERS = ("le.motcua", "Lê Thị Một Cửa", "pham.thamdinh", "Phạm Văn Thẩm Định")  # who did the steps


def received(client: TestClient) -> dict[str, Any]:
    response = upload_files(client, (FIXTURE.name, FIXTURE.read_bytes()))
    assert response.status_code == 201, response.text
    return start(client, "dossier_lookup", variables={"appointment": APPOINTMENT, **APPLICANT})


def test_the_receipt_secret_opens_the_public_view_without_personal_data(client: TestClient, clock: FakeClock) -> None:
    started = received(client)
    dossier = started["dossier"]
    code, secret = dossier["code"], dossier["lookup_secret"]
    assert len(secret) == LOOKUP_SECRET_LENGTH and set(secret) <= set(LOOKUP_SECRET_ALPHABET)
    # staff and integrators read it on the instance, the listing included; another agency's officer cannot
    assert client.get(f"{INSTANCES}/{started['id']}", headers=ADMIN).json()["dossier"]["lookup_secret"] == secret
    listed = client.get(INSTANCES, params={"dossier_code": code}, headers=PORTAL).json()["items"]
    assert [i["dossier"]["lookup_secret"] for i in listed] == [secret]
    assert client.get(f"{INSTANCES}/{started['id']}", headers=STP).status_code == 403
    # a second dossier gets its own secret
    other = start(client, "dossier_lookup", variables={"appointment": APPOINTMENT, **APPLICANT})
    assert other["dossier"]["lookup_secret"] != secret

    complete(client, open_tasks(client, started["id"])["check"]["id"], MOT_CUA)
    clock.advance(timedelta(hours=2))
    complete(client, open_tasks(client, started["id"])["issue_apology"]["id"], SKHCN, new_appointment=NEW_APPOINTMENT)

    # no sign-in; the secret as printed in groups, lower case, is accepted
    typed = f"{secret[:5].lower()}-{secret[5:].lower()}"
    response = client.get(f"{PUBLIC}/{code}", params={"secret": typed})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["code"] == code
    assert (view["status"], view["status_name_vi"], view["finished"]) == (4, "Đang xử lý", False)
    assert datetime.fromisoformat(view["appointment_at"]) == datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
    (apology,) = view["apologies"]
    assert datetime.fromisoformat(apology["previous_appointment_at"]) == datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
    assert datetime.fromisoformat(apology["new_appointment_at"]) == datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
    assert [(s["name"], s["agency_name_vi"]) for s in view["steps"]] == [
        ("Kiểm tra tính đầy đủ của hồ sơ", "Trung tâm Phục vụ hành chính công thành phố Hà Nội"),
        ("Phát hành phiếu xin lỗi và hẹn lại ngày trả kết quả", "Sở Khoa học và Công nghệ"),
    ]
    assert all(s["completed_at"] is not None for s in view["steps"])
    # the open decision is not a step done; nobody's name, id, e-mail, no variables, no secret, no instance id
    assert set(view) == {
        "code", "status", "status_name_vi", "status_name_en", "finished", "received_at", "appointment_at",
        "finished_at", "apologies", "steps",
    }  # fmt: skip
    text = json.dumps(view, ensure_ascii=False)
    for absent in (*APPLICANT.values(), *OFFICERS, "portal", secret, started["id"], "Quyết định giải quyết"):
        assert absent not in text, absent


@pytest.fixture
def started_dossier(client: TestClient) -> dict[str, Any]:
    dossier: dict[str, Any] = received(client)["dossier"]
    return dossier


def test_a_wrong_secret_and_a_wrong_code_answer_the_same_404(
    client: TestClient, started_dossier: dict[str, Any]
) -> None:
    code, secret = started_dossier["code"], started_dossier["lookup_secret"]
    wrong_secret = "".join(LOOKUP_SECRET_ALPHABET[(LOOKUP_SECRET_ALPHABET.index(c) + 1) % 31] for c in secret)
    wrong_code = code[:-4] + "9999"
    answers = [
        client.get(f"{PUBLIC}/{code}", params={"secret": wrong_secret}),
        client.get(f"{PUBLIC}/{wrong_code}", params={"secret": secret}),
        client.get(f"{PUBLIC}/{wrong_code}", params={"secret": wrong_secret}),
        client.get(f"{PUBLIC}/{code}", params={"secret": ""}),
    ]
    bodies = []
    for response in answers:
        body = assert_problem(response, 404, "dossier-not-found")
        assert body["detail_vi"].startswith("Không tìm thấy hồ sơ")
        assert body.pop("instance") == response.request.url.path  # the path asked for, nothing else differs
        bodies.append(body)
    assert all(body == bodies[0] for body in bodies)
    assert set(bodies[0]) == {"type", "title", "status", "detail", "detail_vi"}
    assert client.get(f"{PUBLIC}/{code}").status_code == 422  # the secret is required


@pytest.fixture
def limited_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"public_lookup_per_minute": 3})
    with TestClient(reused_app(limited, clock), raise_server_exceptions=False) as test_client:
        assert test_client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        yield test_client


def test_lookups_are_limited_per_client_address(limited_client: TestClient) -> None:
    started = received(limited_client)["dossier"]
    url = f"{PUBLIC}/{started['code']}"
    assert limited_client.get(url, params={"secret": started["lookup_secret"]}).status_code == 200
    assert limited_client.get(url, params={"secret": "WRONG"}).status_code == 404
    assert limited_client.get(url, params={"secret": "WRONG"}).status_code == 404
    refused = limited_client.get(url, params={"secret": started["lookup_secret"]})
    body = assert_problem(refused, 429, "too-many-requests")
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    assert body["retry_after"] == int(refused.headers["Retry-After"])
    assert "thử lại sau" in body["detail_vi"]
    # signed-in calls are not counted
    assert limited_client.get(INSTANCES, headers=PORTAL).status_code == 200
