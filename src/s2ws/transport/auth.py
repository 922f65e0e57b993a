"""Bearer tokens on the WebSocket upgrade (RFC 6750), shared by the aiohttp server and the ASGI app.

The scheme name is matched case-insensitively, as RFC 7235 says (``bearer`` and ``Bearer`` both work).
Tokens given to the command line tools come from the ``S2WS_TOKEN`` environment variable or a file
readable by its owner only (:func:`read_token_file`), so that they are not visible in ``ps``.
"""

from __future__ import annotations

import hmac
import inspect
import os
import stat
from collections.abc import Awaitable, Callable, Mapping

from ..errors import TransportConfigError

__all__ = [
    "TOKEN_ENV",
    "TokenCheck",
    "TokenVerifier",
    "bearer_token",
    "challenge",
    "check_token",
    "read_token_file",
    "token_from",
]

TOKEN_ENV = "S2WS_TOKEN"
"""The environment variable the command line tools read a bearer token from."""

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


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token in ``path`` (surrounding whitespace stripped); refused unless only its owner can read it.

    Like ssh with a private key: a file that group or others may read or write (mode wider than 0600)
    is refused with an error naming the mode, as is an empty file."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise TransportConfigError(f"token file {os.fspath(path)}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(mode):
        raise TransportConfigError(f"token file {os.fspath(path)} is not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TransportConfigError(
            f"token file {os.fspath(path)} has mode {stat.S_IMODE(mode):04o}; it must be readable by its owner "
            f"only (chmod 600)"
        )
    with open(path, encoding="utf-8") as handle:
        token = handle.read().strip()
    if not token:
        raise TransportConfigError(f"token file {os.fspath(path)} is empty")
    return token


def token_from(*, file: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """A token from ``file`` when given, else from ``$S2WS_TOKEN`` (empty counts as unset), else ``None``."""
    if file is not None:
        return read_token_file(file)
    value = (os.environ if env is None else env).get(TOKEN_ENV, "").strip()
    return value or None
