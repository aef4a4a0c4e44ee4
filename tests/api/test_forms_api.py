"""Process forms over HTTP: deploy with *.form.json files, the start form, start and complete validated (422 naming
each wrong field, nothing written), the task view showing its form, and deployment problems of forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from .calls import (
    ADMIN,
    DEFINITIONS,
    INSTANCES,
    OWNER,
    PORTAL,
    SKHCN,
    STP,
    TASKS,
    assert_problem,
    complete,
    deploy,
    instance,
    open_tasks,
    start,
)

FORMS = Path(__file__).parent.parent / "fixtures" / "forms"
KEY = "kien_nghi"
VALID_START = {
    "ten_doanh_nghiep": "Công ty TNHH Phần mềm Hòa Lạc",
    "ma_so_thue": "0101234567",
    "linh_vuc": "khoa_hoc_cong_nghe",
    "noi_dung": "Đề nghị hướng dẫn thủ tục thử nghiệm có kiểm soát",
    "email": "lien.he@hoalac.vn",
    "ngay_nop": "2026-03-02",
    "so_lao_dong": 45,
}


def files(**replaced: bytes | None) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The fixture folder as multipart parts; ``replaced``: file name (dots as __) → new content, None drops it."""
    parts = []
    for path in sorted(FORMS.iterdir()):
        key = path.name.replace(".", "__")
        content = replaced[key] if key in replaced else path.read_bytes()
        if content is not None:
            kind = "application/json" if path.name.endswith(".json") else "application/xml"
            parts.append(("files", (path.name, content, kind)))
    return parts


def deploy_forms(client: TestClient, **replaced: bytes | None) -> Response:
    return client.post(DEFINITIONS, files=files(**replaced), headers=OWNER)


def deployed(client: TestClient) -> dict[str, Any]:
    response = deploy_forms(client)
    assert response.status_code == 201, response.text
    [process] = response.json()
    assert (process["key"], process["version"], process["created"]) == (KEY, 1, True)
    return dict(process)


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FORMS / name).read_text(encoding="utf-8"))
    return loaded


def started_task(client: TestClient) -> tuple[str, str]:
    started = start(client, KEY, variables=VALID_START)
    return started["id"], open_tasks(client, started["id"])["tham_dinh"]["id"]


def test_deploy_takes_the_form_files_with_the_bpmn(client: TestClient) -> None:
    deployed(client)

    again = deploy_forms(client)
    assert again.status_code in (200, 201), again.text
    assert again.json()[0]["created"] is False
    changed = schema("tham_dinh.form.json")
    changed["properties"]["y_kien"]["maxLength"] = 2000
    second = deploy_forms(client, tham_dinh__form__json=json.dumps(changed, ensure_ascii=False).encode())
    assert second.status_code == 201, second.text
    assert (second.json()[0]["version"], second.json()[0]["created"]) == (2, True)  # a form change is a new version


def test_start_form_of_the_latest_or_a_given_version(client: TestClient) -> None:
    deployed(client)

    response = client.get(f"{DEFINITIONS}/{KEY}/start-form", headers=PORTAL)
    assert response.status_code == 200, response.text
    assert response.json() == {"key": KEY, "version": 1, "form": schema("kien_nghi.form.json")}
    assert response.json()["form"]["properties"]["ma_so_thue"]["title"] == "Mã số thuế"

    changed = schema("kien_nghi.form.json")
    changed["required"].append("email")
    assert deploy_forms(client, kien_nghi__form__json=json.dumps(changed).encode()).status_code == 201
    latest = client.get(f"{DEFINITIONS}/{KEY}/start-form", headers=SKHCN).json()
    first = client.get(f"{DEFINITIONS}/{KEY}/start-form", params={"version": 1}, headers=SKHCN).json()
    assert (latest["version"], latest["form"]["required"]) == (2, [*schema("kien_nghi.form.json")["required"], "email"])
    assert (first["version"], first["form"]) == (1, schema("kien_nghi.form.json"))


def test_start_form_is_null_when_the_process_has_none(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")

    response = client.get(f"{DEFINITIONS}/four_tasks/start-form", headers=PORTAL)

    assert response.status_code == 200, response.text
    assert response.json() == {"key": "four_tasks", "version": 1, "form": None}


def test_start_form_of_an_unknown_key_or_version_is_404(client: TestClient) -> None:
    deployed(client)

    unknown = assert_problem(
        client.get(f"{DEFINITIONS}/khong_co/start-form", headers=PORTAL), 404, "definition-not-found"
    )
    assert unknown["process_key"] == "khong_co"
    assert "khong_co" in unknown["detail_vi"]
    assert_problem(
        client.get(f"{DEFINITIONS}/{KEY}/start-form", params={"version": 7}, headers=PORTAL),
        404,
        "definition-not-found",
    )
    assert_problem(client.get(f"{DEFINITIONS}/{KEY}/start-form", params={"version": 0}, headers=PORTAL), 422)
    assert client.get(f"{DEFINITIONS}/{KEY}/start-form").status_code == 401


def test_start_with_variables_not_matching_the_start_form_is_422_listing_each_field(client: TestClient) -> None:
    deployed(client)
    bad = {
        "ten_doanh_nghiep": "Công ty Hòa Lạc",
        "ma_so_thue": "01-0123",
        "linh_vuc": "y_te",
        "so_lao_dong": "bốn mươi",
        "ngay_nop": "02/03/2026",
        "ghi_chu": "thêm",
    }

    response = client.post(
        INSTANCES, json={"process_key": KEY, "variables": bad}, headers={**PORTAL, "Idempotency-Key": "KN-2026-0001"}
    )

    body = assert_problem(response, 422, "form-invalid")
    assert body["form"] == "kien_nghi.form.json"
    assert body["process_key"] == KEY
    by_field = {e["field"]: e for e in body["errors"]}
    assert {f: e["rule"] for f, e in by_field.items()} == {
        "ma_so_thue": "pattern",
        "linh_vuc": "enum",
        "so_lao_dong": "type",
        "ngay_nop": "format",
        "noi_dung": "required",
        "ghi_chu": "additionalProperties",
    }
    assert by_field["noi_dung"]["message_vi"] == "Trường 'Nội dung kiến nghị' là bắt buộc"
    assert by_field["noi_dung"]["message_en"] == "Field 'Nội dung kiến nghị' is required"
    assert by_field["so_lao_dong"]["message_vi"] == "Trường 'Số lao động' phải là số nguyên"
    assert by_field["linh_vuc"]["message_vi"].startswith("Trường 'Lĩnh vực' phải là một trong các giá trị")
    assert "Kiến nghị của doanh nghiệp" in body["detail_vi"]
    assert body["title"] == "Dữ liệu không khớp biểu mẫu / Data does not match the form"
    # nothing was written: no instance, and the Idempotency-Key was not taken
    assert client.get(INSTANCES, headers=ADMIN).json()["total"] == 0
    retried = client.post(
        INSTANCES,
        json={"process_key": KEY, "variables": VALID_START},
        headers={**PORTAL, "Idempotency-Key": "KN-2026-0001"},
    )
    assert retried.status_code == 201, retried.text


def test_a_valid_start_runs_and_the_task_view_shows_its_form(client: TestClient) -> None:
    deployed(client)
    instance_id, task_id = started_task(client)

    response = client.get(f"{TASKS}/{task_id}", headers=SKHCN)

    assert response.status_code == 200, response.text
    task = response.json()
    assert (task["element_id"], task["form_key"], task["status"]) == ("tham_dinh", "tham_dinh.form.json", "open")
    assert task["form"] == schema("tham_dinh.form.json")
    assert task["form"]["properties"]["ket_luan"]["title"] == "Kết luận"
    assert instance(client, instance_id)["variables"]["ma_so_thue"] == "0101234567"
    assert_problem(client.get(f"{TASKS}/{task_id}", headers=STP), 403)  # the form is no way around visibility


def test_a_task_without_form_shows_null(client: TestClient) -> None:
    deploy(client, "four_tasks.bpmn")
    started = start(client, "four_tasks")

    task = client.get(f"{TASKS}/{started['open_tasks'][0]['id']}", headers=SKHCN).json()

    assert task["form_key"] is None
    assert task["form"] is None


def test_completing_with_a_missing_required_field_is_422_and_changes_nothing(client: TestClient) -> None:
    deployed(client)
    instance_id, task_id = started_task(client)
    before = instance(client, instance_id)

    response = client.post(f"{TASKS}/{task_id}/complete", json={"variables": {"ket_luan": "dong_y"}}, headers=SKHCN)

    body = assert_problem(response, 422, "form-invalid")
    assert (body["form"], body["task_id"]) == ("tham_dinh.form.json", task_id)
    assert body["errors"] == [
        {
            "field": "y_kien",
            "rule": "required",
            "message_vi": "Trường 'Ý kiến thẩm định' là bắt buộc",
            "message_en": "Field 'Ý kiến thẩm định' is required",
        }
    ]
    task = client.get(f"{TASKS}/{task_id}", headers=SKHCN).json()
    assert (task["status"], task["assignee"], task["completed_at"]) == ("open", None, None)  # not even claimed
    after = instance(client, instance_id)
    assert (after["status"], after["variables"]) == ("running", before["variables"])
    assert [t["id"] for t in after["open_tasks"]] == [task_id]
    history = client.get(f"{INSTANCES}/{instance_id}/history", headers=ADMIN).json()
    assert "task_completed" not in [event["kind"] for event in history]


def test_a_conditional_requirement_of_the_form_is_checked(client: TestClient) -> None:
    deployed(client)
    _, task_id = started_task(client)

    response = client.post(
        f"{TASKS}/{task_id}/complete",
        headers=SKHCN,
        json={"variables": {"ket_luan": "can_bo_sung", "y_kien": "Thiếu giấy phép"}},
    )

    body = assert_problem(response, 422, "form-invalid")
    assert [(e["field"], e["message_vi"]) for e in body["errors"]] == [
        ("han_bo_sung", "Trường 'Hạn bổ sung hồ sơ' là bắt buộc")
    ]


def test_completing_with_valid_data_finishes_the_instance(client: TestClient) -> None:
    deployed(client)
    instance_id, task_id = started_task(client)

    done = complete(
        client, task_id, SKHCN, ket_luan="can_bo_sung", y_kien="Bổ sung giấy phép kinh doanh", han_bo_sung="2026-03-20"
    ).json()

    assert (done["status"], done["completed_by"]) == ("completed", "an")
    finished = instance(client, instance_id)
    assert finished["status"] == "completed"
    assert finished["variables"]["han_bo_sung"] == "2026-03-20"


def test_deploying_a_form_key_that_names_no_file_is_422_with_the_element(client: TestClient) -> None:
    response = deploy_forms(client, tham_dinh__form__json=None)

    body = assert_problem(response, 422, "invalid-bpmn")
    [found] = body["problems"]
    assert (found["file"], found["element_id"]) == ("kien_nghi.bpmn", "tham_dinh")
    assert "tham_dinh.form.json" in found["reason_vi"]
    assert client.get(DEFINITIONS, headers=SKHCN).json() == []


def test_deploying_an_invalid_form_is_422_naming_the_form_file(client: TestClient) -> None:
    response = deploy_forms(
        client, kien_nghi__form__json=b'{"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}'
    )

    body = assert_problem(response, 422, "invalid-bpmn")
    [found] = body["problems"]
    assert found["file"] == "kien_nghi.form.json"
    assert found["path"] == "/properties/a/$ref"
    assert "trỏ ra ngoài biểu mẫu" in found["reason_vi"]
