"""POST/GET /api/v1/process-definitions: versioned deploys, role checks, invalid and hostile uploads, size limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.app import create_app
from phoihop.engine.clock import FakeClock
from phoihop.settings import Settings

from .calls import ADMIN, DEFINITIONS, OWNER, SKHCN, assert_problem, bpmn, upload

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true"><bpmn:documentation>&e;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">'
    b'<bpmn:process id="p"><bpmn:documentation>&lol9;</bpmn:documentation></bpmn:process>'
    b"</bpmn:definitions>"
)


def listed(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get(DEFINITIONS, headers=SKHCN)
    assert response.status_code == 200, response.text
    return {d["key"]: d for d in response.json()}


def test_deploy_returns_key_version_and_hash(client: TestClient) -> None:
    response = upload(client, ("four_tasks.bpmn", bpmn("four_tasks.bpmn")))

    assert response.status_code == 201, response.text
    [deployed] = response.json()
    assert deployed["key"] == "four_tasks"
    assert deployed["version"] == 1
    assert deployed["name"] == "Bốn bước"
    assert deployed["created"] is True
    assert len(deployed["content_hash"]) >= 32


def test_same_content_keeps_the_version_and_changed_content_makes_version_2(client: TestClient) -> None:
    first = upload(client, ("four_tasks.bpmn", bpmn("four_tasks.bpmn"))).json()[0]

    again = upload(client, ("four_tasks.bpmn", bpmn("four_tasks.bpmn")))
    assert again.status_code in (200, 201), again.text
    assert again.json() == [{**first, "created": False}]

    changed = bpmn("four_tasks.bpmn").replace("Phân loại".encode(), "Phân loại hồ sơ".encode())
    second = upload(client, ("four_tasks.bpmn", changed))
    assert second.status_code == 201, second.text
    [v2] = second.json()
    assert (v2["key"], v2["version"], v2["created"]) == ("four_tasks", 2, True)
    assert v2["content_hash"] != first["content_hash"]

    definition = listed(client)["four_tasks"]
    assert definition["latest_version"] == 2
    assert [(v["version"], v["content_hash"], v["status"], v["deployed_by"]) for v in definition["versions"]] == [
        (1, first["content_hash"], "active", "owner"),
        (2, v2["content_hash"], "active", "owner"),
    ]


def test_one_file_with_two_processes_deploys_both(client: TestClient) -> None:
    response = upload(client, ("messages.bpmn", bpmn("messages.bpmn")))

    assert response.status_code == 201, response.text
    assert sorted((d["key"], d["version"]) for d in response.json()) == [("report_intake", 1), ("supplement_flow", 1)]
    assert set(listed(client)) == {"report_intake", "supplement_flow"}


def test_admin_may_deploy(client: TestClient) -> None:
    response = upload(client, ("loop.bpmn", bpmn("loop.bpmn")), headers=ADMIN)

    assert response.status_code == 201, response.text
    assert "looped" in listed(client)


def test_deploy_needs_the_process_owner_role(client: TestClient) -> None:
    response = upload(client, ("four_tasks.bpmn", bpmn("four_tasks.bpmn")), headers=SKHCN)

    body = assert_problem(response, 403, "forbidden")
    assert "process-owner" in body["required_roles"]
    assert body["detail_vi"]
    assert listed(client) == {}


@pytest.mark.sqlite_only("no token: refused before any SQL runs")
def test_listing_needs_authentication(client: TestClient) -> None:
    assert_problem(client.get(DEFINITIONS), 401, "unauthenticated")


def test_malformed_xml_is_422_with_the_line(client: TestClient) -> None:
    broken = bpmn("four_tasks.bpmn").replace(b"</bpmn:process>", b"")

    body = assert_problem(upload(client, ("broken.bpmn", broken)), 422, "invalid-bpmn")

    assert body["problems"], body
    assert body["problems"][0]["file"] == "broken.bpmn"
    assert isinstance(body["problems"][0].get("line"), int)
    assert listed(client) == {}


def test_lane_naming_no_agency_deploys_with_a_warning_naming_every_task(client: TestClient) -> None:
    # issue 12: no longer refused; admins and leads act on such tasks, and strict mode still refuses them
    unknown = bpmn("four_tasks.bpmn").replace("Sở Khoa học và Công nghệ".encode(), "Phòng Không Tồn Tại".encode())

    response = upload(client, ("four_tasks.bpmn", unknown))

    assert response.status_code == 201, response.text
    (deployed,) = response.json()
    warned = {w["element_id"] for w in deployed["warnings"] if w["code"] == "no-one-can-act"}
    assert warned == {"t1", "t2", "t3", "t4"}


def test_one_bad_file_fails_the_whole_deployment(client: TestClient) -> None:
    response = upload(client, ("four_tasks.bpmn", bpmn("four_tasks.bpmn")), ("bad.bpmn", b"<not-closed>"))

    assert_problem(response, 422, "invalid-bpmn")
    assert listed(client) == {}


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([("a.bpmn", "four_tasks.bpmn"), ("a.bpmn", "loop.bpmn")], "same name"),
        ([("a.bpmn", "four_tasks.bpmn"), ("b.bpmn", "four_tasks.bpmn")], "Duplicate process ID"),
        ([("ghi_chu.txt", "four_tasks.bpmn")], "unsupported file type"),
    ],
    ids=["same-file-name", "same-process-id", "not-bpmn"],
)
def test_conflicting_or_foreign_files_are_422(client: TestClient, files: list[tuple[str, str]], reason: str) -> None:
    response = upload(client, *[(name, bpmn(fixture)) for name, fixture in files])

    body = assert_problem(response, 422, "invalid-bpmn")
    assert any(reason in p["reason"] for p in body["problems"]), body
    assert listed(client) == {}


def test_upload_without_files_is_422(client: TestClient) -> None:
    body = assert_problem(client.post(DEFINITIONS, headers=OWNER), 422, "invalid-request")
    assert "files" in body["detail"]


@pytest.mark.parametrize("content", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_entity_declarations_are_refused_and_never_echoed(client: TestClient, content: bytes) -> None:
    response = upload(client, ("evil.bpmn", content))

    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code, "unsafe-xml")
    assert "root:" not in response.text
    assert "/etc/passwd" not in response.text
    assert "lollol" not in response.text
    assert "<!ENTITY" not in response.text and "SYSTEM" not in response.text
    assert listed(client) == {}


def test_an_iso_8859_1_upload_deploys_and_bytes_that_are_not_what_they_declare_are_a_problem(
    client: TestClient,
) -> None:
    latin1 = (
        bpmn("four_tasks.bpmn")
        .decode("utf-8")
        .encode("latin-1", errors="replace")
        .replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    )
    response = upload(client, ("latin1.bpmn", latin1))
    assert response.status_code == 201, response.text  # issue 12: legal XML in another encoding

    response = upload(client, ("ascii.bpmn", latin1.replace(b'encoding="ISO-8859-1"', b'encoding="US-ASCII"')))
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


@pytest.fixture
def small_upload_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"max_upload_bytes": 2_000})
    with TestClient(create_app(limited, clock=clock, upgrade_schema=False), raise_server_exceptions=False) as client:
        yield client


def test_upload_over_the_limit_is_413(small_upload_client: TestClient) -> None:
    content = bpmn("four_tasks.bpmn") + b"<!-- " + b"x" * 5_000 + b" -->"

    body = assert_problem(upload(small_upload_client, ("four_tasks.bpmn", content)), 413, "payload-too-large")

    assert body["limit"] == 2_000
    assert listed(small_upload_client) == {}


def test_upload_under_the_limit_still_deploys(small_upload_client: TestClient) -> None:
    minimal = (
        b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        b' id="D" targetNamespace="http://x"><bpmn:process id="tiny" isExecutable="true">'
        b'<bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>'
        b'<bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>'
        b'<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process></bpmn:definitions>'
    )

    response = upload(small_upload_client, ("tiny.bpmn", minimal))

    assert response.status_code == 201, response.text
    assert response.json()[0]["key"] == "tiny"
