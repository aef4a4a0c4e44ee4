"""Files made by other tools over HTTP (issue 12): a Camunda Form (*.form) uploaded beside the BPMN that names it is the
start form a start is checked against (422 naming the field, nothing written), and its start form is served."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from .calls import ADMIN, DEFINITIONS, INSTANCES, OWNER, PORTAL, assert_problem, open_tasks, start, upload

CORPUS = Path(__file__).parent.parent / "fixtures" / "corpus"
FILES = ("camunda_form.bpmn", "nhan_bao_cao.form", "duyet_bao_cao.form")


def test_a_camunda_form_uploaded_beside_the_bpmn_is_its_start_form(client: TestClient) -> None:
    validated = client.post(
        f"{DEFINITIONS}/validate",
        files=[("files", (name, (CORPUS / name).read_bytes(), "application/json")) for name in FILES],
        headers=OWNER,
    )
    assert validated.status_code == 200 and validated.json()["valid"], validated.text
    assert upload(client, *((name, (CORPUS / name).read_bytes()) for name in FILES)).status_code == 201

    form = client.get(f"{DEFINITIONS}/nop_bao_cao/start-form", headers=OWNER)
    assert form.status_code == 200 and form.json()["form"]["required"] == ["don_vi"], form.text
    refused = client.post(INSTANCES, json={"process_key": "nop_bao_cao", "variables": {}}, headers=PORTAL)
    assert "don_vi" in str(assert_problem(refused, 422))
    assert client.get(INSTANCES, params={"process_key": "nop_bao_cao"}, headers=OWNER).json()["total"] == 0

    created = start(client, "nop_bao_cao", variables={"don_vi": "Sở Tư pháp", "so_trang": 2})
    assert set(open_tasks(client, created["id"])) == {"duyet"}


def test_a_start_event_with_the_id_start_is_refused_at_deploy_not_a_500_at_start(client: TestClient) -> None:
    refused = upload(client, ("start_id.bpmn", (CORPUS / "start_id.bpmn").read_bytes()))
    assert "'Start'" in str(assert_problem(refused, 422)), refused.text
    listed = client.get(DEFINITIONS, headers=OWNER)
    assert listed.status_code == 200 and "ma_khoi_dau" not in [d["key"] for d in listed.json()], listed.text


def test_link_events_run_as_the_sequence_flow_they_stand_for(client: TestClient) -> None:
    """SpiffWorkflow 3.2 has no link events: a process using them deployed and then waited for ever at the throw. The
    throw and the catch of one name are joined by a sequence flow at deploy; the case goes on to the step after the
    catch and ends."""
    assert upload(client, ("link_events.bpmn", (CORPUS / "link_events.bpmn").read_bytes())).status_code == 201
    created = start(client, "chuyen_tiep")
    [first] = open_tasks(client, created["id"]).values()
    done = client.post(f"/api/v1/tasks/{first['id']}/complete", json={"variables": {}}, headers=ADMIN)
    assert done.status_code == 200, done.text
    tasks = open_tasks(client, created["id"])
    assert set(tasks) == {"xu_ly"}  # past the link, not stuck at the throw
    finished = client.post(f"/api/v1/tasks/{tasks['xu_ly']['id']}/complete", json={"variables": {}}, headers=ADMIN)
    assert finished.status_code == 200, finished.text
    assert client.get(f"{INSTANCES}/{created['id']}", headers=ADMIN).json()["status"] == "completed"


def test_a_loop_over_a_missing_collection_answers_the_start_without_a_500(client: TestClient) -> None:
    """SpiffWorkflow iterated the missing collection of a camunda:collection loop (TypeError): every start of such a
    process answered 500. The loop's step fails instead, naming the variable, and the start is answered."""
    assert upload(client, ("collection_loop.bpmn", (CORPUS / "collection_loop.bpmn").read_bytes())).status_code == 201
    answered = client.post(INSTANCES, json={"process_key": "xem_xet_tung_ho_so", "variables": {}}, headers=PORTAL)
    assert answered.status_code < 500, answered.text
    assert "danh_sach" in answered.text, answered.text
    created = start(client, "xem_xet_tung_ho_so", variables={"danh_sach": [1, 2, 3]})
    assert client.get(f"{INSTANCES}/{created['id']}", headers=ADMIN).json()["status"] == "completed"


def test_camunda_map_parameters_and_yes_no_defaults_deploy_and_start(client: TestClient) -> None:
    content = (CORPUS / "camunda_mappings.bpmn").read_bytes()
    validated = client.post(
        f"{DEFINITIONS}/validate", files=[("files", ("camunda_mappings.bpmn", content, "text/xml"))], headers=OWNER
    )
    assert validated.status_code == 200 and validated.json()["valid"], validated.text
    codes = {finding["code"] for finding in validated.json()["warnings"]}
    assert {"camunda-coerced", "camunda-ignored"} <= codes, validated.text
    assert upload(client, ("camunda_mappings.bpmn", content)).status_code == 201
    created = start(client, "chuan_bi_ho_so", variables={"so_ban": 1})
    assert set(open_tasks(client, created["id"])) == {"hoi_bo_sung"}
