"""s2ws: S2 (EN 50491-12-2) energy flexibility as JSON messages over WebSockets.

The top level re-exports the models, the codec and the errors; the session engine,
transports and tools live in their own subpackages so that importing s2ws stays cheap.
"""

from __future__ import annotations

from . import messages
from .codec import decode, decode_as, encode, encode_checked, get_codec, validate
from .errors import (
    DecodeError,
    EncodeError,
    InvalidContent,
    InvalidData,
    InvalidMessage,
    PermanentError,
    ProfileError,
    S2Error,
    StatusError,
    TemporaryError,
)
from .messages import *  # noqa: F403

__version__ = "0.1.0"

__all__ = [
    *messages.__all__,
    "DecodeError",
    "EncodeError",
    "InvalidContent",
    "InvalidData",
    "InvalidMessage",
    "PermanentError",
    "ProfileError",
    "S2Error",
    "StatusError",
    "TemporaryError",
    "decode",
    "decode_as",
    "encode",
    "encode_checked",
    "get_codec",
    "validate",
]
