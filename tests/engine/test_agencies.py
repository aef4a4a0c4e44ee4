"""engine.agencies: lane and group names match agencies however people (and their tools) typed them."""

from __future__ import annotations

import unicodedata

import pytest

from phoihop.engine.agencies import AGENCY_TABLE, Agency, AgencyRegistry, canonical_name, default_registry

REGISTRY = default_registry()


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_default_registry_has_the_sixteen_agencies_of_the_domain_brief() -> None:
    assert REGISTRY.codes == (
        "skhcn",
        "stp",
        "htkc",
        "vp-ubnd",
        "ubnd",
        "stc",
        "snv",
        "thue",
        "sxd",
        "sct",
        "snnmt",
        "syt",
        "sgddt",
        "svhtt",
        "ttpvhcc",
        "xa-phuong",
    )
    skhcn = REGISTRY.get("skhcn")
    assert skhcn is not None and skhcn.name_vi == "Sở Khoa học và Công nghệ"
    assert skhcn.name_en == "Department of Science and Technology"
    for agency in REGISTRY:
        assert unicodedata.is_normalized("NFC", agency.name_vi)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("skhcn", "skhcn"),
        ("SKHCN", "skhcn"),
        ("VP-UBND", "vp-ubnd"),
        ("Sở Khoa học và Công nghệ", "skhcn"),
        ("Sở KH&CN", "skhcn"),
        ("Sở KH & CN", "skhcn"),
        ("Sở Tư pháp", "stp"),
        ("  sở   TƯ   PHÁP ", "stp"),
        ("Ban Quản lý các Khu CNC và KCN", "htkc"),
        ("Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội", "htkc"),
        ("Văn phòng UBND", "vp-ubnd"),
        ("UBND Thành phố", "ubnd"),
        ("Trung tâm Phục vụ hành chính công", "ttpvhcc"),
        ("Bộ phận một cửa", "ttpvhcc"),
        ("UBND xã, phường", "xa-phuong"),
        ("Department of Health", "syt"),
    ],
)
def test_resolve_codes_names_and_aliases(text: str, code: str) -> None:
    agency = REGISTRY.resolve(text)
    assert agency is not None and agency.code == code
    nfd_agency = REGISTRY.resolve(nfd(text))
    assert nfd_agency is not None and nfd_agency.code == code


@pytest.mark.parametrize(
    ("old_style", "new_style", "code"),
    [
        ("Ban Quản lý Khu công nghệ cao Hoà Lạc", "Ban Quản lý Khu công nghệ cao Hòa Lạc", "htkc"),
        ("Sở Văn hoá và Thể thao", "Sở Văn hóa và Thể thao", "svhtt"),
        ("Uỷ ban nhân dân Thành phố", "Ủy ban nhân dân Thành phố", "ubnd"),
    ],
)
def test_both_tone_mark_placements_in_nfc_and_nfd(old_style: str, new_style: str, code: str) -> None:
    assert old_style != new_style
    spellings = {old_style, new_style, nfd(old_style), nfd(new_style)}
    assert len({canonical_name(s) for s in spellings}) == 1
    for spelling in spellings:
        agency = REGISTRY.resolve(spelling)
        assert agency is not None and agency.code == code


def test_canonical_name_folds_tone_placement_but_keeps_vowel_marks() -> None:
    assert canonical_name("thủy") == canonical_name("thuỷ") == canonical_name(nfd("THUỶ"))
    assert canonical_name("Hòa") == canonical_name("Hoà")
    assert canonical_name("Sở") != canonical_name("So")  # horn and tone still count
    assert canonical_name("Sở") != canonical_name("Số")
    assert canonical_name("Đào") != canonical_name("Dao")


@pytest.mark.parametrize("text", ["", "   ", None, "Phòng Kế hoạch Nội bộ", "Sơ Tu phap", "Sở"])
def test_unknown_names_resolve_to_none(text: str | None) -> None:
    assert REGISTRY.resolve(text) is None


def test_registry_refuses_ambiguous_tables() -> None:
    with pytest.raises(ValueError, match="duplicate agency code"):
        AgencyRegistry([Agency("a", "A", "A"), Agency("a", "B", "B")])
    with pytest.raises(ValueError, match="names both"):
        AgencyRegistry([Agency("a", "Sở Hòa", "A"), Agency("b", "Sở Hoà", "B")])


def test_registry_from_another_table() -> None:
    registry = AgencyRegistry.from_table([("p-1", "Phòng Một", "Room One", ("P1",))])
    assert len(registry) == 1
    agency = registry.resolve("p1")
    assert agency == Agency("p-1", "Phòng Một", "Room One", ("P1",))
    assert len(AGENCY_TABLE) == 16
