"""Tra cứu hồ sơ, the public page (no sign-in), in process on SQLite and PostgreSQL: the form in Vietnamese, the
answer with the status in plain words, dates as dd/mm/yyyy, the apology letter and the steps with their agencies,
no officer and no personal data; one message for a wrong code or a wrong secret; the CSRF token required."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.web.session import CSRF_COOKIE
from tests.api.calls import complete, open_tasks
from tests.api.test_public_lookup_api import APPLICANT, MOT_CUA, OFFICERS, SKHCN, received
from tests.web.pages import parts


def test_an_applicant_looks_up_a_dossier_in_vietnamese(client: TestClient, clock: FakeClock) -> None:
    started = received(client)
    code, secret = started["dossier"]["code"], started["dossier"]["lookup_secret"]
    complete(client, open_tasks(client, started["id"])["check"]["id"], MOT_CUA)
    clock.advance(timedelta(hours=2))
    complete(
        client,
        open_tasks(client, started["id"])["issue_apology"]["id"],
        SKHCN,
        new_appointment="2026-01-14T17:00:00+07:00",
    )

    form = client.get("/tra-cuu")
    assert form.status_code == 200, form.text
    assert "Tra cứu hồ sơ" in form.text and "Mã tra cứu" in form.text and "Không cần đăng nhập" in form.text
    assert "<script>" not in form.text  # no inline script (the page loads only the app's own files)
    assert all(url.startswith("/assets/") for url in parts(form.text).loads)
    token = parts(form.text).csrf
    assert f"{CSRF_COOKIE}={token}" in form.headers["set-cookie"]
    client.cookies.set(CSRF_COOKIE, token)  # the cookie is Secure outside dev mode; the test client speaks http

    # without the token: refused; a wrong secret, a wrong code: the same message, the code kept in the form
    assert client.post("/tra-cuu", data={"ma_ho_so": code, "ma_tra_cuu": secret}).status_code == 403
    wrong = []
    for typed_code, typed_secret in ((code, "ABCDEFGHJK"), (code[:-4] + "9999", secret)):
        answer = client.post("/tra-cuu", data={"ma_ho_so": typed_code, "ma_tra_cuu": typed_secret, "csrf_token": token})
        assert answer.status_code == 404
        assert "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này" in answer.text
        assert f'value="{typed_code}"' in answer.text
        wrong.append(answer.text.replace(f'value="{typed_code}"', "value"))
    assert wrong[0] == wrong[1]

    page = client.post("/tra-cuu", data={"ma_ho_so": f" {code} ", "ma_tra_cuu": secret.lower(), "csrf_token": token})
    assert page.status_code == 200, page.text
    html = page.text
    assert f"Hồ sơ {code}" in html
    assert "Đang xử lý" in html
    assert "05/01/2026" in html  # received (the fake clock starts on 5/1/2026)
    assert "14/01/2026" in html and "09/01/2026" in html  # the new appointment and the one before the letter
    assert "Phiếu xin lỗi và hẹn lại ngày trả kết quả" in html
    assert "Kiểm tra tính đầy đủ của hồ sơ" in html and "Trung tâm Phục vụ hành chính công" in html
    assert "Sở Khoa học và Công nghệ" in html
    assert "Quyết định giải quyết hồ sơ" not in html  # still open: not a step done
    for absent in (*APPLICANT.values(), *OFFICERS, secret, started["id"], "2026-01-", "T17:00", "dossier_status"):
        assert absent not in html, absent
