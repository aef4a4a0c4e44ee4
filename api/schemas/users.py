"""People of the web app: signing a person out everywhere."""

from __future__ import annotations

from phoihop.api.schemas.common import Out


class SessionsRevokedOut(Out):
    user_id: str
    sessions_revoked: int  # live web sessions of the person that stopped now (0: none was open)
