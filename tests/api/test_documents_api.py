"""Documents on cases and tasks over REST: upload (kind sniffed from the bytes), list newest first, download as an
attachment, delete with a reason (kept), the case history, agency rules, hostile uploads that store nothing, and the
digital signatures of a PDF signed by a throw-away certificate authority. Both content stores run: the folder on
SQLite, the database on PostgreSQL (the default of each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from phoihop.engine.container import EngineContainer
from phoihop.engine.store.documents import FolderStore
from phoihop.engine.store.tables import document_content_table
from phoihop.settings import Settings
from tests import document_files as files

from .calls import ADMIN, INSTANCES, PORTAL, SKHCN, SKHCN_2, SKHCN_LEAD, STP, assert_problem, deploy, start

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def trusted_ca() -> files.Authority:
    return files.authority()


@pytest.fixture
def settings(settings: Settings, trusted_ca: files.Authority, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A 1 MB limit (PHOIHOP_DOCUMENT_MAX_MB) and the test's CA as the one trusted root."""
    roots = tmp_path_factory.getbasetemp() / "documents-trust-roots.pem"
    roots.write_bytes(trusted_ca.ca_pem)
    return settings.model_copy(update={"document_max_mb": 1, "signature_trust_roots": roots})


def case(client: TestClient) -> dict[str, Any]:
    deploy(client, "four_tasks.bpmn")
    return start(client, "four_tasks")


def add(
    client: TestClient,
    instance_id: str,
    name: str,
    content: bytes,
    *,
    headers: dict[str, str] = SKHCN,
    sent_type: str = "application/octet-stream",
    **form: str,
) -> Response:
    return client.post(
        f"{INSTANCES}/{instance_id}/documents", files={"file": (name, content, sent_type)}, data=form, headers=headers
    )


def added(client: TestClient, instance_id: str, name: str, content: bytes, **form: str) -> dict[str, Any]:
    response = add(client, instance_id, name, content, **form)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(client: TestClient, instance_id: str, headers: dict[str, str] = SKHCN) -> list[dict[str, Any]]:
    response = client.get(f"{INSTANCES}/{instance_id}/documents", headers=headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def history_kinds(client: TestClient, instance_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN)
    assert response.status_code == 200, response.text
    return [e for e in response.json() if e["kind"].startswith("document_")]


def stored_contents(container: EngineContainer) -> int:
    """How many files the content store holds (the folder's files, or the document_content rows)."""
    store = container.documents.content
    if isinstance(store, FolderStore):
        return sum(1 for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else 0
    with container.db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(document_content_table)).scalar_one())


def test_upload_list_download_and_history(client: TestClient, app_container: EngineContainer) -> None:
    instance = case(client)
    task_id = instance["open_tasks"][0]["id"]
    pdf = files.pdf()
    first = added(client, instance["id"], "don-de-nghi.pdf", pdf, title="Đơn đề nghị", task_id=task_id)
    assert first["content_type"] == "application/pdf"
    assert first["size"] == len(pdf)
    assert first["task_id"] == task_id
    assert first["title"] == "Đơn đề nghị"
    assert first["added_by"] == "an"
    assert first["added_by_agencies"] == ["skhcn"]
    assert first["deleted_at"] is None
    import hashlib

    assert first["sha256"] == hashlib.sha256(pdf).hexdigest()
    docx = files.docx()
    second = added(client, instance["id"], "C:\\hồ sơ\\Tờ trình.docx", docx)
    assert second["name"] == "Tờ trình.docx" and second["title"] == "Tờ trình.docx"  # path parts dropped
    assert second["content_type"] == DOCX

    assert [d["id"] for d in listed(client, instance["id"])] == [second["id"], first["id"]]  # newest first
    download = client.get(f"/api/v1/documents/{second['id']}/content", headers=SKHCN_2)
    assert download.status_code == 200
    assert download.content == docx
    assert download.headers["content-type"] == DOCX
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''T%E1%BB%9D%20tr%C3%ACnh.docx" in disposition
    assert 'filename="To trinh.docx"' in disposition
    events = history_kinds(client, instance["id"])
    assert [(e["kind"], e["actor"], e["data"]["document_id"]) for e in events] == [
        ("document_added", "an", first["id"]),
        ("document_added", "an", second["id"]),
    ]
    assert events[0]["data"]["task_id"] == task_id and events[0]["data"]["sha256"] == first["sha256"]
    assert stored_contents(app_container) == 2


def test_the_kind_comes_from_the_bytes_not_the_name(client: TestClient) -> None:
    instance = case(client)
    kinds = {
        "bang.pdf": (files.xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "van-ban.odt": (files.odt(), "application/vnd.oasis.opendocument.text"),
        "anh.pdf": (files.png(), "image/png"),
        "nen.docx": (files.plain_zip(), "application/zip"),
    }
    for name, (content, expected) in kinds.items():
        assert added(client, instance["id"], name, content)["content_type"] == expected, name


def test_hostile_uploads_get_a_problem_and_store_nothing(client: TestClient, app_container: EngineContainer) -> None:
    instance = case(client)
    hostile = [
        ("trang.html", files.HTML, 415, "unsupported-document"),
        ("hinh.svg", files.SVG, 415, "unsupported-document"),
        ("don.pdf", files.HTML, 415, "unsupported-document"),  # a PDF's name, an HTML page's bytes
        ("bom.zip", files.zip_bomb(), 422, "document-rejected"),
        ("lon.pdf", files.pdf() + b"%" * (1024 * 1024), 413, "document-too-large"),
        ("rong.pdf", b"", 422, "document-rejected"),
    ]
    for name, content, status, code in hostile:
        body = assert_problem(add(client, instance["id"], name, content, sent_type="application/pdf"), status, code)
        assert body["detail_vi"] and body["detail_vi"] != body["detail"], name
    assert listed(client, instance["id"]) == []
    assert history_kinds(client, instance["id"]) == []
    assert stored_contents(app_container) == 0


def test_another_agency_can_neither_see_nor_add(client: TestClient) -> None:
    instance = case(client)
    document = added(client, instance["id"], "a.pdf", files.pdf())
    assert_problem(client.get(f"{INSTANCES}/{instance['id']}/documents", headers=STP), 403, "forbidden")
    assert_problem(add(client, instance["id"], "b.pdf", files.pdf(), headers=STP), 403, "forbidden")
    for path in ("", "/content", "/signatures"):
        assert_problem(client.get(f"/api/v1/documents/{document['id']}{path}", headers=STP), 403, "forbidden")
    assert_problem(
        client.request("DELETE", f"/api/v1/documents/{document['id']}", json={"reason": "x"}, headers=STP), 403
    )
    assert_problem(client.get("/api/v1/documents/not-an-id/content", headers=SKHCN), 404, "document-not-found")
    assert_problem(add(client, "0190f1e2-0000-7000-8000-000000000000", "a.pdf", files.pdf()), 404, "instance-not-found")
    assert_problem(
        add(client, instance["id"], "a.pdf", files.pdf(), task_id="0190f1e2-0000-7000-8000-000000000000"),
        404,
        "task-not-found",
    )
    assert len(listed(client, instance["id"], headers=PORTAL)) == 1  # an integrator follows every case


def test_delete_keeps_the_document_with_who_and_why(client: TestClient) -> None:
    instance = case(client)
    mine = added(client, instance["id"], "a.pdf", files.pdf())
    other = added(client, instance["id"], "b.png", files.png())
    path = f"/api/v1/documents/{mine['id']}"
    assert_problem(client.request("DELETE", path, json={"reason": ""}, headers=SKHCN), 422)
    assert_problem(client.request("DELETE", path, json={"reason": "nhầm"}, headers=SKHCN_2), 403, "forbidden")

    response = client.request("DELETE", path, json={"reason": "Nộp nhầm tệp"}, headers=SKHCN)
    assert response.status_code == 200, response.text
    assert response.json()["delete_reason"] == "Nộp nhầm tệp" and response.json()["deleted_by"] == "an"
    assert_problem(client.request("DELETE", path, json={"reason": "lần nữa"}, headers=SKHCN), 409, "document-deleted")
    by_lead = client.post(f"/api/v1/documents/{other['id']}/delete", json={"reason": "Trùng"}, headers=SKHCN_LEAD)
    assert by_lead.status_code == 200, by_lead.text

    kept = {d["id"]: d for d in listed(client, instance["id"])}
    assert kept[mine["id"]]["deleted_at"] is not None and kept[other["id"]]["deleted_by"] == "cuong"
    assert client.get(f"{path}/content", headers=SKHCN).content == files.pdf()  # never a silent loss
    deleted = [e for e in history_kinds(client, instance["id"]) if e["kind"] == "document_deleted"]
    assert [(e["actor"], e["data"]) for e in deleted] == [
        ("an", {"document_id": mine["id"], "reason": "Nộp nhầm tệp"}),
        ("cuong", {"document_id": other["id"], "reason": "Trùng"}),
    ]


def test_signatures_of_a_signed_pdf(client: TestClient, trusted_ca: files.Authority) -> None:
    instance = case(client)
    signed = files.signed_pdf(trusted_ca)
    document = added(client, instance["id"], "quyet-dinh.pdf", signed)
    assert document["signature_count"] == 1
    [signature] = client.get(f"/api/v1/documents/{document['id']}/signatures", headers=SKHCN).json()
    assert signature["signer"] == "Nguyen Van An"
    assert signature["signed_at"] is not None
    assert (signature["intact"], signature["valid"], signature["unchanged"], signature["trusted"]) == (
        True,
        True,
        True,
        True,
    )
    assert signature["coverage"] == "entire_file"

    stranger = added(client, instance["id"], "la.pdf", files.signed_pdf(files.authority("CA la", "Tran Thi B")))
    [untrusted] = client.get(f"/api/v1/documents/{stranger['id']}/signatures", headers=SKHCN).json()
    assert (untrusted["signer"], untrusted["valid"], untrusted["trusted"]) == ("Tran Thi B", True, False)

    at = signed.index(b"Ho so thu")  # the page's text, inside the signed bytes
    altered = added(client, instance["id"], "sua.pdf", signed[:at] + b"Jo" + signed[at + 2 :])
    [broken] = client.get(f"/api/v1/documents/{altered['id']}/signatures", headers=SKHCN).json()
    assert (broken["intact"], broken["valid"], broken["unchanged"]) == (False, False, False)

    unsigned = added(client, instance["id"], "b.docx", files.docx())
    assert client.get(f"/api/v1/documents/{unsigned['id']}/signatures", headers=SKHCN).json() == []


def test_the_storage_setting_picks_the_back_end(tmp_path: Path) -> None:
    from phoihop.engine.container import _content_store
    from phoihop.engine.store.database import Database
    from phoihop.engine.store.documents import DatabaseStore

    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        folder = _content_store(db, None, None)
        assert isinstance(folder, FolderStore) and folder.root == tmp_path / "documents"
        assert isinstance(_content_store(db, "database", None), DatabaseStore)
        assert isinstance(_content_store(db, "folder", tmp_path / "f"), FolderStore)
    finally:
        db.dispose()
