"""Bearer authentication for Connexion's security middleware, with this app's verifier."""

from __future__ import annotations

import asyncio
from typing import Any

from connexion.security import SECURITY_HANDLERS, BearerSecurityHandler

from core.errors import Unauthenticated
from core.id_tokens import IdTokenVerifier


def security_map(verifier: IdTokenVerifier) -> dict[str, Any]:
    """Connexion's security handlers, with `bearer` bound to our ID-token verifier."""

    async def token_info(token: str) -> dict[str, Any] | None:
        # A token seen lately is answered on the event loop; a new one may need the JWKS
        # fetched, so its verification runs off the loop.
        try:
            identity = verifier.remembered(token) or await asyncio.to_thread(verifier.verify, token)
        except Unauthenticated:
            return None  # Connexion answers 401
        return {"sub": identity.username, "identity": identity}

    class CognitoBearer(BearerSecurityHandler):
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:  # noqa: ARG002
            return token_info

    return {**SECURITY_HANDLERS, "bearer": CognitoBearer}
