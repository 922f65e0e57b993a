"""Bearer tokens on the WebSocket upgrade (RFC 6750), shared by the aiohttp server and the ASGI app."""

from __future__ import annotations

import hmac
import inspect
from collections.abc import Awaitable, Callable

__all__ = ["TokenCheck", "TokenVerifier", "bearer_token", "challenge", "check_token"]

TokenVerifier = Callable[[str], "bool | Awaitable[bool]"]
"""Decides whether a presented token is acceptable (single-use S2 Connect tokens need a store)."""

TokenCheck = str | TokenVerifier | None
"""What a server is configured with: no check, one fixed token, or a verifier."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` if absent or another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def check_token(expected: TokenCheck, presented: str | None) -> bool:
    """Whether ``presented`` passes; fixed tokens are compared in constant time."""
    if expected is None:
        return True
    if presented is None:
        return False
    if isinstance(expected, str):
        return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))
    verdict = expected(presented)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return verdict is True


def challenge(presented: str | None, realm: str = "s2") -> str:
    """The ``WWW-Authenticate`` value of a 401: ``invalid_token`` only when a token was sent (RFC 6750 §3)."""
    if presented is None:
        return f'Bearer realm="{realm}"'
    return f'Bearer realm="{realm}", error="invalid_token"'
