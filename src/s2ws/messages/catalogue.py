"""Who sends each message, which control type it belongs to, and which profile has it.

One table, read by the codec, the rules, the session engine and the spec exporter, so the
four can never disagree about a message's direction or control type.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from .enums import ControlType, EnergyManagementRole

__all__ = [
    "CONTROL_TYPE_PREFIXES",
    "MESSAGE_INFO",
    "REVOCABLE_TYPES",
    "MessageInfo",
]

CEM = EnergyManagementRole.CEM
RM = EnergyManagementRole.RM

CONTROL_TYPE_PREFIXES: Final = MappingProxyType(
    {
        "PEBC": ControlType.POWER_ENVELOPE_BASED_CONTROL,
        "PPBC": ControlType.POWER_PROFILE_BASED_CONTROL,
        "OMBC": ControlType.OPERATION_MODE_BASED_CONTROL,
        "FRBC": ControlType.FILL_RATE_BASED_CONTROL,
        "DDBC": ControlType.DEMAND_DRIVEN_BASED_CONTROL,
    }
)


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """Static facts about one message type."""

    message_type: str
    senders: frozenset[EnergyManagementRole]
    control_type: ControlType | None
    """None for the common messages, usable whatever control type is active."""
    revocable: bool
    """Listed in RevokableObjects, so a RevokeObject may name it."""
    profiles: frozenset[str]


_BOTH = frozenset({CEM, RM})
_ALL = frozenset({"0.0.2-beta", "1.0.0"})


def _info(
    name: str, senders: frozenset[EnergyManagementRole], revocable: bool = False, profiles: frozenset[str] = _ALL
) -> MessageInfo:
    prefix = name.split(".", 1)[0] if "." in name else ""
    return MessageInfo(name, senders, CONTROL_TYPE_PREFIXES.get(prefix), revocable, profiles)


_CEM = frozenset({CEM})
_RM = frozenset({RM})

MESSAGE_INFO: Final = MappingProxyType(
    {
        info.message_type: info
        for info in (
            _info("Handshake", _BOTH),
            _info("HandshakeResponse", _CEM),
            _info("ReceptionStatus", _BOTH),
            _info("SelectControlType", _CEM),
            _info("RevokeObject", _BOTH),
            _info("SessionRequest", _BOTH),
            _info("ResourceManagerDetails", _RM),
            _info("PowerMeasurement", _RM),
            _info("PowerForecast", _RM),
            _info("InstructionStatusUpdate", _RM),
            _info("PEBC.PowerConstraints", _RM, revocable=True),
            _info("PEBC.EnergyConstraint", _RM, revocable=True),
            _info("PEBC.Instruction", _CEM, revocable=True),
            _info("PPBC.PowerProfileDefinition", _RM, revocable=True),
            _info("PPBC.PowerProfileStatus", _RM),
            _info("PPBC.ScheduleInstruction", _CEM, revocable=True),
            _info("PPBC.StartInterruptionInstruction", _CEM, revocable=True),
            _info("PPBC.EndInterruptionInstruction", _CEM, revocable=True),
            _info("OMBC.SystemDescription", _RM, revocable=True),
            _info("OMBC.Status", _RM),
            _info("OMBC.TimerStatus", _RM),
            _info("OMBC.Instruction", _CEM, revocable=True),
            _info("FRBC.SystemDescription", _RM, revocable=True),
            _info("FRBC.ActuatorStatus", _RM),
            _info("FRBC.StorageStatus", _RM),
            _info("FRBC.LeakageBehaviour", _RM),
            _info("FRBC.UsageForecast", _RM),
            _info("FRBC.FillLevelTargetProfile", _RM),
            _info("FRBC.TimerStatus", _RM),
            _info("FRBC.Instruction", _CEM, revocable=True),
            _info("DDBC.SystemDescription", _RM, revocable=True),
            _info("DDBC.ActuatorStatus", _RM),
            _info("DDBC.AverageDemandRateForecast", _RM),
            _info("DDBC.TimerStatus", _RM),
            _info("DDBC.Instruction", _CEM, revocable=True),
            _info("DDBC.PresentDemandStatus", _RM, profiles=frozenset({"1.0.0"})),
        )
    }
)

REVOCABLE_TYPES: Final = frozenset(name for name, info in MESSAGE_INFO.items() if info.revocable)
