"""engine.definitions.lint: the "6 rõ" findings of a deployment, strict mode, deploy through the service and the API, and
``phoihop lint``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient

from phoihop.app import create_app
from phoihop.cli import main as cli_main
from phoihop.engine.agencies import default_registry
from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.catalog import Deployment, compile_deployment
from phoihop.engine.definitions.lint import dmn_coverage
from phoihop.engine.definitions.lint.deployment import lint_deployment, lint_files
from phoihop.engine.definitions.lint.findings import format_finding, has_errors
from phoihop.engine.errors import InvalidDefinition
from phoihop.engine.execution.sandbox_policy import check_source
from phoihop.engine.model import Finding, SourceFile
from phoihop.engine.store.tables import NAME_LIMITS
from phoihop.settings import Settings
from tests.api.calls import DEFINITIONS, OWNER, assert_problem
from tests.conftest import OWNER as OWNER_ACTOR

LINT = Path(__file__).parent.parent / "fixtures" / "lint"
AGENCIES = default_registry()


def folder(name: str, *extra: str, replace: dict[str, str] | None = None) -> list[SourceFile]:
    """The files of fixture folder ``name`` plus ``extra`` paths under tests/fixtures/lint, edited by ``replace``."""
    paths = [*sorted((LINT / name).iterdir()), *(LINT / path for path in extra)] if name else [LINT / e for e in extra]
    texts = {path.name: path.read_text(encoding="utf-8") for path in paths}
    for old, new in (replace or {}).items():
        assert any(old in text for text in texts.values()), old
        texts = {name: text.replace(old, new) for name, text in texts.items()}
    return [SourceFile(name, text.encode("utf-8")) for name, text in texts.items()]


def compile_files(files: Sequence[SourceFile]) -> Deployment:
    return compile_deployment(files, agencies=AGENCIES, check=check_source)


def lint(files: Sequence[SourceFile], *, strict: bool = False) -> list[Finding]:
    return lint_deployment(compile_files(files), strict=strict)


def codes(findings: Sequence[Finding]) -> list[tuple[str | None, str, str]]:
    return [(f["element_id"], f["code"], f["severity"]) for f in findings]


# --- human tasks ----------------------------------------------------------------------------------------------------
def test_each_gap_of_a_human_task_is_one_warning_with_element_line_and_both_languages() -> None:
    findings = lint(folder("gaps"))

    assert codes(findings) == [
        ("undocumented", "no-documentation", "warning"),
        ("no_due", "no-due-date", "warning"),
        ("no_form", "no-form", "warning"),
        ("by_user", "lane-not-agency", "warning"),
    ]
    lines = (LINT / "gaps" / "gaps.bpmn").read_text(encoding="utf-8").splitlines()
    for finding in findings:
        assert finding["file"] == "gaps.bpmn"
        element_id, line = finding["element_id"], finding["line"]
        assert line is not None and f'id="{element_id}"' in lines[line - 1]
        assert element_id and element_id in finding["message_en"] and element_id in finding["message_vi"]
    by_code = {f["code"]: f for f in findings}
    assert by_code["no-form"]["element_name"] == "Việc không biểu mẫu"
    assert "rõ sản phẩm" in by_code["no-form"]["message_vi"]
    assert "'Cơ quan báo cáo'" in by_code["lane-not-agency"]["message_vi"]
    assert "rõ trách nhiệm" in by_code["lane-not-agency"]["message_vi"]


def test_candidates_from_a_variable_or_from_candidate_groups_answer_for_a_lane_that_names_no_agency() -> None:
    flagged = {f["element_id"] for f in lint(folder("gaps")) if f["code"] == "lane-not-agency"}

    assert "by_variable" not in flagged  # candidateGroupsVariable: the agency comes with the data
    assert "by_groups" not in flagged  # camunda:candidateGroups="stp"
    assert flagged == {"by_user"}  # candidate users alone name no agency


def test_a_task_outside_every_lane_is_not_an_agency_either() -> None:
    files = folder("gaps", replace={})
    text = files[0].content.decode().replace("<bpmn:flowNodeRef>no_form</bpmn:flowNodeRef>", "")
    text = text.replace(
        'camunda:dueDate="working_days(5)">',
        'camunda:dueDate="working_days(5)" camunda:assignee="nguyen_van_a" camunda:formKey="result.form.json">',
    )
    findings = lint([SourceFile("gaps.bpmn", text.encode()), files[1]])

    [outside] = [f for f in findings if f["element_id"] == "no_form"]
    assert outside["code"] == "lane-not-agency"
    assert "không thuộc làn nào" in outside["message_vi"] and "in no lane" in outside["message_en"]


def test_working_day_expressions_iso_literals_and_quoted_literals_are_valid_due_dates() -> None:
    # gaps.bpmn: working_days(5), working_days(1 if urgent else 5), P3D, P5D, 2026-03-01T17:00:00+07:00, 'P2D', and a
    # timeDate timer working_days(5): none is reported.
    assert not [f for f in lint(folder("gaps")) if f["code"] == "due-date-invalid"]


def test_a_due_date_that_cannot_give_a_time_is_an_error_even_without_strict() -> None:
    findings = lint(folder("bad_due"))

    assert codes(findings) == [
        ("juel", "unset-variable", "warning"),  # valid, but nothing sets han_xu_ly (test_lint_variables.py)
        ("bad_iso", "due-date-invalid", "error"),
        ("bad_quoted", "due-date-invalid", "error"),
        ("unsafe", "due-date-invalid", "error"),
    ]
    by_id = {f["element_id"]: f for f in findings if f["code"] == "due-date-invalid"}
    assert (
        "juel" not in by_id
    )  # ${han_xu_ly} is JUEL that engine.definitions.camunda.juel translates: a valid expression
    assert "ISO 8601" in by_id["bad_iso"]["message_en"]
    assert "ba ngày" in by_id["bad_quoted"]["message_vi"]
    assert "_" in by_id["unsafe"]["message_vi"]  # the sandbox's own refusal of names starting with "_"
    assert has_errors(findings)


@pytest.mark.parametrize(
    ("due_date", "valid"),
    [
        ("P3D", True),
        ("PT4H", True),
        ("P1W", True),
        ("2026-03-01", True),
        ("2026-03-01T17:00:00+07:00", True),
        ("'P2D'", True),
        ('"2026-03-01"', True),
        ("working_days(5)", True),
        ("add_working_days(received_at, 10)", True),
        ("deadline_fraction(received_at, appointment_at, 0.75)", True),
        ("appointment_at", True),
        ("P", False),
        ("PT", False),
        ("P1DT", False),
        ("R3/PT1H", False),
        ("2026-13-45", False),
        ("P99999999999999999999D", False),
        ("None", False),
        ("5", False),
        ("1e999", False),
        ("[]", False),
        ("'năm ngày'", False),
        ("working_days(", False),
        ("${han}", True),
        ("${'ba ngày'}", False),
        ("open('x')", False),
    ],
)
def test_due_date_forms(due_date: str, valid: bool) -> None:
    attribute = escape(due_date, {'"': "&quot;"})
    findings = lint(folder("bad_due", replace={'camunda:dueDate="${han_xu_ly}"': f'camunda:dueDate="{attribute}"'}))

    assert ("juel" not in {f["element_id"] for f in findings if f["code"] == "due-date-invalid"}) is valid


def test_a_complete_task_has_no_finding() -> None:
    findings = lint(folder("gaps"))

    assert not [f for f in findings if f["element_id"] in ("complete", "by_variable", "by_groups")]


# --- DMN coverage ---------------------------------------------------------------------------------------------------
def decision(variant: str, replace: dict[str, str] | None = None) -> list[Finding]:
    return lint(folder("decide", f"decisions/route_{variant}.dmn", replace=replace))


def test_uncovered_finite_inputs_of_a_table_without_default_are_listed() -> None:
    [finding] = decision("uncovered")

    assert (finding["code"], finding["severity"], finding["file"]) == (
        "dmn-no-default",
        "warning",
        "route_uncovered.dmn",
    )
    assert (finding["element_id"], finding["element_name"], finding["line"]) == ("route", "Cơ quan xử lý", 4)
    assert (
        "Loại vướng mắc = 'kinh_phi', Khẩn = False; Loại vướng mắc = 'htkc', Khẩn = True; "
        "Loại vướng mắc = 'htkc', Khẩn = False" in finding["message_en"]
    )
    assert "UNIQUE" in finding["message_vi"] and "không có quy tắc mặc định" in finding["message_vi"]


def test_beyond_the_combination_limit_each_input_is_checked_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dmn_coverage, "MAX_COMBINATIONS", 5)  # 3 kinds x 2 = 6 combinations

    [finding] = decision("uncovered")

    assert "no rule matches Loại vướng mắc = 'htkc': " in finding["message_en"]  # (kinh_phi, False) goes unseen


def test_a_table_covering_every_combination_has_no_finding() -> None:
    assert decision("covered") == []


def test_removing_one_rule_of_a_covering_table_reports_exactly_what_it_covered() -> None:
    rule = """      <rule id="r4">
        <inputEntry id="r4_in1"><text>? != "phap_ly"</text></inputEntry>
        <inputEntry id="r4_in2"><text>False</text></inputEntry>
        <outputEntry id="r4_out"><text>"stc"</text></outputEntry>
      </rule>
"""
    [finding] = decision("covered", {rule: ""})

    assert "no rule matches Loại vướng mắc = 'kinh_phi', Khẩn = False: " in finding["message_en"]


@pytest.mark.parametrize("variant", ["default", "collect", "undecidable"])
def test_a_default_rule_a_collect_table_or_an_undecidable_cell_gives_no_finding(variant: str) -> None:
    assert decision(variant) == []


def test_domains_come_from_the_enums_and_booleans_of_the_deployments_forms() -> None:
    [finding] = decision("form_enum")

    assert "FIRST" in finding["message_en"]
    assert "Hướng xử lý = 'escalate', Khẩn = False" in finding["message_vi"]


def test_a_domain_listed_in_input_values_replaces_what_a_form_says() -> None:
    findings = decision(
        "form_enum",
        {
            '<inputExpression id="input_1_expr" typeRef="string"><text>path</text>'
            "</inputExpression>": '<inputExpression id="input_1_expr" typeRef="string"><text>path</text>'
            '</inputExpression><inputValues id="v1"><text>"guidance"</text></inputValues>'
        },
    )

    assert findings == []  # only "guidance" is allowed, and it is covered


# --- strict mode ----------------------------------------------------------------------------------------------------
def test_strict_turns_every_warning_into_an_error() -> None:
    relaxed, strict = lint(folder("gaps")), lint(folder("gaps"), strict=True)

    assert [(f["element_id"], f["code"]) for f in strict] == [(f["element_id"], f["code"]) for f in relaxed]
    assert {f["severity"] for f in relaxed} == {"warning"} and {f["severity"] for f in strict} == {"error"}
    assert not has_errors(relaxed) and has_errors(strict)


def test_compile_problems_come_back_as_error_findings() -> None:
    findings = lint_files(folder("", "decide/decide.bpmn"), compile_files=compile_files)

    assert {(f["code"], f["severity"]) for f in findings} == {("invalid-bpmn", "error")}
    [missing] = findings  # no DMN defines the decision the business rule task calls
    assert (missing["element_id"], missing["file"], missing["line"]) == ("route_rule", "decide.bpmn", 17)
    assert "route" in missing["message_en"] and "route" in missing["message_vi"]


# --- deploying --------------------------------------------------------------------------------------------------------
def test_service_deploys_with_warnings_and_refuses_errors_and_strict_gaps(container: EngineContainer) -> None:
    [deployed] = container.deployments.deploy(OWNER_ACTOR, folder("gaps"))
    assert deployed.created and [f["code"] for f in deployed.warnings] == [
        "no-documentation",
        "no-due-date",
        "no-form",
        "lane-not-agency",
    ]

    with pytest.raises(InvalidDefinition) as strict:
        container.deployments.deploy(OWNER_ACTOR, folder("", "plain.bpmn"), strict=True)
    assert [(p["element_id"], p["code"], p["severity"]) for p in strict.value.problems] == [
        ("review", "no-documentation", "error"),
        ("review", "no-due-date", "error"),
        ("review", "no-form", "error"),
    ]
    assert all(p["reason"] and p["reason_vi"] and p["file"] == "plain.bpmn" for p in strict.value.problems)

    with pytest.raises(InvalidDefinition) as bad:
        container.deployments.deploy(OWNER_ACTOR, folder("bad_due"))
    assert {p["element_id"] for p in bad.value.problems} == {"bad_iso", "bad_quoted", "unsafe"}  # JUEL translated
    assert {row.key for row in container.definition_reads.list_definitions()} == {"lint_gaps"}  # nothing else stored


def test_a_redeploy_of_the_same_content_gives_the_same_findings_as_copies_and_strict_still_refuses(
    container: EngineContainer,
) -> None:
    """The findings are kept per content and strictness (commands.deployments.LINTED): the same files deployed again
    give the same warnings, each result its own copies, and the same content deployed strict is still refused."""
    files = folder("", "plain.bpmn")
    [first] = container.deployments.deploy(OWNER_ACTOR, files)
    assert [f["code"] for f in first.warnings] == ["no-documentation", "no-due-date", "no-form"]
    assert first.warnings == tuple(lint_deployment(container.executor.compile_files(files), limits=NAME_LIMITS))
    first.warnings[0]["code"] = "changed by a caller"

    [again] = container.deployments.deploy(OWNER_ACTOR, files)
    assert not again.created and [f["code"] for f in again.warnings] == ["no-documentation", "no-due-date", "no-form"]
    with pytest.raises(InvalidDefinition) as strict:
        container.deployments.deploy(OWNER_ACTOR, files, strict=True)
    assert [p["code"] for p in strict.value.problems] == ["no-documentation", "no-due-date", "no-form"]


def upload(client: TestClient, files: Sequence[SourceFile], **kwargs: Any) -> Any:
    return client.post(
        DEFINITIONS, files=[("files", (f.name, f.content, "application/xml")) for f in files], headers=OWNER, **kwargs
    )


def test_a_plain_bpmn_without_forms_deploys_through_the_api_with_its_warnings(client: TestClient) -> None:
    response = upload(client, folder("", "plain.bpmn"))

    assert response.status_code == 201, response.text
    [deployed] = response.json()
    assert deployed["key"] == "lint_plain"
    assert [(w["element_id"], w["code"], w["severity"]) for w in deployed["warnings"]] == [
        ("review", "no-documentation", "warning"),
        ("review", "no-due-date", "warning"),
        ("review", "no-form", "warning"),
    ]
    warning = deployed["warnings"][0]
    assert set(warning) == {
        "code",
        "severity",
        "file",
        "element_id",
        "element_name",
        "message_en",
        "message_vi",
        "line",
    }
    assert (warning["file"], warning["element_name"], warning["line"]) == ("plain.bpmn", "Xem xét hồ sơ", 12)


@pytest.mark.parametrize("how", ["query", "form"])
def test_strict_flag_refuses_the_plain_bpmn_with_422_listing_findings(client: TestClient, how: str) -> None:
    kwargs: dict[str, Any] = {"params": {"strict": "true"}} if how == "query" else {"data": {"strict": "true"}}
    response = upload(client, folder("", "plain.bpmn"), **kwargs)

    body = assert_problem(response, 422, "invalid-bpmn")
    assert [(p["element_id"], p["code"], p["severity"]) for p in body["problems"]] == [
        ("review", "no-documentation", "error"),
        ("review", "no-due-date", "error"),
        ("review", "no-form", "error"),
    ]
    assert "6 rõ" in body["detail_vi"] and "review" in body["detail"]
    assert client.get(DEFINITIONS, headers=OWNER).json() == []


def test_an_invalid_due_date_is_422_without_strict(client: TestClient) -> None:
    body = assert_problem(upload(client, folder("bad_due")), 422, "invalid-bpmn")

    assert {(p["element_id"], p["code"]) for p in body["problems"]} == {
        ("bad_iso", "due-date-invalid"),
        ("bad_quoted", "due-date-invalid"),
        ("unsafe", "due-date-invalid"),
    }
    assert all("line" in p for p in body["problems"])


@pytest.fixture
def strict_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"strict_lint": True}), clock=clock, upgrade_schema=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_strict_setting_makes_every_deploy_strict(strict_client: TestClient) -> None:
    body = assert_problem(upload(strict_client, folder("", "plain.bpmn")), 422, "invalid-bpmn")
    assert {p["code"] for p in body["problems"]} == {"no-documentation", "no-due-date", "no-form"}

    clean = upload(strict_client, folder("decide", "decisions/route_covered.dmn"))
    assert clean.status_code == 201, clean.text
    assert clean.json()[0]["warnings"] == []


# --- the command ------------------------------------------------------------------------------------------------------
def test_lint_command_prints_each_finding_and_exits_1_only_on_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["lint", str(LINT / "gaps"), str(LINT / "plain.bpmn")]) == 0
    out = capsys.readouterr().out.splitlines()
    gaps = LINT / "gaps" / "gaps.bpmn"
    assert out[0].startswith(f"{gaps}:21 undocumented [warning no-documentation] công việc undocumented chưa có mô tả")
    assert " / task undocumented has no documentation" in out[0]
    assert any(line.startswith(f"{LINT / 'plain.bpmn'}:12 review [warning no-form] ") for line in out)
    assert out[-1] == "2 gói triển khai: 0 lỗi, 7 cảnh báo / 2 deployment(s): 0 error(s), 7 warning(s)"

    assert cli_main(["lint", "--strict", str(LINT / "gaps")]) == 1
    assert "[error no-form]" in capsys.readouterr().out

    assert cli_main(["lint", str(LINT / "bad_due")]) == 1
    assert "[error due-date-invalid]" in capsys.readouterr().out


def test_lint_command_reports_compile_errors_and_empty_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions", encoding="utf-8")
    assert cli_main(["lint", str(broken), str(tmp_path / "nothing")]) == 1
    captured = capsys.readouterr()
    assert f"{broken}" in captured.out and "[error invalid-bpmn]" in captured.out
    assert "no BPMN or DMN file" in captured.err


def test_format_finding_puts_the_file_under_its_folder() -> None:
    [finding] = [f for f in lint(folder("gaps")) if f["code"] == "no-form"]

    assert format_finding(finding, Path("processes/x")) == (
        f"processes/x/gaps.bpmn:{finding['line']} no_form [warning no-form] {finding['message_vi']} / "
        f"{finding['message_en']}"
    )


def test_candidate_groups_that_name_no_agency_are_a_warning() -> None:
    """A typo in camunda:candidateGroups would leave a task nobody holding an agency group can act on."""
    typo = {'camunda:candidateGroups="stp"': 'camunda:candidateGroups="stp,so_tu_phap"'}
    findings = lint(folder("gaps", replace=typo))
    (found,) = [f for f in findings if f["code"] == "unknown-group"]
    assert (found["element_id"], found["severity"]) == ("by_groups", "warning")
    assert "so_tu_phap" in found["message_en"] and "rõ người" in found["message_vi"]
    strict = lint(
        folder("gaps", replace={'camunda:candidateGroups="stp"': 'camunda:candidateGroups="so_tu_phap"'}), strict=True
    )
    assert ("by_groups", "unknown-group", "error") in codes(strict)


# --- name lengths ---------------------------------------------------------------------------------------------------
def test_message_names_and_lanes_longer_than_their_columns_are_errors() -> None:
    fixture = Path(__file__).parent.parent / "fixtures" / "engine" / "messages.bpmn"
    text = fixture.read_text(encoding="utf-8").replace('name="bo_sung_ho_so"', f'name="{"m" * 201}"')
    deployment = compile_files([SourceFile("messages.bpmn", text.encode("utf-8"))])

    [long_message] = [f for f in lint_deployment(deployment, limits=NAME_LIMITS) if f["code"] == "name-too-long"]
    assert (long_message["element_id"], long_message["severity"]) == ("wait_supplement", "error")
    assert "tên thông điệp" in long_message["message_vi"] and "201" in long_message["message_en"]
    assert not [f for f in lint_deployment(deployment) if f["code"] == "name-too-long"]  # no limits given, no check
    narrow = [f for f in lint_deployment(deployment, limits={"lane": 3}) if f["code"] == "name-too-long"]
    assert narrow and all(f["message_en"].startswith("the lane name") for f in narrow)
