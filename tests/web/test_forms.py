"""web/forms.py: the JSON Schema of a form as page fields (widgets, labels, HTML5 validation attributes), a submitted
HTML form back into typed variables, and the server's errors placed at their fields. The schemas are the real forms of
processes/ and what engine.definitions.forms accepts."""

from __future__ import annotations

import json
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from phoihop.engine.definitions.forms.files import parse_form
from phoihop.web.forms import FormField, build_fields, errors_by_field, officer_text, parse_submission
from phoihop.web.i18n import Translator

PROCESSES = Path(__file__).parents[2] / "processes"
T = Translator("vi")


def form(folder: str, name: str) -> dict[str, Any]:
    path = PROCESSES / folder / name
    schema: dict[str, Any] = parse_form(name, path.read_bytes()).schema  # as the engine compiles it
    return schema


def by_name(fields: list[FormField]) -> dict[str, FormField]:
    return {made.name: made for top in fields for made in top.walk()}


class FormPage(HTMLParser):
    """The controls of rendered form HTML (outside <template>), their labels, and what the <template> rows hold."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.labels: dict[str, str] = {}
        self.template_names: list[str] = []
        self.template_rows = self.add_buttons = self.depth = 0
        self.label_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "template":
            self.depth += 1
            self.template_rows += 1
        elif tag in ("input", "select", "textarea") and "name" in values:
            (self.template_names.append(values["name"]) if self.depth else self.controls.append(values))
        elif tag == "label" and "for" in values:
            self.label_for = values["for"]
            self.labels[self.label_for] = ""
        elif tag == "button" and "data-add-row" in values:
            self.add_buttons += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.depth -= 1
        elif tag == "label":
            if self.label_for:
                self.labels[self.label_for] = " ".join(self.labels[self.label_for].split())
            self.label_for = None

    def handle_data(self, data: str) -> None:
        if self.label_for:
            self.labels[self.label_for] += data


def parse_page(html: str) -> FormPage:
    page = FormPage()
    page.feed(html)
    return page


def test_the_completeness_check_renders_labels_options_and_validation_attributes() -> None:
    fields = by_name(build_fields(form("green_lane", "check_completeness.form.json"), T))
    outcome = fields["outcome"]
    assert (outcome.widget, outcome.label, outcome.required) == ("select", "Kết luận", True)
    # labels read from the options' titles (oneOf of const and title)
    assert outcome.options == [
        ("complete", "Hồ sơ đầy đủ: tiếp nhận, hẹn ngày trả kết quả"),
        ("supplement", "Yêu cầu bổ sung hồ sơ (chỉ một lần)"),
        ("refuse", "Từ chối tiếp nhận"),
    ]
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
    legal = by_name(build_fields(form("green_lane", "legal_risk_opinion.form.json"), T))
    assert (legal["legal_compliant"].widget, legal["legal_compliant"].required) == ("boolean", True)
    start = by_name(build_fields(form("green_lane", "start.form.json"), T))
    assert start["applicant"].widget == "group" and start["applicant"].required
    assert start["applicant.id_number"].attrs == {"pattern": "^([0-9]{12}|[0-9]{10}(-[0-9]{3})?)$"}
    assert start["applicant.email"].attrs["type"] == "email"
    assert start["documents"].widget == "rows"  # an array of objects: one row per item
    assert start["submitted_at"].widget == "datetime"
    escalation = by_name(build_fields(form("escalation", "start.form.json"), T))
    assert escalation["reporting_agency"].options[1] == ("stp", "Sở Tư pháp")
    assert escalation["urgent"].value == "0"  # the property's default: Thường


def test_array_of_enum_is_a_group_of_checkboxes() -> None:
    schema = {
        "type": "object",
        "properties": {
            "channels": {
                "title": "Kênh",
                "type": "array",
                "items": {
                    "type": "string",
                    "oneOf": [{"const": "email", "title": "Thư điện tử"}, {"const": "sms", "title": "Tin nhắn"}],
                },
            }
        },
    }
    [channels] = build_fields(schema, T)
    assert (channels.widget, channels.options) == ("checkboxes", [("email", "Thư điện tử"), ("sms", "Tin nhắn")])
    data, local = parse_submission(schema, {"channels": ["sms", "email"]}, T)
    assert (data, local) == ({"channels": ["sms", "email"]}, {})


def test_a_submission_becomes_typed_variables_and_empty_fields_are_left_out() -> None:
    start = form("green_lane", "start.form.json")
    submitted = {
        "applicant.name": ["  Công ty A  "],
        "applicant.id_number": ["0109876543"],
        "applicant.email": [""],
        "procedure_code": ["KHCN-01"],
        "documents[0].name": ["Đơn đề nghị"],
        "documents[0].url": [""],
        "documents[1].name": [""],
        "submitted_at": ["2026-02-12T09:00"],
        "portal_reference": [""],
    }
    data, local = parse_submission(start, submitted, T)
    assert local == {}
    assert data == {
        "applicant": {"name": "Công ty A", "id_number": "0109876543"},
        "procedure_code": "KHCN-01",
        "documents": [{"name": "Đơn đề nghị"}],
        "submitted_at": "2026-02-12T09:00:00+07:00",
    }
    apology = form("green_lane", "apology.form.json")
    assert parse_submission(apology, {"extension_days": ["3"]}, T)[0] == {"extension_days": 3}
    # not a number: kept as typed, the server names the field
    assert parse_submission(apology, {"extension_days": ["ba"]}, T)[0] == {"extension_days": "ba"}
    check = form("green_lane", "check_completeness.form.json")
    data, _ = parse_submission(check, {"outcome": ["supplement"], "missing_documents": ["Báo cáo A\r\n\r\n  B  \n"]}, T)
    assert data == {"outcome": "supplement", "missing_documents": ["Báo cáo A", "B"]}


# an array of objects with an array inside its items: the JSON fallback
NESTED = {
    "type": "object",
    "required": ["steps"],
    "properties": {
        "steps": {
            "title": "Các bước",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"title": "Tên bước", "type": "string"},
                    "owners": {"title": "Người phụ trách", "type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def test_json_that_does_not_parse_is_refused_at_its_field() -> None:
    [steps] = build_fields(NESTED, T)
    assert (steps.widget, steps.help) == ("json", "Nhập dữ liệu dạng JSON.")
    data, local = parse_submission(NESTED, {"steps": ["[{name: 1}"]}, T)
    assert "steps" not in data
    assert list(local) == ["steps"] and local["steps"][0].startswith("Không phải JSON hợp lệ")
    data, local = parse_submission(NESTED, {"steps": ['[{"name": "Lập", "owners": ["a"]}]']}, T)
    assert (data, local) == ({"steps": [{"name": "Lập", "owners": ["a"]}]}, {})


def test_server_errors_land_on_the_deepest_rendered_field() -> None:
    fields = build_fields(form("green_lane", "start.form.json"), T)
    errors = [
        {"field": "applicant.phone", "message_vi": "Số điện thoại sai", "message_en": "Bad phone"},
        {"field": "documents[0].name", "message_vi": "Tên giấy tờ bắt buộc", "message_en": "Name required"},
        {"field": "", "message_vi": "Thừa trường x", "message_en": "Extra field x"},
    ]
    placed, general = errors_by_field(errors, fields, "vi")
    assert placed == {"applicant.phone": ["Số điện thoại sai"], "documents[0].name": ["Tên giấy tờ bắt buộc"]}
    assert general == ["Thừa trường x"]
    assert errors_by_field(errors[:1], fields, "en")[0] == {"applicant.phone": ["Bad phone"]}
    shown = by_name(
        build_fields(form("green_lane", "start.form.json"), T, raw={"applicant.phone": ["12"]}, errors=placed)
    )
    assert (shown["applicant.phone"].value, shown["applicant.phone"].errors) == ("12", ["Số điện thoại sai"])


def test_every_form_of_every_process_renders() -> None:
    for path in sorted(PROCESSES.glob("*/*.form.json")):
        schema = form(path.parent.name, path.name)
        fields = build_fields(schema, T)
        assert fields, path
        assert all(made.label for top in fields for made in top.walk()), path
        json.dumps([made.value for top in fields for made in top.walk()], default=str)


# --- arrays of objects as rows ----------------------------------------------------------------------------------------
REPORT = ("monthly_report", "submit_report.form.json")
KPIS = [
    {
        "indicator": "Số doanh nghiệp KH&CN",
        "unit": "doanh nghiệp",
        "target": 12,
        "assigned_by": "1520/KH-SKHCN",
        "achieved": 7.5,
    },
    {"indicator": "Tỷ lệ hồ sơ trực tuyến", "achieved": 90},
]


def test_an_array_of_objects_is_rows_of_fields_with_labels_and_validation_attributes() -> None:
    fields = by_name(build_fields(form(*REPORT), T, values={"kpis": KPIS}))
    kpis = fields["kpis"]
    assert (kpis.widget, kpis.label, kpis.required, kpis.when_empty) == (
        "rows",
        "Kết quả thực hiện chỉ tiêu được giao",
        False,
        [],
    )
    assert [row.name for row in kpis.children] == ["kpis[0]", "kpis[1]"]  # the stored items, no empty row added
    assert kpis.attrs == {"data-next-index": "2"}
    first = fields["kpis[0].indicator"]
    assert (first.widget, first.label, first.required, first.value) == (
        "text",
        "Chỉ tiêu được giao",
        True,
        "Số doanh nghiệp KH&CN",
    )
    assert first.attrs == {"minlength": "1", "maxlength": "500"} and first.in_row and first.row_filled
    assert (fields["kpis[0].target"].widget, fields["kpis[0].target"].value) == ("number", "12")
    assert fields["kpis[0].achieved"].attrs == {"step": "any"} and fields["kpis[0].achieved"].value == "7.5"
    assert fields["kpis[1].target"].value is None and fields["kpis[1].note"].widget == "textarea"
    assert fields["kpis[0]"].label == "Chỉ số"  # the items' title
    # no difficulties yet: one empty row, not required until something is typed in it
    difficulties = fields["difficulties"]
    assert [row.name for row in difficulties.children] == ["difficulties[0]"]
    flag = fields["difficulties[0].needs_escalation"]
    assert (flag.widget, flag.label, flag.required, flag.row_filled) == (
        "boolean",
        "Cần Sở KH&CN, UBND Thành phố tháo gỡ",
        True,
        False,
    )
    # the row the page clones for "Thêm dòng"
    assert difficulties.template is not None
    assert [c.name for c in difficulties.template.children] == [
        "difficulties[__INDEX__].description",
        "difficulties[__INDEX__].proposal",
        "difficulties[__INDEX__].needs_escalation",
    ]
    # enum, date and integer properties of items
    schema = {
        "type": "object",
        "properties": {
            "visits": {
                "type": "array",
                "title": "Đợt kiểm tra",
                "items": {
                    "type": "object",
                    "required": ["on"],
                    "properties": {
                        "on": {"type": "string", "format": "date", "title": "Ngày"},
                        "kind": {
                            "type": "string",
                            "enum": ["a", "b"],
                            "description": "a: định kỳ; b: đột xuất",
                            "title": "Loại",
                        },
                        "people": {"type": "integer", "minimum": 1, "title": "Số người"},
                    },
                },
            }
        },
    }
    visits = by_name(build_fields(schema, T, values={"visits": [{"on": "2026-03-02", "kind": "b", "people": 3}]}))
    assert visits["visits"].required is False and visits["visits"].when_empty is None
    assert (visits["visits[0].on"].widget, visits["visits[0].on"].value) == ("date", "2026-03-02")
    assert visits["visits[0].kind"].options == [("a", "định kỳ"), ("b", "đột xuất")]
    assert visits["visits[0].people"].attrs == {"step": "1", "min": "1"}


def test_items_that_do_not_fit_rows_stay_json() -> None:
    assert build_fields(NESTED, T)[0].widget == "json"  # an array inside the items
    # a stored item with a property the rows do not show: JSON, so that nothing is lost
    odd = [{"indicator": "A", "achieved": 1, "source": "Cục Thống kê"}]
    kpis = by_name(build_fields(form(*REPORT), T, values={"kpis": odd}))["kpis"]
    assert kpis.widget == "json" and json.loads(kpis.value) == odd


def test_posted_rows_become_typed_items_and_empty_rows_are_left_out() -> None:
    submitted = {
        "progress_summary": ["Đã triển khai"],
        "needs_escalation": ["true"],
        "kpis[0].indicator": ["Số doanh nghiệp KH&CN"],
        "kpis[0].unit": [""],
        "kpis[0].target": ["12"],
        "kpis[0].achieved": ["7.5"],
        "kpis[0].note": [""],
        "kpis[1].indicator": ["  "],
        "kpis[1].achieved": [""],  # an empty row
        "kpis[4].indicator": ["Tỷ lệ hồ sơ trực tuyến"],
        "kpis[4].achieved": ["90"],  # rows removed in between
        "difficulties[0].description": ["Thiếu kinh phí"],
        "difficulties[0].proposal": [""],
        "difficulties[0].needs_escalation": ["true"],
        "difficulties[1].description": ["Chậm phê duyệt"],
        "difficulties[1].needs_escalation": ["false"],
    }
    data, local = parse_submission(form(*REPORT), submitted, T)
    assert local == {}
    assert data == {
        "progress_summary": "Đã triển khai",
        "needs_escalation": True,
        "kpis": [
            {"indicator": "Số doanh nghiệp KH&CN", "target": 12, "achieved": 7.5},
            {"indicator": "Tỷ lệ hồ sơ trực tuyến", "achieved": 90},
        ],
        "difficulties": [
            {"description": "Thiếu kinh phí", "needs_escalation": True},
            {"description": "Chậm phê duyệt", "needs_escalation": False},
        ],
    }
    # every row empty: a required array is [], an optional one is left out
    data, _ = parse_submission(form(*REPORT), {"progress_summary": ["x"], "kpis[0].indicator": [""]}, T)
    assert data == {"progress_summary": "x", "kpis": [], "difficulties": []}
    escalation = form("escalation", "start.form.json")
    assert "attachments" not in parse_submission(escalation, {"attachments[0].name": [""]}, T)[0]
    # the page sent JSON (the array was shown as JSON): read as JSON
    assert parse_submission(form(*REPORT), {"kpis": ['[{"indicator": "A", "achieved": 1}]']}, T)[0]["kpis"] == [
        {"indicator": "A", "achieved": 1}
    ]


def test_server_errors_of_rows_land_on_the_field_of_their_row_as_shown_again() -> None:
    submitted = {
        "kpis[0].indicator": ["A"],
        "kpis[0].achieved": ["1"],
        "kpis[2].indicator": [""],
        "kpis[3].indicator": ["B"],
        "kpis[3].target": ["nhiều"],
        "kpis[3].achieved": ["2"],
    }
    schema = form(*REPORT)
    data, _ = parse_submission(schema, submitted, T)
    assert data["kpis"][1] == {"indicator": "B", "target": "nhiều", "achieved": 2}
    errors = [
        {"field": "kpis[1].target", "message_vi": "Chỉ tiêu được giao phải là số", "message_en": "number"},
        {"field": "kpis[1]", "message_vi": "Thừa trường x", "message_en": "extra x"},
        {"field": "difficulties", "message_vi": "Phải có một vướng mắc", "message_en": "contains"},
        {"field": "kpis[9].target", "message_vi": "Dòng không còn", "message_en": "gone"},
    ]
    fields = build_fields(schema, T, raw=submitted)
    placed, general = errors_by_field(errors, fields, "vi")
    assert placed == {
        "kpis[1].target": ["Chỉ tiêu được giao phải là số"],
        "kpis[1]": ["Thừa trường x"],
        "difficulties": ["Phải có một vướng mắc"],
        "kpis": ["Dòng không còn"],
    }
    assert general == []
    shown = by_name(build_fields(schema, T, raw=submitted, errors=placed))
    # the empty row is gone and the rows are numbered again: the second row shown is kpis[3] as typed
    assert [row.name for row in shown["kpis"].children] == ["kpis[0]", "kpis[1]"]
    assert (shown["kpis[1].indicator"].value, shown["kpis[1].target"].value) == ("B", "nhiều")
    assert shown["kpis[1].target"].errors == ["Chỉ tiêu được giao phải là số"]
    assert shown["kpis[1]"].errors == ["Thừa trường x"] and shown["kpis[0].target"].errors == []


def test_the_rows_in_the_page() -> None:
    env = Environment(loader=FileSystemLoader(Path(__file__).parents[2] / "web" / "templates"), autoescape=True)
    macro = getattr(env.get_template("_form.html").make_module({"t": T}), "field")  # noqa: B009 (a Jinja macro)
    fields = build_fields(form(*REPORT), T, values={"kpis": KPIS[:1]})
    page = parse_page("".join(str(macro(made)) for made in fields))
    assert page.template_rows == 2 and page.add_buttons == 2
    controls = {c["name"]: c for c in page.controls}
    indicator = controls["kpis[0].indicator"]
    assert (
        "required" in indicator
        and "data-required" in indicator
        and indicator["minlength"] == "1"
        and indicator["maxlength"] == "500"
    )
    assert controls["kpis[0].achieved"]["type"] == "number" and controls["kpis[0].achieved"]["value"] == "7.5"
    # the empty row: marked, not yet required (static/app.js requires it once something is typed)
    description = controls["difficulties[0].description"]
    assert "data-required" in description and "required" not in description
    assert page.labels[description["id"]] == "Nội dung vướng mắc *"
    assert [c["value"] for c in page.controls if c["name"] == "difficulties[0].needs_escalation"] == ["true", "false"]
    assert "difficulties[__INDEX__].description" in page.template_names  # the row to clone
    assert not any(name.startswith("difficulties[__INDEX__]") for name in controls)  # inert in its <template>


def test_money_is_typed_and_read_the_vietnamese_way_never_silently_another_amount() -> None:
    """Issue 10.3: "600.000.000" is 600 million đồng; what cannot be read one way only is a field error."""
    start = form("escalation", "start.form.json")
    amount = by_name(build_fields(start, T, values={"funding_amount": 600_000_000}))["funding_amount"]
    assert (amount.widget, amount.value, amount.attrs.get("inputmode")) == ("money", "600.000.000", "numeric")

    def read(text: str) -> tuple[object, list[str]]:
        data, local = parse_submission(start, {"funding_amount": [text]}, T)
        return data.get("funding_amount"), local.get("funding_amount", [])

    for typed in (
        "600.000.000",
        "600 000 000",
        "600000000",
        " 600.000.000 ",
        "600\u00a0000\u00a0000",
        "600.000.000 đồng",
        "600.000.000đ",
        "600 000 000 VNĐ",
        unicodedata.normalize("NFD", "600.000.000 Đồng"),
    ):
        assert read(typed) == (600_000_000, []), typed
    for ambiguous in ("600.000.000,5", "600,5", "6.00", "600.00.000", "1.234.5"):
        value, errors = read(ambiguous)
        assert value is None and errors and "600.000.000" in errors[0], ambiguous
    assert read("sáu trăm")[0] == "sáu trăm"  # not a number at all: the server names the field
    assert read("600 đồng") == (600, [])  # what was typed, with its unit: never 600 million by guess


def test_number_fields_read_thousands_dots_and_decimal_commas() -> None:
    apology = form("green_lane", "apology.form.json")  # extension_days: an integer
    assert parse_submission(apology, {"extension_days": ["1.000"]}, T)[0] == {"extension_days": 1000}
    data, local = parse_submission(apology, {"extension_days": ["2,5"]}, T)
    assert "extension_days" not in data and local["extension_days"]
    decimal = {"type": "object", "properties": {"rate": {"type": "number", "title": "Tỷ lệ"}}}
    assert parse_submission(decimal, {"rate": ["1.234,5"]}, T)[0] == {"rate": 1234.5}
    assert parse_submission(decimal, {"rate": ["7.5"]}, T)[0] == {"rate": 7.5}  # what a browser's number input sends
    assert parse_submission(decimal, {"rate": ["12,75"]}, T)[0] == {"rate": 12.75}


def test_help_texts_leave_out_codes_files_and_the_modellers_assumptions() -> None:
    """Issue 10.3: nothing internal reaches an officer; an enumeration's "code: label" list becomes its options."""
    outcome = by_name(build_fields(form("green_lane", "check_completeness.form.json"), T))["outcome"]
    assert outcome.help is None and ("complete", "Hồ sơ đầy đủ: tiếp nhận, hẹn ngày trả kết quả") in outcome.options
    code = by_name(build_fields(form("green_lane", "start.form.json"), T))["procedure_code"]
    assert code.help is not None and ".dmn" not in code.help
    assert officer_text("Tính từ ngày hẹn cũ. Giả định: tối đa 30 ngày làm việc.") == "Tính từ ngày hẹn cũ."
    assert officer_text("Mã quy trình (ví dụ sandbox_review), nếu có.") == "Mã quy trình, nếu có."
    assert officer_text("Giả định: tối đa 24 tháng.") is None
    agency = "Cơ quan báo cáo. skhcn: Sở Khoa học và Công nghệ; stp: Sở Tư pháp."
    assert officer_text(agency, ["skhcn", "stp"]) == "Cơ quan báo cáo."


def test_an_option_labelled_in_parentheses_or_on_its_array_reads_as_its_label() -> None:
    start = by_name(build_fields(form("escalation", "start.form.json"), T))
    assert start["related_resolution"].options[-1] == ("other", "Nghị quyết khác")
    assert "other" not in (start["related_resolution"].help or "")
    reminded = by_name(build_fields(form("monthly_report", "remind.form.json"), T))["reminded_agencies"]
    assert ("skhcn", "Sở Khoa học và Công nghệ") in reminded.options and "skhcn:" not in (reminded.help or "")
    outcome = by_name(build_fields(form("green_lane", "check_completeness.form.json"), T))["outcome"]
    assert ("supplement", "Yêu cầu bổ sung hồ sơ (chỉ một lần)") in outcome.options and outcome.help is None
