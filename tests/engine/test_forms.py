"""engine.definitions.forms: JSON Schema forms parsed as untrusted input, and one Vietnamese + English message per wrong field."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from referencing.exceptions import Unresolvable

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.forms.files import Form, compile_forms, parse_form
from phoihop.engine.definitions.forms.validation import MAX_ERRORS, validate
from phoihop.engine.definitions.process_files import deployable_sets
from phoihop.engine.errors import FormInvalid, InvalidDefinition
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import SourceFile

FORMS = Path(__file__).parent.parent / "fixtures" / "forms"


def form(schema: dict[str, Any], name: str = "x.form.json") -> Form:
    return parse_form(name, json.dumps(schema, ensure_ascii=False).encode())


def errors_of(compiled: Form, variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    with pytest.raises(FormInvalid) as caught:
        validate(compiled, variables)
    assert caught.value.code == "form-invalid"
    assert caught.value.fields["form"] == compiled.name
    listed: list[dict[str, Any]] = caught.value.fields["errors"]
    assert all(set(e) == {"field", "message_vi", "message_en", "rule"} for e in listed), listed
    by_field = {e["field"]: e for e in listed}
    assert len(by_field) == len(listed), "one entry per field"
    return by_field


def refusal(content: bytes | str, name: str = "bad.form.json") -> dict[str, Any]:
    with pytest.raises(InvalidDefinition) as caught:
        parse_form(name, content.encode() if isinstance(content, str) else content)
    [found] = caught.value.problems
    assert found["file"] == name
    assert found["reason"] and found["reason_vi"]
    return found


def no_network(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a form reference was fetched")


def fixture_files() -> list[SourceFile]:
    return [SourceFile(p.name, p.read_bytes()) for p in sorted(FORMS.iterdir())]


def compile_files(files: list[SourceFile]) -> Any:
    return compile_deployment(files, agencies=default_registry(), check=check_source)


# --- messages -------------------------------------------------------------------------------------------------------
APPLICATION = form(
    {
        "title": "Hồ sơ đề nghị",
        "type": "object",
        "properties": {
            "ten": {"type": "string", "title": "Tên tổ chức", "minLength": 2, "maxLength": 5},
            "so_luong": {"type": "integer", "title": "Số lượng", "minimum": 1, "maximum": 10},
            "loai": {"title": "Loại hồ sơ", "enum": ["moi", "bo_sung"]},
            "ngay": {"type": "string", "title": "Ngày nhận", "format": "date"},
            "luc": {"type": "string", "title": "Thời điểm", "format": "date-time"},
            "email": {"type": "string", "title": "Thư điện tử", "format": "email"},
            "ma": {"type": "string", "title": "Mã số", "pattern": "^[0-9]{4}$"},
            "dong_y": {"const": True, "title": "Cam kết"},
            "tep": {"type": "array", "title": "Tệp đính kèm", "minItems": 1},
            "khong_ten": {"type": "number"},
        },
        "required": ["ten", "loai"],
        "additionalProperties": False,
    }
)


def test_valid_variables_pass() -> None:
    validate(
        APPLICATION,
        {
            "ten": "ABC",
            "so_luong": 3,
            "loai": "moi",
            "ngay": "2026-02-28",
            "luc": "2026-03-01T10:00:00+07:00",
            "email": "van.thu@skhcn.hanoi.gov.vn",
            "ma": "0123",
            "dong_y": True,
            "tep": ["a.pdf"],
            "khong_ten": 1.5,
        },
    )
    validate(APPLICATION, {"ten": "AB", "loai": "bo_sung", "luc": "2026-03-01T03:00:00.5Z"})


def test_required_names_the_missing_field_by_its_title() -> None:
    found = errors_of(APPLICATION, {"ten": "Sở"})

    assert found == {
        "loai": {
            "field": "loai",
            "rule": "required",
            "message_vi": "Trường 'Loại hồ sơ' là bắt buộc",
            "message_en": "Field 'Loại hồ sơ' is required",
        }
    }


@pytest.mark.parametrize(
    ("variables", "field", "rule", "vi", "en"),
    [
        (
            {"ten": 12},
            "ten",
            "type",
            "Trường 'Tên tổ chức' phải là chuỗi ký tự",
            "Field 'Tên tổ chức' must be a string",
        ),
        (
            {"so_luong": "3"},
            "so_luong",
            "type",
            "Trường 'Số lượng' phải là số nguyên",
            "Field 'Số lượng' must be an integer",
        ),
        (
            {"loai": "khac"},
            "loai",
            "enum",
            'Trường \'Loại hồ sơ\' phải là một trong các giá trị: "moi", "bo_sung"',
            'Field \'Loại hồ sơ\' must be one of: "moi", "bo_sung"',
        ),
        (
            {"so_luong": 0},
            "so_luong",
            "minimum",
            "Trường 'Số lượng' phải lớn hơn hoặc bằng 1",
            "Field 'Số lượng' must be at least 1",
        ),
        (
            {"so_luong": 11},
            "so_luong",
            "maximum",
            "Trường 'Số lượng' phải nhỏ hơn hoặc bằng 10",
            "Field 'Số lượng' must be at most 10",
        ),
        (
            {"ten": "A"},
            "ten",
            "minLength",
            "Trường 'Tên tổ chức' phải có ít nhất 2 ký tự",
            "Field 'Tên tổ chức' must have at least 2 characters",
        ),
        (
            {"ten": "Sở KH&CN"},
            "ten",
            "maxLength",
            "Trường 'Tên tổ chức' không được dài quá 5 ký tự",
            "Field 'Tên tổ chức' must have at most 5 characters",
        ),
        (
            {"ma": "12a4"},
            "ma",
            "pattern",
            "Trường 'Mã số' không đúng mẫu quy định (^[0-9]{4}$)",
            "Field 'Mã số' does not match the required pattern (^[0-9]{4}$)",
        ),
        (
            {"ngay": "2026-02-30"},
            "ngay",
            "format",
            "Trường 'Ngày nhận' phải là ngày hợp lệ theo định dạng YYYY-MM-DD",
            "Field 'Ngày nhận' must be a valid date (YYYY-MM-DD)",
        ),
        (
            {"ngay": "30/01/2026"},
            "ngay",
            "format",
            "Trường 'Ngày nhận' phải là ngày hợp lệ theo định dạng YYYY-MM-DD",
            "Field 'Ngày nhận' must be a valid date (YYYY-MM-DD)",
        ),
        (
            {"luc": "2026-03-01T10:00:00"},
            "luc",
            "format",
            "Trường 'Thời điểm' phải là ngày giờ hợp lệ theo định dạng YYYY-MM-DDThh:mm:ss+07:00",
            "Field 'Thời điểm' must be a valid date-time (YYYY-MM-DDThh:mm:ss+07:00)",
        ),
        (
            {"email": "van.thu@"},
            "email",
            "format",
            "Trường 'Thư điện tử' phải là địa chỉ thư điện tử hợp lệ",
            "Field 'Thư điện tử' must be a valid email address",
        ),
        ({"dong_y": False}, "dong_y", "const", "Trường 'Cam kết' phải có giá trị true", "Field 'Cam kết' must be true"),
        (
            {"tep": []},
            "tep",
            "minItems",
            "Trường 'Tệp đính kèm' phải có ít nhất 1 phần tử",
            "Field 'Tệp đính kèm' must have at least 1 items",
        ),
        (
            {"khong_ten": "x"},
            "khong_ten",
            "type",
            "Trường 'khong_ten' phải là số",
            "Field 'khong_ten' must be a number",
        ),
        (
            {"ghi_chu": "x"},
            "ghi_chu",
            "additionalProperties",
            "Trường 'ghi_chu' không có trong biểu mẫu",
            "Field 'ghi_chu' is not part of the form",
        ),
    ],
)
def test_each_rule_has_its_vietnamese_and_english_message(
    variables: dict[str, Any], field: str, rule: str, vi: str, en: str
) -> None:
    found = errors_of(APPLICATION, {"ten": "AB", "loai": "moi", **variables})

    assert found == {field: {"field": field, "rule": rule, "message_vi": vi, "message_en": en}}


def test_every_wrong_field_is_listed_once() -> None:
    found = errors_of(APPLICATION, {"ten": "A" * 9, "so_luong": -1, "ngay": "hôm nay", "x": 1, "y": 2})

    assert {f: e["rule"] for f, e in found.items()} == {
        "ten": "maxLength",
        "so_luong": "minimum",
        "ngay": "format",
        "loai": "required",
        "x": "additionalProperties",
        "y": "additionalProperties",
    }


def test_a_field_breaking_two_rules_is_listed_once() -> None:
    compiled = form(
        {
            "type": "object",
            "properties": {"ma": {"type": "string", "title": "Mã", "minLength": 5, "pattern": "^[0-9]+$"}},
        }
    )

    found = errors_of(compiled, {"ma": "ab"})

    assert list(found) == ["ma"]
    assert found["ma"]["rule"] in ("minLength", "pattern")


def test_the_error_carries_form_detail_and_context() -> None:
    with pytest.raises(FormInvalid) as caught:
        validate(APPLICATION, {"ten": "AB"}, task_id="t-1")

    error = caught.value
    assert error.fields["task_id"] == "t-1"
    assert error.form == "x.form.json"
    assert error.errors == error.fields["errors"]
    assert "Hồ sơ đề nghị" in error.detail_vi and "Trường 'Loại hồ sơ' là bắt buộc" in error.detail_vi
    assert "Field 'Loại hồ sơ' is required" in error.detail


def test_nested_objects_and_lists_name_the_path() -> None:
    compiled = form(
        {
            "type": "object",
            "properties": {
                "nguoi_nop": {
                    "type": "object",
                    "title": "Người nộp",
                    "properties": {
                        "ho_ten": {"type": "string", "title": "Họ và tên"},
                        "dien_thoai": {"type": "string", "title": "Điện thoại", "pattern": "^0[0-9]{9}$"},
                    },
                    "required": ["ho_ten"],
                },
                "thanh_vien": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"ten": {"type": "string", "title": "Tên thành viên"}},
                        "required": ["ten"],
                    },
                },
            },
        }
    )

    found = errors_of(compiled, {"nguoi_nop": {"dien_thoai": "12"}, "thanh_vien": [{"ten": "An"}, {}, {"ten": 5}]})

    assert {f: (e["rule"], e["message_vi"]) for f, e in found.items()} == {
        "nguoi_nop.ho_ten": ("required", "Trường 'Họ và tên' là bắt buộc"),
        "nguoi_nop.dien_thoai": ("pattern", "Trường 'Điện thoại' không đúng mẫu quy định (^0[0-9]{9}$)"),
        "thanh_vien[1].ten": ("required", "Trường 'Tên thành viên' là bắt buộc"),
        "thanh_vien[2].ten": ("type", "Trường 'Tên thành viên' phải là chuỗi ký tự"),
    }


def test_titles_are_found_through_local_references_and_conditions() -> None:
    compiled = form(
        {
            "type": "object",
            "$defs": {"ngay": {"type": "string", "format": "date"}},
            "properties": {
                "ket_luan": {"enum": ["dong_y", "can_bo_sung"], "title": "Kết luận"},
                "han": {"$ref": "#/$defs/ngay", "title": "Hạn bổ sung"},
            },
            "if": {"properties": {"ket_luan": {"const": "can_bo_sung"}}, "required": ["ket_luan"]},
            "then": {"required": ["han"]},
            "dependentRequired": {"han": ["ly_do"]},
        }
    )

    assert errors_of(compiled, {"ket_luan": "can_bo_sung"}) == {
        "han": {
            "field": "han",
            "rule": "required",
            "message_vi": "Trường 'Hạn bổ sung' là bắt buộc",
            "message_en": "Field 'Hạn bổ sung' is required",
        }
    }
    wrong = errors_of(compiled, {"ket_luan": "dong_y", "han": "mai"})
    assert wrong["han"]["message_vi"] == "Trường 'Hạn bổ sung' phải là ngày hợp lệ theo định dạng YYYY-MM-DD"
    assert wrong["ly_do"]["rule"] == "dependentRequired"
    assert wrong["ly_do"]["message_vi"] == "Trường 'ly_do' là bắt buộc khi có trường 'Hạn bổ sung'"
    validate(compiled, {"ket_luan": "can_bo_sung", "han": "2026-04-01", "ly_do": "thiếu giấy tờ"})


def test_a_false_property_schema_names_the_property() -> None:
    compiled = form({"type": "object", "properties": {"ma_noi_bo": False, "ten": {"type": "string"}}})

    assert errors_of(compiled, {"ten": "a", "ma_noi_bo": 1}) == {
        "ma_noi_bo": {
            "field": "ma_noi_bo",
            "rule": "false",
            "message_vi": "Trường 'ma_noi_bo' không được phép gửi",
            "message_en": "Field 'ma_noi_bo' is not allowed",
        }
    }


def test_the_list_is_capped() -> None:
    compiled = form({"type": "object", "additionalProperties": False})

    found = errors_of(compiled, {f"f{i}": i for i in range(MAX_ERRORS + 50)})

    assert len(found) == MAX_ERRORS


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-03-01T10:00:00+07:00", True),
        ("2026-03-01t10:00:00.123456789z", True),
        ("2026-03-01 10:00:00Z", True),
        ("2026-03-01T10:00:00", False),
        ("2026-03-01T25:00:00Z", False),
        ("2026-03-01", False),
        ("", False),
    ],
)
def test_date_time_follows_rfc_3339(value: str, ok: bool) -> None:
    compiled = form({"type": "object", "properties": {"luc": {"type": "string", "format": "date-time"}}})

    if ok:
        validate(compiled, {"luc": value})
    else:
        assert errors_of(compiled, {"luc": value})["luc"]["rule"] == "format"


# --- refusals -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "https://example.com/schemas/ho_so.json"},
        {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/x.json#/a"}}},
        {"type": "object", "properties": {"a": {"$ref": "other.form.json"}}},
        {"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}},
        {"type": "object", "properties": {"a": {"$dynamicRef": "https://example.com/meta#node"}}},
    ],
)
def test_references_outside_the_document_are_refused_and_never_fetched(
    schema: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", no_network)

    found = refusal(json.dumps(schema))

    assert "points outside the form" in found["reason"]
    assert "trỏ ra ngoài biểu mẫu" in found["reason_vi"]
    assert found["path"].endswith(("/$ref", "/$dynamicRef"))


def test_the_validator_cannot_retrieve_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a reference that slipped past the checks resolves only inside the document: the registry retrieves
    nothing (jsonschema's default one would fetch it over the network)."""
    compiled = form({"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"type": "string"}}})
    monkeypatch.setattr(urllib.request, "urlopen", no_network)

    remote = compiled.validator.evolve(schema={"$ref": "https://example.com/x.json"})
    with pytest.raises(Unresolvable):
        remote.is_valid({})

    assert errors_of(compiled, {"a": 1})["a"]["rule"] == "type"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "not valid JSON"),
        ('{"type": "object", "type": "object"}', "duplicate key 'type'"),
        ('{"type": "object", "properties": {"a": {"maximum": NaN}}}', "NaN is not valid JSON"),
        ('{"type": "object", "properties": {"a": {"maximum": 1e999}}}', "out of range"),
        ("[]", "must be a JSON object"),
        ('"object"', "must be a JSON object"),
        ('{"type": "string"}', "root must be of type object"),
        ('{"type": "object", "properties": {"a": {"type": "chuoi"}}}', "not a valid JSON Schema 2020-12"),
        ('{"type": "object", "properties": {"a": {"pattern": "("}}}', "not a valid JSON Schema 2020-12"),
        ('{"type": "object", "required": "ten"}', "not a valid JSON Schema 2020-12"),
        ('{"$schema": "http://json-schema.org/draft-07/schema#"}', "is not JSON Schema draft 2020-12"),
        ('{"properties": {"a": {"$id": "https://example.com/a"}}}', "$id is allowed only at the root"),
        ('{"properties": {"a": {"$ref": "#/$defs/none"}}}', "points to nothing in the form"),
        ('{"properties": {"a": {"$ref": "#khong_co"}}}', "points to nothing in the form"),
        ('{"title": "\\ud800"}', "lone surrogate"),
        ("   ", "the form is empty"),
    ],
)
def test_bad_forms_are_refused_with_the_reason(content: str, reason: str) -> None:
    found = refusal(content)

    assert reason in found["reason"], found


def test_non_utf8_oversized_and_deep_forms_are_refused() -> None:
    assert "not valid UTF-8" in refusal(b'{"title": "S\xf4"}')["reason"]
    assert "the limit is" in refusal(b'{"title": "' + b"x" * 300_000 + b'"}')["reason"]
    deep = '{"type": "object", "properties": {"a": ' * 30 + "{}" + "}}" * 30
    assert "nests deeper than" in refusal(deep)["reason"]
    assert "nested too deeply" in refusal("[" * 100_000)["reason"]


def test_malformed_json_reports_the_line() -> None:
    found = refusal('{\n  "type": "object",\n  "properties": {,}\n}')

    assert found["line"] == 3


def test_local_references_anchors_and_a_root_id_are_accepted() -> None:
    compiled = form(
        {
            "$id": "https://forms.phoihop.local/ho_so.form.json",
            "type": "object",
            "$defs": {"ma": {"$anchor": "ma", "type": "string", "pattern": "^[0-9]+$"}},
            "properties": {"a": {"$ref": "#ma", "title": "Mã hồ sơ"}, "b": {"$ref": "#/$defs/ma"}},
        }
    )

    assert errors_of(compiled, {"a": "x"})["a"]["message_vi"] == "Trường 'Mã hồ sơ' không đúng mẫu quy định (^[0-9]+$)"


# --- deployment -----------------------------------------------------------------------------------------------------
def test_compile_forms_keeps_the_good_ones_and_lists_the_problems() -> None:
    forms, problems = compile_forms(
        [("a.form.json", b'{"type": "object"}'), ("b.form.json", b"{"), ("c.bpmn", b"<not-json/>")]
    )

    assert list(forms) == ["a.form.json"]
    assert [p["file"] for p in problems] == ["b.form.json"]


def test_a_deployment_compiles_its_forms_and_the_start_form() -> None:
    deployment = compile_files(fixture_files())

    [model] = deployment.processes
    assert sorted(model.forms) == ["kien_nghi.form.json", "tham_dinh.form.json"]
    assert model.start_form is model.forms["kien_nghi.form.json"]
    assert model.start_form.title == "Kiến nghị của doanh nghiệp"
    assert model.user_tasks["tham_dinh"].form_key == "tham_dinh.form.json"
    assert {f.name for f in deployment.files} >= {"kien_nghi.form.json", "tham_dinh.form.json"}


def fixture_with(
    replace: dict[str, str], extra: list[SourceFile] | None = None, *, drop: tuple[str, ...] = ()
) -> list[SourceFile]:
    files = []
    for source in fixture_files():
        if source.name in drop:
            continue
        if source.name.endswith(".bpmn"):
            text = source.content.decode()
            for old, new in replace.items():
                assert old in text, old
                text = text.replace(old, new)
            source = SourceFile(source.name, text.encode())
        files.append(source)
    return files + (extra or [])


def test_start_form_json_is_the_start_form_when_the_start_event_names_none() -> None:
    files = fixture_with(
        {' camunda:formKey="kien_nghi.form.json"': ""},
        [SourceFile("start.form.json", b'{"type": "object", "required": ["ho_so"]}')],
    )

    [model] = compile_files(files).processes

    assert model.start_form is not None and model.start_form.name == "start.form.json"


def test_a_start_event_without_form_and_no_start_form_json_has_no_start_form() -> None:
    files = fixture_with({' camunda:formKey="kien_nghi.form.json"': ""}, drop=("kien_nghi.form.json",))

    [model] = compile_files(files).processes

    assert model.start_form is None
    assert list(model.forms) == ["tham_dinh.form.json"]


def test_a_form_key_naming_no_file_is_a_deployment_problem() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        compile_files(fixture_with({}, drop=("tham_dinh.form.json",)))

    [found] = caught.value.problems
    assert (found["file"], found["element_id"]) == ("kien_nghi.bpmn", "tham_dinh")
    assert "tham_dinh.form.json" in found["reason"] and "không trỏ tới tệp biểu mẫu" in found["reason_vi"]
    assert found["line"] > 1


def test_an_invalid_form_is_a_deployment_problem_of_its_file() -> None:
    files = [
        f if f.name != "tham_dinh.form.json" else SourceFile(f.name, b'{"type": "object", "required": 1}')
        for f in fixture_files()
    ]

    with pytest.raises(InvalidDefinition) as caught:
        compile_files(files)

    [found] = caught.value.problems
    assert found["file"] == "tham_dinh.form.json"
    assert "not a valid JSON Schema" in found["reason"]


def test_a_form_key_that_is_not_a_json_form_is_left_alone() -> None:
    files = fixture_with({'camunda:formKey="tham_dinh.form.json"': 'camunda:formKey="embedded:app:forms/x.html"'})

    [model] = compile_files(files).processes

    assert model.user_tasks["tham_dinh"].form_key == "embedded:app:forms/x.html"
    assert "embedded:app:forms/x.html" not in model.forms


def test_process_folders_deploy_their_forms(tmp_path: Path) -> None:
    folder = tmp_path / "kien_nghi"
    folder.mkdir()
    for source in fixture_files():
        (folder / source.name).write_bytes(source.content)
    (folder / "ghi_chu.txt").write_text("không triển khai")
    only_forms = tmp_path / "chi_co_bieu_mau"
    only_forms.mkdir()
    (only_forms / "a.form.json").write_text("{}")

    sets = deployable_sets(tmp_path)

    assert [(label, sorted(f.name for f in files)) for label, files in sets] == [
        ("kien_nghi", ["kien_nghi.bpmn", "kien_nghi.form.json", "tham_dinh.form.json"])
    ]
