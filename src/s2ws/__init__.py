"""s2ws: S2 (EN 50491-12-2) energy flexibility as JSON messages over WebSockets.

The top level re-exports the models, the codec and the errors; the session engine,
transports and tools live in their own subpackages so that importing s2ws stays cheap.
"""

from __future__ import annotations

from .codec import decode as decode
from .codec import decode_as as decode_as
from .codec import encode as encode
from .codec import encode_checked as encode_checked
from .codec import get_codec as get_codec
from .codec import validate as validate
from .errors import *  # noqa: F403
from .messages import *  # noqa: F403

__version__ = "0.1.0"
