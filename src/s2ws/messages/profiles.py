"""Wire profiles: which message classes make up each protocol version.

``0.0.2-beta`` is what every shipping implementation speaks; ``1.0.0`` adds
``DDBC.PresentDemandStatus`` and drops ``present_demand_rate`` from ``DDBC.SystemDescription``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from . import common, ddbc, frbc, ombc, pebc, ppbc
from .base import S2Message, message_type_of

__all__ = ["DEFAULT_PROFILE", "PROFILES", "Profile", "get_profile", "normalize_version", "shared_versions"]


@dataclass(frozen=True)
class Profile:
    """One protocol version: its name and the message classes it is made of."""

    version: str
    messages: tuple[type[S2Message], ...]
    by_type: Mapping[str, type[S2Message]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {message_type_of(cls): cls for cls in self.messages}
        if len(table) != len(self.messages):
            raise ValueError(f"profile {self.version} names one message_type twice")
        object.__setattr__(self, "by_type", MappingProxyType(table))


_COMMON: tuple[type[S2Message], ...] = (
    common.Handshake,
    common.HandshakeResponse,
    common.ReceptionStatus,
    common.SelectControlType,
    common.RevokeObject,
    common.SessionRequest,
    common.ResourceManagerDetails,
    common.PowerMeasurement,
    common.PowerForecast,
    common.InstructionStatusUpdate,
    pebc.PEBCPowerConstraints,
    pebc.PEBCEnergyConstraint,
    pebc.PEBCInstruction,
    ppbc.PPBCPowerProfileDefinition,
    ppbc.PPBCPowerProfileStatus,
    ppbc.PPBCScheduleInstruction,
    ppbc.PPBCStartInterruptionInstruction,
    ppbc.PPBCEndInterruptionInstruction,
    ombc.OMBCSystemDescription,
    ombc.OMBCStatus,
    ombc.OMBCTimerStatus,
    ombc.OMBCInstruction,
    frbc.FRBCSystemDescription,
    frbc.FRBCActuatorStatus,
    frbc.FRBCStorageStatus,
    frbc.FRBCLeakageBehaviour,
    frbc.FRBCUsageForecast,
    frbc.FRBCFillLevelTargetProfile,
    frbc.FRBCTimerStatus,
    frbc.FRBCInstruction,
    ddbc.DDBCActuatorStatus,
    ddbc.DDBCAverageDemandRateForecast,
    ddbc.DDBCTimerStatus,
    ddbc.DDBCInstruction,
)

PROFILE_0_0_2_BETA: Final = Profile("0.0.2-beta", (*_COMMON, ddbc.DDBCSystemDescription))
PROFILE_1_0_0: Final = Profile("1.0.0", (*_COMMON, ddbc.DDBCSystemDescriptionV1, ddbc.DDBCPresentDemandStatus))

PROFILES: Final[Mapping[str, Profile]] = MappingProxyType({p.version: p for p in (PROFILE_0_0_2_BETA, PROFILE_1_0_0)})
DEFAULT_PROFILE: Final = PROFILE_0_0_2_BETA


def normalize_version(version: str) -> str:
    """Versions compare as exact strings after dropping one leading ``v`` (``v1.0.0`` == ``1.0.0``)."""
    return version[1:] if version.startswith("v") else version


def get_profile(profile: str | Profile | None = None) -> Profile:
    """Look a profile up by version string; ``None`` means the default ``0.0.2-beta``."""
    if profile is None:
        return DEFAULT_PROFILE
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[normalize_version(profile)]
    except KeyError:
        from ..errors import ProfileError  # late: errors imports this package's enums

        known = ", ".join(PROFILES)
        raise ProfileError(f"unknown profile {profile!r}; known: {known}") from None


@lru_cache(maxsize=64)
def shared_versions(versions: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple (and one string per version) for every session whose peer lists the same versions.

    Peers offer the same few lists, and a CEM keeps each RM's list for the life of the session; the
    cache is bounded, so a peer inventing lists only makes them unshared."""
    return versions
