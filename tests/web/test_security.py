"""The web app's security properties, checked over HTTP against the real server: CSRF on every POST, cookie
attributes, the session cookie is no API token, safe redirects, only local assets (no CDN), HTML error pages, and the
start page's form handling."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from phoihop.web.routes.auth import safe_next
from tests.web.conftest import PORTAL, LiveServer, bearer, submit_dossier
from tests.web.pages import parts, sign_in

DESK = bearer("ttpvhcc.khanh", groups=("ttpvhcc",))


@pytest.fixture
def client(live_server: LiveServer) -> httpx.Client:
    return live_server.client()


def task_status(server: LiveServer, task_id: str) -> tuple[str, str | None]:
    response = httpx.get(f"{server.url}/api/v1/tasks/{task_id}", headers=DESK, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["status"], response.json()["assignee"]


def test_a_post_without_the_csrf_token_is_refused(live_server: LiveServer, client: httpx.Client) -> None:
    instance = submit_dossier(live_server.url)
    task_id = instance["open_tasks"][0]["id"]
    token = sign_in(client, "ttpvhcc.khanh")
    for data, headers in (({}, {}), ({"csrf_token": "forged"}, {}), ({}, {"X-CSRF-Token": token[:-1] + "x"})):
        refused = client.post(f"/cong-viec/{task_id}/nhan", data=data, headers=headers)
        assert refused.status_code == 403
        assert "Yêu cầu bị từ chối" in refused.text and 'data-code="csrf"' in refused.text
    refused = client.post(f"/cong-viec/{task_id}/hoan-thanh", data={"outcome": "complete"})
    assert refused.status_code == 403
    assert task_status(live_server, task_id) == ("open", None)  # nothing happened

    other = live_server.client()
    other_token = sign_in(other, "ttpvhcc.khanh")  # a token of another session of the same user does not do either
    assert client.post(f"/cong-viec/{task_id}/nhan", data={"csrf_token": other_token}).status_code == 403

    claimed = client.post(f"/cong-viec/{task_id}/nhan", data={"csrf_token": token})
    assert claimed.status_code == 303 and claimed.headers["location"] == f"/cong-viec/{task_id}"
    assert task_status(live_server, task_id) == ("claimed", "ttpvhcc.khanh")
    unclaimed = client.post(f"/cong-viec/{task_id}/tra-lai", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert unclaimed.status_code == 200 and f'id="task-{task_id}"' in unclaimed.text  # htmx: the redrawn row
    assert task_status(live_server, task_id) == ("open", None)
    assert client.post("/dang-xuat", data={}).status_code == 403  # signing out too
    signed_out = client.post("/dang-xuat", data={"csrf_token": token})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/dang-nhap?thong_bao=da-dang-xuat"
    assert client.get("/").headers["location"] == "/dang-nhap?next=/"


def test_signing_in_needs_the_pre_session_csrf_cookie(client: httpx.Client) -> None:
    refused = client.post("/dang-nhap/thu", data={"sub": "skhcn.an", "csrf_token": "guess"})
    assert refused.status_code == 403 and "phoihop_session" not in refused.headers.get("set-cookie", "")
    page = client.get("/dang-nhap")
    cookie = next(c for c in page.headers.get_list("set-cookie") if c.startswith("phoihop_csrf="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_the_session_cookie_is_http_only_lax_and_not_an_api_token(
    live_server: LiveServer, client: httpx.Client
) -> None:
    page = client.get("/dang-nhap")
    signed_in = client.post(
        "/dang-nhap/thu", data={"sub": "skhcn.an", "next": "//evil.example/x", "csrf_token": parts(page.text).csrf}
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"  # no open redirect
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith("phoihop_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # PHOIHOP_ENV=dev over http; test_oidc checks Secure outside dev
    session = client.cookies["phoihop_session"]
    api = httpx.get(f"{live_server.url}/api/v1/tasks", headers={"Authorization": f"Bearer {session}"}, timeout=30)
    assert api.status_code == 401  # its audience (phoihop-web) is refused by the API

    forged = live_server.client()
    forged.cookies.set("phoihop_session", session[:-3] + "abc")
    answer = forged.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/dang-nhap?next=/&thong_bao=het-han"
    assert "Phiên đăng nhập đã hết hạn" in forged.get(answer.headers["location"]).text


def test_pages_load_nothing_from_outside_the_server(live_server: LiveServer, client: httpx.Client) -> None:
    instance = submit_dossier(live_server.url)
    urls = ["/dang-nhap", "/ngon-ngu?lang=en&next=/dang-nhap"]
    anonymous = [client.get(url, follow_redirects=True) for url in urls]
    sign_in(client, "ttpvhcc.khanh")
    pages = [
        *anonymous,
        *(
            client.get(url, headers={"Accept": "text/html"})
            for url in (
                "/",
                "/?scope=mine&deadline=overdue&q=x",
                f"/cong-viec/{instance['open_tasks'][0]['id']}",
                f"/ho-so/{instance['id']}",
                "/khoi-tao",
                "/khoi-tao/green_lane",
                "/khong-co-trang-nay",
                "/cong-viec/00000000-0000-7000-8000-000000000000",
            )
        ),
    ]
    assert [p.status_code for p in pages] == [200] * 8 + [404, 404]
    loaded: set[str] = set()
    for page in pages:
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        found = parts(page.text)
        for url in found.loads:
            assert url.startswith("/") and not url.startswith("//"), (page.url, url)
            assert not urlsplit(url).netloc
        loaded.update(found.loads)
        assert not re.search(r"https?://(?!127\.0\.0\.1)[^\"'\s]+\.(js|css|woff2?)", page.text), page.url
    assert {
        "/assets/app.css",
        "/assets/app.js",
        "/assets/vendor/htmx.org/dist/htmx.min.js",
        "/assets/vendor/bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    } <= loaded
    for url in loaded:  # and every one of them is there
        assert client.get(url).status_code == 200, url


def test_errors_are_pages_for_browsers_and_problems_for_the_api(live_server: LiveServer) -> None:
    html = httpx.get(f"{live_server.url}/khong-co", headers={"Accept": "text/html"}, timeout=30)
    assert html.status_code == 404 and "Không tìm thấy trang" in html.text
    api = httpx.get(f"{live_server.url}/api/v1/khong-co", headers={"Accept": "text/html"}, timeout=30)
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    plain = httpx.get(f"{live_server.url}/khong-co", timeout=30)
    assert plain.headers["content-type"] == "application/problem+json"


def test_an_officer_starts_a_case_from_the_start_form(live_server: LiveServer, client: httpx.Client) -> None:
    token = sign_in(client, "ttpvhcc.khanh")
    listing = client.get("/khoi-tao")
    assert 'href="/khoi-tao/green_lane"' in listing.text
    form = client.get("/khoi-tao/green_lane")
    assert 'name="applicant.id_number"' in form.text and 'pattern="^([0-9]{12}|[0-9]{10}(-[0-9]{3})?)$"' in form.text
    assert "KHCN-03 – Cấp Giấy chứng nhận dự án ứng dụng công nghệ cao" in form.text  # chosen from the catalogue
    fields = {
        "csrf_token": token,
        "_business_key": "VB-den-123",
        "applicant.name": "Hợp tác xã Ba Vì",
        "applicant.id_number": "0101234567",
        "applicant.email": "hoptacxa@bavi.vn",
        "applicant.phone": "024 3333 4444",
        "procedure_code": "KHCN-01",
        "documents": '[{"name": "Đơn đề nghị"}]',
    }
    wrong = client.post("/khoi-tao/green_lane", data={**fields, "applicant.phone": "gọi tôi"})
    assert wrong.status_code == 422
    assert re.search(r'data-field="applicant.phone".*?class="field-error"', wrong.text, re.S)
    assert 'value="gọi tôi"' in wrong.text  # shown again as typed
    started = client.post("/khoi-tao/green_lane", data=fields)
    assert started.status_code == 303 and started.headers["location"].endswith("?started=true")
    case = client.get(started.headers["location"])
    assert case.status_code == 200 and "Đã khởi tạo hồ sơ." in case.text and "VB-den-123" in case.text
    instance_id = started.headers["location"].split("/")[2].split("?")[0]
    api = httpx.get(f"{live_server.url}/api/v1/process-instances/{instance_id}", headers=PORTAL, timeout=30).json()
    assert api["started_by"] == "ttpvhcc.khanh" and api["variables"]["applicant"]["name"] == "Hợp tác xã Ba Vì"

    owner = live_server.client()
    owner_token = sign_in(owner, "owner.bao")  # a process owner is no officer: the service refuses the start
    refused = owner.post("/khoi-tao/green_lane", data={**fields, "csrf_token": owner_token})
    assert refused.status_code == 403 and "Thao tác này cần một trong các vai trò" in refused.text


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/khoi-tao?x=1", True),
        ("/", True),
        ("//evil.example", False),
        ("/\t/evil.example", False),
        ("/\\evil.example", False),
        ("https://evil.example/", False),
        ("", False),
        (None, False),
    ],
)
def test_only_local_paths_are_returned_to_after_signing_in(target: str | None, kept: bool) -> None:
    assert safe_next(target) == (target if kept else "/")
