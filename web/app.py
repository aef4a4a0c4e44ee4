"""Mount the web app on the API's FastAPI application (called by phoihop.app.create_app): static files at /assets,
the pages at /, and HTML 404 pages for browsers outside the API's paths.

Adding a page: a router in web/routes/ built with ``APIRouter(route_class=WebRoute, include_in_schema=False)``
(errors become pages), ``context: Page`` for signed-in pages (``AnyPage`` otherwise), ``dependencies=[CsrfChecked]`` on
every POST, engine calls through ``phoihop.deps`` (TasksDep, TaskReadsDep) in ``run_in_threadpool``, ``render(context,
"x.html", {...})`` with a template extending base.html and every string from i18n.CATALOG; then add the router to
ROUTERS below and, for a section, a NavItem to templating.NAV."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from phoihop.web.errors import html_not_found
from phoihop.web.routes import (
    auth,
    cases,
    collaboration,
    dashboard,
    desk,
    documents,
    inbox,
    lookup,
    owner,
    start,
    task_flow,
    tasks,
)
from phoihop.web.templating import ASSETS_URL, STATIC

__all__ = ["ROUTERS", "install"]

ROUTERS = (
    auth.router,
    inbox.router,
    tasks.router,
    cases.router,
    start.router,
    owner.router,
    dashboard.router,
    documents.router,
    desk.router,
    task_flow.router,
    collaboration.router,
    lookup.router,
)


def install(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=STATIC, check_dir=False), name="web-assets")
    for router in ROUTERS:
        app.include_router(router)
    api_handler = app.exception_handlers.get(StarletteHTTPException)
    if api_handler is not None:
        app.add_exception_handler(StarletteHTTPException, html_not_found(api_handler))
