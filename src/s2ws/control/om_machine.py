"""Operation-mode machinery shared by OMBC, FRBC and DDBC: one state machine per actuator (or
the OMBC system), the descriptions over time, and the projection of statuses and instructions
onto what a machine will do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

import msgspec

from ..codec import validate
from ..messages import (
    DDBCInstruction,
    DDBCPresentDemandStatus,
    DDBCSystemDescriptionV1,
    FRBCInstruction,
    OMBCInstruction,
    Transition,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..messages.timeline import later
from ..rules import ensure_valid_outgoing
from ..rules.om_machine import (
    Machine,
    OMDescription,
    OperationMode,
    machines_of,
    mode_id_of,
)
from ..rules.om_rules import element_for
from ..rules.validity import in_force

__all__ = [
    "D",
    "DescriptionBook",
    "Expected",
    "Ins",
    "Machine",
    "ModeStatus",
    "OMDescription",
    "OMInstruction",
    "OperationMode",
    "Reach",
    "Reachability",
    "Step",
    "check_outgoing",
    "element_for",
    "iso",
    "machines_of",
    "mode_id_of",
    "renewed",
    "target_of",
]

OMInstruction = OMBCInstruction | FRBCInstruction | DDBCInstruction
D = TypeVar("D", bound=OMDescription)
Ins = TypeVar("Ins", bound=OMInstruction)


def iso(moment: datetime) -> str:
    """RFC 3339 as it appears on the wire (UTC written as Z)."""
    return moment.isoformat().replace("+00:00", "Z")


def check_outgoing(message: S2Message, now: datetime) -> None:
    """Refuse (EncodeError, InvalidContent) a message a device author built that must not be sent:
    schema first (in the profile the message belongs to), then the single-message rules."""
    v1 = isinstance(message, DDBCSystemDescriptionV1 | DDBCPresentDemandStatus)
    validate(message, "1.0.0" if v1 else "0.0.2-beta")
    ensure_valid_outgoing(message, None, now)


M = TypeVar("M", bound=S2Message)


def renewed(message: M) -> M:
    """The same message under a fresh message_id, to send it again in one session."""
    return msgspec.structs.replace(message, message_id=new_id())


def target_of(instruction: OMInstruction) -> tuple[str, str]:
    """(actuator id, operation mode id) an instruction asks for; OMBC's actuator id is ""."""
    if isinstance(instruction, FRBCInstruction):
        return instruction.actuator_id, instruction.operation_mode
    if isinstance(instruction, OMBCInstruction):
        return "", instruction.operation_mode_id
    return instruction.actuator_id, instruction.operation_mode_id


# --- one state machine -----------------------------------------------------------------------


# --- descriptions over time ------------------------------------------------------------------


@dataclass(eq=False)
class _Entry(Generic[D]):
    description: D
    machines: dict[str, Machine]
    seq: int
    revoked: bool = False


class DescriptionBook(Generic[D]):
    """The system descriptions of one control type: the one in force and the scheduled ones.

    A description with ``valid_from`` in the future is scheduled; from its ``valid_from`` it
    supersedes every older one (§3.6). Revocation names the description's ``message_id`` (§3.8)
    and makes it invalid at once: from its ``valid_from`` on, no description is in force until a
    newer one starts (the reading of the rule catalogue). Superseded descriptions are dropped.
    """

    def __init__(self, limit: int = 16) -> None:
        self._entries: list[_Entry[D]] = []
        self._seq = 0
        self._limit = limit

    def add(self, description: D, now: datetime) -> None:
        self._seq += 1
        self._entries.append(_Entry(description, machines_of(description), self._seq))
        self._entries.sort(key=lambda e: (e.description.valid_from, e.seq))
        self._prune(now)

    def revoke(self, message_id: str) -> bool:
        """Revoke by the SystemDescription's message_id; False when no such one is known."""
        for entry in self._entries:
            if entry.description.message_id == message_id and not entry.revoked:
                entry.revoked = True
                return True
        return False

    def _prune(self, now: datetime) -> None:
        current = self._index_at(now)
        if current > 0:
            del self._entries[:current]
        while len(self._entries) > self._limit:
            del self._entries[0]

    def _index_at(self, moment: datetime) -> int:
        found = -1
        for index, entry in enumerate(self._entries):
            if entry.description.valid_from <= moment:
                found = index
            else:
                break
        return found

    def _entry_at(self, moment: datetime) -> _Entry[D] | None:
        entry = in_force(self._entries, moment, lambda e: e.description.valid_from)  # sorted by (valid_from, arrival)
        return None if entry is None or entry.revoked else entry

    def at(self, moment: datetime) -> D | None:
        """The description in force at ``moment`` (None before the first, or after a revocation)."""
        entry = self._entry_at(moment)
        return None if entry is None else entry.description

    def machines_at(self, moment: datetime) -> dict[str, Machine] | None:
        entry = self._entry_at(moment)
        return None if entry is None else entry.machines

    def scheduled(self, now: datetime) -> list[D]:
        """Descriptions that start after ``now``, earliest first (revoked ones left out)."""
        return [e.description for e in self._entries if e.description.valid_from > now and not e.revoked]

    def renew(self, now: datetime) -> list[tuple[str, D]]:
        """Give the description in force and the scheduled ones fresh message ids, for sending
        them again in the same session (a repeated message_id reads as a duplicate). Returns
        (old message_id, renewed description), in force first."""
        out: list[tuple[str, D]] = []
        for entry in self._entries[max(self._index_at(now), 0) :]:
            if entry.revoked:
                continue
            old = entry.description.message_id
            entry.description = msgspec.structs.replace(entry.description, message_id=new_id())
            out.append((old, entry.description))
        return out

    def next_after(self, moment: datetime) -> D | None:
        later = self.scheduled(moment)
        return later[0] if later else None

    def get(self, message_id: str) -> D | None:
        for entry in self._entries:
            if entry.description.message_id == message_id:
                return entry.description
        return None

    def all(self) -> list[D]:
        """Every description still kept (in force, scheduled, revoked), in validity order."""
        return [e.description for e in self._entries]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# --- status and projection -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModeStatus:
    """The active mode of one machine as last reported (CEM) or set (RM)."""

    mode_id: str
    factor: float
    previous_mode_id: str | None = None
    transition_timestamp: datetime | None = None
    since: datetime | None = None
    """When the status was received (CEM) or set (RM); instructions that took effect before it
    are already reflected in it."""

    def transitioning(self, machine: Machine, at: datetime) -> bool:
        """Still inside the transition's duration at ``at`` (the device does not yet behave like the mode)."""
        if self.previous_mode_id is None or self.transition_timestamp is None:
            return False
        transition = machine.transition(self.previous_mode_id, self.mode_id)
        if transition is None or transition.transition_duration is UNSET:
            return False
        return (at - self.transition_timestamp).total_seconds() * 1000 < transition.transition_duration


@dataclass(frozen=True, slots=True)
class Step:
    """An instruction expected to take effect: ``mode_id`` at ``factor`` from ``at``."""

    at: datetime
    mode_id: str
    factor: float


@dataclass(frozen=True, slots=True)
class Expected:
    """The projected state of one machine at a moment."""

    mode_id: str | None
    """None when no status was received and no instruction is pending: the mode is unknown."""
    factor: float | None
    timers: Mapping[str, datetime]
    """Timer id -> finish time, including timers the pending instructions will start."""


def project(
    machine: Machine, status: ModeStatus | None, timers: Mapping[str, datetime], steps: Iterable[Step]
) -> Expected:
    """Replay ``steps`` (in order) over the status: each mode change along a transition
    (re)starts that transition's timers at the step's time."""
    mode = None if status is None else status.mode_id
    factor = None if status is None else status.factor
    running = dict(timers)
    for step in steps:
        if mode is not None and step.mode_id != mode:
            transition = machine.transition(mode, step.mode_id)
            if transition is not None:
                for name in transition.start_timers:
                    timer = machine.timers.get(name)
                    if timer is not None:
                        running[name] = later(step.at, timer.duration)
        mode, factor = step.mode_id, step.factor
    return Expected(mode, factor, running)


class Reach(StrEnum):
    """How a mode can be reached from the mode expected at some moment."""

    ACTIVE = "active"
    """It is the expected mode: only the factor changes, which is always allowed."""
    NOW = "now"
    """A transition leads there and nothing blocks it."""
    LATER = "later"
    """A transition leads there, but a blocking timer runs until ``Reachability.at``."""
    NEVER = "never"
    """No allowed transition, an abnormal-only item, or (FRBC) no element for the fill level."""


@dataclass(frozen=True, slots=True)
class Reachability:
    """One mode's answer to "can I go there at this moment, and if not, when"."""

    mode_id: str
    reach: Reach
    at: datetime | None
    """The earliest moment it can be reached (None for NEVER)."""
    reason: str
    transition: Transition | None = None
    rule: str | None = None
    """The catalogue rule that blocks it (LATER, NEVER)."""

    @property
    def reachable(self) -> bool:
        return self.reach is Reach.ACTIVE or self.reach is Reach.NOW
