"""engine.definitions.xmlsafe: hostile XML is refused quickly, before it can touch files, the network or memory."""

from __future__ import annotations

import pytest

from phoihop.engine.definitions.xmlsafe import parse_xml, to_utf8
from phoihop.engine.errors import InvalidDefinition, UnsafeXml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _refused(content: bytes, **kwargs: int) -> UnsafeXml:
    with pytest.raises(UnsafeXml) as caught:
        parse_xml(content, filename="x.bpmn", **kwargs)
    assert caught.value.problems and caught.value.problems[0]["file"] == "x.bpmn"
    return caught.value


def test_xxe_file_entity_is_refused() -> None:
    content = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<definitions>&xxe;</definitions>"""
    error = _refused(content)
    assert error.problems[0]["line"] == 2
    assert "DOCTYPE" in error.problems[0]["reason"]
    assert "root:" not in error.detail


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    content = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&l9;</lolz>'.encode()
    error = _refused(content)
    # refused at the prolog, before libxml2 read a declaration: nothing was expanded (no clock: a loaded machine)
    assert [(p["reason"], p["line"]) for p in error.problems] == [
        ("DOCTYPE and ENTITY declarations are not allowed", 1)
    ]
    assert "lol" not in error.detail


def test_quadratic_blowup_is_refused() -> None:
    content = (
        b'<?xml version="1.0"?><!DOCTYPE kaboom [<!ENTITY a "'
        + b"a" * 50_000
        + b'">]><kaboom>'
        + b"&a;" * 10_000
        + b"</kaboom>"
    )
    _refused(content)


def test_external_dtd_is_refused_even_after_a_comment_and_a_bom() -> None:
    content = (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->\n'
        b'<!DOCTYPE definitions SYSTEM "http://attacker.example/evil.dtd">\n<definitions/>'
    )
    assert _refused(content).problems[0]["line"] == 3


def test_doctype_word_inside_content_is_not_refused() -> None:
    content = f'<definitions xmlns="{BPMN_NS}"><documentation><![CDATA[<!DOCTYPE x>]]></documentation></definitions>'
    tree = parse_xml(content.encode(), filename="x.bpmn")
    assert tree.getroot()[0].text == "<!DOCTYPE x>"


def test_oversized_file_is_refused_before_parsing() -> None:
    content = b"<definitions>" + b" " * 6_000_000 + b"</definitions>"
    error = _refused(content)
    assert "6000027 bytes" in error.problems[0]["reason"]
    _refused(b"<a>" + b"x" * 200 + b"</a>", max_bytes=100)


def test_deep_nesting_is_refused_not_crashing() -> None:
    content = b"<a>" * 100_000 + b"</a>" * 100_000
    error = _refused(content)
    # libxml2 stopped at its depth limit (huge_tree=False), not after reading 100 000 levels
    assert "nested too deeply" in error.problems[0]["reason"]
    assert "Excessive depth in document: 256" in error.problems[0]["reason"]


@pytest.mark.parametrize(
    "content",
    [
        b"<a>\xc3\x28</a>",  # invalid UTF-8
        b'<?xml version="1.0" encoding="US-ASCII"?><a>caf\xe9</a>',  # not what it declares
        b'<?xml version="1.0" encoding="no-such-encoding"?><a/>',
        b'<?xml version="1.0" encoding="rot13"?><a/>',  # a Python codec, not a text encoding
        bytes(range(256)) * 4,  # garbage
    ],
)
def test_invalid_text_unknown_encodings_and_garbage_are_refused(content: bytes) -> None:
    _refused(content)


NAMED = f'<definitions xmlns="{BPMN_NS}" name="Café Hòa Lạc">\n  <x/>\n</definitions>'


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + NAMED.replace(" Hòa Lạc", "").encode("latin-1"), "Café"),
        (b"<?xml version='1.0' encoding='us-ascii'?>\n" + NAMED.replace("Café Hòa Lạc", "Cafe").encode(), "Cafe"),
        (('<?xml version="1.0" encoding="UTF-16"?>\n' + NAMED).encode("utf-16"), "Café Hòa Lạc"),  # with a BOM
        (('<?xml version="1.0" encoding="UTF-16LE"?>\n' + NAMED).encode("utf-16-le"), "Café Hòa Lạc"),  # none
        (('<?xml version="1.0" encoding="UTF-16BE"?>\n' + NAMED).encode("utf-16-be"), "Café Hòa Lạc"),
        (("\n" + NAMED).encode("utf-16"), "Café Hòa Lạc"),  # a BOM and no declaration
        (b'<?xml version="1.0" encoding="windows-1258"?>\n' + NAMED.replace(" Hòa Lạc", "").encode("cp1258"), "Café"),
    ],
    ids=["iso-8859-1", "us-ascii", "utf-16-bom", "utf-16le", "utf-16be", "utf-16-no-declaration", "windows-1258"],
)
def test_xml_in_another_declared_encoding_is_read_with_its_lines(content: bytes, name: str) -> None:
    root = parse_xml(content, filename="x.bpmn").getroot()
    assert root.get("name") == name
    assert root.sourceline == 2 and root[0].sourceline == 3
    assert to_utf8(content, filename="x.bpmn").decode("utf-8").startswith(("<?xml", "\n"))


def test_an_entity_in_another_encoding_is_still_refused() -> None:
    doctype = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    assert "DOCTYPE" in _refused(doctype.encode("utf-16")).problems[0]["reason"]


def test_malformed_xml_reports_the_line() -> None:
    content = b"<definitions>\n  <process>\n    <task>\n  </process>\n</definitions>"
    with pytest.raises(InvalidDefinition) as caught:
        parse_xml(content, filename="hong.bpmn")
    assert not isinstance(caught.value, UnsafeXml)
    (problem,) = caught.value.problems
    assert problem["file"] == "hong.bpmn" and problem["line"] == 4
    assert "mismatch" in problem["reason"] and problem["reason_vi"].startswith("XML sai cú pháp")


def test_empty_file_is_invalid() -> None:
    with pytest.raises(InvalidDefinition):
        parse_xml(b"  \n", filename="rong.bpmn")


def test_vietnamese_utf8_with_bom_parses() -> None:
    name = "Sở Khoa học và Công nghệ — Hòa Lạc"
    content = f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{BPMN_NS}" name="{name}"/>'
    tree = parse_xml(b"\xef\xbb\xbf" + content.encode("utf-8"), filename="x.bpmn")
    assert tree.getroot().get("name") == name
    assert tree.getroot().sourceline == 2


def test_comments_and_processing_instructions_are_dropped() -> None:
    tree = parse_xml(b"<a><!-- c --><?pi x?><b/></a>", filename="x.bpmn")
    assert [child.tag for child in tree.getroot()] == ["b"]


def test_too_many_elements_or_siblings_are_refused() -> None:
    many = b"<a>" + (b"<g>" + b"<b><c/></b>" * 1_500 + b"</g>") * 20 + b"</a>"
    assert "more than 50000 elements" in _refused(many).problems[0]["reason"]
    siblings = b"<a>\n<b>" + b"<c/>" * 6_000 + b"</b></a>"
    error = _refused(siblings)
    assert error.problems[0]["reason"] == "an element has 6000 <c> children, the limit is 5000"
    assert error.problems[0]["line"] == 2
    parse_xml(b"<a>" + b"<c/>" * 6_000 + b"</a>", filename="x.bpmn", max_siblings=6_000)
