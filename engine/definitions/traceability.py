"""Traceability from the Quy chế of Decision 5921/QĐ-UBND to the process elements that implement it.

``processes/articles.toml`` lists the articles at clause level, each saying whether it implies a process step (and why
not, when it does not). Every BPMN element's documentation (and DMN element's description) cites its legal basis as
``Căn cứ: Điều 7.4, Điều 12.1–12.4`` or states ``Giả định: ...`` for a design assumption of ours. :func:`build_trace`
joins the two and :func:`render_markdown` writes docs/traceability.md (``phoihop trace``): the elements implementing
each article, the articles deliberately left out with their reasons, every assumption, and the problems (citations of
unknown articles, articles that imply a step but that no element cites).

Citations are read only after a ``Căn cứ`` marker, up to the next ``Căn cứ`` or ``Giả định:``. Accepted forms:
``Điều 7.4``, ``Điều 4.đ``, ``Điều 9`` (the whole article), ranges ``Điều 12.1–12.4`` / ``12.1-12.4`` / ``12.1–4`` /
``Điều 16–18``, lists ``Điều 6, 7, 9 và 12``, and ``khoản 4 Điều 7`` / ``điểm đ Điều 4``. An article of another
document (``Điều 147 Bộ luật Dân sự``, ``Thông tư 01/2018/TT-VPCP Điều 19``) is not a citation of the Quy chế.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phoihop.engine.definitions.process_files import deployable_sets
from phoihop.engine.definitions.structure import BPMN_NS, BPMN_SUFFIXES, DMN_SUFFIXES, NSMAP, local_name
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import InvalidInput

__all__ = [
    "Article",
    "ArticleCatalogue",
    "Assumption",
    "DocumentedElement",
    "Trace",
    "build_trace",
    "load_articles",
    "parse_assumptions",
    "parse_citations",
    "render_markdown",
    "scan_processes",
    "trace_processes",
]

POINT_LETTERS = "abcdđeghiklmnopqrstuvxy"  # the letters of lettered points, in Vietnamese order
MAX_RANGE = 30
_LETTER = "[a-zđ]"
_REF = rf"(\d+)(?:\.(\d+|{_LETTER})(?!\w))?"
_MARKER = re.compile(r"(?<!\w)(căn cứ)\s*:?|(?<!\w)(giả định)\s*:", re.IGNORECASE)
_KEYWORD = re.compile(r"(?<!\w)điều\s+(?=\d)", re.IGNORECASE)
_FORMAL = re.compile(rf"(?<!\w)(khoản|điểm)\s+(\d+|{_LETTER})\s+(?:của\s+)?điều\s+(\d+)(?!\.\d)", re.IGNORECASE)
_ITEM = re.compile(_REF + rf"(?:\s*[-–]\s*{_REF})?", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s*(?:,|;|&|\bvà\b)\s*", re.IGNORECASE)
_PLAIN = re.compile(_REF, re.IGNORECASE)
_SPACED_DASH = re.compile(r"\s[-–]|[-–]\s")
_WORD_AFTER = re.compile(r"\s*(?!và\b)[^\W\d_]", re.IGNORECASE)  # a word, not "và", follows: "5 ngày"
_OTHER_DOCUMENT = re.compile(
    r"(?<!\w)(?:bộ luật|luật|blds|hiến pháp|nghị định|thông tư|nghị quyết|pháp lệnh|"
    r"chỉ thị|công văn|văn bản|quyết định(?!\s+(?:số\s+)?5921))(?!\w)",
    re.IGNORECASE,
)
_GROUP_BREAK = re.compile(r"[,;.()]")


# --- parsing documentation ------------------------------------------------------------------------------------------
def _segments(text: str, kind: str) -> list[str]:
    """The parts of ``text`` after each ``kind`` marker ("căn cứ" or "giả định"), up to the next marker."""
    markers = list(_MARKER.finditer(text))
    found = []
    for index, marker in enumerate(markers):
        if (marker.group(1) or marker.group(2) or "").casefold() == kind:
            end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
            found.append(text[marker.end() : end])
    return found


def _clause_range(first: str, last: str) -> list[str] | None:
    if first.isdigit() and last.isdigit() and 0 <= int(last) - int(first) <= MAX_RANGE:
        return [str(number) for number in range(int(first), int(last) + 1)]
    if first in POINT_LETTERS and last in POINT_LETTERS and POINT_LETTERS.index(first) <= POINT_LETTERS.index(last):
        return list(POINT_LETTERS[POINT_LETTERS.index(first) : POINT_LETTERS.index(last) + 1])
    return None


def _expand(item: re.Match[str]) -> list[str]:
    article, clause, last_article, last_clause = (
        [part.lower() if part else None for part in item.groups()] + [None, None]
    )[:4]
    assert article is not None
    first = f"{article}.{clause}" if clause else article
    if last_article is None:
        return [first]
    if clause is not None and last_clause is None:  # "12.1–4": clauses 1 to 4 of article 12
        last_article, last_clause = article, last_article
    expanded: list[str] | None = None
    if clause is None and last_clause is None:  # "16–18": whole articles
        expanded = _clause_range(article, last_article)
    elif clause is not None and last_clause is not None and last_article == article:
        parts = _clause_range(clause, last_clause)
        expanded = [f"{article}.{part}" for part in parts] if parts else None
    return expanded or [first, f"{last_article}.{last_clause}" if last_clause else last_article]


def _group(text: str, start: int) -> tuple[list[str], int]:
    """The references of the list starting at ``start`` (just after "Điều "), and where the list ends."""
    refs: list[str] = []
    position, first = start, True
    while (item := _ITEM.match(text, position)) is not None:
        stop = False
        spaced = item.group(3) is not None and item.group(4) is None and _SPACED_DASH.search(item.group(0))
        if spaced and _WORD_AFTER.match(text, item.end()):
            item = _PLAIN.match(text, position)  # "Điều 7.1 - 5 ngày": 7.1, and no range
            assert item is not None
            stop = True
        if not first and item.group(2) is None and _WORD_AFTER.match(text, item.end()):
            break  # "Điều 7.4, 5 ngày": the 5 is not an article
        refs += _expand(item)
        position, first = item.end(), False
        separator = _SEPARATOR.match(text, position)
        if stop or separator is None or _KEYWORD.match(text, separator.end()):
            break
        position = separator.end()
    return refs, position


def _other_document(text: str, keyword_start: int, end: int) -> bool:
    """Whether the article group [keyword_start, end) belongs to another legal document named right before or after."""
    before = text[:keyword_start]
    breaks = list(_GROUP_BREAK.finditer(before))
    clause_start = breaks[-1].end() if breaks else 0
    after = re.match(r"\s*(?:của\s+)?(\S+(?:\s+\S+)?)", text[end:], re.IGNORECASE)
    return bool(
        _OTHER_DOCUMENT.search(before[clause_start:]) or (after is not None and _OTHER_DOCUMENT.match(after.group(1)))
    )


def parse_citations(text: str | None) -> list[str]:
    """Article references cited in ``Căn cứ`` parts of ``text``, expanded and in order: "7.4", "4.đ", "9"."""
    if not text:
        return []
    refs: list[str] = []
    for segment in _segments(unicodedata.normalize("NFC", text), "căn cứ"):
        segment = _FORMAL.sub(lambda m: f"Điều {m.group(3)}.{m.group(2).lower()}", segment)
        position = 0
        while (keyword := _KEYWORD.search(segment, position)) is not None:
            group, end = _group(segment, keyword.end())
            if not _other_document(segment, keyword.start(), end):
                refs += group
            position = max(end, keyword.end())
    return list(dict.fromkeys(refs))


def parse_assumptions(text: str | None) -> list[str]:
    """The ``Giả định:`` notes of ``text``, whitespace collapsed."""
    if not text:
        return []
    notes = (" ".join(segment.split()) for segment in _segments(unicodedata.normalize("NFC", text), "giả định"))
    return [note for note in notes if note]


# --- articles.toml --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Article:
    id: str
    title_vi: str
    implies_step: bool
    reason: str | None

    @property
    def number(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class ArticleCatalogue:
    title_vi: str
    headings: dict[str, tuple[str, bool]]  # article number → (title, inferred)
    articles: tuple[Article, ...]

    def resolve(self, ref: str) -> list[Article]:
        """The articles a reference designates: itself, or every clause of a whole article ("9")."""
        return [article for article in self.articles if article.id == ref or ("." not in ref and article.number == ref)]


def _refuse(path: Path, en: str, vi: str) -> InvalidInput:
    return InvalidInput(f"{path}: {en}", detail_vi=f"{path}: {vi}", file=str(path))


def load_articles(path: Path) -> ArticleCatalogue:
    """Read and check ``articles.toml``; InvalidInput naming the entry when it is malformed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _refuse(
            path, f"cannot read the article list: {exc}", f"không đọc được danh sách điều khoản: {exc}"
        ) from None
    decision = data.get("decision", {})
    headings: dict[str, tuple[str, bool]] = {}
    for entry in data.get("heading", []):
        if not isinstance(entry.get("article"), str) or not isinstance(entry.get("title_vi"), str):
            raise _refuse(
                path,
                f"a [[heading]] needs article and title_vi: {entry}",
                f"mục [[heading]] cần article và title_vi: {entry}",
            )
        headings[entry["article"]] = (entry["title_vi"], bool(entry.get("heading_inferred", False)))
    articles: list[Article] = []
    for entry in data.get("article", []):
        article_id, title, implies, reason = (
            entry.get("id"),
            entry.get("title_vi"),
            entry.get("implies_step"),
            entry.get("reason"),
        )
        if not isinstance(article_id, str) or not re.fullmatch(_REF, article_id) or article_id != article_id.lower():
            raise _refuse(
                path,
                f"article id {article_id!r} is not like 7.4, 4.đ or 6",
                f"mã điều khoản {article_id!r} không có dạng 7.4, 4.đ hoặc 6",
            )
        if not isinstance(title, str) or not title.strip() or not isinstance(implies, bool):
            raise _refuse(
                path,
                f"article {article_id} needs title_vi and implies_step = true|false",
                f"điều khoản {article_id} cần title_vi và implies_step = true|false",
            )
        if not implies and not (isinstance(reason, str) and reason.strip()):
            raise _refuse(
                path,
                f"article {article_id} implies no step: give the reason",
                f"điều khoản {article_id} không triển khai thành bước quy trình: cần nêu lý do (reason)",
            )
        if any(article.id == article_id for article in articles):
            raise _refuse(path, f"article {article_id} is listed twice", f"điều khoản {article_id} bị liệt kê hai lần")
        reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
        articles.append(Article(article_id, title.strip(), implies, reason))
    return ArticleCatalogue(str(decision.get("title_vi", "")), headings, tuple(articles))


# --- scanning process folders ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentedElement:
    folder: str  # the process folder (deployment label)
    file: str
    process: str  # the id of the bpmn:process the element belongs to
    element_id: str
    element_name: str | None
    kind: str  # local tag: process, lane, userTask, ...
    documentation: str


def _process_of(element: Any, first_process: str) -> str:
    current = element
    while current is not None:
        if current.tag == f"{{{BPMN_NS}}}process":
            return str(current.get("id") or first_process)
        if current.tag == f"{{{BPMN_NS}}}participant" and current.get("processRef"):
            return str(current.get("processRef"))
        current = current.getparent()
    return first_process


def _documented(
    label: str,
    name: str,
    notes: Iterable[Any],
    *,
    fallback: str,
    bpmn: bool,
) -> Iterator[DocumentedElement]:
    for note in notes:
        element = note.getparent()
        text = " ".join("".join(note.itertext()).split())
        if element is None or not text:
            continue
        yield DocumentedElement(
            folder=label,
            file=name,
            process=_process_of(element, fallback) if bpmn else fallback,
            element_id=str(element.get("id") or ""),
            element_name=element.get("name") or element.get("label") or None,
            kind=local_name(element),
            documentation=unicodedata.normalize("NFC", text),
        )


def scan_processes(root: Path) -> list[DocumentedElement]:
    """Every documented element in the process folders under ``root`` (each folder as one deployment): BPMN
    ``documentation`` (process, lanes, every element) and DMN ``description`` (decisions, inputs, rules; counted under
    the folder's name)."""
    found: list[DocumentedElement] = []
    for label, files in deployable_sets(root):
        for source in files:
            lowered = source.name.lower()
            if lowered.endswith(BPMN_SUFFIXES):
                tree = parse_xml(source.content, filename=source.name).getroot()
                first = tree.find("bpmn:process", NSMAP)
                found += _documented(
                    label,
                    source.name,
                    tree.iterfind(".//bpmn:documentation", NSMAP),
                    bpmn=True,
                    fallback=str(first.get("id")) if first is not None else label,
                )
            elif lowered.endswith(DMN_SUFFIXES):
                tree = parse_xml(source.content, filename=source.name).getroot()
                notes = (e for e in tree.iter() if isinstance(e.tag, str) and local_name(e) == "description")
                found += _documented(label, source.name, notes, bpmn=False, fallback=label)
    return found


# --- the trace ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Assumption:
    element: DocumentedElement
    text: str


@dataclass
class Trace:
    catalogue: ArticleCatalogue
    implemented_by: dict[str, list[DocumentedElement]] = field(default_factory=dict)  # article id → elements
    assumptions: list[Assumption] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # Vietnamese, one line each


def _where(element: DocumentedElement) -> str:
    return f"{element.folder}/{element.file} ({element.element_id})"


def build_trace(catalogue: ArticleCatalogue, elements: Iterable[DocumentedElement]) -> Trace:
    trace = Trace(catalogue, {article.id: [] for article in catalogue.articles})
    for element in elements:
        for ref in parse_citations(element.documentation):
            designated = catalogue.resolve(ref)
            if not designated:
                trace.problems.append(
                    f"Điều {ref} được dẫn chiếu tại {_where(element)} nhưng không có trong "
                    "danh sách điều khoản (articles.toml)"
                )
            for article in designated:
                if element not in trace.implemented_by[article.id]:
                    trace.implemented_by[article.id].append(element)
        trace.assumptions += [Assumption(element, note) for note in parse_assumptions(element.documentation)]
    for article in catalogue.articles:
        if article.implies_step and not trace.implemented_by[article.id]:
            trace.problems.append(
                f"Điều {article.id} đòi hỏi một bước quy trình nhưng chưa phần tử BPMN nào dẫn "
                "chiếu (hoặc ghi implies_step = false kèm lý do)"
            )
    return trace


# --- rendering ------------------------------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _elements(elements: Sequence[DocumentedElement]) -> str:
    return "<br>".join(
        f"`{e.element_id}`" + (f" {_cell(e.element_name)}" if e.element_name else f" ({e.kind})") for e in elements
    )


def _by_process(elements: Sequence[DocumentedElement]) -> dict[str, list[DocumentedElement]]:
    grouped: dict[str, list[DocumentedElement]] = {}
    for element in elements:
        grouped.setdefault(element.process, []).append(element)
    return grouped


def render_markdown(trace: Trace) -> str:
    """docs/traceability.md: deterministic for the same inputs (no dates), so ``--check`` can compare it."""
    catalogue = trace.catalogue
    implemented = [a for a in catalogue.articles if a.implies_step]
    covered = [a for a in implemented if trace.implemented_by[a.id]]
    left_out = [a for a in catalogue.articles if not a.implies_step]
    lines = [
        "# Truy xuất căn cứ pháp lý của các quy trình",
        "",
        "<!-- Tệp sinh tự động bởi `phoihop trace` từ processes/articles.toml và tài liệu (documentation) của các "
        "tệp BPMN trong processes/. Đừng sửa tay: sửa nguồn rồi chạy lại `phoihop trace`. -->",
        "",
        f"{catalogue.title_vi} (ban hành kèm theo Quyết định 5921/QĐ-UBND ngày 27/11/2025 của UBND thành phố Hà Nội).",
        "Mỗi phần tử BPMN ghi căn cứ pháp lý trong tài liệu của nó (`Căn cứ: Điều 7.4`) hoặc nêu giả định thiết kế "
        "(`Giả định: ...`).",
        "",
        f"- Điều khoản đòi hỏi bước quy trình: {len(implemented)}, đã có phần tử triển khai: {len(covered)}",
        f"- Điều khoản không triển khai thành bước quy trình: {len(left_out)}",
        f"- Giả định: {len(trace.assumptions)}",
        f"- Vấn đề: {len(trace.problems)}",
        "",
        "## Điều khoản được triển khai thành bước quy trình",
    ]
    numbers = list(dict.fromkeys(a.number for a in implemented))
    for number in numbers:
        title, inferred = catalogue.headings.get(number, ("", False))
        heading = f"### Điều {number}" + (f". {title}" if title else "") + (" (tiêu đề suy ra)" if inferred else "")
        lines += ["", heading, "", "| Khoản | Nội dung | Quy trình | Phần tử |", "|---|---|---|---|"]
        for article in (a for a in implemented if a.number == number):
            grouped = _by_process(trace.implemented_by[article.id])
            if not grouped:
                lines.append(f"| {article.id} | {_cell(article.title_vi)} | — | **chưa có phần tử nào** |")
            for process, elements in grouped.items():
                lines.append(f"| {article.id} | {_cell(article.title_vi)} | `{process}` | {_elements(elements)} |")
    lines += [
        "",
        "## Không triển khai thành bước quy trình",
        "",
        "| Khoản | Nội dung | Lý do | Được nhắc tới tại |",
        "|---|---|---|---|",
    ]
    for article in left_out:
        cited = trace.implemented_by[article.id]
        where = "<br>".join(
            f"`{process}`: " + ", ".join(f"`{e.element_id}`" for e in elements)
            for process, elements in _by_process(cited).items()
        )
        lines.append(f"| {article.id} | {_cell(article.title_vi)} | {_cell(article.reason or '')} | {where or '—'} |")
    lines += ["", "## Giả định", ""]
    if trace.assumptions:
        lines += ["| Quy trình | Phần tử | Giả định |", "|---|---|---|"]
        lines += [f"| `{a.element.process}` | {_elements([a.element])} | {_cell(a.text)} |" for a in trace.assumptions]
    else:
        lines.append("Không có giả định nào được ghi.")
    lines += ["", "## Vấn đề", ""]
    lines += [f"- {_cell(problem)}" for problem in trace.problems] or ["Không có vấn đề."]
    return "\n".join(lines) + "\n"


def trace_processes(processes_dir: Path, articles: Path | None = None) -> Trace:
    """The trace of every process folder under ``processes_dir`` against its articles.toml (or ``articles``)."""
    return build_trace(load_articles(articles or processes_dir / "articles.toml"), scan_processes(processes_dir))
