"""Corpus benchmark: how many BPMN files made by other tools phoihop accepts, against SpiffWorkflow's own parsers.

Given a folder, every ``*.bpmn`` (and ``*.bpmn20.xml``) file under it is one case, sent with what it references
beside it: the ``*.dmn`` files of its folder (and of a ``dmn`` folder in it) when it has a ``decisionRef`` or
``spiffworkflow:calledDecisionId``, the ``*.form``/``*.form.json`` files when
it names a form, and the sibling BPMN files that declare a process it calls. For each case:

- SpiffWorkflow 3.2 alone: ``SpiffBpmnParser()`` and ``CamundaParser()`` (default constructors, no XSD validator)
  parse the files and build a spec for every executable process the file declares (``get_spec``); a case "builds"
  when every such process builds (a file declaring none builds nothing);
- phoihop, through its REST API (FastAPI TestClient on a fresh SQLite file, scheduler and deploy-on-start off, server
  exceptions answered as HTTP like a real server): ``POST /api/v1/process-definitions/validate``, then ``POST
  /api/v1/process-definitions`` (deploy), then ``POST /api/v1/process-instances`` with no variables for every process
  deployed; a case "starts" when at least one of its processes starts. Any 5xx is counted (there must be none);
- files from Camunda's example projects (path contains ``camunda-bpm-examples``) are classified "needs Java code"
  (``camunda:class``, ``delegateExpression``, ``camunda:expression`` or a listener ``expression`` calling a method,
  Java listeners, connectors, ``camunda:resource`` scripts, JVM script languages: Groovy, JavaScript on Nashorn,
  XQuery, XSLT) or not, and the share of executable ones without Java code that deploy and start is printed.

Prints a table (files, Spiff builds, phoihop validates/deploys/starts, 5xx, refusal reasons grouped by finding code),
then one JSON line. Usage: python bench/corpus.py FOLDER [--json-out FILE] [--show CODE]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would shadow the standard library's
# ``http`` package: take the folder off, and put the repository root first.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from fastapi.testclient import TestClient  # noqa: E402
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402

from phoihop.app import create_app  # noqa: E402
from phoihop.auth import issue_token  # noqa: E402
from phoihop.settings import Settings  # noqa: E402

DEFINITIONS = "/api/v1/process-definitions"
INSTANCES = "/api/v1/process-instances"
SECONDS_PER_CASE = 60

# Camunda 7 reads its attributes under either namespace prefix: files from its Activiti days write activiti:class.
NS = r"(?:camunda|activiti):"
JAVA_PATTERNS = {
    "camunda:class": re.compile(rf"\b{NS}class\s*="),
    "delegateExpression": re.compile(rf"\b{NS}delegateExpression\s*="),
    "expression calling a method": re.compile(rf"\b(?:{NS})?expression\s*=\s*\"[^\"]*\w\s*\.\s*\w+\s*\("),
    "bean expression": re.compile(rf"\b{NS}expression\s*=\s*\"\$\{{\w+\.\w+"),
    "bean method in an attribute": re.compile(rf"\b{NS}\w+\s*=\s*\"[$#]\{{\s*\w+\s*\.\s*\w+\s*\("),
    "Java listener": re.compile(rf"<{NS}(?:execution|task)Listener\b[^>]*\b(?:class|delegateExpression)\s*="),
    "connector": re.compile(rf"<{NS}connector\b"),
    "camunda:resource script": re.compile(rf"\b{NS}resource\s*="),
    "JVM script": re.compile(
        r"\bscriptFormat\s*=\s*\"(?:groovy|javascript|js|ecmascript|nashorn|graal\.js|xquery|xslt|java)\"", re.I
    ),
}
EXECUTABLE = re.compile(r"<(?:\w+:)?process\b[^>]*\bisExecutable\s*=\s*\"true\"")


@dataclass
class Case:
    bpmn: Path
    files: list[Path]
    camunda_example: bool
    java: list[str] = field(default_factory=list)
    executable: bool = False
    spiff: str = "-"  # built, none (no executable process), failed: <reason>
    camunda_parser: str = "-"
    validate_status: int = 0
    valid: bool = False
    deploy_status: int = 0
    deployed_keys: list[str] = field(default_factory=list)
    started: int = 0
    start_statuses: list[int] = field(default_factory=list)
    start_form_needed: bool = False
    error_codes: list[str] = field(default_factory=list)
    first_error: str = ""
    server_errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.bpmn)


class CaseTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "utf-16", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1", errors="replace")


def declared_processes(text: str) -> set[str]:
    return set(re.findall(r"<(?:\w+:)?process\b[^>]*\bid\s*=\s*\"([^\"]+)\"", text))


def called_processes(text: str) -> set[str]:
    return set(re.findall(r"\bcalledElement\s*=\s*\"([^\"$#{}]+)\"", text))


def cases_of(folder: Path) -> list[Case]:
    bpmns = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith((".bpmn", ".bpmn20.xml")))
    declared = {p: declared_processes(read_text(p)) for p in bpmns}
    cases = []
    for bpmn in bpmns:
        text = read_text(bpmn)
        files = [bpmn]
        if re.search(r"decisionRef|calledDecisionId", text):  # Camunda's attribute, SpiffWorkflow's extension
            files += sorted(bpmn.parent.glob("*.dmn")) + sorted(bpmn.parent.glob("dmn/*.dmn"))
        if re.search(r"formKey|formRef|formId", text):
            files += sorted(p for p in bpmn.parent.iterdir() if p.name.endswith((".form", ".form.json")))
        for called in called_processes(text) - declared[bpmn]:
            files += [p for p in bpmns if p.parent == bpmn.parent and p != bpmn and called in declared[p]][:1]
        example = "camunda-bpm-examples" in str(bpmn)
        java = [name for name, pattern in JAVA_PATTERNS.items() if pattern.search(text)] if example else []
        cases.append(Case(bpmn, files, example, java, executable=bool(EXECUTABLE.search(text))))
    return cases


def executable_ids(parser: Any) -> list[str]:
    ids: list[str] = []
    for process_id, process_parser in parser.process_parsers.items():
        if process_parser.node.get("isExecutable", "true").lower() != "false":
            ids.append(process_id)
    return ids


def spiff_builds(parser_class: type, case: Case) -> str:
    try:
        with time_limit(SECONDS_PER_CASE):
            parser = parser_class()
            parser.add_bpmn_files([str(p) for p in case.files if not p.name.endswith((".dmn", ".form", ".json"))])
            dmn = [str(p) for p in case.files if p.name.endswith(".dmn")]
            if dmn:
                parser.add_dmn_files(dmn)
            own = declared_processes(read_text(case.bpmn))
            ids = [i for i in executable_ids(parser) if i in own]
            if not ids:
                return "none"
            for process_id in ids:
                parser.get_spec(process_id)
                parser.get_subprocess_specs(process_id)
            return "built"
    except Exception as exc:  # any failure of the library is what is measured
        return f"failed: {type(exc).__name__}: {str(exc)[:120]}"


def codes_in(body: Any) -> list[tuple[str, str]]:
    """(code, message) of every finding in a problem or validation body."""
    found: list[tuple[str, str]] = []
    if isinstance(body, dict):
        if "code" in body and ("message_en" in body or "severity" in body):
            if body.get("severity", "error") == "error":
                found.append((str(body["code"]), str(body.get("message_en") or body.get("detail") or "")))
            return found
        for value in body.values():
            found += codes_in(value)
    elif isinstance(body, list):
        for item in body:
            found += codes_in(item)
    return found


def body_of(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def least_values(schema: Any) -> dict[str, Any]:
    """The least value each required field of a JSON Schema start form takes (its first enum value, its minimum...)."""
    if not isinstance(schema, dict):
        return {}
    schema = schema.get("form") or schema
    values: dict[str, Any] = {}
    for name in schema.get("required", []):
        field_schema = schema.get("properties", {}).get(name, {})
        kind = field_schema.get("type")
        if "enum" in field_schema:
            values[name] = field_schema["enum"][0]
        elif "const" in field_schema:
            values[name] = field_schema["const"]
        elif kind in ("integer", "number"):
            values[name] = field_schema.get("minimum", 1)
        elif kind == "boolean":
            values[name] = False
        elif field_schema.get("format") == "date":
            values[name] = "2026-12-07"
        else:
            candidates = ["x" * max(1, int(field_schema.get("minLength", 1))), "1", "C-1", "true", "a@b.vn"]
            pattern = field_schema.get("pattern")
            values[name] = next((c for c in candidates if not pattern or re.search(pattern, c)), candidates[0])
    return values


def reason_of(message: str) -> str:
    """A refusal's message with its names taken out, so the same reason groups across files."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|<[^>]*>|\b\w*_\w+\b|\b\w*\d\w*\b", "…", message)
    return re.sub(r"\s+", " ", text).strip()[:100]


def run_phoihop(client: TestClient, headers: dict[str, str], case: Case) -> None:
    uploads = [("files", (p.name, p.read_bytes(), "application/xml")) for p in case.files]

    def note_5xx(step: str, response: Any) -> None:
        if response.status_code >= 500:
            case.server_errors.append(f"{step} {response.status_code}: {str(body_of(response))[:200]}")

    try:
        with time_limit(SECONDS_PER_CASE):
            validated = client.post(f"{DEFINITIONS}/validate", files=uploads, headers=headers)
            note_5xx("validate", validated)
            case.validate_status = validated.status_code
            body = body_of(validated)
            case.valid = validated.status_code == 200 and isinstance(body, dict) and bool(body.get("valid"))
            findings = codes_in(body.get("errors", []) if isinstance(body, dict) and "errors" in body else body)
            if validated.status_code != 200 and not findings and isinstance(body, dict):
                findings = [(str(body.get("type", validated.status_code)).rsplit("/", 1)[-1], str(body.get("detail")))]
            case.error_codes = sorted({code for code, _ in findings})
            case.first_error = findings[0][1][:160] if findings else ""
            deployed = client.post(DEFINITIONS, files=uploads, headers=headers)
            note_5xx("deploy", deployed)
            case.deploy_status = deployed.status_code
            if deployed.status_code != 201:
                if not case.error_codes:
                    problem = body_of(deployed)
                    more = codes_in(problem)
                    if not more and isinstance(problem, dict):
                        more = [(str(problem.get("type", deployed.status_code)).rsplit("/", 1)[-1], "")]
                    case.error_codes = sorted({code for code, _ in more})
                return
            keys = [d["key"] for d in deployed.json() if d.get("kind", "process") == "process"]
            case.deployed_keys = keys
            for key in keys:
                started = client.post(INSTANCES, json={"process_key": key}, headers=headers)
                note_5xx(f"start {key}", started)
                if started.status_code == 422 and isinstance(body_of(started), dict) and "form" in body_of(started):
                    # the start form requires fields (Camunda checks them only when its form is submitted): start
                    # again with the least each required field takes, and count it apart
                    form = client.get(f"{DEFINITIONS}/{key}/start-form", headers=headers)
                    note_5xx(f"start-form {key}", form)
                    variables = least_values(body_of(form)) if form.status_code == 200 else {}
                    started = client.post(INSTANCES, json={"process_key": key, "variables": variables}, headers=headers)
                    note_5xx(f"start {key} with its start form", started)
                    case.start_form_needed = True
                case.start_statuses.append(started.status_code)
                if started.status_code in (200, 201):
                    case.started += 1
                elif not case.first_error:
                    problem = body_of(started)
                    case.first_error = str(problem.get("detail") if isinstance(problem, dict) else problem)[:160]
    except CaseTimeout as exc:
        case.server_errors.append(f"hung: {exc}")


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json-out", type=Path, help="write every case's result here")
    parser.add_argument("--show", action="append", default=[], help="list the files refused with this finding code")
    args = parser.parse_args()
    cases = cases_of(args.folder)
    if not cases:
        print(f"no BPMN file under {args.folder}", file=sys.stderr)
        return 2
    started_at = time.monotonic()
    for case in cases:
        case.spiff = spiff_builds(SpiffBpmnParser, case)
        case.camunda_parser = spiff_builds(CamundaParser, case)

    secret = "corpus-bench-" + "x" * 32
    headers = {
        "Authorization": "Bearer "
        + issue_token(secret, sub="corpus-owner", groups=["skhcn"], roles=["process-owner", "admin", "lead", "officer"])
    }
    with tempfile.TemporaryDirectory(prefix="phoihop-corpus-") as workdir:
        settings = Settings(
            env="test",
            database_url=f"sqlite:///{workdir}/corpus.db",
            secret_key=secret,
            deploy_on_start=False,
            run_scheduler=False,
            processes_dir=Path(workdir) / "processes",
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            client.app.state.startup.done.wait(120)  # type: ignore[attr-defined]
            for case in cases:
                run_phoihop(client, headers, case)
    seconds = time.monotonic() - started_at

    total = len(cases)
    spiff = sum(c.spiff == "built" for c in cases)
    camunda = sum(c.camunda_parser == "built" for c in cases)
    valid = sum(c.valid for c in cases)
    deployed = sum(c.deploy_status == 201 for c in cases)
    started = sum(c.started > 0 for c in cases)
    server_errors = [f"{c.name}: {e}" for c in cases for e in c.server_errors]
    refused = [c for c in cases if c.deploy_status != 201]
    reasons = Counter(code for c in refused for code in c.error_codes)
    sole = Counter(c.error_codes[0] for c in refused if len(c.error_codes) == 1)
    messages = Counter(f"{c.error_codes[0] if c.error_codes else '?'}: {reason_of(c.first_error)}" for c in refused)
    not_started = Counter(
        (c.first_error or "?")[:90] for c in cases if c.deploy_status == 201 and c.started == 0 and c.deployed_keys
    )
    examples = [c for c in cases if c.camunda_example and c.executable]
    without_java = [c for c in examples if not c.java]
    java_ok = sum(c.deploy_status == 201 and c.started > 0 for c in without_java)
    spiff_only = [c for c in cases if c.spiff == "built" and not (c.deploy_status == 201 and c.started > 0)]
    spiff_only_java = sum(bool(c.java) for c in spiff_only)
    phoihop_only = sum(c.spiff != "built" and c.deploy_status == 201 and c.started > 0 for c in cases)

    print(f"corpus: {args.folder} ({total} BPMN files, {seconds:.0f} s)")
    print(f"{'':34}{'files':>7}{'share':>8}")
    rows = [
        ("SpiffBpmnParser builds", spiff),
        ("CamundaParser builds", camunda),
        ("Spiff or Camunda parser builds", sum(c.spiff == "built" or c.camunda_parser == "built" for c in cases)),
        ("phoihop validates (no error)", valid),
        ("phoihop deploys", deployed),
        ("phoihop deploys and starts", started),
    ]
    for label, count in rows:
        print(f"{label:34}{count:>7}{percent(count, total):>8}")
    print(f"{'5xx answers':34}{len(server_errors):>7}")
    for line in server_errors:
        print(f"  ! {line}")
    print(f"\nrefused ({len(refused)} files), by finding code (files; alone = the file's only code):")
    for code, count in reasons.most_common():
        print(f"  {code:34}{count:>5}  alone {sole.get(code, 0)}")
    print("\nrefused, by first reason (names taken out):")
    for text, count in messages.most_common():
        print(f"  {count:>3}  {text}")
    with_form = sum(c.start_form_needed and c.started > 0 for c in cases)
    if with_form:
        print(f"\nstarted only with their start form's required fields filled: {with_form}")
    if not_started:
        print("\ndeployed but no process started:")
        for text, count in not_started.most_common():
            print(f"  {count:>3}  {text}")
    print(
        f"\nCamunda examples: {len(examples)} executable, {len(examples) - len(without_java)} need Java code"
        f" ({', '.join(f'{k} {v}' for k, v in Counter(j for c in examples for j in c.java).most_common())});"
        f" without Java: {java_ok} of {len(without_java)} deploy and start ({percent(java_ok, len(without_java))})"
    )
    for case in without_java:
        if not (case.deploy_status == 201 and case.started > 0):
            print(f"  - {case.bpmn.name}: {', '.join(case.error_codes) or case.first_error}")
    print(
        f"\nSpiffBpmnParser builds, phoihop does not start: {len(spiff_only)} ({spiff_only_java} of them run Java or"
        f" JVM scripts, which SpiffWorkflow builds but cannot run); phoihop starts, SpiffBpmnParser does not build:"
        f" {phoihop_only}"
    )
    for case in spiff_only:
        why = ", ".join(case.java) or ", ".join(case.error_codes)
        print(f"  - {case.bpmn.name}: {why}: {reason_of(case.first_error)}")
    for code in args.show:
        print(f"\nfiles refused with {code}:")
        for case in refused:
            if code in case.error_codes:
                print(f"  {case.name}")
    if args.json_out:
        args.json_out.write_text(
            json.dumps([{**c.__dict__, "bpmn": c.name, "files": [str(p) for p in c.files]} for c in cases], indent=1)
        )
    summary = {
        "files": total,
        "spiff_builds": spiff,
        "camunda_parser_builds": camunda,
        "phoihop_validates": valid,
        "phoihop_deploys": deployed,
        "phoihop_starts": started,
        "phoihop_starts_needing_start_form": sum(c.start_form_needed and c.started > 0 for c in cases),
        "server_errors": len(server_errors),
        "refusals": dict(reasons.most_common()),
        "spiff_builds_phoihop_refuses": len(spiff_only),
        "spiff_builds_phoihop_refuses_java": spiff_only_java,
        "phoihop_starts_spiff_fails": phoihop_only,
        "camunda_without_java": len(without_java),
        "camunda_without_java_deploy_start": java_ok,
        "camunda_without_java_percent": round(100 * java_ok / len(without_java), 1) if without_java else None,
        "seconds": round(seconds, 1),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 1 if server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
