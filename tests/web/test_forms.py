"""web/forms.py: the JSON Schema of a form as page fields (widgets, labels, HTML5 validation attributes), a submitted
HTML form back into typed variables, and the server's errors placed at their fields. The schemas are the real forms of
processes/ and what engine.forms accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.forms import parse_form
from web.forms import FormField, build_fields, errors_by_field, parse_submission
from web.i18n import Translator

PROCESSES = Path(__file__).parents[2] / "processes"
T = Translator("vi")


def form(folder: str, name: str) -> dict[str, Any]:
    path = PROCESSES / folder / name
    schema: dict[str, Any] = parse_form(name, path.read_bytes()).schema  # as the engine compiles it
    return schema


def by_name(fields: list[FormField]) -> dict[str, FormField]:
    return {made.name: made for top in fields for made in top.walk()}


def test_the_completeness_check_renders_labels_options_and_validation_attributes() -> None:
    fields = by_name(build_fields(form("green_lane", "check_completeness.form.json"), T))
    outcome = fields["outcome"]
    assert (outcome.widget, outcome.label, outcome.required) == ("select", "Kết luận", True)
    # labels read from the description "value: label; ..." because it names every enum value
    assert outcome.options == [("complete", "hồ sơ đầy đủ, tiếp nhận"),
                               ("supplement", "yêu cầu bổ sung (chỉ một lần)"), ("refuse", "từ chối tiếp nhận")]
    missing = fields["missing_documents"]
    assert (missing.widget, missing.required) == ("lines", False)
    assert missing.help == "Mỗi dòng một mục."
    note = fields["note"]
    assert (note.widget, note.attrs) == ("textarea", {"maxlength": "2000"})
    assert fields["refusal_reason"].attrs == {"minlength": "1", "maxlength": "2000"}


def test_numbers_booleans_patterns_dates_and_nested_objects() -> None:
    apology = by_name(build_fields(form("green_lane", "apology.form.json"), T))
    assert apology["extension_days"].widget == "number"
    assert apology["extension_days"].attrs == {"step": "1", "min": "1", "max": "30"}
    assert apology["apology_letter_number"].widget == "text"
    legal = by_name(build_fields(form("green_lane", "legal_appraisal.form.json"), T))
    assert (legal["legal_compliant"].widget, legal["legal_compliant"].required) == ("boolean", True)
    start = by_name(build_fields(form("green_lane", "start.form.json"), T))
    assert start["applicant"].widget == "group" and start["applicant"].required
    assert start["applicant.id_number"].attrs == {"pattern": "^([0-9]{12}|[0-9]{10}(-[0-9]{3})?)$"}
    assert start["applicant.email"].attrs["type"] == "email"
    assert start["documents"].widget == "json"  # an array of objects: edited as JSON
    assert start["submitted_at"].widget == "datetime"
    escalation = by_name(build_fields(form("escalation", "start.form.json"), T))
    assert escalation["reporting_agency"].options[1] == ("stp", "Sở Tư pháp")
    assert escalation["urgent"].value == "false"  # the property's default


def test_array_of_enum_is_a_group_of_checkboxes() -> None:
    schema = {"type": "object", "properties": {"channels": {
        "title": "Kênh", "type": "array", "items": {"type": "string", "oneOf": [
            {"const": "email", "title": "Thư điện tử"}, {"const": "sms", "title": "Tin nhắn"}]}}}}
    [channels] = build_fields(schema, T)
    assert (channels.widget, channels.options) == ("checkboxes", [("email", "Thư điện tử"), ("sms", "Tin nhắn")])
    data, local = parse_submission(schema, {"channels": ["sms", "email"]}, T)
    assert (data, local) == ({"channels": ["sms", "email"]}, {})


def test_a_submission_becomes_typed_variables_and_empty_fields_are_left_out() -> None:
    start = form("green_lane", "start.form.json")
    submitted = {
        "applicant.name": ["  Công ty A  "], "applicant.id_number": ["0109876543"], "applicant.email": [""],
        "procedure_code": ["KHCN-01"], "in_hitech_park": ["true"], "joint_processing": ["false"],
        "documents": ['[{"name": "Đơn đề nghị"}]'], "submitted_at": ["2026-02-12T09:00"], "portal_reference": [""],
    }
    data, local = parse_submission(start, submitted, T)
    assert local == {}
    assert data == {"applicant": {"name": "Công ty A", "id_number": "0109876543"}, "procedure_code": "KHCN-01",
                    "in_hitech_park": True, "joint_processing": False, "documents": [{"name": "Đơn đề nghị"}],
                    "submitted_at": "2026-02-12T09:00:00+07:00"}
    apology = form("green_lane", "apology.form.json")
    assert parse_submission(apology, {"extension_days": ["3"]}, T)[0] == {"extension_days": 3}
    # not a number: kept as typed, the server names the field
    assert parse_submission(apology, {"extension_days": ["ba"]}, T)[0] == {"extension_days": "ba"}
    check = form("green_lane", "check_completeness.form.json")
    data, _ = parse_submission(check, {"outcome": ["supplement"], "missing_documents": ["Báo cáo A\r\n\r\n  B  \n"]}, T)
    assert data == {"outcome": "supplement", "missing_documents": ["Báo cáo A", "B"]}


def test_json_that_does_not_parse_is_refused_at_its_field() -> None:
    data, local = parse_submission(form("green_lane", "start.form.json"), {"documents": ["[{name: 1}"]}, T)
    assert "documents" not in data
    assert list(local) == ["documents"] and local["documents"][0].startswith("Không phải JSON hợp lệ")


def test_server_errors_land_on_the_deepest_rendered_field() -> None:
    fields = build_fields(form("green_lane", "start.form.json"), T)
    errors = [{"field": "applicant.phone", "message_vi": "Số điện thoại sai", "message_en": "Bad phone"},
              {"field": "documents[0].name", "message_vi": "Tên giấy tờ bắt buộc", "message_en": "Name required"},
              {"field": "", "message_vi": "Thừa trường x", "message_en": "Extra field x"}]
    placed, general = errors_by_field(errors, fields, "vi")
    assert placed == {"applicant.phone": ["Số điện thoại sai"], "documents": ["Tên giấy tờ bắt buộc"]}
    assert general == ["Thừa trường x"]
    assert errors_by_field(errors[:1], fields, "en")[0] == {"applicant.phone": ["Bad phone"]}
    shown = by_name(build_fields(form("green_lane", "start.form.json"), T, raw={"applicant.phone": ["12"]},
                                 errors=placed))
    assert (shown["applicant.phone"].value, shown["applicant.phone"].errors) == ("12", ["Số điện thoại sai"])


def test_every_form_of_every_process_renders() -> None:
    for path in sorted(PROCESSES.glob("*/*.form.json")):
        schema = form(path.parent.name, path.name)
        fields = build_fields(schema, T)
        assert fields, path
        assert all(made.label for top in fields for made in top.walk()), path
        json.dumps([made.value for top in fields for made in top.walk()], default=str)
