"""The "6 rõ" lint (Điều 5.5 of the Quy chế issued with Decision 5921/QĐ-UBND), run on a compiled deployment.

Compiling (engine.definitions.catalog) already refuses what cannot run: invalid XML, schema errors, expressions and
timers that do not compile, human tasks nobody could act on. The lint adds what makes a process *accountable*. For
every human task: an agency lane or candidates named by data (rõ trách nhiệm: ``lane-not-agency``), documentation (rõ
việc: ``no-documentation``), a due time (rõ thời gian: ``no-due-date``) that parses (``due-date-invalid``, always an
error) and a form (rõ sản phẩm: ``no-form``). For every single-hit DMN decision table without a catch-all rule: input
values of a finite domain that no rule matches (``dmn-no-default``). For every DMN file, engine.definitions.dmn.lint:
FEEL that runs differently as Python (``dmn-feel``), hit policies SpiffWorkflow runs differently (``dmn-hit-policy``)
and decision requirement graphs (``dmn-required-decision``). For every BPMN file, Camunda 7 attributes that have no
effect here (``camunda-ignored``, engine.definitions.camunda.dialect), and call activities that call their own process
back (``call-recursive``).

Gaps are warnings by default, so a plain BPMN file without forms still deploys; ``strict=True`` makes them errors.
:func:`refuse_errors` raises :class:`~engine.errors.InvalidDefinition` with the errors as problems (the catalog's
problem shape plus ``code`` and ``severity``).
"""

from __future__ import annotations

import ast
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phoihop.engine.agencies import default_registry
from phoihop.engine.definitions.camunda.dialect import ignored_attributes
from phoihop.engine.definitions.catalog import (
    Check,
    Deployment,
    ProcessModel,
    UserTaskModel,
    lanes_by_node,
    user_task_model,
)
from phoihop.engine.definitions.dmn.lint import dmn_entry_source, dmn_findings
from phoihop.engine.definitions.forms import Form, is_form_file
from phoihop.engine.definitions.process_files import SUFFIXES, deployable_sets
from phoihop.engine.definitions.structure import BPMN_NS, BPMN_SUFFIXES, DMN_SUFFIXES, local_name
from phoihop.engine.definitions.xmlsafe import parse_xml
from phoihop.engine.errors import InvalidDefinition, UnsafeXml
from phoihop.engine.execution.sandbox import check_source
from phoihop.engine.model import Finding, Problem, Severity, SourceFile
from phoihop.engine.variables import due_at_for

__all__ = [
    "as_problem",
    "form_domains",
    "format_finding",
    "from_problem",
    "has_errors",
    "lint_deployment",
    "lint_files",
    "lint_path",
    "refuse_errors",
]

SINGLE_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "ANY", "PRIORITY"})  # one rule's output is the result
MAX_COMBINATIONS = 4096  # input combinations enumerated per decision table; beyond it each column is checked alone
MAX_LISTED = 5  # uncovered combinations named in one finding
_PLACEHOLDER = "dmninputexpr"  # the name SpiffWorkflow binds the input value to; stands for the input expression
_REFERENCE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # any moment: only whether a due date parses matters
_ISO_LIKE = re.compile(r"R\d*/\S+|P[0-9A-Z.,]*|\d{4}-?(?:W\d{2}|\d{2})\S*")  # as catalog_expressions reads timers


def _finding(
    code: str,
    severity: Severity,
    file: str,
    element: Any,
    element_id: str | None,
    en: str,
    vi: str,
) -> Finding:
    name = element.get("name") if element is not None else None
    return Finding(
        code=code,
        severity=severity,
        file=file,
        element_id=element_id,
        element_name=name or None,
        message_en=en,
        message_vi=vi,
        line=element.sourceline if element is not None else None,
    )


# --- human tasks ----------------------------------------------------------------------------------------------------
def _parses(text: str) -> bool:
    try:
        return due_at_for(text, _REFERENCE_TIME) is not None
    except Exception:  # OverflowError for P99999999999999999999D, and whatever else the ISO parsers raise
        return False


def _due_date_error(text: str, check: Check) -> tuple[str, str] | None:
    """Why ``camunda:dueDate`` cannot give a due time, or None: an ISO 8601 duration or date(-time), quoted or not,
    or a sandboxed expression (``working_days(5)``) evaluated when the task is created."""
    if _parses(text):
        return None
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    else:
        if isinstance(literal, str) and _parses(literal.strip()):
            return None
        return (
            f"{text} is a constant that is not an ISO 8601 duration (P3D, PT4H) or date-time",
            f"{text} là hằng số nhưng không phải khoảng thời gian (P3D, PT4H) hay thời điểm ISO 8601",
        )
    if _ISO_LIKE.fullmatch(text.strip()):
        return (
            f"{text} looks like ISO 8601 but is not a valid duration or date-time",
            f"{text} có dạng ISO 8601 nhưng không phải khoảng thời gian hay thời điểm hợp lệ",
        )
    try:
        check(text, "eval")
    except Exception as exc:  # ScriptError/SandboxViolation from the sandbox; anything else a checker raises
        en, vi = getattr(exc, "detail", str(exc)), getattr(exc, "detail_vi", str(exc))
        return (
            f"{text} is neither ISO 8601 nor a valid expression: {en}",
            f"{text} không phải ISO 8601 cũng không phải biểu thức hợp lệ: {vi}",
        )
    return None


_AGENCIES = default_registry()


def _task_findings(task: UserTaskModel, file: str, element: Any, check: Check) -> Iterator[Finding]:
    tid = task.element_id

    def gap(code: str, en: str, vi: str, severity: Severity = "warning") -> Finding:
        return _finding(code, severity, file, element, tid, en, vi)

    explicit_groups = task.agency is None and bool(task.candidate_groups)
    if task.agency is None and task.candidate_groups_variable is None and not explicit_groups:
        where_en = f"lane {task.lane!r} names no agency" if task.lane else "it is in no lane"
        where_vi = f"làn {task.lane!r} không phải tên cơ quan" if task.lane else "công việc không thuộc làn nào"
        yield gap(
            "lane-not-agency",
            f"task {tid}: {where_en}; put it in an agency's lane, or name the agency with "
            "camunda:candidateGroups or the property candidateGroupsVariable (rõ trách nhiệm)",
            f"công việc {tid}: {where_vi}; hãy đặt vào làn của cơ quan, hoặc chỉ rõ cơ quan bằng "
            "camunda:candidateGroups hay thuộc tính candidateGroupsVariable (rõ trách nhiệm)",
        )
    unknown = [group for group in task.candidate_groups if _AGENCIES.resolve(group) is None]
    if unknown:
        listed = ", ".join(unknown)
        yield gap(
            "unknown-group",
            f"task {tid}: camunda:candidateGroups names {listed}, which is no agency code or name; only users "
            "whose token carries that group could act on it (rõ người)",
            f"công việc {tid}: camunda:candidateGroups ghi {listed}, không phải mã hay tên cơ quan nào; chỉ "
            "người có nhóm đó trong mã truy cập mới xử lý được (rõ người)",
        )
    if not (task.documentation or "").strip():
        yield gap(
            "no-documentation",
            f"task {tid} has no documentation saying what is to be done (rõ việc)",
            f"công việc {tid} chưa có mô tả (bpmn:documentation) nêu rõ việc phải làm (rõ việc)",
        )
    if task.due_date is None:
        yield gap(
            "no-due-date",
            f"task {tid} has no camunda:dueDate (rõ thời gian)",
            f"công việc {tid} chưa có thời hạn camunda:dueDate (rõ thời gian)",
        )
    else:
        error = _due_date_error(task.due_date, check)
        if error is not None:
            yield gap(
                "due-date-invalid",
                f"task {tid}: camunda:dueDate {error[0]}",
                f"công việc {tid}: thời hạn camunda:dueDate {error[1]}",
                severity="error",
            )
    if task.form_key is None:
        yield gap(
            "no-form",
            f"task {tid} has no camunda:formKey naming the form of its result (rõ sản phẩm)",
            f"công việc {tid} chưa có biểu mẫu kết quả camunda:formKey (rõ sản phẩm)",
        )


def _task_files(process: ProcessModel) -> dict[str, str]:
    """Element id of each human task → the file of the (sub)process spec holding it."""
    files: dict[str, str] = {}
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if task_spec.bpmn_id in process.user_tasks:
                files.setdefault(task_spec.bpmn_id, spec.file or "")
    return files


# --- DMN coverage ---------------------------------------------------------------------------------------------------
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class _Undecidable(Exception):
    """The cell is more than literals and comparisons of the input value: it may match anything."""


def _value(node: ast.AST, value: Any) -> Any:
    """Evaluate literals, containers of literals, the input placeholder, comparisons, and/or/not; nothing else."""
    if isinstance(node, ast.Expression):
        return _value(node.body, value)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id == _PLACEHOLDER:
        return value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_value(element, value) for element in node.elts]
        return set(items) if isinstance(node, ast.Set) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _value(node.operand, value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _value(node.operand, value)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand
    if isinstance(node, ast.BoolOp):  # Python's and/or: the deciding operand, not a bool
        result = None
        for part in node.values:
            result = _value(part, value)
            if bool(result) != isinstance(node.op, ast.And):
                break
        return result
    if isinstance(node, ast.Compare):
        left = _value(node.left, value)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _value(comparator, value)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise _Undecidable


def _cell(text: str | None) -> Callable[[Any], bool] | None:
    """A predicate telling whether the cell matches an input value, exactly as SpiffWorkflow would evaluate it;
    None for a wildcard ("-", empty) or a cell this check cannot decide."""
    if text is None or text.strip() in ("", "-"):
        return None
    try:
        tree = ast.parse(dmn_entry_source(_PLACEHOLDER, text)[0].strip(), mode="eval")
        _value(tree, object())  # refuses early what is not a plain comparison (names, calls, arithmetic)
    except (SyntaxError, _Undecidable, ValueError, RecursionError):
        return None
    except TypeError:  # e.g. object() < 5: still a plain comparison
        pass

    def matches(value: Any) -> bool:
        try:
            return bool(_value(tree, value))
        except (_Undecidable, TypeError):
            return True  # SpiffWorkflow would fail rather than fall through: not a coverage gap

    return matches


def _literals(text: str) -> tuple[Any, ...] | None:
    try:
        found = ast.literal_eval(f"[{text}]")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    values = tuple(dict.fromkeys(v for v in found if isinstance(v, (str, bool, int, float))))
    return values or None


def form_domains(forms: Iterable[Form]) -> dict[str, tuple[Any, ...]]:
    """Variable → the values the deployment's forms allow for it (a property's ``enum``, or True/False for a boolean
    property); a variable several forms constrain may take any of their values."""
    domains: dict[str, tuple[Any, ...]] = {}
    for form in forms:
        properties = form.schema.get("properties")
        for name, schema in properties.items() if isinstance(properties, dict) else ():
            if not isinstance(schema, dict):
                continue
            values = schema.get("enum")
            if schema.get("type") == "boolean":
                allowed: tuple[Any, ...] = (True, False)
            elif isinstance(values, list) and all(isinstance(v, (str, bool, int, float)) for v in values):
                allowed = tuple(values)
            else:
                continue
            if allowed:
                domains[name] = tuple(dict.fromkeys((*domains.get(name, ()), *allowed)))
    return domains


def _domain(
    input_element: Any, cells: Sequence[str | None], ns: dict[str, str], variables: Mapping[str, tuple[Any, ...]]
) -> tuple[Any, ...] | None:
    """The finite set of values an input can take, where that is decidable: typeRef boolean, a list of allowed
    values (``<inputValues>``), a variable whose values a form of the deployment enumerates, or a column whose every
    cell is True/False."""
    expression = input_element.find("dmn:inputExpression", ns)
    if expression is not None and (expression.get("typeRef") or "").lower() == "boolean":
        return (True, False)
    allowed = input_element.findtext("dmn:inputValues/dmn:text", None, ns)
    if allowed and allowed.strip():
        return _literals(allowed)
    source = (input_element.findtext("dmn:inputExpression/dmn:text", "", ns) or "").strip()
    if source in variables:
        return variables[source]
    used = [text.strip() for text in cells if text is not None and text.strip() not in ("", "-")]
    if used and all(text in ("True", "False") for text in used):
        return (True, False)
    return None


def _render(values: dict[str, Any]) -> str:
    return ", ".join(f"{label} = {value!r}" for label, value in values.items())


def _dmn_findings(file: str, root: Any, variables: Mapping[str, tuple[Any, ...]]) -> Iterator[Finding]:
    ns = {"dmn": root.tag[1:].split("}", 1)[0] if isinstance(root.tag, str) and root.tag.startswith("{") else ""}
    for decision in root.iterfind(".//dmn:decision", ns):
        table = decision.find("dmn:decisionTable", ns)
        if table is None or (table.get("hitPolicy") or "UNIQUE").upper() not in SINGLE_HIT_POLICIES:
            continue
        inputs = table.findall("dmn:input", ns)
        rules = [
            [entry.findtext("dmn:text", None, ns) for entry in rule.findall("dmn:inputEntry", ns)]
            for rule in table.iterfind("dmn:rule", ns)
        ]
        rules = [cells + [None] * (len(inputs) - len(cells)) for cells in rules]
        if any(all(cell is None or cell.strip() in ("", "-") for cell in cells) for cells in rules):
            continue  # a catch-all rule
        columns: list[tuple[int, str, tuple[Any, ...]]] = []
        for index, input_element in enumerate(inputs):
            domain = _domain(input_element, [cells[index] for cells in rules], ns, variables)
            if domain:
                label = (
                    input_element.get("label")
                    or input_element.findtext("dmn:inputExpression/dmn:text", "", ns)
                    or input_element.get("id")
                    or str(index + 1)
                ).strip()
                columns.append((index, label, domain))
        gaps = _uncovered(columns, [[_cell(cell) for cell in cells] for cells in rules])
        if gaps:
            listed = "; ".join(_render(gap) for gap in gaps[:MAX_LISTED])
            more_en = f" and {len(gaps) - MAX_LISTED} more" if len(gaps) > MAX_LISTED else ""
            more_vi = f" và {len(gaps) - MAX_LISTED} trường hợp khác" if len(gaps) > MAX_LISTED else ""
            policy = (table.get("hitPolicy") or "UNIQUE").upper()
            yield _finding(
                "dmn-no-default",
                "warning",
                file,
                decision,
                decision.get("id"),
                f"decision table {decision.get('id')} (hit policy {policy}) has no default rule (all "
                f"inputs '-') and no rule matches {listed}{more_en}: the decision would give no result",
                f"bảng quyết định {decision.get('id')} (hit policy {policy}) không có quy tắc mặc định (mọi "
                f"ô đầu vào '-') và không quy tắc nào khớp {listed}{more_vi}: quyết định sẽ không có kết "
                "quả",
            )


def _uncovered(
    columns: Sequence[tuple[int, str, tuple[Any, ...]]],
    rules: Sequence[Sequence[Any]],
) -> list[dict[str, Any]]:
    """Combinations of finite-domain input values that no rule matches. Cells of other inputs, and cells this check
    cannot decide, count as matching anything (so nothing is reported that a rule might cover)."""
    if not columns:
        return []

    def covered(assignment: Iterable[tuple[int, Any]]) -> bool:
        pairs = list(assignment)
        return any(all(cells[i] is None or cells[i](v) for i, v in pairs) for cells in rules)

    size = 1
    for _, _, domain in columns:
        size *= len(domain)
    if size <= MAX_COMBINATIONS:
        gaps = []
        for combination in itertools.product(*(domain for _, _, domain in columns)):
            if not covered(zip((i for i, _, _ in columns), combination, strict=True)):
                gaps.append({label: v for (_, label, _), v in zip(columns, combination, strict=True)})
        return gaps
    return [{label: v} for index, label, domain in columns for v in domain if not covered([(index, v)])]


def _recursion_findings(trees: Mapping[str, Any]) -> Iterator[Finding]:
    """Call activities whose called process calls back, directly or through others, the process holding them: each
    start then nests until the runtime's step or time limit stops the command (``call-recursive``)."""
    calls: dict[str, list[tuple[str, Any]]] = {}  # process id → [(file, call activity)]
    for name, tree in trees.items():
        if name.lower().endswith(BPMN_SUFFIXES):
            for process in tree.getroot().iter(f"{{{BPMN_NS}}}process"):
                for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
                    calls.setdefault(process.get("id") or "", []).append((name, call))

    def reaches(start: str, goal: str) -> bool:
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for _, call in calls.get(current, []):
                called = call.get("calledElement") or ""
                if called not in seen:
                    seen.add(called)
                    stack.append(called)
        return False

    for process_id, entries in calls.items():
        for file, call in entries:
            called = call.get("calledElement") or ""
            if reaches(called, process_id):
                yield _finding(
                    "call-recursive",
                    "warning",
                    file,
                    call,
                    call.get("id"),
                    f"call activity {call.get('id')} calls {called!r}, which leads back to {process_id!r}: "
                    "unless a condition stops it, every instance nests until the step limit ends it in an "
                    "error",
                    f"hoạt động gọi {call.get('id')} gọi {called!r}, quy trình này lại gọi về "
                    f"{process_id!r}: nếu không có điều kiện dừng, mỗi hồ sơ sẽ lồng nhau đến khi vượt "
                    "giới hạn số bước và dừng do lỗi",
                )


def _camunda_findings(file: str, root: Any) -> Iterator[Finding]:
    """Camunda 7 attributes a file sets that have no effect here (engine.definitions.camunda.dialect):
    ``camunda-ignored``."""
    for element, attribute, en, vi in ignored_attributes(root):
        yield _finding(
            "camunda-ignored",
            "warning",
            file,
            element,
            element.get("id"),
            f"{attribute} has no effect in this engine: {en}",
            f"{attribute} không có tác dụng trong máy chủ này: {vi}",
        )


# --- the lint -------------------------------------------------------------------------------------------------------
def _settled(findings: list[Finding], *, strict: bool) -> list[Finding]:
    """``strict`` makes every finding an error; sorted by file, line, element and code."""
    if strict:
        for finding in findings:
            finding["severity"] = "error"
    return sorted(findings, key=lambda f: (f["file"], f["line"] or 0, f["element_id"] or "", f["code"]))


def lint_deployment(deployment: Deployment, *, strict: bool = False, check: Check = check_source) -> list[Finding]:
    """Every "6 rõ" finding of a compiled deployment, sorted by file and line; ``strict`` makes warnings errors."""
    trees = {
        source.name: parse_xml(source.content, filename=source.name)
        for source in deployment.files
        if source.name.lower().endswith(BPMN_SUFFIXES + DMN_SUFFIXES)
    }
    elements: dict[str, dict[str, Any]] = {
        name: {
            element.get("id"): element
            for element in tree.getroot().iter()
            if isinstance(element.tag, str) and element.get("id") is not None and local_name(element) != "formField"
        }
        for name, tree in trees.items()
        if name.lower().endswith(BPMN_SUFFIXES)
    }
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for process in deployment.processes:
        files = _task_files(process)
        for element_id, task in process.user_tasks.items():
            file = files.get(element_id, "")
            if (file, element_id) in seen:
                continue
            seen.add((file, element_id))
            findings += _task_findings(task, file, elements.get(file, {}).get(element_id), check)
    variables = form_domains(
        {name: form for process in deployment.processes for name, form in process.forms.items()}.values()
    )
    for name, tree in trees.items():
        if name.lower().endswith(DMN_SUFFIXES):
            findings += _dmn_findings(name, tree.getroot(), variables)
            findings += dmn_findings(name, tree.getroot())  # FEEL read as Python, hit policies, requirement graphs
        else:
            findings += _camunda_findings(name, tree.getroot())
    findings += _recursion_findings(trees)
    return _settled(findings, strict=strict)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding["severity"] == "error" for finding in findings)


def as_problem(finding: Finding) -> Problem:
    """A finding in the catalog's problem shape (``reason``/``reason_vi``), with its ``code`` and ``severity``."""
    found: Problem = {"file": finding["file"], "element_id": finding["element_id"]}
    if finding["element_name"]:
        found["element_name"] = finding["element_name"]
    if finding["line"]:
        found["line"] = finding["line"]
    found.update(
        reason=finding["message_en"],
        reason_vi=finding["message_vi"],
        code=finding["code"],
        severity=finding["severity"],
    )
    return found


def refuse_errors(findings: Sequence[Finding]) -> None:
    """Raise InvalidDefinition listing the error findings (with codes), if there are any."""
    errors = [finding for finding in findings if finding["severity"] == "error"]
    if not errors:
        return
    first = errors[0]
    where = first["file"] + (f" ({first['element_id']})" if first["element_id"] else "")
    others = len(errors) - 1
    more, more_vi = (f" and {others} more", f" và {others} lỗi khác") if others else ("", "")
    raise InvalidDefinition(
        f"the process definition fails the 6 rõ check: {where}: {first['message_en']}{more}",
        detail_vi=f"quy trình chưa đạt yêu cầu 6 rõ: {where}: {first['message_vi']}{more_vi}",
        problems=[as_problem(finding) for finding in errors],
    )


def from_problem(found: Problem, code: str) -> Finding:
    """A compile problem (engine.definitions.catalog) as an error finding; ``code`` when the problem carries none."""
    return Finding(
        code=str(found.get("code") or code),
        severity="error",
        file=str(found.get("file") or ""),
        element_id=found.get("element_id"),
        element_name=found.get("element_name"),
        message_en=str(found.get("reason", "")),
        message_vi=str(found.get("reason_vi", "")),
        line=found.get("line"),
    )


def lint_files(
    files: Sequence[SourceFile],
    *,
    compile_files: Callable[[Sequence[SourceFile]], Deployment],
    strict: bool = False,
    check: Check = check_source,
    refuse_unsafe: bool = False,
) -> list[Finding]:
    """Compile ``files`` and lint them: compile problems come back as error findings (code ``invalid-bpmn`` or the
    problem's own), so one list tells everything wrong with a process folder. ``refuse_unsafe``: a hostile or
    oversized file (UnsafeXml) is raised instead, as ``POST /process-definitions/validate`` answers it with 422."""
    try:
        deployment = compile_files(files)
    except InvalidDefinition as exc:
        if refuse_unsafe and isinstance(exc, UnsafeXml):
            raise
        errors = [from_problem(found, exc.code) for found in exc.problems]
        if isinstance(exc, UnsafeXml):
            return errors
        reported = {found["element_id"] for found in errors}  # an element with an error already is not listed twice
        return errors + [
            found
            for found in _xml_task_findings(files, strict=strict, check=check)
            if found["element_id"] not in reported
        ]
    return lint_deployment(deployment, strict=strict, check=check)


_HUMAN_TASKS = ("userTask", "manualTask")


def _xml_task_findings(files: Sequence[SourceFile], *, strict: bool, check: Check) -> list[Finding]:
    """The "6 rõ" findings of every human task read from the XML alone, for a deployment that does not compile (its
    errors come first): an owner fixing a file sees every error and warning at once. A file that does not parse
    gives none."""
    findings: list[Finding] = []
    for source in files:
        if not source.name.lower().endswith(BPMN_SUFFIXES):
            continue
        try:
            root = parse_xml(source.content, filename=source.name).getroot()
        except InvalidDefinition:
            continue
        lanes = lanes_by_node(root)
        for tag in _HUMAN_TASKS:
            for element in root.iter(f"{{{BPMN_NS}}}{tag}"):
                element_id = element.get("id")
                if element_id:
                    task = user_task_model(
                        element_id,
                        element,
                        _AGENCIES,
                        lanes,
                        name=element.get("name"),
                        documentation=element.findtext(f"{{{BPMN_NS}}}documentation"),
                    )
                    findings += _task_findings(task, source.name, element, check)
    return _settled(findings, strict=strict)


def format_finding(finding: Finding, directory: Path | None = None) -> str:
    """``file:line element_id [severity code] message_vi / message_en``, the file under ``directory`` if given."""
    file = str(directory / finding["file"]) if directory is not None and finding["file"] else finding["file"]
    where = file + (f":{finding['line']}" if finding["line"] else "")
    return (
        f"{where} {finding['element_id'] or '-'} [{finding['severity']} {finding['code']}] "
        f"{finding['message_vi']} / {finding['message_en']}"
    )


def _process_folder(path: Path) -> list[SourceFile] | None:
    """The files of ``path`` when it is itself a process folder (BPMN/DMN files directly in it, no process folders
    below it): one deployment with its forms, as it is a sub-folder of processes/."""
    if not path.is_dir():
        return None
    files = [p for p in sorted(path.iterdir()) if p.is_file()]
    if not any(p.name.endswith(SUFFIXES) for p in files) or any(
        q.name.endswith(SUFFIXES) for sub in path.iterdir() if sub.is_dir() for q in sub.iterdir()
    ):
        return None
    return [SourceFile(p.name, p.read_bytes()) for p in files if p.name.endswith(SUFFIXES) or is_form_file(p.name)]


def lint_path(
    path: Path,
    *,
    compile_files: Callable[[Sequence[SourceFile]], Deployment],
    strict: bool = False,
) -> list[tuple[Path, list[Finding]]]:
    """Lint what ``path`` holds: a process folder is one deployment, a folder of process folders one per sub-folder
    (as ``deployable_sets`` reads processes/), a file alone its own. Returns [(the folder of the files, findings)]."""
    own = _process_folder(path)
    if own is not None:
        return [(path, lint_files(own, compile_files=compile_files, strict=strict))]
    results = []
    for label, files in deployable_sets(path):
        folder = path.parent if path.is_file() else path / label if (path / label).is_dir() else path
        results.append((folder, lint_files(files, compile_files=compile_files, strict=strict)))
    return results
