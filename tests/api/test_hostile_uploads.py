"""Hostile, huge, malformed and non-BPMN uploads, to deploy and to validate: always a 4xx problem (or, from validate,
findings in a 200) that names the limit or rule the upload breaks (the body size limit in ``limit``, the file size,
nesting, sibling and element limits, DOCTYPE, encoding, parser length in the text); never a 500, nothing stored.

The files are generated here, none is committed. The tests assert the refusal and the limit it names, never a
duration. For reference, times measured on the project's 2-core machine, SQLite, both endpoints:

| upload                                                  | answer (deploy / validate)            | time       |
|---------------------------------------------------------|---------------------------------------|------------|
| billion laughs, external entity, external DTD, %entity  | 422 unsafe-xml (any DOCTYPE refused)  | 0.02-0.2 s |
| 50 MB file                                              | 413 payload-too-large (Content-Length)| 0.1-0.3 s  |
| 50 MB body streamed without a Content-Length            | 413, counted while read               | 0.1 s      |
| 6 MB file (under the 10 MB body limit, over the 5 MB)   | 422 unsafe-xml                        | 0.2-0.3 s  |
| 100,000 nested elements                                 | 422 unsafe-xml (libxml2 depth 256)    | 0.05 s     |
| 6,000 same-tag siblings; 60,000 elements                | 422 unsafe-xml                        | 0.05-0.15 s|
| binary bytes, a PNG renamed .bpmn, UTF-16               | 422 unsafe-xml (not UTF-8)            | 0.02-0.06 s|
| text or HTML that is not BPMN, a .xml file              | 422 invalid-bpmn / 200 with findings  | 0.02-0.08 s|
| duplicate ids; dangling sourceRef, messageRef,          | 422 invalid-bpmn / 200 with findings  | 0.02-0.05 s|
| attachedToRef, default flow, calledElement              |                                       |            |
| a DMN table written in FEEL                             | 422 dmn-feel / 200 with findings      | 0.05 s     |
| a JUEL dueDate of 200,000 parentheses                   | 422 juel-unsupported / 200 finding    | 0.03-0.1 s |
| a chain of 2,500 tasks (5,000 elements)                 | 422 (too long for SpiffWorkflow)      | 0.9-1.9 s  |
| 1,000 parallel tasks (about 3,000 elements)             | compiled: 201 / 200 valid             | 0.5-1.2 s  |
| 500 small files in one upload                           | 422 invalid-bpmn, 200 listed + a count| 0.1-0.2 s  |
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from .calls import DEFINITIONS, OWNER, assert_problem

VALIDATE = f"{DEFINITIONS}/validate"
BODY_LIMIT = 10_000_000  # PHOIHOP's default upload body limit (api/limits.py), named by every 413
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
    'MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)
LANE = '<bpmn:laneSet id="ls"><bpmn:lane id="l" name="Sở Tư pháp">{refs}</bpmn:lane></bpmn:laneSet>\n'


def process(body: str, *, lane_refs: str = "") -> bytes:
    lanes = LANE.format(refs=lane_refs) if lane_refs else ""
    return (
        HEAD + f'<bpmn:process id="hostile" isExecutable="true">\n{lanes}{body}\n</bpmn:process>\n</bpmn:definitions>\n'
    ).encode("utf-8")


def simple(extra: str = "", *, task: str = '<bpmn:userTask id="a" name="Xem xét"/>') -> bytes:
    """start → a → end, with ``extra`` elements; ``a`` in the Sở Tư pháp lane."""
    return process(
        '<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>\n'
        f'{task}<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="end"/><bpmn:endEvent id="end"/>\n' + extra,
        lane_refs="<bpmn:flowNodeRef>a</bpmn:flowNodeRef>",
    )


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10))
    + ']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;'
    "</bpmn:definitions>"
).encode()
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;</bpmn:definitions>'
)
EXTERNAL_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:1/evil.dtd">\n'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'
)
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x"> %p;]>\n'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'
)
FEEL_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="FEEL" namespace="http://camunda.org">
  <decision id="Decision_Feel" name="Bảng FEEL">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i1" label="Số tiền">
        <inputExpression id="ie1" typeRef="number"><text>so_tien</text></inputExpression></input>
      <input id="i2" label="Loại">
        <inputExpression id="ie2" typeRef="string"><text>loai</text></inputExpression></input>
      <output id="o1" name="muc" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>[1..10]</text></inputEntry>
        <inputEntry id="e2"><text>"a","b"</text></inputEntry>
        <outputEntry id="x1"><text>"thap"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e3"><text>&gt; 10 and &lt; 100</text></inputEntry>
        <inputEntry id="e4"><text>not("c")</text></inputEntry>
        <outputEntry id="x2"><text>"vua"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>""".encode()


def chain(tasks: int) -> bytes:
    """start → t0 → … → t(n-1) → end: 2n + 2 elements, every task in the lane."""
    ids = ["start", *(f"t{n}" for n in range(tasks)), "end"]
    nodes = [
        '<bpmn:startEvent id="start"/>',
        *(f'<bpmn:userTask id="t{n}"/>' for n in range(tasks)),
        '<bpmn:endEvent id="end"/>',
    ]
    flows = [
        f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}"/>'
        for n, (a, b) in enumerate(itertools.pairwise(ids))
    ]
    refs = "".join(f"<bpmn:flowNodeRef>t{n}</bpmn:flowNodeRef>" for n in range(tasks))
    return process("\n".join(nodes + flows), lane_refs=refs)


def fan_out(branches: int) -> bytes:
    """start → split → b0 … b(n-1) → join → end: 3n + 6 elements."""
    parts = [
        '<bpmn:startEvent id="start"/>',
        '<bpmn:parallelGateway id="split"/>',
        '<bpmn:parallelGateway id="join"/>',
        '<bpmn:endEvent id="end"/>',
        '<bpmn:sequenceFlow id="fs" sourceRef="start" targetRef="split"/>',
        '<bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="end"/>',
    ]
    for n in range(branches):
        parts += [
            f'<bpmn:userTask id="b{n}"/>',
            f'<bpmn:sequenceFlow id="i{n}" sourceRef="split" targetRef="b{n}"/>',
            f'<bpmn:sequenceFlow id="o{n}" sourceRef="b{n}" targetRef="join"/>',
        ]
    return process(
        "\n".join(parts), lane_refs="".join(f"<bpmn:flowNodeRef>b{n}</bpmn:flowNodeRef>" for n in range(branches))
    )


# name → (files, deploy status, deploy problem code, validate status (200: findings), a text of the answer)
Files = list[tuple[str, bytes]]
CASES: dict[str, Callable[[], tuple[Files, int, str, int, str]]] = {
    "billion-laughs": lambda: ([("bomb.bpmn", BILLION_LAUGHS)], 422, "unsafe-xml", 422, "DOCTYPE"),
    "external-entity": lambda: ([("xxe.bpmn", EXTERNAL_ENTITY)], 422, "unsafe-xml", 422, "DOCTYPE"),
    "external-dtd": lambda: ([("dtd.bpmn", EXTERNAL_DTD)], 422, "unsafe-xml", 422, "DOCTYPE"),
    "parameter-entity": lambda: ([("pe.bpmn", PARAMETER_ENTITY)], 422, "unsafe-xml", 422, "DOCTYPE"),
    "file-over-its-limit": lambda: (
        [("lon.bpmn", simple(f"<bpmn:documentation>{'x' * 6_000_000}</bpmn:documentation>"))],
        422,
        "unsafe-xml",
        422,
        "the limit is 5000000",
    ),
    "deeply-nested": lambda: (
        [("sau.bpmn", HEAD.encode() + b"<bpmn:documentation>" * 100_000)],
        422,
        "unsafe-xml",
        422,
        "nested too deeply",
    ),
    "too-many-siblings": lambda: (
        [
            (
                "rong.bpmn",
                simple("<bpmn:textAnnotation id='t'>" + "<bpmn:text>x</bpmn:text>" * 6_000 + "</bpmn:textAnnotation>"),
            )
        ],
        422,
        "unsafe-xml",
        422,
        "6000 <text> children, the limit is 5000",
    ),
    "too-many-elements": lambda: (
        [
            (
                "nhieu.bpmn",
                simple(
                    "<bpmn:extensionElements>"
                    + ("<x:g xmlns:x='urn:x'>" + "<x:i/>" * 14 + "</x:g>") * 4_000
                    + "</bpmn:extensionElements>"
                ),
            )
        ],
        422,
        "unsafe-xml",
        422,
        "more than 50000 elements",
    ),
    "binary": lambda: ([("rac.bpmn", bytes(range(256)) * 40)], 422, "unsafe-xml", 422, "not valid UTF-8"),
    "png-renamed": lambda: ([("so_do.bpmn", png())], 422, "unsafe-xml", 422, "not valid UTF-8"),
    # UTF-16 and other declared encodings are read (issue 12); text that is not what it declares is refused
    "not-what-it-declares": lambda: (
        [("ascii.bpmn", simple().replace(b'encoding="UTF-8"', b'encoding="US-ASCII"'))],
        422,
        "unsafe-xml",
        422,
        "not valid ascii",
    ),
    "not-xml": lambda: (
        [("thu.bpmn", "Kính gửi Sở Tư pháp, đây không phải XML.".encode())],
        422,
        "invalid-bpmn",
        200,
        "malformed XML",
    ),
    "not-bpmn": lambda: (
        [("html.bpmn", b"<html><body>hello</body></html>")],
        422,
        "invalid-bpmn",
        200,
        "not a BPMN 2.0 file",
    ),
    "other-extension": lambda: ([("quy_trinh.xml", simple())], 422, "invalid-bpmn", 200, "unsupported file type"),
    "duplicate-ids": lambda: (
        [("trung.bpmn", simple('<bpmn:endEvent id="a"/>'))],
        422,
        "invalid-bpmn",
        200,
        "duplicate id 'a'",
    ),
    "dangling-source-ref": lambda: (
        [("treo.bpmn", simple('<bpmn:sequenceFlow id="f9" sourceRef="khong_co" targetRef="end"/>'))],
        422,
        "invalid-bpmn",
        200,
        "sourceRef='khong_co' names no element",
    ),
    "dangling-message-ref": lambda: (
        [
            (
                "treo.bpmn",
                simple(
                    '<bpmn:intermediateCatchEvent id="cho"><bpmn:'
                    'messageEventDefinition id="m" messageRef="Message_X"/>'
                    "</bpmn:intermediateCatchEvent>"
                ),
            )
        ],
        422,
        "invalid-bpmn",
        200,
        "messageRef='Message_X' names no message",
    ),
    "dangling-attached-to-ref": lambda: (
        [
            (
                "treo.bpmn",
                simple(
                    '<bpmn:boundaryEvent id="het_han" attachedToRef='
                    '"khong_co"><bpmn:timerEventDefinition><bpmn:'
                    "timeDuration>P1D</bpmn:timeDuration></bpmn:"
                    "timerEventDefinition></bpmn:boundaryEvent>"
                ),
            )
        ],
        422,
        "invalid-bpmn",
        200,
        "attachedToRef='khong_co' names no element",
    ),
    "dangling-default-flow": lambda: (
        [("treo.bpmn", simple(task='<bpmn:userTask id="a" name="Xem xét" default="khong_co"/>'))],
        422,
        "invalid-bpmn",
        200,
        "default='khong_co' names no sequence flow",
    ),
    "dangling-called-element": lambda: (
        [("treo.bpmn", simple(task='<bpmn:callActivity id="a" calledElement="khong_co"/>'))],
        422,
        "invalid-bpmn",
        200,
        "calls process 'khong_co'",
    ),
    "feel-dmn": lambda: ([("feel.dmn", FEEL_DMN)], 422, "invalid-bpmn", 200, "FEEL"),
    "chain-of-5000-elements": lambda: ([("dai.bpmn", chain(2_500))], 422, "invalid-bpmn", 200, "too long"),
    "500-files": lambda: (
        [(f"tep_{n:03}.bpmn", b"<x/>") for n in range(500)],
        422,
        "invalid-bpmn",
        200,
        "more problems not listed",
    ),
    "juel-bomb": lambda: (
        [
            (
                "juel.bpmn",
                simple(
                    task='<bpmn:userTask id="a" name="Xem xét" camunda:dueDate="${'
                    + "(" * 100_000
                    + "x"
                    + ")" * 100_000
                    + '}"/>'
                ),
            )
        ],
        422,
        "juel-unsupported",
        200,
        "longer than",
    ),
}


def send(client: TestClient, url: str, files: Files) -> Response:
    return client.post(
        url, headers=OWNER, files=[("files", (name, content, "application/octet-stream")) for name, content in files]
    )


def text_of(body: dict[str, Any]) -> str:
    return str(body)


@pytest.fixture
def empty(client: TestClient) -> Iterator[TestClient]:
    yield client
    assert client.get(DEFINITIONS, headers=OWNER).json() == []  # nothing hostile was ever stored


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_upload_to_deploy_is_a_4xx_problem_naming_what_it_breaks(empty: TestClient, case: str) -> None:
    files, status, code, _, text = CASES[case]()

    response = send(empty, DEFINITIONS, files)

    body = assert_problem(response, status)
    assert body["type"] == f"/problems/{code}" or any(p.get("code") == code for p in body["problems"]), body
    assert text in text_of(body), (text, body)
    assert all(p["reason_vi"] for p in body["problems"])


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_upload_to_validate_is_a_problem_or_findings_naming_what_it_breaks(
    empty: TestClient, case: str
) -> None:
    files, _, code, status, text = CASES[case]()

    response = send(empty, VALIDATE, files)

    if status == 200:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["valid"] is False and body["errors"]
        assert code == "invalid-bpmn" or any(f["code"] == code for f in body["errors"]), body
    else:
        body = assert_problem(response, status, code)
    assert text in text_of(body), (text, body)


@pytest.mark.parametrize("url", [DEFINITIONS, VALIDATE])
def test_a_50_mb_file_is_refused_by_the_body_limit(empty: TestClient, url: str) -> None:
    big = HEAD.encode() + b"<bpmn:documentation>" + b"x" * 50_000_000 + b"</bpmn:documentation></bpmn:definitions>"

    response = send(empty, url, [("nam_muoi_mb.bpmn", big)])

    body = assert_problem(response, 413, "payload-too-large")
    assert body["limit"] == BODY_LIMIT  # refused by the body limit, not by the XML checks after reading it
    assert int(response.request.headers["content-length"]) > BODY_LIMIT  # what the limit went by


def test_a_50_mb_body_without_content_length_is_cut_while_read(empty: TestClient) -> None:
    boundary = b"xx-phoihop-xx"

    def chunks() -> Iterator[bytes]:
        yield (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="a.bpmn"\r\n'
            b"Content-Type: application/xml\r\n\r\n"
        )
        for _ in range(50):
            yield b"x" * 1_000_000
        yield b"\r\n--" + boundary + b"--\r\n"

    response = empty.post(
        VALIDATE,
        content=chunks(),
        headers={**OWNER, "Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
    )
    assert "content-length" not in response.request.headers  # no declared size: the limit counted the bytes read
    body = assert_problem(response, 413, "payload-too-large")
    assert body["limit"] == BODY_LIMIT


@pytest.mark.parametrize("url", [DEFINITIONS, VALIDATE])
def test_a_wide_process_of_1000_parallel_tasks_is_under_every_limit_and_compiles(client: TestClient, url: str) -> None:
    response = send(client, url, [("rong.bpmn", fan_out(1_000))])

    if url == VALIDATE:
        assert response.status_code == 200, response.text[:500]
        assert response.json()["valid"] is True
    else:
        assert response.status_code == 201, response.text[:500]
        assert [d["key"] for d in response.json()] == ["hostile"]
