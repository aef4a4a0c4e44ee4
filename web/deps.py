"""Dependencies of the pages: the page context (language, session), sign-in required, CSRF on every POST. The
engine's handlers and reads come from phoihop.deps, as for the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from phoihop.deps import get_settings
from phoihop.settings import Settings
from phoihop.web.session import SESSION_COOKIE, SignInRequired, check_csrf, current_session
from phoihop.web.templating import PageContext, language

__all__ = ["AnyPage", "CsrfChecked", "Page"]


async def page_context(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> PageContext:
    return PageContext(request, settings, await current_session(request), language(request))


async def signed_in(context: Annotated[PageContext, Depends(page_context)]) -> PageContext:
    if context.session is None:
        raise SignInRequired(expired=SESSION_COOKIE in context.request.cookies)
    return context


async def csrf_protected(request: Request) -> None:
    await check_csrf(request)


AnyPage = Annotated[PageContext, Depends(page_context)]  # signed in or not (the sign-in page)
Page = Annotated[PageContext, Depends(signed_in)]  # redirects to the sign-in page when nobody is signed in
CsrfChecked = Depends(csrf_protected)  # dependencies=[CsrfChecked] on every state-changing route
