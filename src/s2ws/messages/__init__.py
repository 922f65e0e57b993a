"""Typed models of every S2 message and object, for both wire profiles.

Wire names are kept verbatim (``supported_commodites``, ``Id``, ``value_upper_95PPR``); the
only renamed attribute is ``Transition.from_`` (``from`` is a Python keyword).
"""

from __future__ import annotations

from . import base, catalogue, common, ddbc, enums, frbc, ombc, pebc, ppbc, profiles, states
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

__all__ = [
    *base.__all__,
    *enums.__all__,
    *common.__all__,
    *pebc.__all__,
    *ppbc.__all__,
    *ombc.__all__,
    *frbc.__all__,
    *ddbc.__all__,
    *catalogue.__all__,
    *profiles.__all__,
    *states.__all__,
]
