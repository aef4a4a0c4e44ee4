"""People: an admin signs a person out of the web app everywhere (every server-side session revoked at once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.users import SessionsRevokedOut
from phoihop.deps import CurrentActor, WebSessionsDep
from phoihop.engine.commands.web_sessions import SessionsRevoked

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.post(
    "/{user_id}/sign-out",
    response_model=SessionsRevokedOut,
    summary="Sign a person out of the web app everywhere (role admin)",
    description="Revokes every live web-app session of ``user_id`` (the ``sub`` they signed in with): each of their "
    "browsers gets the sign-in page on its next request. Bearer tokens (JWT) are not affected: they are stateless and "
    "expire on their own (PHOIHOP_TOKEN_TTL_MINUTES); revoke an integrator's API key with `phoihop apikey revoke`.",
)
async def sign_out_everywhere(
    user_id: Annotated[str, Path(min_length=1, max_length=200)], actor: CurrentActor, sessions: WebSessionsDep
) -> SessionsRevoked:
    """Ends every web-app session of the person `user_id` (a lost laptop, a person who left); their next request must
    sign in again."""
    return await run_in_threadpool(sessions.revoke_user, actor, user_id)
