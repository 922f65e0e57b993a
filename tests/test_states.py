"""The session phase table: who may send what, when."""

from __future__ import annotations

import pytest

from s2ws import ControlType, EnergyManagementRole, InstructionStatus, Phase, check_allowed
from s2ws.messages.states import INSTRUCTION_NEXT, INSTRUCTION_TERMINAL, InstructionMove, instruction_move

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


S = InstructionStatus
_TERMINAL = (S.REJECTED, S.REVOKED, S.SUCCEEDED, S.ABORTED)


@pytest.mark.parametrize("old", [None, *InstructionStatus])
@pytest.mark.parametrize("new", list(InstructionStatus))
def test_instruction_moves_follow_the_lifecycle(old: InstructionStatus | None, new: InstructionStatus) -> None:
    move = instruction_move(old, new)
    if old in _TERMINAL:
        assert move is InstructionMove.AFTER_END
    elif old is None:
        assert move is InstructionMove.FORWARD
    elif new is old:
        assert move is InstructionMove.REPEAT
    elif new is S.REJECTED:  # REJECTED answers a new instruction only
        assert move is (InstructionMove.FORWARD if old is S.NEW else InstructionMove.BACKWARD)
    else:  # steps may be skipped, never taken back
        order = [S.NEW, S.ACCEPTED, S.STARTED]
        later = new not in order or order.index(new) > order.index(old)
        assert move is (InstructionMove.FORWARD if later else InstructionMove.BACKWARD)


def test_terminal_statuses_lead_nowhere() -> None:
    assert set(INSTRUCTION_TERMINAL) == set(_TERMINAL)
    assert all(not INSTRUCTION_NEXT[status] for status in INSTRUCTION_TERMINAL)


def test_scheduler_engine_and_context_read_the_one_table() -> None:
    from s2ws.control import scheduler
    from s2ws.rules import context
    from s2ws.session import tracking

    assert scheduler.TERMINAL is tracking.TERMINAL_STATUSES is INSTRUCTION_TERMINAL
    assert not hasattr(context, "_NEXT") and not hasattr(scheduler, "_NEXT") and not hasattr(tracking, "_RANK")
