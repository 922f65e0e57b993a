"""Typed models of every S2 message and object, for both wire profiles.

Wire names are kept verbatim (``supported_commodites``, ``Id``, ``value_upper_95PPR``); the
only renamed attribute is ``Transition.from_`` (``from`` is a Python keyword).
"""

from __future__ import annotations

from .base import *  # noqa: F403
from .catalogue import *  # noqa: F403
from .common import *  # noqa: F403
from .ddbc import *  # noqa: F403
from .enums import *  # noqa: F403
from .frbc import *  # noqa: F403
from .ombc import *  # noqa: F403
from .pebc import *  # noqa: F403
from .ppbc import *  # noqa: F403
from .profiles import *  # noqa: F403
from .states import *  # noqa: F403
