"""What OMBC, FRBC and DDBC share: state machines of operation modes, and instructions over them.

Both sides of a session reason the same way about an operation-mode instruction (protocol §4.0):
the description in force at its execution time, the mode expected to be active then (the last
status, followed by the instructions still pending before it), the timers running then, and the
transition between the two modes. :class:`OperationModeState` holds that picture and answers the
questions; the CEM views (``OMBCView``, ``FRBCView``, ``DDBCView``) feed it from received messages,
the RM devices (``OMBCDevice``, ...) from their own state. A refusal names the catalogue rule of
``s2ws.rules`` it breaks, so what a CEM refuses to build is what an RM rejects, under one id.

OMBC has a single machine; it is stored under the actuator id ``""`` so the machinery is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from ..codec import validate
from ..errors import InstructionRefused, ResolutionError
from ..messages import (
    CommodityQuantity,
    ControlType,
    DDBCInstruction,
    DDBCOperationMode,
    DDBCPresentDemandStatus,
    DDBCSystemDescription,
    DDBCSystemDescriptionV1,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCSystemDescription,
    InstructionStatus,
    InstructionStatusUpdate,
    OMBCInstruction,
    OMBCOperationMode,
    OMBCSystemDescription,
    PowerRange,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    Timer,
    Transition,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..rules import ensure_valid_outgoing
from ..rules.catalogue import OM_RULE_IDS
from ..rules.single import fmt_num
from .quantities import QuantityValue, factor_for_quantity, value_of
from .scheduler import Decision, InstructionScheduler
from .timers import Area, TimerBook

__all__ = [
    "DEVICE_POLICY",
    "DescriptionBook",
    "Executor",
    "Expected",
    "Machine",
    "ModeChange",
    "ModeStatus",
    "OMDescription",
    "OMInstruction",
    "OperationMode",
    "OperationModeDevice",
    "OperationModeState",
    "OperationModeView",
    "Policy",
    "Reach",
    "Reachability",
    "Step",
    "check_outgoing",
    "element_for",
    "iso",
    "machines_of",
    "mode_id_of",
    "renewed",
    "series_element",
    "target_of",
]

OperationMode = OMBCOperationMode | FRBCOperationMode | DDBCOperationMode
OMInstruction = OMBCInstruction | FRBCInstruction | DDBCInstruction
OMDescription = OMBCSystemDescription | FRBCSystemDescription | DDBCSystemDescription | DDBCSystemDescriptionV1
D = TypeVar("D", bound=OMDescription)


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


def mode_id_of(mode: OperationMode) -> str:
    """The id of an operation mode (DDBC spells the field ``Id``)."""
    return mode.Id if isinstance(mode, DDBCOperationMode) else mode.id


def _named(ident: str, label: Any) -> str:
    return f"{ident} ({label})" if isinstance(label, str) and label else ident


def _area_of(message: Any) -> Area:
    if isinstance(message, OMBCSystemDescription | OMBCInstruction):
        return "OMBC"
    if isinstance(message, FRBCSystemDescription | FRBCInstruction):
        return "FRBC"
    return "DDBC"


def target_of(instruction: OMInstruction) -> tuple[str, str]:
    """(actuator id, operation mode id) an instruction asks for; OMBC's actuator id is ""."""
    if isinstance(instruction, FRBCInstruction):
        return instruction.actuator_id, instruction.operation_mode
    if isinstance(instruction, OMBCInstruction):
        return "", instruction.operation_mode_id
    return instruction.actuator_id, instruction.operation_mode_id


# --- one state machine -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Machine:
    """One operation-mode state machine: an FRBC/DDBC actuator, or the OMBC system."""

    area: Area
    actuator_id: str
    modes: Mapping[str, OperationMode]
    transitions: Mapping[tuple[str, str], Transition]
    timers: Mapping[str, Timer]
    label: str = ""

    @property
    def owner(self) -> str:
        """How refusals name the machine."""
        if self.area == "OMBC":
            return "the system description"
        return "actuator " + _named(self.actuator_id, self.label)

    def rule(self, key: str) -> str:
        return OM_RULE_IDS[self.area][key]

    def name(self, mode_id: str) -> str:
        """``om1 (Off)``: the id, with the diagnostic label when there is one."""
        mode = self.modes.get(mode_id)
        return _named(mode_id, mode.diagnostic_label if mode is not None else None)

    def mode(self, mode_id: str) -> OperationMode:
        """The mode, or a refusal (instr_om) listing the modes there are."""
        mode = self.modes.get(mode_id)
        if mode is None:
            known = ", ".join(self.modes)
            reason = f"{mode_id} is not an operation mode of {self.owner} (it has {known})"
            raise InstructionRefused(self.rule("instr_om"), _mode_pointer(self.area), reason)
        return mode

    def transition(self, source: str, target: str) -> Transition | None:
        return self.transitions.get((source, target))

    def arrow(self, transition: Transition) -> str:
        """``transition trans1 om1 (Off)→om0 (running)``."""
        return f"transition {transition.id} {self.name(transition.from_)}→{self.name(transition.to)}"


def _mode_pointer(area: Area) -> str:
    return "/operation_mode" if area == "FRBC" else "/operation_mode_id"


def _machine(
    area: Area,
    actuator_id: str,
    modes: Sequence[OperationMode],
    transitions: Sequence[Transition],
    timers: Sequence[Timer],
    label: Any = None,
) -> Machine:
    table: dict[tuple[str, str], Transition] = {}
    for transition in transitions:
        table.setdefault((transition.from_, transition.to), transition)
    return Machine(
        area,
        actuator_id,
        {mode_id_of(m): m for m in modes},
        table,
        {t.id: t for t in timers},
        label if isinstance(label, str) else "",
    )


def machines_of(description: OMDescription) -> dict[str, Machine]:
    """actuator id -> its machine (OMBC: the one machine under "")."""
    if isinstance(description, OMBCSystemDescription):
        ops: Sequence[OperationMode] = description.operation_modes
        return {"": _machine("OMBC", "", ops, description.transitions, description.timers)}
    area = _area_of(description)
    return {
        a.id: _machine(area, a.id, a.operation_modes, a.transitions, a.timers, a.diagnostic_label)
        for a in description.actuators
    }


def element_for(
    mode: FRBCOperationMode, fill_level: float, *, owner: str = "", rule: str = ""
) -> FRBCOperationModeElement:
    """The element of an FRBC mode whose fill-level range holds ``fill_level``.

    Elements are contiguous, so a boundary level belongs to two of them; the one that starts
    there wins (ranges read as [start, end), the topmost also holds its end). A level outside
    every element raises :class:`InstructionRefused` (the FRBC fill_level rule).
    """
    top: FRBCOperationModeElement | None = None
    for element in mode.elements:
        level = element.fill_level_range
        if level.start_of_range <= fill_level < level.end_of_range:
            return element
        if fill_level == level.end_of_range:
            top = element
    if top is not None:
        return top
    covered = ", ".join(
        f"[{fmt_num(e.fill_level_range.start_of_range)}, {fmt_num(e.fill_level_range.end_of_range)}]"
        for e in mode.elements
    )
    where = f" of {owner}" if owner else ""
    reason = (
        f"operation mode {_named(mode.id, mode.diagnostic_label)}{where} has no element for fill level "
        f"{fmt_num(fill_level)} (its elements cover {covered})"
    )
    raise InstructionRefused(rule or OM_RULE_IDS["FRBC"]["fill_level"], "/operation_mode", reason)


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
        index = self._index_at(moment)
        if index < 0 or self._entries[index].revoked:
            return None
        return self._entries[index]

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
                        running[name] = step.at + timedelta(milliseconds=timer.duration)
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


# --- the shared state ------------------------------------------------------------------------


class OperationModeState(Generic[D]):
    """Descriptions, statuses and timers of one operation-mode control type, and the questions
    and checks over them. Subclasses supply the instructions that are still pending (``_steps``).
    """

    area: ClassVar[Area]

    def __init__(self) -> None:
        self.descriptions: DescriptionBook[D] = DescriptionBook()
        self.statuses: dict[str, ModeStatus] = {}
        self.timers = TimerBook(self.area)
        self.fill_level: float | None = None
        """FRBC only: the last reported fill level, the default for fill-level questions."""
        self.now: datetime | None = None
        """The latest moment this state was told about: the default for ``at``."""

    # --- time and lookup ----------------------------------------------------------------------

    def _seen(self, now: datetime) -> None:
        if self.now is None or now > self.now:
            self.now = now

    def _moment(self, at: datetime | None) -> datetime:
        moment = at if at is not None else self.now
        if moment is None:
            reason = f"no {self.area}.SystemDescription was received"
            raise InstructionRefused(self._missing_rule(), self._missing_pointer(), reason)
        return moment

    def _missing_rule(self) -> str:
        return OM_RULE_IDS[self.area]["instr_om" if self.area == "OMBC" else "instr_actuator"]

    def _missing_pointer(self) -> str:
        return _mode_pointer(self.area) if self.area == "OMBC" else "/actuator_id"

    def description(self, at: datetime | None = None) -> D | None:
        """The description in force at ``at`` (default: the latest moment seen)."""
        moment = at if at is not None else self.now
        return None if moment is None else self.descriptions.at(moment)

    def machine(self, actuator_id: str = "", at: datetime | None = None) -> Machine:
        """The machine of ``actuator_id`` in the description in force at ``at``, or a refusal."""
        moment = self._moment(at)
        machines = self.descriptions.machines_at(moment)
        if machines is None:
            if not len(self.descriptions):
                reason = f"no {self.area}.SystemDescription was received"
                raise InstructionRefused(self._missing_rule(), self._missing_pointer(), reason)
            upcoming = self.descriptions.next_after(moment)
            later = f" (the next one is valid from {iso(upcoming.valid_from)})" if upcoming is not None else ""
            reason = f"no {self.area}.SystemDescription is in force at {iso(moment)}{later}"
            raise InstructionRefused(self._missing_rule(), self._missing_pointer(), reason)
        machine = machines.get(actuator_id)
        if machine is None:
            known = ", ".join(machines)
            reason = f"{actuator_id} is not an actuator of the {self.area}.SystemDescription (it has {known})"
            raise InstructionRefused(self._missing_rule(), "/actuator_id", reason)
        return machine

    def actuator_ids(self, at: datetime | None = None) -> list[str]:
        moment = self._moment(at)
        machines = self.descriptions.machines_at(moment)
        return [] if machines is None else list(machines)

    # --- projection ---------------------------------------------------------------------------

    def _steps(self, actuator_id: str, moment: datetime, exclude: str | None) -> list[Step]:
        """Instructions expected to take effect at or before ``moment``, in order."""
        return []

    def expected(self, actuator_id: str = "", at: datetime | None = None, *, exclude: str | None = None) -> Expected:
        """The mode, factor and timers expected at ``at``: the last status followed by the
        pending instructions that take effect by then (``exclude`` leaves one out)."""
        moment = self._moment(at)
        machine = self.machine(actuator_id, moment)
        steps = self._steps(actuator_id, moment, exclude)
        return project(machine, self.statuses.get(actuator_id), self.timers.snapshot(actuator_id), steps)

    # --- the check of §4.0 --------------------------------------------------------------------

    def check(
        self,
        actuator_id: str,
        mode_id: str,
        factor: float,
        abnormal: bool,
        at: datetime,
        *,
        fill_level: float | None = None,
        exclude: str | None = None,
    ) -> OperationMode:
        """Raise :class:`InstructionRefused` unless "mode at factor from ``at``" is valid then.

        The order follows the catalogue: factor, actuator and mode ids, abnormal-only mode,
        transition from the expected mode, abnormal-only transition, blocking timers, and (FRBC)
        an element for the fill level (``fill_level``, else the last reported one).
        """
        if not 0.0 <= factor <= 1.0:
            reason = f"factor {fmt_num(factor)} is outside [0, 1]"
            rule = OM_RULE_IDS[self.area]["instruction_factor"]
            raise InstructionRefused(rule, "/operation_mode_factor", reason)
        machine = self.machine(actuator_id, at)
        mode = machine.mode(mode_id)
        if mode.abnormal_condition_only and not abnormal:
            reason = f"operation mode {machine.name(mode_id)} may only be used under an abnormal condition"
            raise InstructionRefused(machine.rule("abnormal"), "/abnormal_condition", reason)
        expected = self.expected(actuator_id, at, exclude=exclude)
        if expected.mode_id is not None and expected.mode_id != mode_id:
            transition = machine.transition(expected.mode_id, mode_id)
            if transition is None:
                reason = (
                    f"{machine.owner} has no transition {machine.name(expected.mode_id)}→{machine.name(mode_id)}"
                    f"{_expected_words(self, actuator_id, expected, at)}"
                )
                raise InstructionRefused(machine.rule("transition_exists"), _mode_pointer(self.area), reason)
            if transition.abnormal_condition_only and not abnormal:
                reason = f"{machine.arrow(transition)} may only be used under an abnormal condition"
                raise InstructionRefused(machine.rule("abnormal"), "/abnormal_condition", reason)
            blocked = _blocked(machine, transition, expected, at)
            if blocked is not None:
                raise InstructionRefused(machine.rule("transition_blocked"), "/execution_time", blocked[1])
        if isinstance(mode, FRBCOperationMode):
            level = fill_level if fill_level is not None else self.fill_level
            if level is not None:
                element_for(mode, level, owner=machine.owner)
        return mode

    # --- planner questions --------------------------------------------------------------------

    def _reachable_modes(
        self,
        actuator_id: str,
        at: datetime | None = None,
        *,
        abnormal: bool = False,
        fill_level: float | None = None,
    ) -> list[Reachability]:
        """For every mode of the machine: reachable at ``at``, later (and from when), or never, and why."""
        moment = self._moment(at)
        machine = self.machine(actuator_id, moment)
        expected = self.expected(actuator_id, moment)
        level = fill_level if fill_level is not None else self.fill_level
        out: list[Reachability] = []
        for mode_id, mode in machine.modes.items():
            out.append(_reach(machine, mode_id, mode, expected, moment, abnormal, level))
        return out

    def power_ranges(
        self, actuator_id: str, mode_id: str, *, fill_level: float | None = None, at: datetime | None = None
    ) -> list[PowerRange]:
        """The power ranges of a mode (FRBC: of its element for the fill level)."""
        machine = self.machine(actuator_id, at)
        mode = machine.mode(mode_id)
        if isinstance(mode, FRBCOperationMode):
            return list(self._element(machine, mode, fill_level).power_ranges)
        return list(mode.power_ranges)

    def _element(self, machine: Machine, mode: FRBCOperationMode, fill_level: float | None) -> FRBCOperationModeElement:
        level = fill_level if fill_level is not None else self.fill_level
        if level is None:
            if len(mode.elements) == 1:
                return mode.elements[0]
            reason = (
                f"operation mode {machine.name(mode.id)} has {len(mode.elements)} elements "
                "and no fill level is known to choose one"
            )
            raise InstructionRefused(machine.rule("fill_level"), "/operation_mode", reason)
        return element_for(mode, level, owner=machine.owner)

    def _power_at(
        self,
        actuator_id: str,
        mode_id: str,
        factor: float,
        *,
        fill_level: float | None = None,
        at: datetime | None = None,
    ) -> dict[CommodityQuantity, QuantityValue]:
        ranges = self.power_ranges(actuator_id, mode_id, fill_level=fill_level, at=at)
        return {r.commodity_quantity: value_of(r, factor) for r in ranges}

    def _factor_for_power(
        self,
        actuator_id: str,
        mode_id: str,
        quantity: CommodityQuantity,
        value: float,
        *,
        fill_level: float | None = None,
        at: datetime | None = None,
    ) -> float:
        ranges = self.power_ranges(actuator_id, mode_id, fill_level=fill_level, at=at)
        for power_range in ranges:
            if power_range.commodity_quantity is quantity:
                return factor_for_quantity(power_range, value)
        have = ", ".join(r.commodity_quantity.value for r in ranges)
        raise ResolutionError(f"operation mode {mode_id} has no power range for {quantity.value} (it has {have})")


def _expected_words(state: OperationModeState[Any], actuator_id: str, expected: Expected, at: datetime) -> str:
    status = state.statuses.get(actuator_id)
    if status is not None and status.mode_id == expected.mode_id:
        return ""
    return f" (after the instructions pending before {iso(at)})"


def _blocked(machine: Machine, transition: Transition, expected: Expected, at: datetime) -> tuple[datetime, str] | None:
    """(when it unblocks, the reason) if a blocking timer of ``transition`` still runs at ``at``."""
    running = [(expected.timers[n], n) for n in transition.blocking_timers if n in expected.timers]
    running = [(until, name) for until, name in running if until > at]
    if not running:
        return None
    until, name = max(running)
    timer = machine.timers.get(name)
    label = timer.diagnostic_label if timer is not None else None
    others = [n for _, n in running if n != name]
    also = f" (and by {', '.join(others)})" if others else ""
    reason = (
        f"{machine.arrow(transition)} is blocked by timer {_named(name, label)} until {iso(until)}{also}, "
        f"after the execution time {iso(at)}"
    )
    return until, reason


def _reach(
    machine: Machine,
    mode_id: str,
    mode: OperationMode,
    expected: Expected,
    at: datetime,
    abnormal: bool,
    fill_level: float | None,
) -> Reachability:
    name = machine.name(mode_id)
    if mode_id == expected.mode_id:
        return Reachability(mode_id, Reach.ACTIVE, at, f"{name} is the active mode; only the factor changes")
    if mode.abnormal_condition_only and not abnormal:
        reason = f"{name} may only be used under an abnormal condition"
        return Reachability(mode_id, Reach.NEVER, None, reason, rule=machine.rule("abnormal"))
    if isinstance(mode, FRBCOperationMode) and fill_level is not None:
        try:
            element_for(mode, fill_level, owner=machine.owner)
        except InstructionRefused as refusal:
            return Reachability(mode_id, Reach.NEVER, None, refusal.reason, rule=refusal.rule)
    if expected.mode_id is None:
        return Reachability(mode_id, Reach.NOW, at, "the active mode is unknown (no status yet); nothing to check")
    transition = machine.transition(expected.mode_id, mode_id)
    if transition is None:
        reason = f"{machine.owner} has no transition {machine.name(expected.mode_id)}→{name}"
        return Reachability(mode_id, Reach.NEVER, None, reason, rule=machine.rule("transition_exists"))
    if transition.abnormal_condition_only and not abnormal:
        reason = f"{machine.arrow(transition)} may only be used under an abnormal condition"
        return Reachability(mode_id, Reach.NEVER, None, reason, transition, machine.rule("abnormal"))
    blocked = _blocked(machine, transition, expected, at)
    if blocked is not None:
        until, reason = blocked
        return Reachability(mode_id, Reach.LATER, until, reason, transition, machine.rule("transition_blocked"))
    duration = transition.transition_duration
    settle = f", taking {duration} ms" if duration is not UNSET and duration else ""
    return Reachability(mode_id, Reach.NOW, at, f"via {machine.arrow(transition)}{settle}", transition)


# --- the CEM's view ----------------------------------------------------------------------------

_FAILED = frozenset({InstructionStatus.REJECTED, InstructionStatus.REVOKED, InstructionStatus.ABORTED})
Ins = TypeVar("Ins", bound=OMInstruction)


@dataclass(eq=False)
class _Sent:
    """An instruction the view built: it counts as pending until it fails or a status overtakes it."""

    instruction: OMInstruction
    actuator_id: str
    step: Step
    seq: int
    status: InstructionStatus | None = None
    revoked: bool = False

    @property
    def live(self) -> bool:
        return not self.revoked and self.status not in _FAILED


class OperationModeView(OperationModeState[D], Generic[D, Ins]):
    """The CEM's picture of one RM under an operation-mode control type, fed with ``apply``.

    Instructions built by ``instruct`` are remembered as pending, so the next one is judged from
    the mode they will leave behind; an InstructionStatusUpdate REJECTED/REVOKED/ABORTED, a
    revocation or :meth:`forget` takes one out again, and a status received after it took
    effect supersedes it.
    """

    status_types: ClassVar[tuple[type[Any], ...]]
    timer_type: ClassVar[type[Any]]
    description_types: ClassVar[tuple[type[Any], ...]]
    instruction_object: ClassVar[RevokableObjects]
    history: ClassVar[int] = 256

    def __init__(self) -> None:
        super().__init__()
        self._sent: dict[str, _Sent] = {}
        self._seq = 0

    # --- feeding ------------------------------------------------------------------------------

    def apply(self, message: S2Message, now: datetime) -> bool:
        """Take in a message received from the RM (or sent to it); False when it means nothing here."""
        self._seen(now)
        if isinstance(message, self.description_types):
            self.descriptions.add(message, now)
            return True
        if isinstance(message, self.status_types):
            actuator = getattr(message, "actuator_id", "")
            previous = message.previous_operation_mode_id
            stamp = message.transition_timestamp
            self.statuses[actuator] = ModeStatus(
                message.active_operation_mode_id,
                message.operation_mode_factor,
                None if previous is UNSET else previous,
                None if stamp is UNSET else stamp,
                now,
            )
            return True
        if isinstance(message, self.timer_type):
            self.timers.set(getattr(message, "actuator_id", ""), message.timer_id, message.finished_at)
            return True
        if isinstance(message, InstructionStatusUpdate):
            sent = self._sent.get(message.instruction_id)
            if sent is None:
                return False
            sent.status = message.status_type
            return True
        if isinstance(message, RevokeObject):
            if message.object_type.value == f"{self.area}.SystemDescription":
                return self.descriptions.revoke(message.object_id)
            return False
        return self._apply_more(message, now)

    def _apply_more(self, message: S2Message, now: datetime) -> bool:
        return False

    def clear(self) -> None:
        """Forget everything (the control type was deselected or the session ended)."""
        self.descriptions.clear()
        self.statuses.clear()
        self.timers.clear()
        self.fill_level = None
        self._sent.clear()

    # --- pending instructions -----------------------------------------------------------------

    def _steps(self, actuator_id: str, moment: datetime, exclude: str | None) -> list[Step]:
        status = self.statuses.get(actuator_id)
        since = None if status is None else status.since
        chosen = [
            s
            for s in self._sent.values()
            if s.actuator_id == actuator_id
            and s.live
            and s.instruction.id != exclude
            and s.step.at <= moment
            and (since is None or s.step.at >= since)
        ]
        chosen.sort(key=lambda s: (s.step.at, s.seq))
        return [s.step for s in chosen]

    def _record(self, instruction: Ins, actuator_id: str, step: Step) -> None:
        self._seq += 1
        self._sent[instruction.id] = _Sent(instruction, actuator_id, step, self._seq)
        if len(self._sent) > self.history:
            for key in [k for k, s in self._sent.items() if not s.live][: len(self._sent) - self.history]:
                del self._sent[key]
            if len(self._sent) > self.history:
                del self._sent[next(iter(self._sent))]

    def pending_instructions(self, actuator_id: str | None = None) -> list[Ins]:
        """Instructions built here that still count (not failed, revoked or forgotten), in order."""
        chosen = [s for s in self._sent.values() if s.live and (actuator_id is None or s.actuator_id == actuator_id)]
        chosen.sort(key=lambda s: (s.step.at, s.seq))
        return [s.instruction for s in chosen]  # type: ignore[misc]

    def instruction_status(self, instruction_id: str) -> InstructionStatus | None:
        """The last status the RM reported for an instruction built here."""
        sent = self._sent.get(instruction_id)
        return None if sent is None else sent.status

    def forget(self, instruction_id: str) -> None:
        """Drop an instruction that was built but never sent (or whose send failed)."""
        self._sent.pop(instruction_id, None)

    def revoke(self, instruction_id: str, now: datetime) -> RevokeObject:
        """The RevokeObject for an instruction built here; from now on it no longer counts."""
        self._seen(now)
        sent = self._sent.get(instruction_id)
        if sent is not None:
            sent.revoked = True
        return RevokeObject(message_id=new_id(), object_type=self.instruction_object, object_id=instruction_id)

    # --- building -----------------------------------------------------------------------------

    def _build(self, actuator_id: str, mode_id: str, factor: float, execution_time: datetime, abnormal: bool) -> Ins:
        raise NotImplementedError

    def _instruct(
        self,
        actuator_id: str,
        mode_id: str,
        factor: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool,
        fill_level: float | None,
        record: bool,
    ) -> Ins:
        self._seen(now)
        moment = max(execution_time, now)
        self.check(actuator_id, mode_id, factor, abnormal, moment, fill_level=fill_level)
        instruction = self._build(actuator_id, mode_id, factor, execution_time, abnormal)
        if record:
            self._record(instruction, actuator_id, Step(moment, mode_id, factor))
        return instruction

    def _instruct_power(
        self,
        actuator_id: str,
        mode_id: str,
        quantity: CommodityQuantity,
        value: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool,
        fill_level: float | None,
        record: bool,
    ) -> Ins:
        self._seen(now)
        moment = max(execution_time, now)
        machine = self.machine(actuator_id, moment)
        try:
            factor = self._factor_for_power(actuator_id, mode_id, quantity, value, fill_level=fill_level, at=moment)
        except ResolutionError as error:
            raise InstructionRefused(
                machine.rule("instruction_factor"),
                "/operation_mode_factor",
                f"operation mode {machine.name(mode_id)}: {error}",
            ) from error
        return self._instruct(actuator_id, mode_id, factor, execution_time, now, abnormal, fill_level, record)


# --- the RM's building block -----------------------------------------------------------------

DEVICE_POLICY = "device-policy"
"""The ``rule`` of a refusal that came from the device's own ``accept`` policy, not the catalogue."""


@dataclass(frozen=True, slots=True)
class ModeChange:
    """A change of mode or factor the device is asked to make (or makes on its own)."""

    actuator_id: str
    """"" for OMBC."""
    mode_id: str
    factor: float
    previous_mode_id: str | None
    transition: Transition | None
    """The transition it follows; None for a factor change or a change without transition."""
    at: datetime
    instruction: OMInstruction | None = None
    """The instruction that asks for it; None when the RM changes on its own."""


Executor = Callable[[ModeChange], None]
"""Carries a change out on the device; raising aborts the instruction (ABORTED, with the message)."""
Policy = Callable[[ModeChange], str | None]
"""The device's own judgement of an instruction beyond the rules: a reason to reject it, or None."""


class OperationModeDevice(OperationModeState[D], Generic[D, Ins]):
    """An RM's side of an operation-mode control type, without I/O.

    The device author supplies the description, the mode each machine starts in, and callbacks:
    ``on_change`` carries a change out, ``accept`` may reject an instruction for reasons of its
    own (comfort, safety). Everything else follows the standard: instructions are checked against
    the rules and the device's own state, scheduled for their execution time, reported through
    their lifecycle, timers are started on transitions and published, and deselection aborts what
    is pending. Every method returns the messages to send, in order; while the control type is
    not selected, changes are kept but nothing is sent.
    """

    control_type: ClassVar[ControlType]
    instruction_type: ClassVar[type[Any]]
    instruction_object: ClassVar[RevokableObjects]

    def __init__(
        self,
        description: D,
        initial: Mapping[str, tuple[str, float]],
        *,
        on_change: Executor | None = None,
        accept: Policy | None = None,
        strict_ids: bool = False,
    ) -> None:
        super().__init__()
        check_outgoing(description, description.valid_from)
        self.descriptions.add(description, description.valid_from)
        machines = machines_of(description)
        for actuator_id in machines:
            if actuator_id not in initial:
                raise ValueError(f"no initial operation mode for {machines[actuator_id].owner}")
        for actuator_id, (mode_id, factor) in initial.items():
            machine = machines.get(actuator_id)
            if machine is None:
                raise ValueError(f"{actuator_id!r} is not an actuator of the description")
            if mode_id not in machine.modes or not 0.0 <= factor <= 1.0:
                raise ValueError(f"{mode_id!r} at factor {factor} is not a valid state of {machine.owner}")
            self.statuses[actuator_id] = ModeStatus(mode_id, factor)
        self.on_change = on_change
        self.accept = accept
        self.strict_ids = strict_ids
        """Answer instructions with unknown ids or a factor outside [0, 1] with INVALID_CONTENT
        (raise from ``handle``) rather than ReceptionStatus OK plus REJECTED."""
        self.active = False
        self._activated = False
        self._aliases: dict[str, str] = {}
        """message_id a description was published with -> the one it was last sent with."""
        self.scheduler: InstructionScheduler[Ins] = InstructionScheduler(self._judge)

    # --- the session's messages ---------------------------------------------------------------

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        """React to a message from the CEM: SelectControlType, an instruction, or its revocation.

        Raises :class:`InvalidContent` where the ReceptionStatus should say so (revoking an
        unknown instruction; with ``strict_ids``, an instruction naming unknown ids).
        """
        self._seen(now)
        if isinstance(message, SelectControlType):
            out: list[S2Message] = []
            if self.active:
                out.extend(self.deactivate(now))
            if message.control_type is self.control_type:
                out.extend(self.activate(now))
            return out
        if isinstance(message, self.instruction_type):
            decision = self.receive(message, now)
            if self.strict_ids and not decision.accepted and not decision.rejectable and not decision.duplicate:
                raise decision.as_invalid_content()
            return [*decision.messages, *self.tick(now)]
        if isinstance(message, RevokeObject) and message.object_type is self.instruction_object:
            return [*self.revoke(message.object_id, now)]
        return []

    def activate(self, now: datetime) -> list[S2Message]:
        """The control type was selected: description(s), statuses, extras, running timers."""
        self._seen(now)
        self.active = True
        out: list[S2Message] = []
        if self._activated:  # sent before: the same message ids again would read as duplicates
            for old, renewed in self.descriptions.renew(now):
                self._aliases.update({k: renewed.message_id for k, v in self._aliases.items() if v == old})
                self._aliases[old] = renewed.message_id
        self._activated = True
        current = self.descriptions.at(now)
        if current is not None:
            out.append(current)
        out.extend(self.descriptions.scheduled(now))
        out.extend(self.status_messages())
        out.extend(self._extra_messages(now))
        out.extend(self.timers.statuses(now))
        return out

    def deactivate(self, now: datetime) -> list[S2Message]:
        """Another control type (or none) was selected: every open instruction is ABORTED."""
        self._seen(now)
        out: list[S2Message] = [*self.scheduler.deactivate(now)]
        self.active = False
        return out

    def receive(self, instruction: Ins, now: datetime) -> Decision:
        """Judge and schedule an instruction (see :class:`InstructionScheduler`)."""
        self._seen(now)
        return self.scheduler.submit(instruction, now)

    def revoke(self, instruction_id: str, now: datetime) -> list[S2Message]:
        self._seen(now)
        return [*self.scheduler.revoke(instruction_id, now)]

    def next_wakeup(self) -> datetime | None:
        """When :meth:`tick` should run next (None: nothing is waiting)."""
        return self.scheduler.next_wakeup()

    def tick(self, now: datetime) -> list[S2Message]:
        """Carry out every instruction whose execution time has come."""
        self._seen(now)
        out: list[S2Message] = []
        for instruction in self.scheduler.due(now):
            out.extend(self.execute(instruction, now))
        return out

    # --- executing ----------------------------------------------------------------------------

    def take_due(self, now: datetime) -> list[Ins]:
        """The due instructions, for a driver that executes them itself (``begin`` … ``complete``)."""
        self._seen(now)
        return self.scheduler.due(now)

    def execute(self, instruction: Ins, now: datetime) -> list[S2Message]:
        """begin, ``on_change``, complete: SUCCEEDED, or ABORTED when the change is no longer
        valid or ``on_change`` raises."""
        out = self.begin(instruction, now)
        if self.scheduler.status(instruction.id) is not InstructionStatus.STARTED:
            return out
        if self.on_change is not None:
            try:
                self.on_change(self._change_for(instruction, now))
            except Exception as error:  # the device's failure is the instruction's ABORTED, not a crash
                return [*out, *self.scheduler.abort(instruction.id, now, reason=str(error) or type(error).__name__)]
        return [*out, *self.complete(instruction.id, now)]

    def begin(self, instruction: Ins, now: datetime) -> list[S2Message]:
        """Re-check the instruction against the state now, then STARTED (or ABORTED, with the reason)."""
        self._seen(now)
        actuator_id, mode_id = target_of(instruction)
        try:
            self.check(
                actuator_id,
                mode_id,
                instruction.operation_mode_factor,
                instruction.abnormal_condition,
                now,
                exclude=instruction.id,
            )
        except InstructionRefused as refusal:
            return [*self.scheduler.abort(instruction.id, now, reason=refusal.reason)]
        return [*self.scheduler.start(instruction.id, now)]

    def complete(self, instruction_id: str, now: datetime, *, ok: bool = True, reason: str = "") -> list[S2Message]:
        """The device finished (``ok``) or failed: new status and timers, then SUCCEEDED or ABORTED."""
        self._seen(now)
        instruction = self.scheduler.get(instruction_id)
        if instruction is None or not ok:
            return [*self.scheduler.abort(instruction_id, now, reason=reason)]
        actuator_id, mode_id = target_of(instruction)
        changed = self._apply_change(actuator_id, mode_id, instruction.operation_mode_factor, now)
        return [*changed, *self.scheduler.succeed(instruction_id, now)]

    def _change_for(self, instruction: Ins, now: datetime) -> ModeChange:
        actuator_id, mode_id = target_of(instruction)
        current = self.statuses.get(actuator_id)
        previous = None if current is None else current.mode_id
        transition = None
        if previous is not None and previous != mode_id:
            transition = self.machine(actuator_id, now).transition(previous, mode_id)
        return ModeChange(
            actuator_id, mode_id, instruction.operation_mode_factor, previous, transition, now, instruction
        )

    def _judge(self, instruction: Ins, now: datetime) -> None:
        actuator_id, mode_id = target_of(instruction)
        moment = max(instruction.execution_time, now)
        self.check(actuator_id, mode_id, instruction.operation_mode_factor, instruction.abnormal_condition, moment)
        if self.accept is not None:
            expected = self.expected(actuator_id, moment)
            transition = None
            if expected.mode_id is not None and expected.mode_id != mode_id:
                transition = self.machine(actuator_id, moment).transition(expected.mode_id, mode_id)
            change = ModeChange(
                actuator_id,
                mode_id,
                instruction.operation_mode_factor,
                expected.mode_id,
                transition,
                moment,
                instruction,
            )
            reason = self.accept(change)
            if reason:
                raise InstructionRefused(DEVICE_POLICY, "", reason)

    def _steps(self, actuator_id: str, moment: datetime, exclude: str | None) -> list[Step]:
        out: list[Step] = []
        for instruction in self.scheduler.open():
            if instruction.id == exclude:
                break  # judged again when due: only the instructions before it count
            target = target_of(instruction)
            if target[0] == actuator_id and instruction.execution_time <= moment:
                at = instruction.execution_time if self.now is None else max(instruction.execution_time, self.now)
                out.append(Step(at, target[1], instruction.operation_mode_factor))
        return out

    # --- the device's own changes -------------------------------------------------------------

    def _apply_change(self, actuator_id: str, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
        machine = self.machine(actuator_id, now)
        machine.mode(mode_id)
        current = self.statuses.get(actuator_id)
        out: list[S2Message] = []
        if current is None or current.mode_id != mode_id:
            transition = None if current is None else machine.transition(current.mode_id, mode_id)
            timers = [] if transition is None else self.timers.start(actuator_id, transition, machine.timers, now)
            previous = None if current is None else current.mode_id
            status = ModeStatus(mode_id, factor, previous, None if current is None else now, now)
            self.statuses[actuator_id] = status
            out.append(self._status_message(actuator_id, status))
            out.extend(timers)
        else:
            status = ModeStatus(mode_id, factor, current.previous_mode_id, current.transition_timestamp, now)
            self.statuses[actuator_id] = status
            out.append(self._status_message(actuator_id, status))
        return out if self.active else []

    def _set_mode(self, actuator_id: str, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
        self._seen(now)
        if not 0.0 <= factor <= 1.0:
            raise ValueError(f"factor {factor} is outside [0, 1]")
        return self._apply_change(actuator_id, mode_id, factor, now)

    def publish_description(self, description: D, now: datetime) -> list[S2Message]:
        """A new description (valid from its ``valid_from``); it supersedes the older ones then."""
        self._seen(now)
        check_outgoing(description, now)
        self.descriptions.add(description, now)
        return [description] if self.active else []

    def revoke_description(self, message_id: str, now: datetime) -> list[S2Message]:
        """Withdraw a description by its message_id (the RevokeObject to send). The id it was
        published with works, also after a re-selection sent it again under a fresh one."""
        self._seen(now)
        message_id = self._aliases.get(message_id, message_id)
        if not self.descriptions.revoke(message_id):
            raise ValueError(f"no description with message_id {message_id} is kept")
        object_type = RevokableObjects(f"{self.area}.SystemDescription")
        revoke = RevokeObject(message_id=new_id(), object_type=object_type, object_id=message_id)
        return [revoke] if self.active else []

    # --- messages of the current state --------------------------------------------------------

    def status_messages(self) -> list[S2Message]:
        """The status of every machine, as the CEM should see it now."""
        return [self._status_message(actuator_id, status) for actuator_id, status in self.statuses.items()]

    def _status_message(self, actuator_id: str, status: ModeStatus) -> S2Message:
        raise NotImplementedError

    def _extra_messages(self, now: datetime) -> list[S2Message]:
        """What a control type sends after the statuses on activation (storage, forecasts, ...);
        kept messages are sent again under fresh message ids (:func:`renewed`)."""
        return []


E = TypeVar("E")


def series_element(start_time: datetime, elements: Sequence[E], moment: datetime, durations: Sequence[int]) -> E | None:
    """The element of a consecutive series (forecast, target profile) that covers ``moment``;
    element i runs from start_time + the durations before it. None outside the series."""
    if moment < start_time:
        return None
    offset_ms = (moment - start_time).total_seconds() * 1000
    end = 0
    for element, duration in zip(elements, durations, strict=True):
        end += duration
        if offset_ms < end:
            return element
    return None
