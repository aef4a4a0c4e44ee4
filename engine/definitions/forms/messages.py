"""The message, in Vietnamese and English, for a submitted value a JSON Schema keyword refuses: the type it must have,
the values it may take, the bounds, lengths, patterns and formats it must keep."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["keyword_message"]

_TYPES = {
    "string": ("chuỗi ký tự", "a string"),
    "integer": ("số nguyên", "an integer"),
    "number": ("số", "a number"),
    "boolean": ("giá trị đúng/sai (true/false)", "a boolean (true/false)"),
    "object": ("đối tượng", "an object"),
    "array": ("danh sách", "a list"),
    "null": ("null", "null"),
}
_FORMATS = {
    "date": ("ngày hợp lệ theo định dạng YYYY-MM-DD", "a valid date (YYYY-MM-DD)"),
    "date-time": (
        "ngày giờ hợp lệ theo định dạng YYYY-MM-DDThh:mm:ss+07:00",
        "a valid date-time (YYYY-MM-DDThh:mm:ss+07:00)",
    ),
    "time": ("giờ hợp lệ theo định dạng hh:mm:ss+07:00", "a valid time (hh:mm:ss+07:00)"),
    "email": ("địa chỉ thư điện tử hợp lệ", "a valid email address"),
    "uuid": ("mã UUID hợp lệ", "a valid UUID"),
    "money": ("số tiền (đồng) viết bằng số", "an amount (đồng) as a number"),
}
_SHOWN_VALUES = 20


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def _values(values: Any) -> str:
    items = list(values) if isinstance(values, list) else [values]
    shown = ", ".join(_show(v) for v in items[:_SHOWN_VALUES])
    return shown + (", …" if len(items) > _SHOWN_VALUES else "")


def keyword_message(keyword: str, value: Any, instance: Any, vi: str, en: str) -> tuple[str, str]:
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        return (
            f"{vi} phải là " + " hoặc ".join(_TYPES.get(t, (t, t))[0] for t in types),
            f"{en} must be " + " or ".join(_TYPES.get(t, (t, t))[1] for t in types),
        )
    simple: dict[str, tuple[str, str]] = {
        "enum": (f"phải là một trong các giá trị: {_values(value)}", f"must be one of: {_values(value)}"),
        "const": (f"phải có giá trị {_show(value)}", f"must be {_show(value)}"),
        "minimum": (f"phải lớn hơn hoặc bằng {value}", f"must be at least {value}"),
        "exclusiveMinimum": (f"phải lớn hơn {value}", f"must be greater than {value}"),
        "maximum": (f"phải nhỏ hơn hoặc bằng {value}", f"must be at most {value}"),
        "exclusiveMaximum": (f"phải nhỏ hơn {value}", f"must be less than {value}"),
        "multipleOf": (f"phải là bội số của {value}", f"must be a multiple of {value}"),
        "minLength": (f"phải có ít nhất {value} ký tự", f"must have at least {value} characters"),
        "maxLength": (f"không được dài quá {value} ký tự", f"must have at most {value} characters"),
        "pattern": (f"không đúng mẫu quy định ({value})", f"does not match the required pattern ({value})"),
        "minItems": (f"phải có ít nhất {value} phần tử", f"must have at least {value} items"),
        "maxItems": (f"không được có quá {value} phần tử", f"must have at most {value} items"),
        "uniqueItems": ("không được có phần tử trùng nhau", "must not contain duplicate items"),
        "minProperties": (f"phải có ít nhất {value} trường", f"must have at least {value} fields"),
        "maxProperties": (f"không được có quá {value} trường", f"must have at most {value} fields"),
        "contains": ("phải chứa ít nhất một phần tử hợp lệ", "must contain at least one valid item"),
        "minContains": (f"phải chứa ít nhất {value} phần tử hợp lệ", f"must contain at least {value} valid items"),
        "maxContains": (f"không được chứa quá {value} phần tử hợp lệ", f"must contain at most {value} valid items"),
        "not": ("có giá trị không được phép", "has a value that is not allowed"),
        "anyOf": ("không khớp với lựa chọn nào của biểu mẫu", "matches none of the allowed choices"),
        "oneOf": ("phải khớp đúng một lựa chọn của biểu mẫu", "must match exactly one of the allowed choices"),
        "propertyNames": ("có tên trường không hợp lệ", "has an invalid field name"),
    }
    if keyword == "format":
        described = _FORMATS.get(value, (f"giá trị đúng định dạng {value}", f"a valid {value}"))
        return f"{vi} phải là {described[0]}", f"{en} must be {described[1]}"
    if keyword in simple:
        text_vi, text_en = simple[keyword]
        return f"{vi} {text_vi}", f"{en} {text_en}"
    return f"{vi} không hợp lệ (quy tắc {keyword})", f"{en} is invalid (rule {keyword})"
