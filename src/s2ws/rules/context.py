"""What a session has seen, and the rules that need it.

A :class:`SessionContext` is fed every message of one session in order, with its direction
and the time it went over the wire. ``check`` judges a message against what came before
without changing anything; ``apply`` records it. The same object serves a live session (the
engine applies what it sent and what it accepted) and a replay (which applies everything and
lets the receiver's ReceptionStatus undo what was refused).

Memory is bounded: ids, instructions and unanswered messages are kept for the most recent
few thousand, so an idle session costs little and a long one cannot grow without limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any, Final

import msgspec

from ..findings import Finding
from ..messages import common, ddbc, frbc, ombc, pebc, ppbc
from ..messages.base import ID_MATCH_PATTERN, NIL_ID, UNSET, S2Message, message_type_of
from ..messages.catalogue import MESSAGE_INFO
from ..messages.enums import (
    ControlType,
    EnergyManagementRole,
    InstructionStatus,
    PPBCPowerSequenceStatus,
    ReceptionStatusValues,
)
from ..messages.profiles import get_profile, normalize_version
from ..messages.states import INSTRUCTION_TERMINAL, Phase, check_allowed
from .catalogue import OM_RULE_IDS, finding
from .lifecycle import judge_status_report
from .pebc_rules import judge_pebc_instruction
from .session_rules import (
    judge_handshake_role,
    judge_instruction_id,
    judge_revoke,
    judge_select,
    judge_selected_version,
)
from .single import check_message, fmt_num, sequence_duration_ms, single_rules

if TYPE_CHECKING:
    import msgspec.inspect

__all__ = ["CEM_TO_RM", "DIRECTIONS", "RM_TO_CEM", "SessionContext", "ensure_valid_outgoing"]

CEM_TO_RM: Final = "cem>rm"
RM_TO_CEM: Final = "rm>cem"
CEM = EnergyManagementRole.CEM
RM = EnergyManagementRole.RM
DIRECTIONS: Final = {CEM_TO_RM: CEM, RM_TO_CEM: RM}
_OK = ReceptionStatusValues.OK
_PERMANENT_ERROR = ReceptionStatusValues.PERMANENT_ERROR

Out = list[Finding]
_Step = tuple[Callable[[Any, Any, Any], None], Any, Any, Any]
Undo = list[_Step] | None
"""How to take back what ``apply`` changed: steps ``(function, a, b, c)`` run last first as
``function(a, b, c)``; None when the message was answered before it was applied (nothing to take
back). Tuples rather than closures: cheap to build for every message, and never a cell."""
_MISSING: Final[Any] = object()

_TERMINAL: Final = INSTRUCTION_TERMINAL
_FAILED: Final = INSTRUCTION_TERMINAL - {InstructionStatus.SUCCEEDED}

_INSTRUCTIONS: Final = frozenset(
    {
        "PEBC.Instruction",
        "PPBC.ScheduleInstruction",
        "PPBC.StartInterruptionInstruction",
        "PPBC.EndInterruptionInstruction",
        "OMBC.Instruction",
        "FRBC.Instruction",
        "DDBC.Instruction",
    }
)
_DESCRIPTIONS: Final = frozenset({"OMBC.SystemDescription", "FRBC.SystemDescription", "DDBC.SystemDescription"})
_MAX_IDS = 256
_MAX_PENDING = 4096
_MAX_ANSWERED = 4096
_MAX_INSTRUCTIONS = 4096
_MAX_DESCRIPTIONS = 8
_MAX_EARLY = 64
_MAX_PER_ACTUATOR = 64
_TYPE_NAMES: dict[type[S2Message], str] = {}


def _type_name(message: S2Message) -> str:
    cls = type(message)
    name = _TYPE_NAMES.get(cls)
    if name is None:
        name = _TYPE_NAMES[cls] = message_type_of(cls)
    return name


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _bounded_put(table: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """Remember ``key`` (at the end unless it is there already); keep at least the last ``limit``."""
    table[key] = value
    if len(table) > limit + (limit >> 3):
        _forget_oldest(table, limit)


def _forget_oldest(table: dict[Any, Any], limit: int) -> None:
    """Drop the oldest entries down to ``limit``, an eighth of the table at a time.

    Dropping one entry per insertion looks cheaper but is not: a dict's oldest live entry sits
    behind every deleted slot at the front, and ``next(iter(table))`` walks them all each time
    (about 1 µs per insertion at 4096 entries). Batches keep it to one walk per ``limit / 8``
    insertions; the price is up to an eighth more entries than ``limit``.
    """
    for key in list(islice(table, len(table) - limit)):
        del table[key]


def _restore_item(table: dict[Any, Any], key: Any, old: Any) -> None:
    if old is _MISSING:
        table.pop(key, None)
    else:
        table[key] = old


def _restore_attr(target: Any, name: str, old: Any) -> None:
    setattr(target, name, old)


def _discard(items: list[Any], item: Any, _: Any) -> None:
    if item in items:
        items.remove(item)


# --- what the context keeps ------------------------------------------------------------------


@dataclass(eq=False)
class _Instruction:
    """One instruction the CEM sent, and what became of it."""

    message: Any
    message_id: str
    type: str
    effective: datetime
    """When it takes effect: its execution_time, or when it was sent if that is later."""
    status: InstructionStatus | None = None
    status_time: datetime | None = None
    revoked: bool = False

    @property
    def live(self) -> bool:
        return not self.revoked and self.status not in _FAILED


@dataclass(frozen=True, eq=False)
class _Machine:
    """An operation-mode state machine: an FRBC/DDBC actuator, or the OMBC system."""

    modes: dict[str, Any]
    transitions: dict[tuple[str, str], common.Transition]
    timers: dict[str, common.Timer]


@dataclass(eq=False)
class _Description:
    message: Any
    message_id: str
    valid_from: datetime
    machines: dict[str, _Machine]
    revoked: bool = False


@dataclass(eq=False)
class _Published:
    """An object with an id the RM published (constraints, profile definitions)."""

    message: Any
    message_id: str
    revoked: bool = False


@dataclass(eq=False)
class _Status:
    mode: str
    at: datetime


@dataclass(eq=False)
class _ControlState:
    """Everything that belongs to the active control type; replaced when it changes."""

    descriptions: list[_Description] = field(default_factory=list)
    statuses: dict[str, _Status] = field(default_factory=dict)
    timers: dict[tuple[str, str], datetime] = field(default_factory=dict)
    fill_level: float | None = None
    constraints: dict[str, _Published] = field(default_factory=dict)
    energy: dict[str, _Published] = field(default_factory=dict)
    profiles: dict[str, _Published] = field(default_factory=dict)
    pending: dict[str, list[_Instruction]] = field(default_factory=dict)
    """actuator ("" for OMBC) -> its most recent instructions, oldest first (at most 64)."""
    sequences: dict[tuple[str, str], tuple[str | None, PPBCPowerSequenceStatus]] = field(default_factory=dict)
    """(profile, container) -> (sequence, state) as the latest status or instruction left it."""
    schedules: dict[tuple[str, str], _Instruction] = field(default_factory=dict)


def _machine(modes: list[Any], transitions: list[common.Transition], timers: list[common.Timer], key: str) -> _Machine:
    table: dict[tuple[str, str], common.Transition] = {}
    for transition in transitions:
        table.setdefault((transition.from_, transition.to), transition)
    return _Machine({getattr(m, key): m for m in modes}, table, {t.id: t for t in timers})


def _machines(message: Any) -> dict[str, _Machine]:
    if isinstance(message, ombc.OMBCSystemDescription):
        return {"": _machine(message.operation_modes, message.transitions, message.timers, "id")}
    key = "Id" if isinstance(message, ddbc.DDBCSystemDescription | ddbc.DDBCSystemDescriptionV1) else "id"
    return {a.id: _machine(a.operation_modes, a.transitions, a.timers, key) for a in message.actuators}


def _cost_pointer(message: Any) -> str | None:
    """Where a description first publishes cost information, if it does."""
    if isinstance(message, ombc.OMBCSystemDescription):
        for i, om in enumerate(message.operation_modes):
            if om.running_costs is not UNSET:
                return f"/operation_modes/{i}/running_costs"
        for i, transition in enumerate(message.transitions):
            if transition.transition_costs is not UNSET:
                return f"/transitions/{i}/transition_costs"
        return None
    for a, actuator in enumerate(message.actuators):
        for j, om in enumerate(actuator.operation_modes):
            if isinstance(om, frbc.FRBCOperationMode):
                for k, element in enumerate(om.elements):
                    if element.running_costs is not UNSET:
                        return f"/actuators/{a}/operation_modes/{j}/elements/{k}/running_costs"
            elif om.running_costs is not UNSET:
                return f"/actuators/{a}/operation_modes/{j}/running_costs"
        for i, transition in enumerate(actuator.transitions):
            if transition.transition_costs is not UNSET:
                return f"/actuators/{a}/transitions/{i}/transition_costs"
    return None


_OM_AREA: Final[dict[type[Any], str]] = {
    ombc.OMBCInstruction: "OMBC",
    frbc.FRBCInstruction: "FRBC",
    ddbc.DDBCInstruction: "DDBC",
    ombc.OMBCStatus: "OMBC",
    frbc.FRBCActuatorStatus: "FRBC",
    ddbc.DDBCActuatorStatus: "DDBC",
    ombc.OMBCTimerStatus: "OMBC",
    frbc.FRBCTimerStatus: "FRBC",
    ddbc.DDBCTimerStatus: "DDBC",
}


def _target(message: Any) -> tuple[str, str, str]:
    """(actuator, operation mode, pointer to the mode field) of an OMBC/FRBC/DDBC instruction."""
    if isinstance(message, frbc.FRBCInstruction):
        return message.actuator_id, message.operation_mode, "/operation_mode"
    actuator = "" if isinstance(message, ombc.OMBCInstruction) else message.actuator_id
    return actuator, message.operation_mode_id, "/operation_mode_id"


# --- the context -----------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Side:
    """One direction of a session: what ``check`` and ``apply`` need for every message sent
    that way, keyed by message_id (the direction is the side's)."""

    sender: EnergyManagementRole
    seen: dict[str, S2Message | int] = field(default_factory=dict)
    """The message itself (small ones) or its fingerprint, for the most recent ids."""
    pending: dict[str, list[_Step]] = field(default_factory=dict)
    """Messages awaiting their ReceptionStatus, with what to undo if it is not OK."""
    answered: dict[str, ReceptionStatusValues] = field(default_factory=dict)
    early: dict[str, ReceptionStatusValues] = field(default_factory=dict)
    """Answers that came before their message was applied."""
    verdicts: dict[type[S2Message], Finding | None] = field(default_factory=dict)
    """The phase table's verdicts in the context's present state (shared; see _phase_verdicts)."""
    answers: _Side | None = None
    """The other direction: whose messages a ReceptionStatus sent this way answers."""


class SessionContext:
    """The memory of one session, for rules that judge a message by what came before.

    Built for the receive path of a live session, where ``check`` and ``apply`` run for every
    message and ``apply`` once more for the ReceptionStatus that answers it: each message type's
    rules are looked up once per type, the phase table's verdict once per type and state, a
    message answered before it is applied (as the engine does) records no undo steps, and the
    content of a small message is kept as it is instead of being encoded to be fingerprinted.
    """

    def __init__(self, profile: str = "0.0.2-beta") -> None:
        self.profile = get_profile(profile).version
        self.selected_version: str | None = None
        self.details: common.ResourceManagerDetails | None = None
        self._versions: dict[EnergyManagementRole, list[str] | None] = {}
        self._ct = _ControlState()
        self._instructions: dict[str, _Instruction] = {}
        self._object_ids: dict[str, str] = {}
        self._envelope_ids: dict[str, str] = {}
        cem, rm = _Side(CEM), _Side(RM)
        cem.answers, rm.answers = rm, cem
        self._sides = {CEM_TO_RM: cem, RM_TO_CEM: rm}
        self._seen = {CEM_TO_RM: cem.seen, RM_TO_CEM: rm.seen}
        self._phase = Phase.HANDSHAKE
        self._active: ControlType | None = None
        self._state_changed()

    @property
    def phase(self) -> Phase:
        """Where the session is: what the phase table lets through."""
        return self._phase

    @phase.setter
    def phase(self, phase: Phase) -> None:
        self._phase = phase
        self._state_changed()

    @property
    def active(self) -> ControlType | None:
        """The active control type (None when none is)."""
        return self._active

    @active.setter
    def active(self, active: ControlType | None) -> None:
        self._active = active
        self._state_changed()

    def _state_changed(self) -> None:
        verdicts = _phase_verdicts(self._phase, self._active)
        for direction, side in self._sides.items():
            side.verdicts = verdicts[direction]

    # --- public API ---------------------------------------------------------------------------

    def check(self, message: S2Message, direction: str, now: datetime) -> list[Finding]:
        """Every finding for ``message`` sent in ``direction`` at ``now``; changes nothing.

        Runs the phase table, the single-message rules and the context rules (not the ``deep``
        ones: see ``check_deep``).
        """
        side = self._sides.get(direction)
        if side is None:
            raise _bad_direction(direction)
        cls = type(message)
        plan = _PLANS.get(cls) or _plan(cls)
        refusal = side.verdicts.get(cls, _MISSING)
        if refusal is _MISSING:
            refusal = side.verdicts[cls] = check_allowed(plan.name, side.sender, self._phase, self._active)
        out = [] if plan.single is None else plan.single(message)
        if refusal is not None:
            out.append(refusal)
            return out
        if plan.status:
            self._check_reception_status(message, side, out)  # type: ignore[arg-type]
            return out
        message_id: str = message.message_id  # type: ignore[attr-defined]
        earlier = side.seen.get(message_id)
        if earlier is not None and not _same(earlier, message):
            reason = f"message_id {message_id} was already used by the {side.sender.value} for another message"
            out.append(finding("S2-SESSION-006", "/message_id", reason))
        checker = plan.check
        if checker is not None:
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
            checker(self, message, side.sender, now, out)
        return out

    def apply(self, message: S2Message, direction: str, now: datetime) -> None:
        """Record a message that went over the wire (sent, or received and accepted).

        A ReceptionStatus settles the message it answers: anything but OK undoes what that
        message changed here, so the context keeps what the receiver kept. The answer may come
        first (the engine answers a message before it applies it): then a refused message
        changes nothing at all, and an accepted one is recorded without undo steps.
        """
        side = self._sides.get(direction)
        if side is None:
            raise _bad_direction(direction)
        cls = type(message)
        plan = _PLANS.get(cls) or _plan(cls)
        if plan.status:  # settle the message it answers (inline: this runs for every message)
            other = side.answers
            assert other is not None
            subject: str = message.subject_message_id  # type: ignore[attr-defined]
            status: ReceptionStatusValues = message.status  # type: ignore[attr-defined]
            steps = other.pending.pop(subject, None)
            if steps is not None:
                _bounded_put(other.answered, subject, status, _MAX_ANSWERED)
                if status is not _OK:
                    _run(steps)
            elif subject not in other.answered and subject != NIL_ID:
                early = other.early
                early[subject] = status
                if len(early) > _MAX_EARLY + (_MAX_EARLY >> 3):
                    _forget_oldest(early, _MAX_EARLY)
            if status is _PERMANENT_ERROR:
                self.phase = Phase.CLOSED
            return
        message_id: str = message.message_id  # type: ignore[attr-defined]
        undo: Undo
        answer = side.early.pop(message_id, None) if side.early else None
        if answer is None:
            undo = []
        else:
            answered = side.answered
            answered[message_id] = answer
            if len(answered) > _MAX_ANSWERED + (_MAX_ANSWERED >> 3):
                _forget_oldest(answered, _MAX_ANSWERED)
            if answer is not _OK:
                return  # refused before it was applied: there is nothing to record
            undo = None
        seen = side.seen
        if message_id not in seen:
            seen[message_id] = message if plan.keep else _fingerprint(message)
            if len(seen) > _MAX_IDS + (_MAX_IDS >> 3):
                _forget_oldest(seen, _MAX_IDS)
            if undo is not None:
                undo.append((_restore_item, seen, message_id, _MISSING))
        applier = plan.apply
        if applier is not None:
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
            applier(self, message, side.sender, now, undo)
        if undo is not None:
            _bounded_put(side.pending, message_id, undo, _MAX_PENDING)

    def expect_status(self, direction: str, message_id: str) -> None:
        """Note a message that went over the wire but was not applied (undecodable, refused), so
        the ReceptionStatus that answers it is not taken for one that answers nothing."""
        side = self._sides.get(direction)
        if side is None:
            raise _bad_direction(direction)
        if message_id not in side.pending and message_id not in side.answered:
            _bounded_put(side.pending, message_id, [], _MAX_PENDING)

    def unanswered(self) -> list[tuple[str, str]]:
        """(direction, message_id) of every remembered message still awaiting its ReceptionStatus."""
        return [(direction, message_id) for direction, side in self._sides.items() for message_id in side.pending]

    # --- reception statuses -------------------------------------------------------------------

    def _check_reception_status(self, message: common.ReceptionStatus, side: _Side, out: Out) -> None:
        answered = side.answers
        assert answered is not None
        subject = message.subject_message_id
        if subject in answered.pending:
            return
        if subject == NIL_ID and message.status is ReceptionStatusValues.INVALID_DATA:
            return  # one answer per unreadable frame: the nil id names no message, so none is answered twice
        if subject in answered.answered or subject in answered.early:
            out.append(finding("S2-RS-002", "/subject_message_id", f"message {subject} was already answered"))
        elif message.status is not ReceptionStatusValues.INVALID_DATA:
            reason = f"the peer sent no message {subject} that awaits a status"
            out.append(finding("S2-RS-001", "/subject_message_id", reason))

    # --- small helpers ------------------------------------------------------------------------

    def _set(self, table: dict[Any, Any], key: Any, value: Any, undo: Undo) -> None:
        if undo is not None:
            undo.append((_restore_item, table, key, table.get(key, _MISSING)))
        table[key] = value

    def _set_attr(self, target: Any, name: str, value: Any, undo: Undo) -> None:
        if undo is not None:
            undo.append((_restore_attr, target, name, getattr(target, name)))
        setattr(target, name, value)

    def _description_at(self, moment: datetime, area: str | None = None) -> _Description | None:
        """The system description (of ``area``, when given) in force at ``moment`` (None when
        none is, or it was revoked).

        Only a misplaced message (one the phase table refuses, which a replay still applies until
        its answer takes it back) puts another area's description beside the active one's; the
        rules of an area never read it.
        """
        kinds = _DESCRIPTION_TYPES.get(area)
        best: _Description | None = None
        for entry in self._ct.descriptions:
            if kinds is not None and type(entry.message) not in kinds:
                continue
            if entry.valid_from <= moment and (best is None or entry.valid_from >= best.valid_from):
                best = entry
        return None if best is None or best.revoked else best

    def _current_description(self, now: datetime, area: str | None = None) -> _Description | None:
        """The description valid now; before the first one starts, the latest one received."""
        found = self._description_at(now, area)
        if found is None and self._ct.descriptions:
            kinds = _DESCRIPTION_TYPES.get(area)
            latest = next(
                (e for e in reversed(self._ct.descriptions) if kinds is None or type(e.message) in kinds), None
            )
            if latest is not None and not latest.revoked and latest.valid_from > now:
                return latest
        return found

    def _cost_publisher(self, now: datetime) -> tuple[str, str] | None:
        entry = self._current_description(now)
        if entry is None:
            return None
        pointer = _cost_pointer(entry.message)
        return (entry.message_id, pointer) if pointer is not None else None

    # --- common messages ----------------------------------------------------------------------

    def _c_handshake(self, m: common.Handshake, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        if (wrong := judge_handshake_role(m.role, sender)) is not None:
            out.append(wrong)

    def _a_handshake(self, m: common.Handshake, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        versions = None if m.supported_protocol_versions is UNSET else list(m.supported_protocol_versions)
        self._set(self._versions, m.role, versions, undo)

    def _c_handshake_response(
        self, m: common.HandshakeResponse, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        if RM not in self._versions:
            reason = "the CEM selected a version before it received the RM's Handshake"
            out.append(finding("S2-HANDSHAKE-005", "/selected_protocol_version", reason))
        if (wrong := judge_selected_version(m.selected_protocol_version, self._versions)) is not None:
            out.append(wrong)

    def _a_handshake_response(
        self, m: common.HandshakeResponse, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._set_attr(self, "phase", Phase.INITIALIZED, undo)
        self._set_attr(self, "selected_version", normalize_version(m.selected_protocol_version), undo)

    def _c_details(
        self, m: common.ResourceManagerDetails, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        if m.currency is UNSET and (published := self._cost_publisher(now)) is not None:
            reason = f"no currency, but SystemDescription {published[0]} publishes costs at {published[1]}"
            out.append(finding("S2-RMD-006", "/currency", reason))

    def _a_details(
        self, m: common.ResourceManagerDetails, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._set_attr(self, "details", m, undo)

    def _c_select(self, m: common.SelectControlType, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        out.extend(judge_select(m.control_type, self.details))

    def _a_select(self, m: common.SelectControlType, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        active = None if m.control_type is ControlType.NO_SELECTION else m.control_type
        if active != self.active:
            self._set_attr(self, "active", active, undo)
            self._set_attr(self, "_ct", _ControlState(), undo)

    def _c_measurement(self, m: common.PowerMeasurement, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        if self.details is None:
            return
        announced = self.details.provides_power_measurement_types
        for index, value in enumerate(m.values):
            if value.commodity_quantity not in announced:
                reason = f"{value.commodity_quantity.value} is not among provides_power_measurement_types"
                out.append(finding("S2-MEAS-002", f"/values/{index}/commodity_quantity", reason))
                return

    def _c_forecast(self, m: common.PowerForecast, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        if self.details is not None and not self.details.provides_forecast:
            out.append(finding("S2-FCST-002", "/elements", "the RM announced provides_forecast false"))

    def _a_session_request(
        self, m: common.SessionRequest, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._set_attr(self, "phase", Phase.CLOSED, undo)

    # --- instruction status and revocation ----------------------------------------------------

    def _c_status_update(
        self, m: common.InstructionStatusUpdate, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        entry = self._instructions.get(m.instruction_id)
        problem = judge_status_report(
            m.instruction_id, entry is not None, None if entry is None else entry.status, m.status_type
        )
        if problem is not None:
            out.append(problem)
        if entry is None:
            return
        status = m.status_type
        if entry.status_time is not None and m.timestamp < entry.status_time:
            reason = f"{_iso(m.timestamp)} is before the previous status time {_iso(entry.status_time)}"
            out.append(finding("S2-INSTR-004", "/timestamp", reason))
        if status is InstructionStatus.REVOKED and not entry.revoked:
            reason = f"the CEM never revoked {m.instruction_id}"
            out.append(finding("S2-INSTR-005", "/status_type", reason))

    def _a_status_update(
        self, m: common.InstructionStatusUpdate, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        entry = self._instructions.get(m.instruction_id)
        if entry is not None:
            self._set_attr(entry, "status", m.status_type, undo)
            self._set_attr(entry, "status_time", m.timestamp, undo)

    def _revocable(self, object_type: str, object_id: str) -> _Instruction | _Description | _Published | None:
        """The record a RevokeObject names; None when there is none."""
        if object_type in _INSTRUCTIONS:
            entry = self._instructions.get(object_id)
            return entry if entry is not None and entry.type == object_type else None
        if object_type in _DESCRIPTIONS:
            for description in self._ct.descriptions:
                if description.message_id == object_id and _type_name(description.message) == object_type:
                    return description
            return None
        table = {
            "PEBC.PowerConstraints": self._ct.constraints,
            "PEBC.EnergyConstraint": self._ct.energy,
            "PPBC.PowerProfileDefinition": self._ct.profiles,
        }[object_type]
        return table.get(object_id)

    def _c_revoke(self, m: common.RevokeObject, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        object_type = m.object_type.value
        record = self._revocable(object_type, m.object_id)
        published = None if record is None else not record.revoked
        ended = record.status if isinstance(record, _Instruction) and record.status in _TERMINAL else None
        if (wrong := judge_revoke(sender, object_type, m.object_id, published, ended)) is not None:
            out.append(wrong)

    def _a_revoke(self, m: common.RevokeObject, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        record = self._revocable(m.object_type.value, m.object_id)
        if record is None:
            return
        self._set_attr(record, "revoked", True, undo)
        if isinstance(record, _Instruction) and isinstance(record.message, ppbc.PPBCScheduleInstruction):
            key = (record.message.power_profile_id, record.message.sequence_container_id)
            state = self._ct.sequences.get(key)
            if state is not None and state[0] == record.message.power_sequence_id:
                self._set(self._ct.sequences, key, (None, PPBCPowerSequenceStatus.NOT_SCHEDULED), undo)

    # --- instructions in general --------------------------------------------------------------

    def _check_instruction_id(self, m: Any, out: Out) -> None:
        entry = self._instructions.get(m.id)
        if (
            reused := judge_instruction_id(m.id, m.message_id, None if entry is None else entry.message_id)
        ) is not None:
            out.append(reused)

    def _record_instruction(self, m: Any, now: datetime, undo: Undo) -> _Instruction:
        entry = _Instruction(m, m.message_id, _type_name(m), max(m.execution_time, now))
        self._set(self._instructions, m.id, entry, undo)
        if len(self._instructions) > _MAX_INSTRUCTIONS + (_MAX_INSTRUCTIONS >> 3):
            _forget_oldest(self._instructions, _MAX_INSTRUCTIONS)
        return entry

    def _check_object_id(self, m: Any, out: Out) -> None:
        earlier = self._object_ids.get(m.id)
        if earlier is not None and earlier != m.message_id:
            out.append(finding("S2-ID-002", "/id", f"id {m.id} was already used by message {earlier}"))

    def _record_object(self, table: dict[str, _Published], m: Any, undo: Undo) -> None:
        self._set(table, m.id, _Published(m, m.message_id), undo)
        self._set(self._object_ids, m.id, m.message_id, undo)

    # --- PEBC ---------------------------------------------------------------------------------

    def _c_constraints(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        self._check_object_id(m, out)

    def _a_power_constraints(
        self, m: pebc.PEBCPowerConstraints, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_object(self._ct.constraints, m, undo)

    def _a_energy_constraint(
        self, m: pebc.PEBCEnergyConstraint, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_object(self._ct.energy, m, undo)

    def _c_pebc_instruction(
        self, m: pebc.PEBCInstruction, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        self._check_instruction_id(m, out)
        for i, envelope in enumerate(m.power_envelopes):
            earlier = self._envelope_ids.get(envelope.id)
            if earlier is not None and earlier != m.message_id:
                reason = f"envelope id {envelope.id} was already used by message {earlier}"
                out.append(finding("S2-ID-003", f"/power_envelopes/{i}/id", reason))
        ct = self._ct
        live = {key: p.message for key, p in ct.constraints.items() if not p.revoked}
        revoked = [key for key, p in ct.constraints.items() if p.revoked]
        energy = [p.message for p in ct.energy.values() if not p.revoked]
        out.extend(judge_pebc_instruction(m, now, live, revoked, energy))

    def _a_pebc_instruction(
        self, m: pebc.PEBCInstruction, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_instruction(m, now, undo)
        for envelope in m.power_envelopes:
            if envelope.id not in self._envelope_ids:
                self._set(self._envelope_ids, envelope.id, m.message_id, undo)

    # --- PPBC ---------------------------------------------------------------------------------

    def _c_profile(
        self, m: ppbc.PPBCPowerProfileDefinition, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        self._check_object_id(m, out)

    def _a_profile(
        self, m: ppbc.PPBCPowerProfileDefinition, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_object(self._ct.profiles, m, undo)

    def _live_profile(self, profile_id: str) -> ppbc.PPBCPowerProfileDefinition | None:
        published = self._ct.profiles.get(profile_id)
        return None if published is None or published.revoked else published.message

    def _c_profile_status(
        self, m: ppbc.PPBCPowerProfileStatus, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        reported: dict[str, set[str]] = {}
        for index, status in enumerate(m.sequence_container_status):
            where = f"/sequence_container_status/{index}"
            profile = self._live_profile(status.power_profile_id)
            if profile is None:
                reason = f"{status.power_profile_id} is not a PowerProfileDefinition in force"
                out.append(finding("S2-PPBC-009", where + "/power_profile_id", reason))
                continue
            reported.setdefault(profile.id, set()).add(status.sequence_container_id)
            container = next(
                (c for c in profile.power_sequences_containers if c.id == status.sequence_container_id), None
            )
            if container is None:
                reason = f"{status.sequence_container_id} is not a container of {profile.id}"
                out.append(finding("S2-PPBC-009", where + "/sequence_container_id", reason))
            elif status.selected_sequence_id is not UNSET and all(
                s.id != status.selected_sequence_id for s in container.power_sequences
            ):
                reason = f"{status.selected_sequence_id} is not a sequence of container {container.id}"
                out.append(finding("S2-PPBC-009", where + "/selected_sequence_id", reason))
        for profile_id, containers in reported.items():
            profile = self._live_profile(profile_id)
            assert profile is not None
            missing = [c.id for c in profile.power_sequences_containers if c.id not in containers]
            if missing:
                reason = f"containers {', '.join(missing)} of {profile_id} are not reported"
                out.append(finding("S2-PPBC-010", "/sequence_container_status", reason))

    def _a_profile_status(
        self, m: ppbc.PPBCPowerProfileStatus, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        for status in m.sequence_container_status:
            selected = None if status.selected_sequence_id is UNSET else status.selected_sequence_id
            key = (status.power_profile_id, status.sequence_container_id)
            self._set(self._ct.sequences, key, (selected, status.status), undo)

    def _c_ppbc_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        self._check_instruction_id(m, out)
        profile = self._live_profile(m.power_profile_id)
        if profile is None:
            published = self._ct.profiles.get(m.power_profile_id)
            why = "was revoked" if published is not None else "was not received in this session"
            out.append(
                finding("S2-PPBC-011", "/power_profile_id", f"PowerProfileDefinition {m.power_profile_id} {why}")
            )
            return
        containers = profile.power_sequences_containers
        index = next((i for i, c in enumerate(containers) if c.id == m.sequence_container_id), -1)
        if index < 0:
            reason = f"{m.sequence_container_id} is not a container of {profile.id}"
            out.append(finding("S2-PPBC-012", "/sequence_container_id", reason))
            return
        sequence = next((s for s in containers[index].power_sequences if s.id == m.power_sequence_id), None)
        if sequence is None:
            reason = f"{m.power_sequence_id} is not a sequence of container {m.sequence_container_id}"
            out.append(finding("S2-PPBC-012", "/power_sequence_id", reason))
            return
        key = (profile.id, m.sequence_container_id)
        state = self._ct.sequences.get(key, (None, PPBCPowerSequenceStatus.NOT_SCHEDULED))
        if isinstance(m, ppbc.PPBCScheduleInstruction):
            self._check_schedule(m, profile, index, sequence, now, out)
        elif isinstance(m, ppbc.PPBCStartInterruptionInstruction):
            if not sequence.is_interruptible:
                out.append(finding("S2-PPBC-017", "/power_sequence_id", f"sequence {sequence.id} is not interruptible"))
            elif state[0] != sequence.id or state[1] not in (
                PPBCPowerSequenceStatus.SCHEDULED,
                PPBCPowerSequenceStatus.EXECUTING,
            ):
                reason = f"sequence {sequence.id} is {_state_words(state, sequence.id)}, so it cannot be interrupted"
                out.append(finding("S2-PPBC-018", "/power_sequence_id", reason))
        elif state[0] != sequence.id or state[1] is not PPBCPowerSequenceStatus.INTERRUPTED:
            reason = f"sequence {sequence.id} is {_state_words(state, sequence.id)}, not interrupted"
            out.append(finding("S2-PPBC-019", "/power_sequence_id", reason))

    def _check_schedule(
        self,
        m: ppbc.PPBCScheduleInstruction,
        profile: ppbc.PPBCPowerProfileDefinition,
        index: int,
        sequence: ppbc.PPBCPowerSequence,
        now: datetime,
        out: Out,
    ) -> None:
        if sequence.abnormal_condition_only and not m.abnormal_condition:
            reason = f"sequence {sequence.id} may only run under an abnormal condition"
            out.append(finding("S2-PPBC-013", "/abnormal_condition", reason))
        start = max(m.execution_time, now)
        end = start + timedelta(milliseconds=sequence_duration_ms(sequence))
        if start < profile.start_time or end > profile.end_time:
            reason = (
                f"the sequence would run {_iso(start)} to {_iso(end)}, outside "
                f"[{_iso(profile.start_time)}, {_iso(profile.end_time)}] of {profile.id}"
            )
            out.append(finding("S2-PPBC-014", "/execution_time", reason))
        current = self._ct.schedules.get((profile.id, m.sequence_container_id))
        if current is not None and current.live and current.message_id != m.message_id:
            reason = f"container {m.sequence_container_id} is already scheduled by instruction {current.message.id}"
            out.append(finding("S2-PPBC-020", "/sequence_container_id", reason))
        if index == 0:
            return
        previous = self._ct.schedules.get((profile.id, profile.power_sequences_containers[index - 1].id))
        if previous is None or not previous.live:
            return
        prev_sequence = _find_sequence(profile, previous.message)
        if prev_sequence is None:
            return
        prev_end = previous.effective + timedelta(milliseconds=sequence_duration_ms(prev_sequence))
        if start < prev_end:
            reason = f"the sequence starts at {_iso(start)}, before the previous container's ends at {_iso(prev_end)}"
            out.append(finding("S2-PPBC-015", "/execution_time", reason))
        elif sequence.max_pause_before is not UNSET:
            pause = (start - prev_end).total_seconds() * 1000
            if pause > sequence.max_pause_before:
                reason = f"a pause of {fmt_num(pause)} ms exceeds max_pause_before {sequence.max_pause_before} ms"
                out.append(finding("S2-PPBC-016", "/execution_time", reason))

    def _a_ppbc_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        entry = self._record_instruction(m, now, undo)
        key = (m.power_profile_id, m.sequence_container_id)
        if isinstance(m, ppbc.PPBCScheduleInstruction):
            self._set(self._ct.schedules, key, entry, undo)
            state = PPBCPowerSequenceStatus.SCHEDULED
        elif isinstance(m, ppbc.PPBCStartInterruptionInstruction):
            state = PPBCPowerSequenceStatus.INTERRUPTED
        else:
            state = PPBCPowerSequenceStatus.EXECUTING
        self._set(self._ct.sequences, key, (m.power_sequence_id, state), undo)

    # --- OMBC / FRBC / DDBC -------------------------------------------------------------------

    def _c_description(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        if self.details is not None and self.details.currency is UNSET:
            pointer = _cost_pointer(m)
            if pointer is not None:
                out.append(
                    finding("S2-RMD-006", pointer, "costs are published, but ResourceManagerDetails names no currency")
                )

    def _a_description(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        descriptions = self._ct.descriptions
        entry = _Description(m, m.message_id, m.valid_from, _machines(m))
        descriptions.append(entry)
        if undo is not None:
            undo.append((_discard, descriptions, entry, None))
        if len(descriptions) > _MAX_DESCRIPTIONS:
            del descriptions[0]

    def _owner(self, area: str, actuator: str) -> str:
        return "the system description" if area == "OMBC" else actuator

    def _machine_for(self, area: str, rule: str, m: Any, now: datetime, out: Out) -> tuple[_Machine, str] | None:
        """The machine a status or timer message talks about, or a finding why there is none."""
        description = self._current_description(now, area)
        if description is None:
            return None
        actuator = "" if area == "OMBC" else m.actuator_id
        machine = description.machines.get(actuator)
        if machine is None:
            reason = f"{actuator} is not an actuator of {area}.SystemDescription {description.message_id}"
            out.append(finding(rule, "/actuator_id", reason))
            return None
        return machine, actuator

    def _c_om_status(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        area = _OM_AREA[type(m)]
        ids = OM_RULE_IDS[area]
        found = self._machine_for(area, ids["status_refs"], m, now, out)
        if found is None:
            return
        machine, actuator = found
        owner = self._owner(area, actuator)
        for attr in ("active_operation_mode_id", "previous_operation_mode_id"):
            mode = getattr(m, attr)
            if mode is not UNSET and mode not in machine.modes:
                out.append(finding(ids["status_refs"], f"/{attr}", f"{mode} is not an operation mode of {owner}"))
        last = self._ct.statuses.get(actuator)
        if last is not None and last.mode != m.active_operation_mode_id and m.previous_operation_mode_id is UNSET:
            reason = (
                f"the mode changed from {last.mode} to {m.active_operation_mode_id} without naming the previous one"
            )
            out.append(finding(ids["status_change"], "/previous_operation_mode_id", reason))

    def _a_om_status(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        actuator = "" if isinstance(m, ombc.OMBCStatus) else m.actuator_id
        self._set(self._ct.statuses, actuator, _Status(m.active_operation_mode_id, now), undo)

    def _c_timer_status(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        area = _OM_AREA[type(m)]
        ids = OM_RULE_IDS[area]
        found = self._machine_for(area, ids["timer_refs"], m, now, out)
        if found is not None and m.timer_id not in found[0].timers:
            reason = f"{m.timer_id} is not a timer of {self._owner(area, found[1])}"
            out.append(finding(ids["timer_refs"], "/timer_id", reason))

    def _a_timer_status(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        actuator = "" if isinstance(m, ombc.OMBCTimerStatus) else m.actuator_id
        self._set(self._ct.timers, (actuator, m.timer_id), m.finished_at, undo)

    def _expected(
        self, m: Any, actuator: str, moment: datetime, machine: _Machine
    ) -> tuple[str | None, dict[str, datetime]]:
        """The mode expected at ``moment`` and the timers' finish times then: the last status,
        followed by the earlier instructions still in play, in the order they take effect."""
        status = self._ct.statuses.get(actuator)
        mode = status.mode if status is not None else None
        timers = {name: at for (owner, name), at in self._ct.timers.items() if owner == actuator}
        earlier = sorted(
            (
                e
                for e in self._ct.pending.get(actuator, ())
                if e.live
                and e.message_id != m.message_id
                and e.effective <= moment
                and (status is None or e.effective >= status.at)
            ),
            key=lambda e: e.effective,
        )
        for entry in earlier:
            target = _target(entry.message)[1]
            if mode is not None and target != mode:
                transition = machine.transitions.get((mode, target))
                if transition is not None:
                    for name in transition.start_timers:
                        timer = machine.timers.get(name)
                        if timer is not None:
                            timers[name] = entry.effective + timedelta(milliseconds=timer.duration)
            mode = target
        return mode, timers

    def _c_om_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        self._check_instruction_id(m, out)
        area = _OM_AREA[type(m)]
        ids = OM_RULE_IDS[area]
        actuator, mode_id, mode_pointer = _target(m)
        moment = max(m.execution_time, now)
        description = self._description_at(moment, area)
        missing_rule = ids["instr_om"] if area == "OMBC" else ids["instr_actuator"]
        if description is None:
            reason = f"no {area}.SystemDescription is in force at {_iso(moment)}"
            out.append(finding(missing_rule, mode_pointer if area == "OMBC" else "/actuator_id", reason))
            return
        machine = description.machines.get(actuator)
        if machine is None:
            reason = f"{actuator} is not an actuator of {area}.SystemDescription {description.message_id}"
            out.append(finding(missing_rule, "/actuator_id", reason))
            return
        owner = self._owner(area, actuator)
        target = machine.modes.get(mode_id)
        if target is None:
            out.append(finding(ids["instr_om"], mode_pointer, f"{mode_id} is not an operation mode of {owner}"))
            return
        if target.abnormal_condition_only and not m.abnormal_condition:
            reason = f"operation mode {mode_id} may only be used under an abnormal condition"
            out.append(finding(ids["abnormal"], "/abnormal_condition", reason))
        active, timers = self._expected(m, actuator, moment, machine)
        if active is not None and active != mode_id:
            transition = machine.transitions.get((active, mode_id))
            if transition is None:
                reason = f"{owner} has no transition from {active} to {mode_id}"
                out.append(finding(ids["transition_exists"], mode_pointer, reason))
            else:
                if transition.abnormal_condition_only and not m.abnormal_condition:
                    reason = f"transition {transition.id} may only be used under an abnormal condition"
                    out.append(finding(ids["abnormal"], "/abnormal_condition", reason))
                for name in transition.blocking_timers:
                    until = timers.get(name)
                    if until is not None and until > moment:
                        timer = machine.timers.get(name)
                        label = f" ({timer.diagnostic_label})" if timer and timer.diagnostic_label else ""
                        reason = (
                            f"transition {transition.id} is blocked by timer {name}{label} "
                            f"until {_iso(until)}, after {_iso(moment)}"
                        )
                        out.append(finding(ids["transition_blocked"], "/execution_time", reason))
                        break
        if area == "FRBC" and self._ct.fill_level is not None:
            level = self._ct.fill_level
            if not any(
                e.fill_level_range.start_of_range <= level <= e.fill_level_range.end_of_range for e in target.elements
            ):
                reason = f"operation mode {mode_id} has no element for the fill level {fmt_num(level)}"
                out.append(finding(ids["fill_level"], mode_pointer, reason))

    def _a_om_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        entry = self._record_instruction(m, now, undo)
        queue = self._ct.pending.setdefault(_target(m)[0], [])
        queue.append(entry)
        if undo is not None:
            undo.append((_discard, queue, entry, None))
        if len(queue) > _MAX_PER_ACTUATOR:
            del queue[0]

    # --- FRBC and DDBC extras -----------------------------------------------------------------

    def _c_storage_status(
        self, m: frbc.FRBCStorageStatus, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        description = self._current_description(now, "FRBC")
        if description is None:
            return
        storage = description.message.storage.fill_level_range
        if not storage.start_of_range <= m.present_fill_level <= storage.end_of_range:
            reason = (
                f"{fmt_num(m.present_fill_level)} is outside the storage range "
                f"[{fmt_num(storage.start_of_range)}, {fmt_num(storage.end_of_range)}]"
            )
            out.append(finding(OM_RULE_IDS["FRBC"]["storage_level"], "/present_fill_level", reason))

    def _a_storage_status(
        self, m: frbc.FRBCStorageStatus, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._set_attr(self._ct, "fill_level", m.present_fill_level, undo)

    def _c_announced(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        flag, rule, area = _ANNOUNCED[type(m)]
        description = self._current_description(now, area)
        if description is None:
            return
        holder = description.message if flag.startswith("provides_average") else description.message.storage
        if not getattr(holder, flag):
            out.append(finding(rule, "/elements", f"the system description announced {flag} false"))


def _find_sequence(profile: ppbc.PPBCPowerProfileDefinition, m: Any) -> ppbc.PPBCPowerSequence | None:
    for container in profile.power_sequences_containers:
        if container.id == m.sequence_container_id:
            return next((s for s in container.power_sequences if s.id == m.power_sequence_id), None)
    return None


def _state_words(state: tuple[str | None, PPBCPowerSequenceStatus], sequence: str) -> str:
    if state[0] is None or state[1] is PPBCPowerSequenceStatus.NOT_SCHEDULED:
        return "not scheduled"
    if state[0] != sequence:
        return f"not the one in force (that is {state[0]}, {state[1].value})"
    return state[1].value


_ANNOUNCED: Final[dict[type[Any], tuple[str, str, str]]] = {
    frbc.FRBCLeakageBehaviour: ("provides_leakage_behaviour", OM_RULE_IDS["FRBC"]["leakage_flag"], "FRBC"),
    frbc.FRBCUsageForecast: ("provides_usage_forecast", OM_RULE_IDS["FRBC"]["usage_flag"], "FRBC"),
    frbc.FRBCFillLevelTargetProfile: (
        "provides_fill_level_target_profile",
        OM_RULE_IDS["FRBC"]["target_flag"],
        "FRBC",
    ),
    ddbc.DDBCAverageDemandRateForecast: (
        "provides_average_demand_rate_forecast",
        OM_RULE_IDS["DDBC"]["demand_flag"],
        "DDBC",
    ),
}
_DESCRIPTION_TYPES: Final[dict[str | None, frozenset[type[Any]]]] = {
    "OMBC": frozenset({ombc.OMBCSystemDescription}),
    "FRBC": frozenset({frbc.FRBCSystemDescription}),
    "DDBC": frozenset({ddbc.DDBCSystemDescription, ddbc.DDBCSystemDescriptionV1}),
}
"""The description classes of each area (``_description_at``)."""

_Checker = Callable[[SessionContext, Any, EnergyManagementRole, datetime, Out], None]
_Applier = Callable[[SessionContext, Any, EnergyManagementRole, datetime, Undo], None]

_C = SessionContext
_CHECKS: Final[dict[type[S2Message], _Checker]] = {
    common.Handshake: _C._c_handshake,
    common.HandshakeResponse: _C._c_handshake_response,
    common.ResourceManagerDetails: _C._c_details,
    common.SelectControlType: _C._c_select,
    common.PowerMeasurement: _C._c_measurement,
    common.PowerForecast: _C._c_forecast,
    common.InstructionStatusUpdate: _C._c_status_update,
    common.RevokeObject: _C._c_revoke,
    pebc.PEBCPowerConstraints: _C._c_constraints,
    pebc.PEBCEnergyConstraint: _C._c_constraints,
    pebc.PEBCInstruction: _C._c_pebc_instruction,
    ppbc.PPBCPowerProfileDefinition: _C._c_profile,
    ppbc.PPBCPowerProfileStatus: _C._c_profile_status,
    ppbc.PPBCScheduleInstruction: _C._c_ppbc_instruction,
    ppbc.PPBCStartInterruptionInstruction: _C._c_ppbc_instruction,
    ppbc.PPBCEndInterruptionInstruction: _C._c_ppbc_instruction,
    ombc.OMBCSystemDescription: _C._c_description,
    frbc.FRBCSystemDescription: _C._c_description,
    ddbc.DDBCSystemDescription: _C._c_description,
    ddbc.DDBCSystemDescriptionV1: _C._c_description,
    ombc.OMBCStatus: _C._c_om_status,
    frbc.FRBCActuatorStatus: _C._c_om_status,
    ddbc.DDBCActuatorStatus: _C._c_om_status,
    ombc.OMBCTimerStatus: _C._c_timer_status,
    frbc.FRBCTimerStatus: _C._c_timer_status,
    ddbc.DDBCTimerStatus: _C._c_timer_status,
    ombc.OMBCInstruction: _C._c_om_instruction,
    frbc.FRBCInstruction: _C._c_om_instruction,
    ddbc.DDBCInstruction: _C._c_om_instruction,
    frbc.FRBCStorageStatus: _C._c_storage_status,
    frbc.FRBCLeakageBehaviour: _C._c_announced,
    frbc.FRBCUsageForecast: _C._c_announced,
    frbc.FRBCFillLevelTargetProfile: _C._c_announced,
    ddbc.DDBCAverageDemandRateForecast: _C._c_announced,
}
_APPLIES: Final[dict[type[S2Message], _Applier]] = {
    common.Handshake: _C._a_handshake,
    common.HandshakeResponse: _C._a_handshake_response,
    common.ResourceManagerDetails: _C._a_details,
    common.SelectControlType: _C._a_select,
    common.SessionRequest: _C._a_session_request,
    common.InstructionStatusUpdate: _C._a_status_update,
    common.RevokeObject: _C._a_revoke,
    pebc.PEBCPowerConstraints: _C._a_power_constraints,
    pebc.PEBCEnergyConstraint: _C._a_energy_constraint,
    pebc.PEBCInstruction: _C._a_pebc_instruction,
    ppbc.PPBCPowerProfileDefinition: _C._a_profile,
    ppbc.PPBCPowerProfileStatus: _C._a_profile_status,
    ppbc.PPBCScheduleInstruction: _C._a_ppbc_instruction,
    ppbc.PPBCStartInterruptionInstruction: _C._a_ppbc_instruction,
    ppbc.PPBCEndInterruptionInstruction: _C._a_ppbc_instruction,
    ombc.OMBCSystemDescription: _C._a_description,
    frbc.FRBCSystemDescription: _C._a_description,
    ddbc.DDBCSystemDescription: _C._a_description,
    ddbc.DDBCSystemDescriptionV1: _C._a_description,
    ombc.OMBCStatus: _C._a_om_status,
    frbc.FRBCActuatorStatus: _C._a_om_status,
    ddbc.DDBCActuatorStatus: _C._a_om_status,
    ombc.OMBCTimerStatus: _C._a_timer_status,
    frbc.FRBCTimerStatus: _C._a_timer_status,
    ddbc.DDBCTimerStatus: _C._a_timer_status,
    ombc.OMBCInstruction: _C._a_om_instruction,
    frbc.FRBCInstruction: _C._a_om_instruction,
    ddbc.DDBCInstruction: _C._a_om_instruction,
    frbc.FRBCStorageStatus: _C._a_storage_status,
}


def _bad_direction(direction: str) -> ValueError:
    return ValueError(f"direction must be 'cem>rm' or 'rm>cem', not {direction!r}")


def _run(undo: list[_Step]) -> None:
    for function, a, b, c in reversed(undo):
        function(a, b, c)


# --- per-type plans, phase verdicts, fingerprints ----------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Plan:
    """What ``check`` and ``apply`` do with one message class, looked up once per class."""

    cls: type[S2Message]
    name: str
    single: Callable[[Any], Out] | None
    """The single-message rules (what ``check_message`` runs for the class)."""
    check: _Checker | None
    apply: _Applier | None
    status: bool
    """A ReceptionStatus: it settles another message and has no message_id of its own."""
    keep: bool
    """Small enough to remember as it is (see ``_small``) rather than by fingerprint."""


_PLANS: dict[type[S2Message], _Plan] = {}


def _plan(cls: type[S2Message]) -> _Plan:
    plan = _Plan(
        cls,
        message_type_of(cls),
        single_rules(cls),
        _CHECKS.get(cls),
        _APPLIES.get(cls),
        issubclass(cls, common.ReceptionStatus),
        _small(cls),
    )
    _PLANS[cls] = plan
    return plan


_PhaseVerdicts = dict[str, dict[type[S2Message], Finding | None]]
_PHASE_VERDICTS: dict[tuple[Phase, ControlType | None], _PhaseVerdicts] = {}


def _phase_verdicts(phase: Phase, active: ControlType | None) -> _PhaseVerdicts:
    """direction -> message class -> the phase table's verdict in this state, shared by every
    context: ``check_allowed`` depends on nothing else, and there are only a few states."""
    table = _PHASE_VERDICTS.get((phase, active))
    if table is None:
        table = _PHASE_VERDICTS[(phase, active)] = {CEM_TO_RM: {}, RM_TO_CEM: {}}
    return table


_KEEP_LIMIT = 64
"""Messages whose schema bounds them to this many values at most are remembered as they are."""


def _bound(info: msgspec.inspect.Type) -> float:
    """The most values a decoded instance of ``info`` can hold (inf: no bound in the schema).

    A string counts as one value only when its length is bounded (an id, a ``max_length``), so
    a peer cannot make the context keep long free text: such messages are fingerprinted.
    """
    import msgspec.inspect as mi  # once per message class; kept off the import of s2ws

    if isinstance(info, mi.StructType):
        return 1 + sum(_bound(f.type) for f in info.fields)
    if isinstance(info, mi.UnionType):
        return max(_bound(t) for t in info.types)
    if isinstance(info, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return math.inf if info.max_length is None else info.max_length * _bound(info.item_type)
    if isinstance(info, mi.TupleType):
        return sum(_bound(t) for t in info.item_types)
    if isinstance(info, mi.StrType):
        return 1 if info.max_length is not None or info.pattern == ID_MATCH_PATTERN else math.inf
    if isinstance(info, mi.BytesType | mi.ByteArrayType | mi.DictType | mi.AnyType | mi.CustomType):
        return math.inf
    return 1


def _small(cls: type[S2Message]) -> bool:
    """Whether to remember a message of ``cls`` as it is rather than by fingerprint.

    Statuses, instructions and measurements (at most 33 values, about 1 KiB) then cost nothing on
    the way in, where encoding one to hash it cost more than all their rules; a reused id encodes
    both messages to compare them. Descriptions, forecasts and anything with free text are
    fingerprinted: keeping 256 of those could take megabytes.
    """
    import msgspec.inspect as mi

    return _bound(mi.type_info(cls)) <= _KEEP_LIMIT


def _fingerprint(message: S2Message) -> int:
    return hash(_ENCODE(message))


def _same(earlier: S2Message | int, message: S2Message) -> bool:
    """Whether ``message`` repeats the one remembered as ``earlier`` (the message itself or its
    fingerprint), byte for byte as s2ws encodes them: an identical resend."""
    if isinstance(earlier, int):
        return earlier == _fingerprint(message)
    return earlier is message or _ENCODE(earlier) == _ENCODE(message)


_ENCODE: Final = msgspec.json.Encoder().encode


def _outgoing_direction(message: S2Message, context: SessionContext | None) -> str:
    """Which way a message we are about to send goes, from what it is."""
    info = MESSAGE_INFO[_type_name(message)]
    if len(info.senders) == 1:
        return CEM_TO_RM if CEM in info.senders else RM_TO_CEM
    if isinstance(message, common.Handshake):
        return CEM_TO_RM if message.role is CEM else RM_TO_CEM
    if isinstance(message, common.RevokeObject):
        return CEM_TO_RM if message.object_type.value in _INSTRUCTIONS else RM_TO_CEM
    if isinstance(message, common.ReceptionStatus) and context is not None:
        if message.subject_message_id in context._sides[RM_TO_CEM].pending:
            return CEM_TO_RM
        return RM_TO_CEM
    return CEM_TO_RM


def ensure_valid_outgoing(
    message: S2Message, context: SessionContext | None, now: datetime, *, direction: str | None = None
) -> None:
    """Raise :class:`InvalidContent` (the first error's diagnostic) when ``message`` must not be sent.

    Without a context only the single-message rules run. ``direction`` defaults to the one the
    message type implies (ReceptionStatus and SessionRequest may need it spelled out).
    """
    if context is None:
        findings = check_message(message)
    else:
        findings = context.check(message, direction or _outgoing_direction(message, context), now)
    for item in findings:
        if item.severity == "error":
            raise item.error()
