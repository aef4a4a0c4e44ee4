"""One catalog for every string of the web app (web/i18n.py), complete in Vietnamese and English: every key the
templates and routes use exists, data-driven families are covered, and an English page carries no Vietnamese UI
text."""

from __future__ import annotations

import re
from pathlib import Path
from string import Formatter

import httpx

from phoihop.engine.model import ROLES
from phoihop.engine.time.deadlines import FILTERS
from phoihop.web.i18n import CATALOG, Translator, agency_name
from phoihop.web.routes.inbox import SCOPES
from tests.web.conftest import LiveServer
from tests.web.pages import sign_in

WEB = Path(__file__).parents[2] / "web"
# t("inbox.title"), not the prefix of t("deadline." ~ state)
USED = re.compile(r"""\bt\(\s*["']([a-z_\-]+(?:\.[a-z_\-]*[a-z0-9])+)["']""")
# legal references stay as the decision writes them: document numbers (5921/QĐ-UBND), articles (Điều 23.4)
CITATIONS = re.compile(r"\S*\d\S*/\S+|Điều \d+(?:\.\d+)?")
VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]")


def test_every_key_used_exists_and_every_entry_has_both_languages() -> None:
    sources = [*WEB.glob("templates/*.html"), *WEB.glob("*.py"), *WEB.glob("routes/*.py")]
    used = {key for path in sources for key in USED.findall(path.read_text(encoding="utf-8"))}
    used |= {item for item in re.findall(r'"(nav\.[a-z]+)"', (WEB / "templating.py").read_text())}
    assert len(used) > 80
    assert sorted(used - set(CATALOG)) == []
    families = [f"deadline.{s}" for s in (*FILTERS, "early", "late", "none", "finished_on_time")]
    families += [f"inbox.filter.deadline.{s}" for s in FILTERS]
    families += [f"task_status.{s}" for s in ("open", "claimed", "completed", "cancelled")]
    families += [f"instance_status.{s}" for s in ("running", "incident", "completed", "cancelled", "error")]
    families += [f"inbox.scope.{s}" for s in SCOPES] + [f"role.{r}" for r in ROLES]
    assert sorted(set(families) - set(CATALOG)) == []
    for key, (vi, en) in CATALOG.items():
        assert vi.strip() and en.strip(), key
        if key != "nav.language":  # "Tiếng Việt" is the way back
            assert not VIETNAMESE.search(CITATIONS.sub("", en)), (key, en)
        names = {field for _, field, _, _ in Formatter().parse(vi) if field}
        assert names == {field for _, field, _, _ in Formatter().parse(en) if field}, key  # same placeholders
        assert Translator("en")(key, **dict.fromkeys(names, "x")) if names else Translator("en")(key)
    assert agency_name("skhcn", "en") == "Department of Science and Technology"


def test_an_english_page_has_no_vietnamese_ui_text(live_server: LiveServer) -> None:
    client = live_server.client()
    sign_in(client, "syt.quang")  # Sở Y tế: no task in its inbox, so no process data on the page
    client.cookies.set("phoihop_lang", "en")
    for path in ("/", "/khoi-tao", "/?scope=mine&deadline=warning"):
        page = client.get(path)
        assert page.status_code == 200
        text = re.sub(r"<[^>]+>", " ", page.text)
        assert '<html lang="en">' in page.text and "Department of Health" in text
        leftovers = [vi for vi, en in CATALOG.values() if vi != en and len(vi) > 3 and vi in text]
        assert leftovers == [], path
    vietnamese = httpx.get(f"{live_server.url}/dang-nhap", timeout=30)
    assert '<html lang="vi">' in vietnamese.text and "Đăng nhập" in vietnamese.text


def test_unclaiming_is_bo_nhan_viec_never_tra_lai() -> None:
    """Issue 10.3: "Trả lại" is sending a file back; giving a task up is "Bỏ nhận việc" (button, message, history)."""
    vi = Translator("vi")
    assert vi("task.unclaim") == "Bỏ nhận việc"
    assert "bỏ nhận" in vi("task.unclaimed").lower() and "bỏ nhận" in vi("event.task_unclaimed").lower()
    send_back = ("flow.", "event.task_returned", "task_status.returned")  # issue 11.3: sending a case back
    assert [
        key for key, (text, _) in CATALOG.items() if "trả lại" in text.lower() and not key.startswith(send_back)
    ] == []
    assert [key for key, (text, _) in CATALOG.items() if "trả lại" in text.lower() and "nhận" in key] == []
