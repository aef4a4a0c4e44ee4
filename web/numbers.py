"""Numbers typed the Vietnamese way (issue 10.3): a dot separates thousands and a comma comes before the decimals, so
"600.000.000" is six hundred million and "1.234,5" is one thousand two hundred thirty-four and a half. What can be read
only one way is read; what could mean two amounts is refused with a field error, never taken as another amount.

A money field is an ``integer`` or ``number`` with ``"format": "money"`` in its form (đồng): typed in a text input,
shown with separators ("600.000.000") and the unit; the unit may be typed too ("600.000.000 đồng", "600.000.000đ").
Any other number field is a browser number input, which sends the value with a dot before the decimals ("7.5"):
there a single dot followed by three digits is a decimal point."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = ["MONEY_FORMAT", "NumberUnclear", "format_money", "is_money", "month_label", "read_number"]

MONEY_FORMAT = "money"
_SPACE_GROUPS = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?:\D|$))")  # 600 000 000: spaces between thousands
_PLAIN = re.compile(r"[+-]?\d+")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
_DECIMAL_DOT = re.compile(r"[+-]?\d*\.\d+")
_NUMERIC_LOOKING = re.compile(r"[+-]?[\d.,]*\d[\d.,]*")
# the unit typed after an amount: "600.000.000 đồng", "600.000.000đ", "600.000.000 VND" (any case, NFC or NFD)
_MONEY_UNIT = re.compile(r"\s*(?:đồng|đ|vnđ|vnd)\s*$", re.IGNORECASE)


class NumberUnclear(ValueError):
    """Text that looks like a number but cannot be read as exactly one (``whole``: a whole number was wanted)."""

    def __init__(self, text: str, *, whole: bool) -> None:
        super().__init__(text)
        self.text = text
        self.whole = whole


def is_money(schema: Mapping[str, Any]) -> bool:
    return schema.get("format") == MONEY_FORMAT


def read_number(text: str, *, integer: bool, money: bool) -> int | float | str:
    """The number ``text`` means; ``text`` itself when it is no number at all (the form's validation names the field);
    NumberUnclear when it looks like one but could be read two ways, or is not whole where a whole number is asked."""
    typed = text.strip()
    if money:
        typed = _MONEY_UNIT.sub("", unicodedata.normalize("NFC", typed))
    typed = _SPACE_GROUPS.sub(".", typed)
    if len(typed) > 40:  # no amount has that many digits (and int() refuses more than 4,300): not a number
        return text
    if _PLAIN.fullmatch(typed):
        return int(typed)
    if _GROUPED.fullmatch(typed):
        if integer or money or typed.count(".") > 1:
            return int(typed.replace(".", ""))
        return float(typed)  # a browser's number input: "1.234" is one point two three four
    if _DECIMAL_COMMA.fullmatch(typed):
        if integer:
            raise NumberUnclear(text, whole=True)
        return float(typed.replace(".", "").replace(",", "."))
    if _DECIMAL_DOT.fullmatch(typed) and not money:
        if integer:
            raise NumberUnclear(text, whole=True)
        return float(typed)
    if _NUMERIC_LOOKING.fullmatch(typed):
        raise NumberUnclear(text, whole=integer)
    return text


def format_money(value: Any) -> str:
    """600000000 → "600.000.000"; 1234.5 → "1.234,5" (no unit); anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    whole = int(abs(value))
    grouped = f"{whole:,}".replace(",", ".")
    sign = "-" if value < 0 else ""
    if isinstance(value, float) and not value.is_integer():
        decimals = f"{abs(value):.6f}".split(".")[1].rstrip("0")
        return f"{sign}{grouped},{decimals}"
    return f"{sign}{grouped}"


def month_label(month: str) -> str:
    """A month as an officer writes it: "2026-11" → "11/2026" (the page says "tháng" before it); anything else as it
    is."""
    year, dash, number = month.partition("-")
    if dash and year.isdigit() and number.isdigit() and len(year) == 4 and 1 <= int(number) <= 12:
        return f"{int(number):02d}/{year}"
    return month
