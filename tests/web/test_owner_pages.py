"""The process owner's pages in a real browser: a version opened in the bpmn-js modeler, a task renamed, validated and
deployed as version 2; a finding marked on the diagram for an invalid edit; the diff page showing the rename; an
officer kept out. Each test deploys its own copy of the monthly-report process under a key of its own (the session's
server is shared; green_lane stays untouched). Screenshots: docs/screenshots/modeler.png and diff.png."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from phoihop.engine.definitions.diff import diff_versions
from phoihop.web.i18n import CATALOG
from tests.web.conftest import LiveServer, bearer, screenshot
from tests.web.pages import parts
from tests.web.pages import sign_in as sign_in_http

ROOT = Path(__file__).parents[2]
REPORT_FOLDER = ROOT / "processes" / "monthly_report"
OWNER = bearer("owner.api", roles=("process-owner",))
NEW_NAME = "Tổng hợp, đánh giá báo cáo tháng"


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args: dict[str, Any], isolated_server: LiveServer) -> dict[str, Any]:
    """This module's pages open on the isolated server (it deploys processes of its own)."""
    return {**browser_context_args, "base_url": isolated_server.url}


def copy_of(folder: Path, key: str) -> dict[str, bytes]:
    """The files of a process folder with the process id (= the folder's name) changed to ``key``."""
    files = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        content = path.read_bytes()
        if path.suffix == ".bpmn":
            content = content.replace(f'processRef="{folder.name}"'.encode(), f'processRef="{key}"'.encode()).replace(
                f'<bpmn:process id="{folder.name}"'.encode(), f'<bpmn:process id="{key}"'.encode()
            )
        files[path.name] = content
    return files


def deploy_copy(server: LiveServer, folder: Path = REPORT_FOLDER) -> str:
    """A process folder (the monthly report) deployed under a new process key; returns the key."""
    key = f"ban_sao_{uuid.uuid4().hex[:8]}"
    files = [("files", (name, content, "application/octet-stream")) for name, content in copy_of(folder, key).items()]
    response = httpx.post(
        f"{server.url}/api/v1/process-definitions",
        files=files,
        headers=OWNER,
        data={"change_note": "Bản đầu tiên"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()[0]["key"] == key
    return key


def sign_in(page: Page, sub: str, path: str) -> None:
    page.goto(path)
    page.get_by_test_id(f"sign-in-{sub}").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def open_modeler(page: Page, key: str, version: int = 1) -> None:
    page.goto(f"/quy-trinh/{key}/phien-ban/{version}")
    expect(page.locator("#modeler-app")).to_have_attribute("data-ready", "true")


def rename(page: Page, element_id: str, name: str) -> None:
    """What direct editing on the canvas does, through the bpmn-js API (modeling.updateLabel)."""
    page.evaluate(
        """([id, name]) => {
        const modeler = window.phoihopModeler;
        modeler.get("modeling").updateLabel(modeler.get("elementRegistry").get(id), name);
    }""",
        [element_id, name],
    )


def remove(page: Page, element_id: str) -> None:
    """What selecting an element and pressing Delete does, through the bpmn-js API (modeling.removeElements)."""
    page.evaluate(
        """(id) => {
        const modeler = window.phoihopModeler;
        modeler.get("modeling").removeElements([modeler.get("elementRegistry").get(id)]);
    }""",
        element_id,
    )


def test_a_process_owner_renames_a_task_validates_deploys_version_2_and_sees_the_diff(
    page: Page, isolated_server: LiveServer
) -> None:
    key = deploy_copy(isolated_server)
    sign_in(page, "owner.bao", "/quy-trinh")
    expect(page.get_by_role("heading", level=1)).to_have_text("Quản lý quy trình")
    section = page.locator(f'section[data-process-key="{key}"]')
    expect(section.locator("tr.version-row")).to_have_count(1)
    row = section.locator('tr[data-version="1"]')
    expect(row.get_by_test_id("version-status")).to_have_text("đang hoạt động")
    expect(row.get_by_test_id("version-default")).to_have_text("mặc định")
    expect(row.get_by_test_id("change-note")).to_have_text("Bản đầu tiên")
    row.get_by_test_id("open-version").click()

    expect(page.locator("#modeler-app")).to_have_attribute("data-ready", "true")
    expect(page.locator('g.djs-element[data-element-id="consolidate"]')).to_have_count(1)
    expect(page.locator(".djs-palette")).to_be_visible()  # the Modeler's tools, not a viewer
    rename(page, "consolidate", NEW_NAME)
    expect(page.locator("#modeler-dirty")).to_be_visible()
    page.get_by_test_id("validate").click()
    expect(page.locator("#modeler-app")).to_have_attribute("data-result", "valid")
    expect(page.locator("#modeler-status")).to_contain_text("Hợp lệ")
    expect(page.locator('#findings li[data-severity="error"]')).to_have_count(0)

    page.get_by_test_id("change-note-input").fill("Đổi tên bước tổng hợp")
    page.get_by_test_id("deploy").click()
    expect(page.locator("#modeler-app")).to_have_attribute("data-result", "deployed")
    expect(page.locator("#modeler-app")).to_have_attribute("data-new-version", "2")
    expect(page.locator("#modeler-status")).to_contain_text("Đã triển khai phiên bản 2")

    page.goto("/quy-trinh")
    section = page.locator(f'section[data-process-key="{key}"]')
    expect(section.locator("tr.version-row")).to_have_count(2)
    newest = section.locator('tr[data-version="2"]')
    expect(newest.get_by_test_id("change-note")).to_have_text("Đổi tên bước tổng hợp")
    expect(newest).to_contain_text("owner.bao")
    expect(newest.get_by_test_id("version-default")).to_be_visible()  # the latest active version
    served = httpx.get(
        f"{isolated_server.url}/api/v1/process-definitions/{key}/versions/2/files/monthly_report.bpmn",
        headers=OWNER,
        timeout=30,
    )
    assert f'name="{NEW_NAME}"' in served.text and 'camunda:formKey="consolidate.form.json"' in served.text

    newest.get_by_role("link", name="So với phiên bản trước").click()
    expect(page).to_have_url(re.compile(rf"/quy-trinh/{key}/so-sanh\?from=1&to=2"))
    expect(page.get_by_test_id("diff-summary")).to_contain_text("1 thay đổi")
    change = page.locator('[data-testid="diff-changed"] tr[data-element-id="consolidate"][data-field="name"]')
    expect(change).to_have_count(1)  # the rename is the only change: nothing else was lost on the way
    expect(page.locator('[data-testid="diff-changed"] tr')).to_have_count(2)  # header + the one change
    expect(change.locator(".before")).to_have_text("Tổng hợp báo cáo tháng")
    expect(change.locator(".after")).to_have_text(NEW_NAME)
    expect(page.locator("#diagram-to")).to_have_attribute("data-ready", "true")
    expect(page.locator("#diagram-from")).to_have_attribute("data-ready", "true")
    expect(page.locator('#diagram-to g.djs-element.ph-diff-changed[data-element-id="consolidate"]')).to_have_count(1)
    expect(page.locator('#diagram-from g.djs-element.ph-diff-changed[data-element-id="consolidate"]')).to_have_count(1)
    screenshot(page, "diff")


def test_every_project_process_comes_back_from_the_modeler_unchanged(page: Page, isolated_server: LiveServer) -> None:
    """Import into bpmn-js and save again loses nothing the engine reads (Camunda attributes, extension elements,
    multi-instance variable references): no element differs and the server finds nothing to report."""
    folders = sorted(path for path in (ROOT / "processes").iterdir() if path.is_dir())
    assert len(folders) >= 4
    sign_in(page, "owner.bao", "/quy-trinh")
    for folder in folders:
        key = deploy_copy(isolated_server, folder)
        open_modeler(page, key)
        saved = page.evaluate("async () => (await window.phoihopModeler.saveXML({format: true})).xml")
        before = copy_of(folder, key)
        name = f"{folder.name}.bpmn"
        diff = diff_versions(key, 1, before, 2, {**before, name: saved.encode()})
        assert (diff["summary"], diff["process"]) == ({"added": 0, "removed": 0, "changed": 0}, []), folder.name
        page.get_by_test_id("validate").click()
        expect(page.locator("#modeler-app")).to_have_attribute("data-result", "valid")
        expect(page.locator("#findings li")).to_have_count(0)


def test_an_invalid_edit_is_marked_on_the_diagram_and_refused(page: Page, isolated_server: LiveServer) -> None:
    key = deploy_copy(isolated_server)
    sign_in(page, "owner.bao", f"/quy-trinh/{key}/phien-ban/1")
    expect(page.locator("#modeler-app")).to_have_attribute("data-ready", "true")
    remove(page, "flow_to_meeting_check")  # the flow out of follow_up deleted: everything after it is cut off
    page.get_by_test_id("validate").click()
    expect(page.locator("#modeler-app")).to_have_attribute("data-result", "invalid")
    finding = page.locator('#findings li[data-element-id="meeting_due"][data-severity="error"]')
    expect(finding).to_have_count(1)
    expect(page.locator('#findings li[data-element-id="follow_up"][data-severity="warning"]')).to_have_count(1)
    expect(page.locator('g.djs-element.ph-finding-error[data-element-id="meeting_due"]')).to_have_count(1)
    expect(page.locator('.djs-overlays[data-container-id="meeting_due"] .ph-finding-badge')).to_have_count(1)
    expect(page.locator("#modeler-status")).to_contain_text("Chưa hợp lệ: 1 lỗi")
    finding.click()  # selects the element on the diagram
    expect(page.locator('g.djs-element.selected[data-element-id="meeting_due"]')).to_have_count(1)
    screenshot(page, "modeler")

    page.get_by_test_id("deploy").click()  # deploying refuses the same error, and marks it again
    expect(page.locator("#modeler-app")).to_have_attribute("data-result", "refused")
    expect(page.locator("#modeler-status")).to_contain_text("Tệp BPMN/DMN không hợp lệ")
    expect(page.locator('g.djs-element.ph-finding-error[data-element-id="meeting_due"]')).to_have_count(1)
    versions = httpx.get(f"{isolated_server.url}/api/v1/process-definitions/{key}/versions", headers=OWNER, timeout=30)
    assert [v["version"] for v in versions.json()] == [1]

    page.evaluate("() => window.phoihopModeler.get('commandStack').undo()")  # the flow back: the finding goes away
    page.get_by_test_id("validate").click()
    expect(page.locator("#modeler-app")).to_have_attribute("data-result", "valid")
    expect(page.locator("g.djs-element.ph-finding-error")).to_have_count(0)


def test_suspend_activate_and_default_version_from_the_list(page: Page, isolated_server: LiveServer) -> None:
    key = deploy_copy(isolated_server)
    sign_in(page, "owner.bao", f"/quy-trinh/{key}/phien-ban/1")
    expect(page.locator("#modeler-app")).to_have_attribute("data-ready", "true")
    rename(page, "follow_up", "Theo dõi, báo cáo UBND Thành phố")
    page.get_by_test_id("deploy").click()
    expect(page.locator("#modeler-app")).to_have_attribute("data-new-version", "2")

    page.goto("/quy-trinh")
    section = page.locator(f'section[data-process-key="{key}"]')
    section.locator('tr[data-version="1"]').get_by_test_id("make-default").click()
    expect(page.locator("#flash")).to_contain_text(f"Phiên bản 1 là phiên bản mặc định của {key}")
    section = page.locator(f'section[data-process-key="{key}"]')
    expect(section.locator('tr[data-version="1"]').get_by_test_id("version-default")).to_be_visible()
    expect(section.locator('tr[data-version="2"]').get_by_test_id("version-default")).to_have_count(0)
    section.locator('tr[data-version="2"]').get_by_test_id("suspend").click()
    section = page.locator(f'section[data-process-key="{key}"]')
    expect(section.locator('tr[data-version="2"]').get_by_test_id("version-status")).to_have_text("tạm dừng")
    section.locator('tr[data-version="2"]').get_by_test_id("activate").click()
    section = page.locator(f'section[data-process-key="{key}"]')
    expect(section.locator('tr[data-version="2"]').get_by_test_id("version-status")).to_have_text("đang hoạt động")
    section.get_by_test_id("clear-default").click()
    section = page.locator(f'section[data-process-key="{key}"]')
    expect(section.locator('tr[data-version="2"]').get_by_test_id("version-default")).to_be_visible()
    audit = httpx.get(f"{isolated_server.url}/api/v1/audit", params={"process_key": key}, headers=OWNER, timeout=30)
    kinds = [event["kind"] for event in audit.json()["items"]]
    assert kinds[:4] == ["default_version_cleared", "version_activated", "version_suspended", "default_version_set"]
    assert {event["actor"] for event in audit.json()["items"][:4]} == {"owner.bao"}


def test_an_officer_cannot_open_the_owner_pages(page: Page, isolated_server: LiveServer) -> None:
    key = deploy_copy(isolated_server)
    sign_in(page, "stp.dung", "/")
    expect(page.locator(".mainnav")).not_to_contain_text("Quy trình")
    for path in ("/quy-trinh", f"/quy-trinh/{key}/phien-ban/1", f"/quy-trinh/{key}/so-sanh?from=1&to=1"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_test_id("error")).to_have_attribute("data-status", "403")
    assert page.request.get(f"/quy-trinh/{key}/phien-ban/1/so-do.bpmn").status == 403
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    refused = page.request.post(
        f"/quy-trinh/{key}/phien-ban/1/trien-khai",
        headers={"X-CSRF-Token": csrf},
        data={"file": "monthly_report.bpmn", "xml": "<x/>"},
    )
    assert refused.status == 403
    assert page.request.get(f"/quy-trinh/{key}/phien-ban/1/bieu-mau.json").status == 403
    preview = page.request.post(
        "/quy-trinh/xem-truoc-bieu-mau",
        headers={"X-CSRF-Token": csrf},
        data={"name": "a.form.json", "text": "{}"},
    )
    assert preview.status == 403
    without_token = page.request.post(f"/quy-trinh/{key}/phien-ban/1/tam-dung", form={"csrf_token": "sai"})
    assert without_token.status == 403
    versions = httpx.get(f"{isolated_server.url}/api/v1/process-definitions/{key}/versions", headers=OWNER, timeout=30)
    assert [(v["version"], v["status"]) for v in versions.json()] == [(1, "active")]


def test_owner_and_dashboard_pages_load_only_local_assets_and_speak_english(isolated_server: LiveServer) -> None:
    key = deploy_copy(isolated_server)
    client = isolated_server.client()
    sign_in_http(client, "owner.bao")
    paths = ("/quy-trinh", f"/quy-trinh/{key}/phien-ban/1", f"/quy-trinh/{key}/so-sanh?from=1&to=1", "/bang-dieu-khien")
    loaded: set[str] = set()
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        assert "script-src 'self'" in page.headers["content-security-policy"]
        found = parts(page.text)
        assert all(url.startswith("/") and not url.startswith("//") for url in found.loads), path
        assert "<script>" not in page.text  # no inline script: the CSP would block it anyway
        loaded.update(found.loads)
    assert {
        "/assets/modeler.js",
        "/assets/version-diff.js",
        "/assets/owner.css",
        "/assets/dashboard.css",
        "/assets/vendor/bpmn-js/dist/bpmn-modeler.production.min.js",
        "/assets/vendor/bpmn-js/dist/assets/bpmn-font/css/bpmn.css",
        "/assets/vendor/bpmn-js-properties-panel/dist/bpmn-js-properties-panel.umd.js",
        "/assets/vendor/@bpmn-io/properties-panel/dist/assets/properties-panel.css",
        "/assets/properties-panel-vi.js",
    } <= loaded
    for url in loaded:
        assert client.get(url).status_code == 200, url
    client.cookies.set("phoihop_lang", "en")
    for path in paths[1:3]:  # pages showing this test's process only (the shared server lists other processes)
        text = re.sub(r"<[^>]+>", " ", client.get(path).text)
        leftovers = [vi for vi, en in CATALOG.values() if vi != en and len(vi) > 3 and vi in text]
        assert leftovers == [], (path, leftovers)


PANEL_FIXTURE = ROOT / "tests" / "fixtures" / "modeler" / "xem_xet"
ADMIN = bearer("admin.api", roles=("admin",))


def started_task(server: LiveServer, key: str) -> dict[str, Any]:
    """A new instance of ``key``'s default version and its one open task, as the task API shows it."""
    started = httpx.post(f"{server.url}/api/v1/process-instances", json={"process_key": key}, headers=ADMIN, timeout=30)
    assert started.status_code == 201, started.text
    listed = httpx.get(
        f"{server.url}/api/v1/tasks", params={"instance_id": started.json()["id"]}, headers=ADMIN, timeout=30
    )
    assert listed.status_code == 200, listed.text
    [task] = listed.json()["items"]
    detail = httpx.get(f"{server.url}/api/v1/tasks/{task['id']}", headers=ADMIN, timeout=30)
    assert detail.status_code == 200, detail.text
    return dict(detail.json())


def working_days_after(server: LiveServer, start: str, days: int) -> str:
    answer = httpx.get(
        f"{server.url}/api/v1/calendar/working-days", params={"start": start, "add": days}, headers=ADMIN, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["due_at"])


def test_the_properties_panel_edits_a_due_date_a_candidate_group_and_a_form_field(
    page: Page, isolated_server: LiveServer
) -> None:
    """Issue 12.4: the bpmn-js properties panel (Camunda 7 provider, in Vietnamese) and the step settings above it
    edit the Camunda attributes the engine reads; the form editor edits the step's JSON Schema form with the officer's
    view beside it; validate and deploy send both, and a new instance runs the change."""
    key = deploy_copy(isolated_server, PANEL_FIXTURE)
    before = started_task(isolated_server, key)
    assert before["candidate_groups"] == ["skhcn"]
    assert before["due_at"] == working_days_after(isolated_server, before["created_at"], 5)

    sign_in(page, "owner.bao", f"/quy-trinh/{key}/phien-ban/1")
    expect(page.locator("#modeler-app")).to_have_attribute("data-ready", "true")
    page.locator('g.djs-element[data-element-id="xem_xet_de_nghi"]').click()
    expect(page.get_by_test_id("step-settings-element")).to_have_text("Xem xét đề nghị")
    panel = page.get_by_test_id("properties-panel")
    expect(panel.locator(".bio-properties-panel-header-label")).to_have_text("Xem xét đề nghị")
    expect(panel.get_by_text("Thông tin chung")).to_be_visible()  # the panel speaks Vietnamese

    days = page.get_by_test_id("setting-days")
    expect(days).to_have_value("5")  # read from camunda:dueDate="working_days(5)"
    days.fill("7")
    days.press("Tab")

    panel.get_by_text("Người thực hiện", exact=True).click()  # the panel's "User assignment" group
    due_in_panel = panel.locator("#bio-properties-panel-dueDate")
    expect(due_in_panel).to_have_value("working_days(7)")  # the step setting wrote the attribute the panel edits
    groups = panel.locator("#bio-properties-panel-candidateGroups")
    expect(groups).to_have_value("skhcn")
    groups.fill("stp")
    groups.press("Tab")

    expect(page.get_by_test_id("setting-form")).to_have_value("xem_xet.form.json")
    page.get_by_test_id("edit-form").click()
    editor = page.get_by_test_id("form-editor")
    expect(editor).to_be_visible()
    expect(page.get_by_test_id("form-preview").locator("label", has_text="Ý kiến")).to_be_visible()
    source = page.get_by_test_id("form-editor-text")
    source.fill(source.input_value().replace('"title": "Ý kiến"', '"title": "Ý kiến thẩm tra của Sở"'))
    expect(page.get_by_test_id("form-preview")).to_contain_text("Ý kiến thẩm tra của Sở")
    source.fill('{"type": "object", "properties": {"x": {"type": "strin"}}}')  # a mistake: shown, not drawn
    expect(page.get_by_test_id("form-preview-error")).to_be_visible()
    source.fill(source.input_value().replace('"strin"', '"string", "title": "Tạm"'))
    expect(page.get_by_test_id("form-preview-error")).to_be_hidden()
    source.fill(
        '{"title": "Xem xét đề nghị", "type": "object", "properties": {"y_kien": {"type": "string", '
        '"title": "Ý kiến thẩm tra của Sở", "maxLength": 500}}, "required": ["y_kien"]}'
    )
    expect(page.get_by_test_id("form-preview")).to_contain_text("Ý kiến thẩm tra của Sở")
    screenshot(page, "modeler-properties")

    page.get_by_test_id("validate").click()
    expect(page.locator("#modeler-app")).to_have_attribute("data-result", "valid")
    page.get_by_test_id("change-note-input").fill("Giao Sở Tư pháp, thời hạn 7 ngày làm việc")
    page.get_by_test_id("deploy").click()
    expect(page.locator("#modeler-app")).to_have_attribute("data-new-version", "2")

    after = started_task(isolated_server, key)
    assert after["candidate_groups"] == ["stp"]
    assert after["due_at"] == working_days_after(isolated_server, after["created_at"], 7)
    assert after["form"]["properties"]["y_kien"]["title"] == "Ý kiến thẩm tra của Sở"


def test_the_form_editor_calls_preview_and_send_edited_forms_with_the_diagram(isolated_server: LiveServer) -> None:
    """Without a browser: the version's forms as the editor loads them, a preview drawn with the task page's form
    template (and a broken form answered with its finding), an edited form validated and deployed with the diagram."""
    key = deploy_copy(isolated_server, PANEL_FIXTURE)
    client = isolated_server.client()
    csrf = sign_in_http(client, "owner.bao")
    headers = {"X-CSRF-Token": csrf}
    forms = client.get(f"/quy-trinh/{key}/phien-ban/1/bieu-mau.json").json()["forms"]
    assert list(forms) == ["xem_xet.form.json"]
    assert forms["xem_xet.form.json"] == (PANEL_FIXTURE / "xem_xet.form.json").read_text(encoding="utf-8")

    drawn = client.post(
        "/quy-trinh/xem-truoc-bieu-mau",
        headers=headers,
        json={
            "name": "xem_xet.form.json",
            "text": '{"type": "object", "properties": {"so_tien": {"type": "integer", '
            '"title": "Số tiền <đề nghị>", "x-unit": "đồng"}}}',
        },
    )
    assert drawn.status_code == 200, drawn.text
    assert "Số tiền &lt;đề nghị&gt;" in drawn.json()["html"]  # escaped by the template, as on the task page
    broken = client.post(
        "/quy-trinh/xem-truoc-bieu-mau",
        headers=headers,
        json={"name": "xem_xet.form.json", "text": '{"type": "object", "properties": {"x": {"type": "strin"}}}'},
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["file"] == "xem_xet.form.json"
    assert client.post("/quy-trinh/xem-truoc-bieu-mau", json={"name": "a.form.json", "text": "{}"}).status_code == 403

    xml = (PANEL_FIXTURE / "xem_xet.bpmn").read_text(encoding="utf-8").replace('id="xem_xet"', f'id="{key}"')
    xml = xml.replace('bpmnElement="xem_xet"', f'bpmnElement="{key}"')
    body = {
        "file": "xem_xet.bpmn",
        "xml": xml,
        "forms": {"xem_xet.form.json": '{"type": "object", "properties": {"y_kien": {"type": "strin"}}}'},
    }
    refused = client.post(f"/quy-trinh/{key}/phien-ban/1/kiem-tra", headers=headers, json=body)
    assert refused.status_code == 200, refused.text
    assert refused.json()["ok"] is False
    assert [e["file"] for e in refused.json()["errors"]] == ["xem_xet.form.json"]
    body["forms"] = {
        "xem_xet.form.json": '{"type": "object", "properties": {"y_kien": {"type": "string", '
        '"title": "Ý kiến của Sở"}}}'
    }
    assert client.post(f"/quy-trinh/{key}/phien-ban/1/kiem-tra", headers=headers, json=body).json()["ok"] is True
    deployed = client.post(f"/quy-trinh/{key}/phien-ban/1/trien-khai", headers=headers, json=body)
    assert deployed.status_code == 201, deployed.text
    served = httpx.get(
        f"{isolated_server.url}/api/v1/process-definitions/{key}/versions/2/files/xem_xet.form.json",
        headers=OWNER,
        timeout=30,
    )
    assert "Ý kiến của Sở" in served.text
