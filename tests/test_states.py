"""The session phase table: who may send what, when."""

from __future__ import annotations

import pytest

from s2ws import ControlType, EnergyManagementRole, Phase, check_allowed

CEM, RM = EnergyManagementRole.CEM, EnergyManagementRole.RM
FRBC = ControlType.FILL_RATE_BASED_CONTROL


@pytest.mark.parametrize(
    ("message_type", "sender", "phase", "active", "rule"),
    [
        ("FRBC.Instruction", RM, Phase.INITIALIZED, FRBC, "S2-SESSION-001"),
        ("HandshakeResponse", RM, Phase.HANDSHAKE, None, "S2-SESSION-001"),
        ("Unknown.Type", CEM, Phase.INITIALIZED, None, "S2-SESSION-001"),
        ("ResourceManagerDetails", RM, Phase.HANDSHAKE, None, "S2-SESSION-002"),
        ("FRBC.Instruction", CEM, Phase.INITIALIZED, None, "S2-SESSION-003"),
        ("FRBC.Instruction", CEM, Phase.INITIALIZED, ControlType.NO_SELECTION, "S2-SESSION-003"),
        ("PEBC.Instruction", CEM, Phase.INITIALIZED, FRBC, "S2-SESSION-003"),
        ("PowerMeasurement", RM, Phase.CLOSED, None, "S2-SESSION-004"),
        ("Handshake", CEM, Phase.INITIALIZED, None, "S2-SESSION-005"),
    ],
)
def test_refusals_name_their_rule(
    message_type: str, sender: EnergyManagementRole, phase: Phase, active: ControlType | None, rule: str
) -> None:
    refusal = check_allowed(message_type, sender, phase, active)
    assert refusal is not None and refusal.rule == rule
    assert message_type in refusal.reason


@pytest.mark.parametrize(
    ("message_type", "sender", "phase", "active"),
    [
        ("Handshake", RM, Phase.HANDSHAKE, None),
        ("HandshakeResponse", CEM, Phase.HANDSHAKE, None),
        ("ReceptionStatus", RM, Phase.CLOSED, None),
        ("SessionRequest", CEM, Phase.HANDSHAKE, None),
        ("PowerMeasurement", RM, Phase.INITIALIZED, None),
        ("ResourceManagerDetails", RM, Phase.INITIALIZED, FRBC),
        ("FRBC.Instruction", CEM, Phase.INITIALIZED, FRBC),
        ("FRBC.SystemDescription", RM, Phase.INITIALIZED, FRBC),
        ("RevokeObject", CEM, Phase.INITIALIZED, FRBC),
    ],
)
def test_allowed_messages_pass(
    message_type: str, sender: EnergyManagementRole, phase: Phase, active: ControlType | None
) -> None:
    assert check_allowed(message_type, sender, phase, active) is None
