"""Earlier answers on a task screen (issue 10.3): the lint of a task form's "x-show-earlier" and the formatting of
values for an officer (engine.definitions.forms.display). Over HTTP: tests/api/test_earlier_answers.py."""

from __future__ import annotations

import json
from pathlib import Path

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.forms.display import display_value, field_labels
from phoihop.engine.definitions.lint.deployment import lint_deployment
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import Finding, SourceFile

FIXTURES = Path(__file__).parent.parent / "fixtures" / "show_earlier"


def files(**replace: tuple[str, str]) -> list[SourceFile]:
    """The fixture's files, ``replace`` = {file name with "_" for ".": (old, new)} edited in."""
    found = []
    for path in sorted(FIXTURES.iterdir()):
        text = path.read_text(encoding="utf-8")
        edit = replace.get(path.name.replace(".", "_"))
        if edit is not None:
            assert edit[0] in text
            text = text.replace(*edit)
        found.append(SourceFile(path.name, text.encode("utf-8")))
    return found


def show_earlier_findings(sources: list[SourceFile]) -> list[Finding]:
    deployment = compile_deployment(sources, agencies=default_registry(), check=check_source)
    return [f for f in lint_deployment(deployment, strict=True) if f["code"].startswith("show-earlier")]


def test_fields_of_the_start_form_and_earlier_steps_pass_the_lint() -> None:
    assert show_earlier_findings(files()) == []


def test_a_field_no_earlier_form_asks_for_is_a_finding_naming_form_and_field() -> None:
    # the decision shows a field only its own form asks for, and one the legal opinion asks for only after it
    reordered = files(
        quyet_dinh_form_json=(
            '"x-show-earlier": ["legal_result",',
            '"x-show-earlier": ["decision", "nowhere", "legal_result",',
        ),
        de_xuat_bpmn=(
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="y_kien"/>\n'
            '    <bpmn:sequenceFlow id="f1" sourceRef="y_kien" targetRef="quyet_dinh"/>\n'
            '    <bpmn:sequenceFlow id="f2" sourceRef="quyet_dinh" targetRef="end"/>',
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="quyet_dinh"/>\n'
            '    <bpmn:sequenceFlow id="f1" sourceRef="quyet_dinh" targetRef="y_kien"/>\n'
            '    <bpmn:sequenceFlow id="f2" sourceRef="y_kien" targetRef="end"/>',
        ),
    )
    found = show_earlier_findings(reordered)
    assert [(f["code"], f["element_id"], f["severity"]) for f in found] == [
        ("show-earlier-unset", "quyet_dinh", "error")
    ] * 4
    named = [f["message_en"] for f in found]
    assert all("quyet_dinh.form.json" in text for text in named)
    assert {text.split("'")[1] for text in named} == {"decision", "nowhere", "legal_result", "legal_opinion"}
    assert all("biểu mẫu quyet_dinh.form.json" in f["message_vi"] for f in found)


def test_a_show_earlier_that_is_not_a_list_of_names_is_an_error() -> None:
    found = show_earlier_findings(
        files(quyet_dinh_form_json=('"x-show-earlier": [', '"x-show-earlier": "legal_result", "x": ['))
    )
    assert [(f["code"], f["severity"]) for f in found] == [("show-earlier-invalid", "error")]


def test_values_read_as_an_officer_reads_them() -> None:
    sources = {s.name: s for s in files()}

    labels = field_labels(
        [(name, json.loads(s.content)) for name, s in sources.items() if name.endswith(".form.json")],
        start="de_xuat.form.json",
    )
    assert labels["needs_funding"].form == "de_xuat.form.json"  # the start form asks first
    assert labels["legal_result"].form_title == "Ý kiến pháp lý của Sở Tư pháp"
    shown = {
        name: display_value(value, labels[name].schema)
        for name, value in {
            "amount": 600_000_000,
            "needs_funding": True,
            "received_on": "2026-12-07",
            "sector": "other",
            "legal_result": "agree",
            "applicant": {"name": "Công ty A", "representative": "Nguyễn Văn B"},
        }.items()
    }
    assert shown == {
        "amount": "600.000.000 đồng",
        "needs_funding": "Có",
        "received_on": "07/12/2026",
        "sector": "Lĩnh vực khác",
        "legal_result": "Đồng ý",
        "applicant": "Tên tổ chức: Công ty A; Người đại diện: Nguyễn Văn B",
    }
    assert display_value("2026-12-07T02:23:00+00:00") == "07/12/2026 09:23"  # a moment: Hanoi time
    assert display_value(False) == "Không" and display_value(None) == "Chưa có"
    assert display_value(2026) == "2026" and display_value(1234567.5) == "1.234.567,5"
    assert display_value(["a", "b"]) == "a; b"


def test_an_enumeration_labelled_in_its_description_shows_its_labels() -> None:
    outcome = {"enum": ["complete", "supplement"], "description": "complete: đầy đủ; supplement: bổ sung (một lần)."}
    assert display_value("supplement", outcome) == "bổ sung (một lần)"
    agencies = {"type": "array", "items": {"enum": ["skhcn", "stp"]}, "description": "Mã. skhcn: Sở KH&CN; stp: STP."}
    assert display_value(["skhcn", "stp"], agencies) == "Sở KH&CN; STP"
    resolution = {"enum": ["29/2025/NQ-HĐND", "other"], "description": "Nghị quyết (other: nghị quyết khác)."}
    assert display_value("other", resolution) == "nghị quyết khác"
