"""Sign-in with OpenID Connect against a real (tiny) provider running in the test: the authorization code flow with
PKCE as a public client, the ID token checked against the provider's JWKS (RS256 pinned, iss, aud, exp, nonce), the
session cookie (Secure outside dev), and the API accepting the provider's RS256 bearer tokens next to its own HS256
ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError

from phoihop.settings import Settings
from tests.web.conftest import bearer, ensure_vendor, start_server, submit_dossier
from tests.web.oidc_provider import Provider

CLIENT_ID = "phoihop-web"


@dataclass
class Setup:
    provider: Provider
    url: str


@pytest.fixture(scope="module")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    ensure_vendor()
    with Provider(CLIENT_ID) as provider:
        proc = start_server(
            Path(tmp_path_factory.mktemp("oidc-server")),
            env="test",
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_roles_claim="realm_access.roles",
        )
        try:
            yield Setup(provider, proc.base_url)
        finally:
            proc.stop()


@pytest.fixture
def provider(oidc: Setup) -> Iterator[Provider]:
    oidc.provider.user = {
        "sub": "skhcn-an",
        "name": "Nguyễn Văn An",
        "groups": ["/skhcn"],
        "realm_access": {"roles": ["officer", "offline_access"]},
    }
    oidc.provider.tamper = None
    yield oidc.provider
    oidc.provider.tamper = None


def cookie(response: httpx.Response, name: str) -> tuple[str, str]:
    """(value, the whole Set-Cookie line) of a cookie the response sets."""
    line = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}="))
    return line.split(";", 1)[0].split("=", 1)[1], line


def start_sign_in(oidc: Setup, next_path: str = "/") -> tuple[str, str]:
    """GET /dang-nhap/oidc → (the provider's authorization URL, the state cookie)."""
    response = httpx.get(f"{oidc.url}/dang-nhap/oidc", params={"next": next_path}, timeout=30)
    assert response.status_code == 303, response.text
    state_cookie, line = cookie(response, "phoihop_oidc")
    assert "HttpOnly" in line and "Secure" in line and "Path=/dang-nhap/oidc" in line
    return response.headers["location"], state_cookie


def authorize(url: str) -> str:
    """The provider signs the preset user in and redirects back: returns the callback URL."""
    response = httpx.get(url, timeout=30)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def callback(oidc: Setup, url: str, state_cookie: str | None) -> httpx.Response:
    headers = {"Cookie": f"phoihop_oidc={state_cookie}"} if state_cookie else {}
    return httpx.get(url, headers=headers, timeout=30)  # Secure cookies go by hand: the test talks plain http


def test_sign_in_with_the_authorization_code_flow_and_pkce(oidc: Setup, provider: Provider) -> None:
    page = httpx.get(f"{oidc.url}/dang-nhap", timeout=30)
    assert 'data-testid="oidc-sign-in"' in page.text and "sign-in-" not in page.text  # no demo users outside dev
    authorization, state_cookie = start_sign_in(oidc, "/khoi-tao")
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorization).query).items()}
    assert authorization.startswith(f"{provider.issuer}/authorize?")  # found through discovery
    assert (query["client_id"], query["code_challenge_method"], query["response_type"]) == (CLIENT_ID, "S256", "code")
    assert query["redirect_uri"] == f"{oidc.url}/dang-nhap/oidc/callback" and query["scope"] == "openid profile"

    back = authorize(authorization)
    signed_in = callback(oidc, back, state_cookie)
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/khoi-tao"
    [token_request] = provider.token_requests[-1:]
    assert "client_secret" not in token_request and len(token_request["code_verifier"]) >= 43  # PKCE, no secret
    session, line = cookie(signed_in, "phoihop_session")
    assert "HttpOnly" in line and "Secure" in line and "SameSite=lax" in line
    inbox = httpx.get(f"{oidc.url}/", headers={"Cookie": f"phoihop_session={session}"}, timeout=30)
    assert inbox.status_code == 200
    assert "Nguyễn Văn An" in inbox.text and "Sở Khoa học và Công nghệ" in inbox.text and "Chuyên viên" in inbox.text

    assert callback(oidc, back, state_cookie).status_code == 401  # a code works once


@pytest.mark.parametrize("tamper", ["aud", "iss", "exp", "nonce", "hs256"])
def test_a_wrong_id_token_is_refused(oidc: Setup, provider: Provider, tamper: str) -> None:
    authorization, state_cookie = start_sign_in(oidc)
    provider.tamper = tamper
    refused = callback(oidc, authorize(authorization), state_cookie)
    assert refused.status_code == 401, tamper
    assert "Đăng nhập không thành công" in refused.text
    assert "phoihop_session" not in refused.headers.get("set-cookie", "")


def test_the_state_must_come_back_to_the_browser_that_started(oidc: Setup, provider: Provider) -> None:
    authorization, _state_cookie = start_sign_in(oidc)
    back = authorize(authorization)
    assert callback(oidc, back, None).status_code == 401  # another browser (no state cookie)
    _other, other_cookie = start_sign_in(oidc)
    assert callback(oidc, back, other_cookie).status_code == 401  # another sign-in's state
    denied = httpx.get(f"{oidc.url}/dang-nhap/oidc/callback", params={"error": "access_denied"}, timeout=30)
    assert denied.status_code == 401 and "access_denied" in denied.text


def test_the_api_takes_the_providers_rs256_tokens_and_its_own_hs256_ones(oidc: Setup, provider: Provider) -> None:
    submit_dossier(oidc.url)
    provider.user = {"sub": "desk-1", "groups": ["ttpvhcc"], "realm_access": {"roles": ["officer"]}}
    answer = httpx.get(f"{oidc.url}/api/v1/tasks", headers={"Authorization": f"Bearer {provider.token()}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] >= 1  # the desk's completeness check
    own = httpx.get(f"{oidc.url}/api/v1/tasks", headers=bearer("desk-2", groups=("ttpvhcc",)), timeout=30)
    assert own.status_code == 200 and own.json()["total"] == answer.json()["total"]
    for tamper in ("aud", "iss", "exp", "hs256"):
        provider.tamper = tamper
        refused = httpx.get(
            f"{oidc.url}/api/v1/tasks", headers={"Authorization": f"Bearer {provider.token()}"}, timeout=30
        )
        assert refused.status_code == 401, tamper


def test_oidc_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="PHOIHOP_OIDC_CLIENT_ID is required"):
        Settings(env="dev", oidc_issuer="https://id.hanoi.gov.vn/realms/hanoi")
    with pytest.raises(ValidationError, match="must be an https URL"):
        Settings(env="dev", oidc_issuer="http://id.hanoi.gov.vn/realms/hanoi", oidc_client_id=CLIENT_ID)
    loopback = Settings(env="dev", oidc_issuer="http://127.0.0.1:8080/realms/x", oidc_client_id=CLIENT_ID)
    assert loopback.oidc_enabled and not loopback.secure_cookies  # dev: cookies over http
    assert Settings(env="test", secret_key="s" * 40).secure_cookies
    assert not Settings(env="test", secret_key="s" * 40, cookie_secure=False).secure_cookies
