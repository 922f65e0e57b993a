"""An RM building block and a CEM view talking over encoded frames, judged by the rule catalogue.

Every message either side produces goes through the codec and through a SessionContext that
must find no error in it; the view must build instructions the device accepts, and where the
view refuses, the device rejects under the same rule, and so does the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from msgspec.structs import replace

from builders import (
    CEM_TO_RM,
    RM_TO_CEM,
    Session,
    at,
    ddbc_description,
    details,
    frbc_description,
    mid,
    ombc_description,
    select,
)
from s2ws import decode, encode
from s2ws.control import (
    DDBCDevice,
    DDBCView,
    FRBCDevice,
    FRBCView,
    OMBCDevice,
    OMBCView,
    OperationModeDevice,
    OperationModeView,
    Reach,
)
from s2ws.errors import InstructionRefused
from s2ws.messages import ControlType, InstructionStatus, InstructionStatusUpdate
from s2ws.messages.base import S2Message


@dataclass
class Kind:
    control_type: ControlType
    device: Callable[[], OperationModeDevice[Any, Any]]
    view: Callable[[], OperationModeView[Any, Any]]
    actuator: str
    """"" for OMBC, whose builders take no actuator id."""
    mode_field: str = "operation_mode_id"


KINDS = [
    Kind(ControlType.OPERATION_MODE_BASED_CONTROL, lambda: OMBCDevice(ombc_description(), "off"), OMBCView, ""),
    Kind(
        ControlType.FILL_RATE_BASED_CONTROL,
        lambda: FRBCDevice(frbc_description(), {"act1": ("off", 0.0)}, fill_level=40.0),
        FRBCView,
        "act1",
        "operation_mode",
    ),
    Kind(
        ControlType.DEMAND_DRIVEN_BASED_CONTROL,
        lambda: DDBCDevice(ddbc_description(), {"act1": ("off", 0.0)}),
        DDBCView,
        "act1",
    ),
]


class Wire:
    """Frames between the two sides, each judged by the session context before it is applied."""

    def __init__(self, kind: Kind) -> None:
        self.session = Session().handshake()
        self.session.rm(details())
        self.view = kind.view()
        self.seen: list[S2Message] = []

    def carry(self, message: S2Message, direction: str, now: datetime) -> S2Message:
        received = decode(encode(message))
        assert received == message
        self.session.now = now
        errors = [f for f in self.session.context.check(received, direction, now) if f.severity == "error"]
        assert errors == [], errors
        self.session.send(direction, received)
        return received

    def to_cem(self, messages: list[S2Message], now: datetime) -> list[S2Message]:
        for message in messages:
            self.view.apply(self.carry(message, RM_TO_CEM, now), now)
            self.seen.append(message)
        return messages


def instruct(kind: Kind, view: Any, mode: str, factor: float, when: datetime, now: datetime, **kw: Any) -> Any:
    if kind.actuator:
        return view.instruct(kind.actuator, mode, factor, when, now, **kw)
    return view.instruct(mode, factor, when, now, **kw)


def reach(kind: Kind, view: Any, when: datetime) -> dict[str, Any]:
    found = view.reachable_modes(kind.actuator, when) if kind.actuator else view.reachable_modes(when)
    return {r.mode_id: r for r in found}


def statuses(messages: list[S2Message]) -> list[InstructionStatus]:
    return [m.status_type for m in messages if isinstance(m, InstructionStatusUpdate)]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.control_type.value)
def test_view_and_device_agree(kind: Kind) -> None:
    device, wire = kind.device(), Wire(kind)
    selection = wire.carry(select(kind.control_type), CEM_TO_RM, at(0))
    wire.to_cem(device.handle(selection, at(0)), at(0))
    assert wire.view.description() is not None and wire.view.statuses

    # Switch on at minute 1: the view builds it, the device accepts and executes it.
    switch_on = instruct(kind, wire.view, "on", 0.5, at(1), at(0))
    replies = wire.to_cem(device.handle(wire.carry(switch_on, CEM_TO_RM, at(0)), at(0)), at(0))
    assert statuses(replies) == [InstructionStatus.ACCEPTED]
    assert device.next_wakeup() == at(1)
    done = wire.to_cem(device.tick(at(1)), at(1))
    assert statuses(done) == [InstructionStatus.STARTED, InstructionStatus.SUCCEEDED]
    assert wire.view.instruction_status(switch_on.id) is InstructionStatus.SUCCEEDED
    assert wire.view.expected(kind.actuator, at(2)).mode_id == "on"

    # The device started the minimum run time; the view learnt it from the TimerStatus.
    off = reach(kind, wire.view, at(5))["off"]
    assert off.reach is Reach.LATER and off.at == at(11)
    with pytest.raises(InstructionRefused) as caught:
        instruct(kind, wire.view, "off", 0.0, at(5), at(2))
    # Sent anyway, the same instruction is rejected by the device and flagged by the catalogue,
    # each under the rule the view named.
    template = instruct(kind, wire.view, "on", 0.5, at(5), at(2), record=False)
    forced = replace(template, message_id=mid(), id=mid(), **{kind.mode_field: "off"})
    wire.session.now = at(2)
    assert [f.rule for f in wire.session.context.check(forced, CEM_TO_RM, at(2))] == [caught.value.rule]
    decision = device.receive(forced, at(2))
    assert decision.rule == caught.value.rule and decision.reason == caught.value.reason

    # At minute 11 the view builds it, and the device carries it out.
    switch_off = instruct(kind, wire.view, "off", 0.0, at(11), at(2))
    wire.to_cem(device.handle(wire.carry(switch_off, CEM_TO_RM, at(2)), at(2)), at(2))
    wire.to_cem(device.tick(at(11)), at(11))
    assert wire.view.expected(kind.actuator, at(12)).mode_id == "off"
    assert reach(kind, wire.view, at(12))["on"].at == at(21)  # now the minimum off time runs

    # A pending instruction is aborted when another control type is selected.
    pending = instruct(kind, wire.view, "on", 1.0, at(30), at(12))
    wire.to_cem(device.handle(wire.carry(pending, CEM_TO_RM, at(12)), at(12)), at(12))
    deselect = wire.carry(select(ControlType.NO_SELECTION), CEM_TO_RM, at(13))
    aborted = device.handle(deselect, at(13))
    assert statuses(aborted) == [InstructionStatus.ABORTED]
    assert not device.active and device.next_wakeup() is None


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.control_type.value)
def test_revocation_round_trip(kind: Kind) -> None:
    device, wire = kind.device(), Wire(kind)
    wire.to_cem(device.handle(wire.carry(select(kind.control_type), CEM_TO_RM, at(0)), at(0)), at(0))
    first = instruct(kind, wire.view, "on", 0.5, at(5), at(0))
    wire.to_cem(device.handle(wire.carry(first, CEM_TO_RM, at(0)), at(0)), at(0))
    revocation = wire.carry(wire.view.revoke(first.id, at(1)), CEM_TO_RM, at(1))
    replies = wire.to_cem(device.handle(revocation, at(1)), at(1))
    assert statuses(replies) == [InstructionStatus.REVOKED]
    assert wire.view.pending_instructions() == []
    assert device.tick(at(6)) == []
