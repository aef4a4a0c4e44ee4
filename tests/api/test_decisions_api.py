"""/api/v1/decisions: deployed DMN decisions listed, read and evaluated (Python, not FEEL), with bilingual problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.calls import ADMIN, OWNER, PORTAL, SKHCN, upload
from tests.conftest import auth

DMN = Path(__file__).parent.parent / "fixtures" / "dmn"
DECISIONS = "/api/v1/decisions"
PROBLEM = "application/problem+json"


def dmn(name: str, replace: dict[str, str] | None = None) -> tuple[str, bytes]:
    content = (DMN / name).read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in content, old
        content = content.replace(old, new)
    return name, content.encode("utf-8")


def deployed(client: TestClient, *files: tuple[str, bytes]) -> list[dict[str, Any]]:
    response = upload(client, *files)
    assert response.status_code == 201, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def evaluate(
    client: TestClient,
    key: str,
    inputs: Any,
    *,
    headers: dict[str, str] = OWNER,
    status: int = 200,
    version: int | None = None,
) -> dict[str, Any]:
    params = {"version": version} if version is not None else None
    response = client.post(f"{DECISIONS}/{key}/evaluate", json={"inputs": inputs}, headers=headers, params=params)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


def test_a_dmn_file_deployed_alone_is_listed_and_read(client: TestClient) -> None:
    body = deployed(client, dmn("multi.dmn"))
    assert [(d["key"], d["version"], d["created"], d["kind"]) for d in body] == [
        ("delay_level", 1, True, "decision"),
        ("handling_level", 1, True, "decision"),
    ]
    listed = client.get(DECISIONS, headers=PORTAL)
    assert listed.status_code == 200, listed.text
    assert [
        (d["id"], d["name"], d["hit_policy"], d["rule_count"], d["variables"], d["version"], d["engine"])
        for d in listed.json()
    ] == [
        ("delay_level", "Mức độ chậm trễ", "FIRST", 3, ["so_ngay_tre"], 1, "python"),
        ("handling_level", "Cấp xử lý", "UNIQUE", 2, ["muc_do"], 1, "python"),
    ]
    one = client.get(f"{DECISIONS}/delay_level", headers=OWNER).json()
    assert one["outputs"] == [{"id": "output_level", "name": "muc_do", "label": "Mức độ", "type_ref": "string"}]
    assert [(r["id"], r["index"], r["input_entries"]) for r in one["rules"]] == [
        ("rule_on_time", 1, ["<= 0"]),
        ("rule_late", 2, ["1 <= ? <= 5"]),
        ("rule_very_late", 3, [None]),
    ]
    assert client.get(DECISIONS, headers=OWNER).json()[0].get("rules") is None
    assert client.get("/api/v1/process-definitions", headers=OWNER).json() == []


@pytest.mark.parametrize(
    ("code", "rule_id", "days", "cut"),
    [
        ("KHCN-01", "rule_khcn_01", 7, None),
        ("KHCN-02", "rule_khcn_02", 15, None),
        ("KHCN-03", "rule_khcn_03", 20, 0.5),
        ("KHCN-04", "rule_khcn_04", 5, 0.4),
        ("KHCN-05", "rule_khcn_05", 15, 0),
        ("khác", "rule_default", 15, 0),
    ],
)
def test_green_lane_eligibility_is_evaluated_rule_by_rule(
    client: TestClient, code: str, rule_id: str, days: int, cut: float | None
) -> None:
    deployed(client, dmn("eligibility.dmn"))
    body = evaluate(client, "green_lane_eligibility", {"procedure_code": code})
    assert body["decision"] == {
        "id": "green_lane_eligibility",
        "name": body["decision"]["name"],
        "hit_policy": "FIRST",
        "version": 1,
        "file": "eligibility.dmn",
    }
    assert body["engine"] == "python"
    first = body["matched"][0]
    assert (first["rule_id"], first["in_result"]) == (rule_id, True)
    assert first["annotation"] and first["outputs"] == body["outputs"]
    assert body["outputs"] == {
        "green_lane": rule_id not in ("rule_khcn_05", "rule_default"),
        "standard_days": days,
        "cut_rate": cut,
    }


@pytest.mark.parametrize(
    ("sector", "rule_id", "agency"),
    [
        ("y_te", "rule_health", "syt"),
        ("giao_duc", "rule_education", "sgddt"),
        ("nong_nghiep_moi_truong", "rule_agriculture", "snnmt"),
        ("du_lich", "rule_other", "none"),
    ],
)
def test_sector_routing_is_evaluated_rule_by_rule(client: TestClient, sector: str, rule_id: str, agency: str) -> None:
    deployed(client, dmn("sector_routing.dmn"))
    body = evaluate(client, "sector_routing", {"sector": sector}, headers=PORTAL)
    assert [(m["rule_id"], m["in_result"]) for m in body["matched"]] == [(rule_id, True)]
    assert body["outputs"]["sector_agency"] == agency and body["notes"] == []


def test_collect_and_no_match(client: TestClient) -> None:
    deployed(client, dmn("collect.dmn"))
    body = evaluate(client, "consulted_agencies", {"vuong_mac_phap_ly": True, "kinh_phi": 900, "trong_khu_cnc": False})
    assert [(m["rule_id"], m["index"], m["annotation"], m["in_result"]) for m in body["matched"]] == [
        ("rule_legal", 1, "Vướng mắc pháp lý: Sở Tư pháp.", True),
        ("rule_budget", 2, "Kinh phí trên 500 triệu đồng: Sở Tài chính.", True),
    ]
    assert body["outputs"] == {"co_quan": ["stp", "stc"], "can_cu": ["Điều 7.2", "Điều 9.1"]}
    none = evaluate(
        client,
        "consulted_agencies",
        {"vuong_mac_phap_ly": False, "kinh_phi": 10, "trong_khu_cnc": False, "ghi_chu": "x"},
    )
    assert (none["matched"], none["outputs"]) == ([], {})
    assert [n["code"] for n in none["notes"]] == ["no-match", "unused-inputs"]
    assert all(n["detail"] and n["detail_vi"] for n in none["notes"])


def test_missing_inputs_and_failing_cells_are_422_problems(client: TestClient) -> None:
    deployed(client, dmn("collect.dmn"))
    missing = evaluate(client, "consulted_agencies", {"kinh_phi": 900}, status=422)
    assert missing["type"] == "/problems/decision-inputs-missing"
    assert missing["missing"] == ["trong_khu_cnc", "vuong_mac_phap_ly"]
    assert "trong_khu_cnc" in missing["detail_vi"] and "Thiếu dữ liệu đầu vào" in missing["title"]
    failing = evaluate(
        client,
        "consulted_agencies",
        {"vuong_mac_phap_ly": False, "kinh_phi": "900 triệu", "trong_khu_cnc": False},
        status=422,
    )
    assert failing["type"] == "/problems/decision-evaluation-failed"
    assert (failing["rule_id"], failing["rule_index"], failing["expression"], failing["python"]) == (
        "rule_budget",
        2,
        "> 500",
        "kinh_phi> 500",
    )
    assert "biểu thức DMN ở đây là Python, không phải FEEL" in failing["detail_vi"]
    for body in ({"inputs": [1]}, {"inputs": {"a": 1}, "other": 1}, {"inputs": {"_x": 1}}):
        response = client.post(f"{DECISIONS}/consulted_agencies/evaluate", json=body, headers=OWNER)
        assert response.status_code == 422, response.text


def test_versions_and_unknown_decisions(client: TestClient) -> None:
    deployed(client, dmn("multi.dmn"))
    changed = deployed(client, dmn("multi.dmn", {'"ubnd"': '"vp-ubnd"'}))
    assert [(d["key"], d["version"], d["created"]) for d in changed] == [
        ("delay_level", 1, False),
        ("handling_level", 2, True),
    ]
    inputs = {"muc_do": "tre_nghiem_trong"}
    assert evaluate(client, "handling_level", inputs)["outputs"] == {"cap_xu_ly": "vp-ubnd"}
    assert evaluate(client, "handling_level", inputs, version=1)["outputs"] == {"cap_xu_ly": "ubnd"}
    for key, version in (("handling_level", 3), ("khong_co", None)):
        problem = evaluate(client, key, inputs, status=404, version=version)
        assert problem["type"] == "/problems/decision-not-found" and problem["decision_id"] == key
    assert client.get(f"{DECISIONS}/khong_co", headers=OWNER).status_code == 404


def test_feel_is_refused_at_deploy_with_dmn_feel_problems(client: TestClient) -> None:
    response = upload(client, dmn("feel.dmn"))
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    assert {(p["code"], p["element_id"]) for p in problems} == {
        ("dmn-feel", "rule_list"),
        ("dmn-feel", "rule_not"),
        ("dmn-feel", "rule_or"),
        ("dmn-feel", "rule_date"),
    }
    assert all("biểu thức DMN ở đây là Python, không phải FEEL" in p["reason_vi"] for p in problems)
    range_cell = upload(client, dmn("collect.dmn", {"<text>&gt; 500</text>": "<text>]500..1000]</text>"}))
    assert range_cell.status_code == 422
    (found,) = range_cell.json()["problems"]
    assert found["code"] == "dmn-feel" and "500 < ? <= 1000" in found["reason"]
    assert client.get(DECISIONS, headers=OWNER).json() == []


def test_only_owners_integrators_and_admins(client: TestClient) -> None:
    deployed(client, dmn("sector_routing.dmn"))
    for response in (
        client.get(DECISIONS, headers=SKHCN),
        client.get(f"{DECISIONS}/sector_routing", headers=SKHCN),
        client.post(f"{DECISIONS}/sector_routing/evaluate", json={"inputs": {"sector": "y_te"}}, headers=SKHCN),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "/problems/forbidden"
    lead = auth("cuong", groups="skhcn", roles="lead")
    assert client.get(DECISIONS, headers=lead).status_code == 403
    assert client.get(DECISIONS).status_code == 401
    assert evaluate(client, "sector_routing", {"sector": "y_te"}, headers=ADMIN)["outputs"]["sector_agency"] == "syt"
