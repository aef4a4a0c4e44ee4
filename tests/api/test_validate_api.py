"""POST /api/v1/process-definitions/validate: the deploy upload checked, nothing stored, every error and warning back;
``phoihop lint`` prints the same findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from phoihop.cli import main as cli_main
from phoihop.engine.definitions.lint.findings import format_finding

from .calls import ADMIN, DEFINITIONS, OWNER, SKHCN, assert_problem, upload

VALIDATE = f"{DEFINITIONS}/validate"
CAMUNDA = Path(__file__).parent.parent / "fixtures" / "camunda"
PROPOSAL = ("de_xuat_nhiem_vu.bpmn", "gop_y_phap_ly.bpmn", "phan_loai.dmn")
FINDING_KEYS = {"code", "severity", "file", "line", "element_id", "element_name", "message_vi", "message_en"}


def files(*names: str, replace: dict[str, str] | None = None) -> list[tuple[str, bytes]]:
    """Camunda fixtures by name; ``replace`` edits the first one."""
    found = []
    for index, name in enumerate(names):
        text = (CAMUNDA / name).read_text(encoding="utf-8")
        for old, new in (replace or {}).items() if index == 0 else ():
            assert old in text, old
            text = text.replace(old, new)
        found.append((name, text.encode("utf-8")))
    return found


def validate(
    client: TestClient, uploaded: list[tuple[str, bytes]], *, headers: dict[str, str] = OWNER, **params: Any
) -> Response:
    return client.post(
        VALIDATE,
        params=params,
        headers=headers,
        files=[("files", (name, content, "application/xml")) for name, content in uploaded],
    )


def result(response: Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"valid", "errors", "warnings"}
    for finding in body["errors"] + body["warnings"]:
        assert set(finding) == FINDING_KEYS, finding
        assert finding["message_vi"] and finding["message_en"] and finding["file"]
    assert all(f["severity"] == "error" for f in body["errors"])
    assert all(f["severity"] == "warning" for f in body["warnings"])
    assert body["valid"] is (not body["errors"])
    return body


def stored(client: TestClient) -> list[Any]:
    response = client.get(DEFINITIONS, headers=SKHCN)
    assert response.status_code == 200, response.text
    listed: list[Any] = response.json()
    return listed


def test_a_valid_camunda_deployment_is_valid_and_nothing_is_stored(client: TestClient) -> None:
    body = result(validate(client, files(*PROPOSAL)))

    assert body == {"valid": True, "errors": [], "warnings": []}
    assert stored(client) == []
    assert [e for e in client.get("/api/v1/audit", headers=ADMIN).json()["items"] if e["kind"] == "deployed"] == []
    assert upload(client, *files(*PROPOSAL)).status_code == 201  # what validates deploys


def test_lint_gaps_are_warnings_and_errors_with_strict(client: TestClient) -> None:
    documentation = "Kiểm tra thành phần và tính hợp lệ của hồ sơ đề xuất. Căn cứ: Điều 7.1."
    gaps = files(
        *PROPOSAL,
        replace={
            f"<bpmn:documentation>{documentation}</bpmn:documentation>": "",
            ' camunda:dueDate="P5D"': "",
            '<bpmn:startEvent id="StartEvent_NopHoSo" name="Nhận hồ sơ đề xuất">': '<bpmn:startEvent id="StartEvent_NopHoSo" name="Nhận hồ sơ đề xuất" camunda:formRef="mau_nop">',
        },
    )

    body = result(validate(client, gaps))
    assert body["valid"] is True and body["errors"] == []
    assert [(f["element_id"], f["code"]) for f in body["warnings"]] == [
        ("StartEvent_NopHoSo", "camunda-ignored"),
        ("Activity_KiemTra", "no-documentation"),
        ("Activity_PheDuyet", "no-due-date"),
    ]
    first = body["warnings"][1]
    assert (first["file"], first["element_name"], first["line"]) == ("de_xuat_nhiem_vu.bpmn", "Kiểm tra hồ sơ", 32)

    for strict in (
        validate(client, gaps, strict="true"),
        client.post(
            VALIDATE,
            data={"strict": "true"},
            headers=OWNER,
            files=[("files", (n, c, "application/xml")) for n, c in gaps],
        ),
    ):
        strict_body = result(strict)
        assert strict_body["valid"] is False and strict_body["warnings"] == []
        assert [f["code"] for f in strict_body["errors"]] == [f["code"] for f in body["warnings"]]
    assert stored(client) == []


def test_xml_schema_and_reference_errors_come_with_lines(client: TestClient) -> None:
    broken = files(
        "de_xuat_nhiem_vu.bpmn",
        "gop_y_phap_ly.bpmn",
        "phan_loai.dmn",
        replace={
            '<bpmn:endEvent id="Event_0tuchoi"': '<bpmn:endEvent id="Activity_KiemTra"',  # duplicate id
            '<bpmn:userTask id="Activity_PheDuyet" name': '<bpmn:userTask id="Activity_PheDuyet" bogus="1" name',
            'attachedToRef="Activity_PheDuyet"': 'attachedToRef="Activity_KhongCo"',
        },
    )
    malformed = ("hong.bpmn", b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n<a>\n</bpmn:definitions>')

    body = result(validate(client, [*broken, malformed]))

    assert body["valid"] is False  # the "6 rõ" gaps of its tasks, read from the XML, come as warnings beside them
    assert {w["code"] for w in body["warnings"]} <= {"no-documentation", "no-due-date", "no-form", "lane-not-agency"}
    found = {(f["file"], f["element_id"], f["line"]) for f in body["errors"]}
    assert {
        ("de_xuat_nhiem_vu.bpmn", "Activity_KiemTra", 67),
        ("de_xuat_nhiem_vu.bpmn", "Activity_PheDuyet", 88),
        ("de_xuat_nhiem_vu.bpmn", "Event_1quahan", 111),
        ("hong.bpmn", None, 4),
    } <= found
    messages = " ".join(f["message_en"] for f in body["errors"])
    assert "duplicate id 'Activity_KiemTra'" in messages and "'bogus' is not allowed" in messages
    assert "attachedToRef='Activity_KhongCo'" in messages and "malformed XML" in messages
    assert all(f["code"] == "invalid-bpmn" for f in body["errors"])


def test_foreign_expressions_are_errors_naming_element_and_text(client: TestClient) -> None:
    body = result(validate(client, files("bieu_thuc_ngoai.bpmn")))

    assert body["valid"] is False
    by_element = {f["element_id"]: f for f in body["errors"] if f["element_id"].startswith("Flow_")}
    assert {key: f["code"] for key, f in by_element.items()} == {
        "Flow_Method": "juel-unsupported",
        "Flow_Execution": "juel-unsupported",
        "Flow_Feel": "feel-unsupported",
        "Flow_Composite": "juel-unsupported",
    }
    assert "${danh_sach.size() > 0}" in by_element["Flow_Method"]["message_en"]
    assert "không hỗ trợ gọi phương thức size" in by_element["Flow_Method"]["message_vi"]
    groovy = next(f for f in body["errors"] if f["element_id"] == "Activity_Groovy")
    assert (groovy["element_name"], groovy["code"]) == ("Tính bằng Groovy", "camunda-unsupported")


def test_validation_agrees_with_deploy(client: TestClient) -> None:
    java = files("dich_vu_java.bpmn")
    body = result(validate(client, java))

    refused = assert_problem(upload(client, *java), 422, "invalid-bpmn")
    assert (
        [f["element_id"] for f in body["errors"]]
        == [p["element_id"] for p in refused["problems"]]
        == ["Activity_GuiKetQua"]
    )


@pytest.mark.parametrize(("headers", "status"), [(SKHCN, 403), ({}, 401)], ids=["officer", "anonymous"])
def test_only_process_owners_and_admins_validate(client: TestClient, headers: dict[str, str], status: int) -> None:
    assert_problem(validate(client, files(*PROPOSAL), headers=headers), status)
    assert result(validate(client, files(*PROPOSAL), headers=ADMIN))["valid"] is True


def test_an_upload_that_is_not_one_is_a_problem(client: TestClient) -> None:
    assert_problem(client.post(VALIDATE, headers=OWNER), 422)  # no files at all
    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;</bpmn:definitions>'
    )
    body = assert_problem(validate(client, [*files(*PROPOSAL), ("xxe.bpmn", xxe)]), 422, "unsafe-xml")
    assert [(p["file"], p["line"]) for p in body["problems"]] == [("xxe.bpmn", 2)]
    assert "root:" not in str(body)
    empty = result(validate(client, [("rong.bpmn", b"  \n")]))
    assert [f["message_en"] for f in empty["errors"]] == ["the file is empty"]


def test_phoihop_lint_prints_the_same_findings(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bieu_thuc_ngoai"
    folder.mkdir()
    for name, content in files("bieu_thuc_ngoai.bpmn"):
        (folder / name).write_bytes(content)
    body = result(validate(client, files("bieu_thuc_ngoai.bpmn")))

    assert cli_main(["lint", str(folder)]) == 1  # errors: exit code 1
    printed = capsys.readouterr().out.splitlines()

    expected = [format_finding(finding, folder) for finding in body["errors"] + body["warnings"]]
    assert sorted(printed[:-1]) == sorted(expected)
    assert printed[-1].startswith(f"1 gói triển khai: {len(body['errors'])} lỗi, {len(body['warnings'])} cảnh báo")


def test_a_file_that_does_not_compile_still_gets_its_6_ro_warnings(client: TestClient) -> None:
    """Every error and every warning at once: the human tasks' gaps are read from the XML when compiling fails."""
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="L" name="S\xe1\xbb\x9f T\xc6\xb0 ph\xc3\xa1p">
      <bpmn:flowNodeRef>a</bpmn:flowNodeRef><bpmn:flowNodeRef>svc</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="svc"/>
    <bpmn:serviceTask id="svc" camunda:class="vn.Gui"/><bpmn:sequenceFlow id="f2" sourceRef="svc" targetRef="a"/>
    <bpmn:userTask id="a" name="Th\xe1\xba\xa9m \xc4\x91\xe1\xbb\x8bnh"/>
    <bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    response = client.post(
        f"{DEFINITIONS}/validate", files=[("files", ("gui.bpmn", xml, "application/xml"))], headers=OWNER
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False and [e["element_id"] for e in body["errors"]] == ["svc"]
    assert sorted(w["code"] for w in body["warnings"] if w["element_id"] == "a") == [
        "no-documentation",
        "no-due-date",
        "no-form",
    ]
