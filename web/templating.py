"""Rendering pages: one Jinja2 environment (autoescape on, undefined names are errors), the layout's context
(language, user, CSRF token, navigation), formatting filters and the security headers every page gets.

Pages extend ``templates/base.html``. A new section adds itself to the navigation with ``NAV.append(NavItem(...))``
(see web/app.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.model import TASK_ROLES, Actor
from phoihop.settings import Settings
from phoihop.web.forms import officer_text
from phoihop.web.i18n import LANGUAGES, Lang, Translator, agency_name, parse_lang
from phoihop.web.numbers import format_money, month_label
from phoihop.web.session import CSRF_COOKIE, LANG_COOKIE, WebSession, set_cookie

__all__ = ["NAV", "NavItem", "PageContext", "render", "security_headers"]

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
ASSETS_URL = "/assets"
# No inline script anywhere (htmx's eval features are off): scripts only from this server. bpmn-js sets style
# attributes on SVG elements, hence 'unsafe-inline' for styles only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "selfRequestsOnly": True,
    "historyCacheSize": 0,  # pages hold case data: never kept in localStorage
    # error fragments are swapped too (into #flash: the server sends HX-Retarget), redirects are followed
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "[45]..", "swap": True, "error": True},
    ],
}


@dataclass(frozen=True)
class NavItem:
    path: str
    label_key: str  # an i18n catalog key
    visible: Callable[[Actor], bool]


def may_start(actor: Actor) -> bool:
    return bool(actor.roles & {"officer", "lead", "admin"})


NAV: list[NavItem] = [
    NavItem("/", "nav.inbox", lambda actor: True),
    NavItem("/khoi-tao", "nav.start", may_start),
    NavItem(
        "/bang-dieu-khien",
        "nav.dashboard",
        lambda actor: bool(actor.roles & {"officer", "lead", "process-owner", "admin"}),
    ),
    NavItem("/quy-trinh", "nav.owner", lambda actor: bool(actor.roles & {"process-owner", "admin"})),
]


def hanoi_time(value: datetime | str | None) -> str:
    """dd/mm/yyyy HH:MM in Hanoi time (a time without offset is UTC, as the database keeps it)."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(HANOI_TZ).strftime("%d/%m/%Y %H:%M")


def pretty_json(value: Any) -> str:
    """A variable's value as indented JSON text (the template escapes it like any text)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _asset(path: str) -> str:
    return f"{ASSETS_URL}/{path}"


def _vendor(path: str) -> str:
    return f"{ASSETS_URL}/vendor/{path}"


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals.update(asset=_asset, vendor=_vendor, htmx_config=HTMX_CONFIG)
ENV.filters["hanoi"] = hanoi_time
ENV.filters["pretty_json"] = pretty_json
ENV.filters["officer_text"] = lambda text: officer_text(text) or ""  # no "Giả định" note, file or code
ENV.filters["money"] = format_money  # 600000000 → 600.000.000 (the page adds "đồng")
ENV.filters["month"] = month_label  # 2026-11 → 11/2026 (the page adds "tháng")


@dataclass
class PageContext:
    """What every page's layout needs; routes add their own values to ``render``."""

    request: Request
    settings: Settings
    session: WebSession | None
    lang: Lang
    new_csrf: str | None = None  # a pre-session CSRF token to set as a cookie (sign-in page)

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    @property
    def csrf(self) -> str:
        if self.session is not None:
            return self.session.csrf
        return self.new_csrf or self.request.cookies.get(CSRF_COOKIE, "")

    def values(self) -> dict[str, Any]:
        t = self.t
        actor = self.session.actor if self.session else None
        other = next(code for code in LANGUAGES if code != self.lang)
        return {
            "t": t,
            "lang": self.lang,
            "other_lang": other,
            "user": actor,
            "csrf": self.csrf,
            "nav": [item for item in NAV if actor is not None and item.visible(actor)],
            "current_path": self.request.url.path,
            "full_path": _full_path(self.request),
            "agency": lambda code: agency_name(code, self.lang),
            "task_agency": lambda task, short=False: _task_agency(task, self.lang, short=short),
            "role_name": lambda role: t.maybe(f"role.{role}", role),
            "may_act": lambda task: _may_act(actor, task),
            "read_only_note": lambda task: _read_only_note(actor, task),
            "is_dev": self.settings.env == "dev",
        }


def _task_agency(task: Any, lang: Lang, *, short: bool = False) -> str:
    """The agency that does ``task``, by name: its candidate agencies (the lane's real agency, also where the lane is
    a generic "Cơ quan giải quyết" and the agency is chosen at run time), else the lane's name. ``short``: the
    agencies' one short form (engine/agencies.py SHORT_NAMES_VI), for narrow columns."""
    groups = [str(g) for g in getattr(task, "candidate_groups", ()) or ()]
    if groups:
        return ", ".join(agency_name(g, lang, short=short) for g in groups)
    return str(getattr(task, "lane", None) or "")


def _may_act(actor: Actor | None, task: Any) -> bool:
    """Whether ``actor`` works on tasks (``officer`` or ``lead``) and holds the role ``task`` requires
    (``required_role``; an admin holds every one): else the page shows the task marked and read-only, with no claim
    or submit button (the engine would refuse them)."""
    return _read_only_note(actor, task) is None


def _read_only_note(actor: Actor | None, task: Any) -> str | None:
    """Why ``actor`` only reads ``task`` (a text key of web/i18n.py), or None when they may work on it."""
    missing = actor.missing_roles(getattr(task, "required_role", None)) if actor is not None else TASK_ROLES
    if missing is None:
        return None
    if missing == TASK_ROLES:
        return "task.needs_task_role"
    return "task.lead_completes" if missing == ("lead",) else "task.role_completes"


def _full_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def language(request: Request) -> Lang:
    return parse_lang(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def render(
    context: PageContext,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    html = ENV.get_template(template).render({**context.values(), **(values or {})})
    response = HTMLResponse(html, status_code=status, headers={**security_headers(), **(headers or {})})
    if context.new_csrf:
        set_cookie(response, context.settings, CSRF_COOKIE, context.new_csrf, max_age=12 * 3600)
    return response
