"""The agencies of Decision 5921/QĐ-UBND and how lane / group names typed by people are matched to them.

Matching compares a canonical form: Unicode NFD, case folded, whitespace collapsed, and each Vietnamese tone mark
moved to the end of its word, so "Hòa"/"Hoà", "thủy"/"thuỷ" and NFC/NFD spellings compare equal while vowel marks
(ơ, ư, â, ă, ê, ô) and đ still count. The default table lives in ``AGENCY_TABLE`` as data; a registry can be built
from any other table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["AGENCY_TABLE", "SHORT_NAMES_VI", "Agency", "AgencyRegistry", "canonical_name", "default_registry"]

# One short form per agency with a long name, everywhere (issue 10.3): the HTKC board is "Ban Quản lý các Khu CNC và
# KCN" in task names, documentation and narrow columns, never "Ban HTKC" or "BQL". The others keep their name.
SHORT_NAMES_VI = {
    "htkc": "Ban Quản lý các Khu CNC và KCN",
    "skhcn": "Sở KH&CN",
    "ttpvhcc": "Trung tâm Phục vụ hành chính công",
}

# The five Vietnamese tone marks as combining characters: grave, acute, tilde, hook above, dot below.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_TIGHT_PUNCTUATION = re.compile(r"\s*([&/\-])\s*")


def canonical_name(text: str) -> str:
    """The form names are compared in: NFD, case folded, spaces collapsed, tone marks at the end of each word."""
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).casefold())
    words = []
    for word in folded.split():
        tones = "".join(sorted(ch for ch in word if ch in _TONE_MARKS))
        words.append("".join(ch for ch in word if ch not in _TONE_MARKS) + tones)
    return _TIGHT_PUNCTUATION.sub(r"\1", " ".join(words))


@dataclass(frozen=True)
class Agency:
    code: str
    name_vi: str
    name_en: str
    aliases: tuple[str, ...] = ()

    @property
    def short_vi(self) -> str:
        """The one short Vietnamese form used where space is short (inbox columns, task names): SHORT_NAMES_VI."""
        return SHORT_NAMES_VI.get(self.code, self.name_vi)

    def names(self) -> tuple[str, ...]:
        """Every spelling that resolves to this agency."""
        return (self.code, self.name_vi, self.name_en, *self.aliases)


# code, Vietnamese name (shown to users), English name, aliases people write on lanes and in candidate groups.
AGENCY_TABLE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "skhcn",
        "Sở Khoa học và Công nghệ",
        "Department of Science and Technology",
        ("Sở KH&CN", "Sở KHCN", "SKHCN", "Sở Khoa học Công nghệ", "Sở Khoa học và Công nghệ Hà Nội"),
    ),
    ("stp", "Sở Tư pháp", "Department of Justice", ("STP", "Sở Tư pháp Hà Nội")),
    (
        "htkc",
        "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội",
        "Hi-Tech Parks and Industrial Zones Board",
        (
            "Ban Quản lý các Khu CNC và KCN",
            "Ban Quản lý các Khu CNC và KCN Hà Nội",
            "Ban HTKC",
            "HTKC Board",
            "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp",
            "Ban Quản lý Khu công nghệ cao Hòa Lạc",
        ),
    ),
    (
        "vp-ubnd",
        "Văn phòng UBND Thành phố",
        "Office of the City People's Committee",
        ("Văn phòng UBND", "VP UBND", "VPUBND", "Văn phòng Ủy ban nhân dân Thành phố", "Văn phòng UBND TP"),
    ),
    (
        "ubnd",
        "UBND Thành phố",
        "City People's Committee",
        (
            "UBND TP",
            "UBND Thành phố Hà Nội",
            "Ủy ban nhân dân Thành phố",
            "Ủy ban nhân dân Thành phố Hà Nội",
            "Chủ tịch UBND Thành phố",
        ),
    ),
    ("stc", "Sở Tài chính", "Department of Finance", ("STC", "Sở Tài chính Hà Nội")),
    ("snv", "Sở Nội vụ", "Department of Home Affairs", ("SNV", "Sở Nội vụ Hà Nội")),
    ("thue", "Thuế thành phố Hà Nội", "Hanoi Tax", ("Thuế Hà Nội", "Cục Thuế Hà Nội", "Cục Thuế thành phố Hà Nội")),
    ("sxd", "Sở Xây dựng", "Department of Construction", ("SXD",)),
    ("sct", "Sở Công Thương", "Department of Industry and Trade", ("SCT",)),
    (
        "snnmt",
        "Sở Nông nghiệp và Môi trường",
        "Department of Agriculture and Environment",
        ("Sở NN&MT", "Sở NNMT", "SNNMT"),
    ),
    ("syt", "Sở Y tế", "Department of Health", ("SYT",)),
    ("sgddt", "Sở Giáo dục và Đào tạo", "Department of Education and Training", ("Sở GD&ĐT", "Sở GDĐT", "SGDĐT")),
    ("svhtt", "Sở Văn hóa và Thể thao", "Department of Culture and Sports", ("Sở VH&TT", "Sở VHTT", "SVHTT")),
    (
        "ttpvhcc",
        "Trung tâm Phục vụ hành chính công thành phố Hà Nội",  # its full name (Điều 20)
        "Hanoi Public Administrative Service Centre",
        (
            "Bộ phận một cửa",
            "Một cửa",
            "Bộ phận tiếp nhận và trả kết quả",
            "Trung tâm Phục vụ hành chính công",
            "TTPVHCC",
        ),
    ),
    (
        "xa-phuong",
        "UBND xã, phường",
        "Commune and ward committees",
        ("UBND xã", "UBND phường", "UBND cấp xã", "UBND xã/phường"),
    ),
)


class AgencyRegistry:
    """Agencies by code, and a lookup from any known spelling (see :func:`canonical_name`) to the agency."""

    def __init__(self, agencies: Iterable[Agency]) -> None:
        self._by_code: dict[str, Agency] = {}
        self._by_name: dict[str, Agency] = {}
        for agency in agencies:
            if agency.code in self._by_code:
                raise ValueError(f"duplicate agency code {agency.code!r}")
            self._by_code[agency.code] = agency
            for name in agency.names():
                key = canonical_name(name)
                other = self._by_name.setdefault(key, agency)
                if other is not agency:
                    raise ValueError(f"{name!r} names both {other.code!r} and {agency.code!r}")

    @classmethod
    def from_table(cls, table: Iterable[tuple[str, str, str, tuple[str, ...]]]) -> AgencyRegistry:
        return cls(Agency(code, name_vi, name_en, tuple(aliases)) for code, name_vi, name_en, aliases in table)

    def resolve(self, text: str | None) -> Agency | None:
        """The agency that ``text`` (a code, a name or an alias, in any normalization) names, else None."""
        if not text or not text.strip():
            return None
        return self._by_name.get(canonical_name(text))

    def get(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)


def default_registry() -> AgencyRegistry:
    """The 16 agencies of DOMAIN.md."""
    return AgencyRegistry.from_table(AGENCY_TABLE)
