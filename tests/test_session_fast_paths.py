"""The receive path's shortcuts give exactly what the general path gives.

The engine answers from a string template, keeps the phase table's verdicts per message class and
state, and passes messages that no engine rule concerns by precomputed flags; each shortcut is
compared here with the general code it stands for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s2ws.codec import get_codec
from s2ws.messages import (
    ControlType,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    InstructionStatusUpdate,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    RevokeObject,
    SelectControlType,
    SessionRequest,
)
from s2ws.messages.base import message_type_of
from s2ws.messages.catalogue import MESSAGE_INFO
from s2ws.messages.profiles import PROFILES
from s2ws.messages.states import check_allowed
from s2ws.session import Session
from s2ws.session.engine import ALLOWS, State, _traits
from s2ws.transport import driver
from strategies import ids

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALL_CLASSES = sorted({cls for p in PROFILES.values() for cls in p.messages}, key=message_type_of)


@given(subject=ids(), status=st.sampled_from(list(ReceptionStatusValues)))
def test_answer_template_is_what_the_codec_writes(subject: str, status: ReceptionStatusValues) -> None:
    session = Session(EnergyManagementRole.CEM)
    session._answer(subject, status, None, NOW)
    [frame] = session.data_to_send()
    expected = ReceptionStatus(subject_message_id=subject, status=status)
    for profile in PROFILES:
        codec = get_codec(profile)
        assert frame.encode() == codec.encode(expected)
        assert codec.decode(frame) == expected


def test_cached_phase_verdicts_equal_the_phase_table() -> None:
    """Every class, either sender (receive and send), every state and active control type; twice,
    so the second round is answered from the cache that the first filled (and other sessions share)."""
    actives: list[ControlType | None] = [None, *ControlType]
    for _ in range(2):
        for role in EnergyManagementRole:
            session = Session(role)
            for state in State:
                session.state = state
                for active in actives:
                    session.active_control_type = active
                    for sender in EnergyManagementRole:
                        for cls in ALL_CLASSES:
                            expected = check_allowed(message_type_of(cls), sender, ALLOWS[state].phase, active)
                            got = session._allowed(_traits(cls), sender)
                            assert got == expected, (role, sender, state, active, cls)


def test_class_flags_match_the_catalogue() -> None:
    judged = {SelectControlType, InstructionStatusUpdate, RevokeObject}
    owned = {Handshake, HandshakeResponse, SessionRequest}
    acting = judged | owned | {ResourceManagerDetails}
    for cls in ALL_CLASSES:
        traits = _traits(cls)
        name = message_type_of(cls)
        assert traits.name == name
        assert traits.revocable is MESSAGE_INFO[name].revocable
        assert traits.instruction is name.endswith("Instruction")
        assert traits.judged is (cls in judged)
        assert traits.owned is (cls in owned)
        assert traits.handshake is (cls in {Handshake, HandshakeResponse})
        assert traits.acts is (cls in acting)


def test_state_hash_keeps_the_table_lookups() -> None:
    assert {state: ALLOWS[state] for state in State} == dict(ALLOWS)
    assert len({hash(state) for state in State}) == len(State)


def test_frames_read_back_to_back_share_one_clock_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver's default clock for received frames: read at most once a millisecond (monotonic),
    otherwise what ``utc_now`` says."""
    mono = [1000.0]
    monkeypatch.setattr(driver, "time", SimpleNamespace(monotonic=lambda: mono[0]))
    monkeypatch.setattr(driver, "_last_reading", (-1.0, datetime.min.replace(tzinfo=UTC)))
    before = driver.utc_now()
    first = driver._received_at()
    assert first.tzinfo is UTC and first >= before
    mono[0] += driver._REUSE_FOR / 2
    assert driver._received_at() is first
    mono[0] += driver._REUSE_FOR
    later = driver._received_at()
    assert later is not first and later >= first
    assert later <= driver.utc_now()
