"""Bearer authentication for Connexion's security middleware, with this app's verifier."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.exceptions import OAuthProblem, OAuthResponseProblem
from connexion.security import SECURITY_HANDLERS, BearerSecurityHandler

from core.errors import Unauthenticated
from core.id_tokens import IdTokenVerifier

TokenInfo = Callable[[str], Awaitable[dict[str, Any] | None]]


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

        def check_bearer_token(self, token_info_func: TokenInfo) -> Any:
            """Connexion's check, without its inspection of our function on every request.

            Connexion's own inspects the function's signature on every request to see whether
            it takes `request` or `required_scopes` (ours takes neither): about 4% of the app's
            CPU on GET /me. The answers are the same: the claims, or a 401 problem.
            """

            async def check(_request: Any, token: str) -> dict[str, Any]:
                claims = await token_info_func(token)
                if claims is None:
                    raise OAuthResponseProblem(detail="Provided token is not valid")
                return claims

            return check

        @staticmethod
        def get_auth_header_value(request: Any) -> tuple[str | None, str | None]:
            """Connexion's reading of the header, which took the first of several.

            Which one a proxy or a framework would pick differs, so two are refused (401).
            """
            if len(request.headers.getlist("authorization")) > 1:
                raise OAuthProblem(detail="Send one Authorization header")
            return BearerSecurityHandler.get_auth_header_value(request)  # type: ignore[no-any-return]

    return {**SECURITY_HANDLERS, "bearer": CognitoBearer}
