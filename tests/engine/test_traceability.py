"""engine.definitions.traceability: citations and assumptions read from documentation, articles.toml, and docs/traceability.md."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest

from phoihop.cli import main as cli_main
from phoihop.engine.definitions.traceability import (
    build_trace,
    load_articles,
    parse_assumptions,
    parse_citations,
    render_markdown,
    scan_processes,
    trace_processes,
)
from phoihop.engine.errors import InvalidInput

TRACE = Path(__file__).parent.parent / "fixtures" / "lint" / "trace" / "processes"


# --- citations ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("Căn cứ: Điều 7.4", ["7.4"]),
        ("Sở KH&CN tiếp nhận. Căn cứ: Điều 7.1, Điều 7.4. Giả định: 5 ngày.", ["7.1", "7.4"]),
        ("Căn cứ: Điều 4.đ", ["4.đ"]),
        ("Căn cứ: Điều 9 — Ban Quản lý cho ý kiến.", ["9"]),
        ("Căn cứ: Điều 12.1–12.4", ["12.1", "12.2", "12.3", "12.4"]),
        ("Căn cứ: Điều 12.1-12.3 về pháp lý", ["12.1", "12.2", "12.3"]),
        ("Căn cứ: Điều 12.1 – 12.2.", ["12.1", "12.2"]),
        ("Căn cứ: Điều 12.1–4", ["12.1", "12.2", "12.3", "12.4"]),
        ("Căn cứ: Điều 4.a–4.đ", ["4.a", "4.b", "4.c", "4.d", "4.đ"]),
        ("Căn cứ: Điều 16–18 về sandbox ngành", ["16", "17", "18"]),
        ("Căn cứ: Quyết định 5921/QĐ-UBND, Điều 6, 7, 9, 12.", ["6", "7", "9", "12"]),
        ("Căn cứ: Điều 6, 7 và 9; Điều 23.3", ["6", "7", "9", "23.3"]),
        ("Căn cứ: khoản 4 Điều 7, điểm đ Điều 4", ["7.4", "4.đ"]),
        ("căn cứ điều 10.1", ["10.1"]),
        ("CĂN CỨ: ĐIỀU 23.3", ["23.3"]),
        ("Căn cứ: Điều 7.4, Điều 7.4 và Điều 12.1–12.2, Điều 12.2", ["7.4", "12.1", "12.2"]),
    ],
)
def test_citations_are_read_after_can_cu_and_expanded(text: str, refs: list[str]) -> None:
    assert parse_citations(text) == refs


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("Vượt thẩm quyền thì trình UBND (Điều 6, Điều 7.4).", []),  # no "Căn cứ": a remark, not a citation
        ("Căn cứ: Điều 7.1 - 5 ngày làm việc", ["7.1"]),  # "- 5 ngày" is a time limit, not a range
        ("Căn cứ: Điều 7.4, 5 ngày làm việc", ["7.4"]),
        ("Căn cứ: Điều 147–148 Bộ luật Dân sự 2015; Điều 20.1", ["20.1"]),
        ("Căn cứ: Thông tư 01/2018/TT-VPCP Điều 19, Điều 4.đ", ["4.đ"]),
        ("Căn cứ: Luật Thủ đô 2024 Điều 25.9; Nghị quyết 29/2025/NQ-HĐND; Điều 7.3", ["7.3"]),
        ("Căn cứ: Điều 4.đ của Quy chế ban hành kèm Quyết định 5921/QĐ-UBND", ["4.đ"]),
        ("Giả định: theo Điều 7.1 thời hạn 5 ngày.", []),  # inside an assumption
        ("", []),
        (None, []),
    ],
)
def test_what_is_not_a_citation_of_the_quy_che(text: str | None, refs: list[str]) -> None:
    assert parse_citations(text) == refs


def test_decomposed_unicode_is_read_like_composed() -> None:
    text = "Căn cứ: Điều 4.đ, Điều 9. Giả định: hồ sơ khẩn xử lý trong 24 giờ."
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text

    assert parse_citations(decomposed) == ["4.đ", "9"]
    assert parse_assumptions(decomposed) == ["hồ sơ khẩn xử lý trong 24 giờ."]


def test_assumptions_run_to_the_next_marker() -> None:
    text = "Giả định: thời hạn 5 ngày làm việc.\n   Căn cứ: Điều 7.1. Giả định:   hồ sơ khẩn   1 ngày."

    assert parse_assumptions(text) == ["thời hạn 5 ngày làm việc.", "hồ sơ khẩn 1 ngày."]
    assert parse_assumptions("Giả định:") == []
    assert parse_assumptions("Không có giả định nào ở đây") == []


# --- articles.toml --------------------------------------------------------------------------------------------------
def test_articles_resolve_clauses_and_whole_articles() -> None:
    catalogue = load_articles(TRACE / "articles.toml")

    assert [a.id for a in catalogue.resolve("7")] == ["7.1", "7.2", "7.4"]
    assert [a.id for a in catalogue.resolve("4.đ")] == ["4.đ"]
    assert catalogue.resolve("7.9") == [] and catalogue.resolve("99") == []
    assert catalogue.headings["4"] == ("Nội dung phối hợp", True)
    assert next(a for a in catalogue.articles if a.id == "4.a").reason == "Công tác tuyên truyền."


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('id = "7.1"\ntitle_vi = "Đầu mối"\nimplies_step = false', "reason"),
        ('id = "7.1"\ntitle_vi = "Đầu mối"\nimplies_step = false\nreason = "  "', "reason"),
        ('id = "7.1"\ntitle_vi = "Đầu mối"', "implies_step"),
        ('id = "Điều 7"\ntitle_vi = "Đầu mối"\nimplies_step = true', "7.4"),
        ('id = "4.Đ"\ntitle_vi = "Làn xanh"\nimplies_step = true', "7.4"),
        (
            'id = "7.1"\ntitle_vi = "A"\nimplies_step = true\n[[article]]\nid = "7.1"\ntitle_vi = "B"\nimplies_step = true',
            "twice",
        ),
    ],
)
def test_a_malformed_article_list_is_refused_naming_the_entry(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "articles.toml"
    path.write_text(f"[[article]]\n{entry}\n", encoding="utf-8")

    with pytest.raises(InvalidInput) as caught:
        load_articles(path)
    assert message in caught.value.detail and caught.value.detail_vi != caught.value.detail


def test_an_unreadable_article_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "articles.toml"
    path.write_text("[[article]\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="cannot read"):
        load_articles(path)
    with pytest.raises(InvalidInput, match="cannot read"):
        load_articles(tmp_path / "missing.toml")


# --- scanning and rendering -----------------------------------------------------------------------------------------
def test_scanning_finds_process_lane_element_participant_and_dmn_documentation() -> None:
    found = {(e.file, e.element_id): e for e in scan_processes(TRACE)}

    assert set(found) == {
        ("demo.bpmn", "Part_demo"),
        ("demo.bpmn", "demo"),
        ("demo.bpmn", "Lane_stp"),
        ("demo.bpmn", "review"),
        ("demo.bpmn", "end"),
        ("route.dmn", "route"),
    }
    assert {e.process for e in found.values()} == {"demo"}
    assert found[("demo.bpmn", "review")].kind == "userTask"
    assert found[("route.dmn", "route")].element_name == "Chọn cơ quan"
    assert "\n" not in found[("demo.bpmn", "review")].documentation


def test_the_trace_joins_citations_to_articles_and_lists_problems() -> None:
    trace = trace_processes(TRACE)

    implemented = {article: [e.element_id for e in elements] for article, elements in trace.implemented_by.items()}
    assert implemented == {
        "4.a": [],
        "4.đ": ["Part_demo"],
        "7.1": ["demo"],
        "7.2": ["demo"],
        "7.4": ["demo", "route"],
        "12.1": ["Lane_stp", "review"],
        "12.2": ["Lane_stp"],
        "12.3": ["Lane_stp"],
    }
    assert [(a.element.element_id, a.text) for a in trace.assumptions] == [
        ("review", "thời hạn 5 ngày làm việc."),
        ("route", "Sở Tư pháp là cơ quan mặc định."),
    ]
    assert trace.problems == [
        "Điều 99.1 được dẫn chiếu tại demo/demo.bpmn (review) nhưng không có trong danh sách điều khoản (articles.toml)"
    ]


def test_an_article_that_implies_a_step_but_nobody_cites_is_a_problem() -> None:
    elements = [e for e in scan_processes(TRACE) if e.element_id != "Part_demo"]

    trace = build_trace(load_articles(TRACE / "articles.toml"), elements)

    assert (
        "Điều 4.đ đòi hỏi một bước quy trình nhưng chưa phần tử BPMN nào dẫn chiếu (hoặc ghi implies_step = "
        "false kèm lý do)" in trace.problems
    )
    assert "| 4.đ | Áp dụng làn xanh | — | **chưa có phần tử nào** |" in render_markdown(trace)


def test_rendering_lists_articles_left_out_assumptions_and_problems() -> None:
    text = render_markdown(trace_processes(TRACE))
    lines = text.splitlines()

    assert lines[0] == "# Truy xuất căn cứ pháp lý của các quy trình"
    assert "- Điều khoản đòi hỏi bước quy trình: 6, đã có phần tử triển khai: 6" in lines
    assert "### Điều 4. Nội dung phối hợp (tiêu đề suy ra)" in lines
    assert "### Điều 7. Sở Khoa học và Công nghệ" in lines
    assert "| 7.4 | Tham mưu giải quyết vướng mắc | `demo` | `demo` Quy trình mẫu<br>`route` Chọn cơ quan |" in lines
    assert "| 12.1 | Thẩm định | `demo` | `Lane_stp` Sở Tư pháp<br>`review` Thẩm định pháp lý |" in lines
    left_out = lines[lines.index("## Không triển khai thành bước quy trình") : lines.index("## Giả định")]
    assert "| 4.a | Tuyên truyền, phổ biến | Công tác tuyên truyền. | — |" in left_out
    assert "| 7.2 | Lập kế hoạch \\| giao chỉ tiêu | Công tác lập kế hoạch. | `demo`: `demo` |" in left_out
    assert "| `demo` | `review` Thẩm định pháp lý | thời hạn 5 ngày làm việc. |" in lines
    assert lines[lines.index("## Vấn đề") + 2].startswith("- Điều 99.1 được dẫn chiếu tại demo/demo.bpmn (review)")
    assert text == render_markdown(trace_processes(TRACE))  # deterministic: --check compares it byte for byte


# --- the command ------------------------------------------------------------------------------------------------------
def test_trace_command_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    processes = tmp_path / "processes"
    shutil.copytree(TRACE, processes)
    output = tmp_path / "docs" / "traceability.md"
    args = ["trace", "--processes", str(processes), "--output", str(output)]

    assert cli_main(args) == 1  # written, but Điều 99.1 is a problem
    assert output.read_text(encoding="utf-8") == render_markdown(trace_processes(processes))
    assert "vấn đề: Điều 99.1" in capsys.readouterr().err
    assert cli_main([*args, "--check"]) == 1

    review = processes / "demo" / "demo.bpmn"
    review.write_text(
        review.read_text(encoding="utf-8").replace(", Điều 99.1 (không có trong danh sách)", ""), encoding="utf-8"
    )
    assert cli_main([*args, "--check"]) == 1  # clean now, but the file is out of date
    assert "out of date" in capsys.readouterr().err
    assert cli_main(args) == 0
    assert cli_main([*args, "--check"]) == 0
    assert "Không có vấn đề." in output.read_text(encoding="utf-8")


def test_trace_command_reports_a_broken_article_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    articles = tmp_path / "articles.toml"
    articles.write_text('[[article]]\nid = "7.1"\ntitle_vi = "Đầu mối"\nimplies_step = false\n', encoding="utf-8")

    assert (
        cli_main(
            ["trace", "--processes", str(TRACE), "--articles", str(articles), "--output", str(tmp_path / "out.md")]
        )
        == 1
    )
    assert "cần nêu lý do" in capsys.readouterr().err
    assert not (tmp_path / "out.md").exists()
