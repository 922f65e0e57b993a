"""What a session has seen, and the rules that need it.

A :class:`SessionContext` is fed every message of one session in order, with its direction
and the time it went over the wire. ``check`` judges a message against what came before
without changing anything; ``apply`` records it. The same object serves a live session (the
engine applies what it sent and what it accepted) and a replay (which applies everything and
lets the receiver's ReceptionStatus undo what was refused).

Memory is bounded: ids, instructions and unanswered messages are kept for the most recent
few thousand, so an idle session costs little and a long one cannot grow without limit.

Three modules: ``rules.memory`` (the records and how they are kept), ``rules.context_ct`` (the
control types' rules) and this one (the session's own rules, the tables that route each message
type, and the public API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from ..findings import Finding
from ..messages import common, ddbc, frbc, ombc, pebc, ppbc
from ..messages.base import NIL_ID, UNSET, S2Message, message_type_of
from ..messages.catalogue import MESSAGE_INFO
from ..messages.enums import (
    ControlType,
    EnergyManagementRole,
    InstructionStatus,
    PPBCPowerSequenceStatus,
    ReceptionStatusValues,
)
from ..messages.profiles import get_profile, normalize_version, shared_versions
from ..messages.states import Phase, check_allowed
from .catalogue import finding
from .context_ct import ControlTypeRules
from .lifecycle import judge_status_report
from .memory import (
    _DESCRIPTIONS,
    _INSTRUCTIONS,
    _MAX_ANSWERED,
    _MAX_EARLY,
    _MAX_IDS,
    _MAX_PENDING,
    _MISSING,
    _OK,
    _PERMANENT_ERROR,
    _TERMINAL,
    Out,
    Undo,
    _bounded_put,
    _ControlState,
    _cost_pointer,
    _Description,
    _fingerprint,
    _forget_oldest,
    _Instruction,
    _iso,
    _Published,
    _restore_item,
    _same,
    _small,
    _Step,
    _type_name,
)
from .session_rules import (
    judge_handshake_role,
    judge_revoke,
    judge_select,
    judge_selected_version,
)
from .single import check_message, single_rules

if TYPE_CHECKING:
    pass

__all__ = ["CEM_TO_RM", "DIRECTIONS", "RM_TO_CEM", "SessionContext", "ensure_valid_outgoing"]

CEM_TO_RM: Final = "cem>rm"
RM_TO_CEM: Final = "rm>cem"
CEM = EnergyManagementRole.CEM
RM = EnergyManagementRole.RM
DIRECTIONS: Final = {CEM_TO_RM: CEM, RM_TO_CEM: RM}
# --- the context -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Crossing:
    """A SessionRequest on its way: ``direction`` is the way its receiver writes, which may still
    carry what that side sent before it read the request, judged in ``phase``."""

    request: str
    direction: str
    phase: Phase


_NO_PENDING: Final[dict[str, list[_Step]]] = {}
"""Every side's ``pending`` while nothing awaits an answer: shared, never written (see ``_pending_of``)."""


def _pending_of(side: _Side) -> dict[str, list[_Step]]:
    """The side's own ``pending`` table, made when the first message awaits its answer."""
    if side.pending is _NO_PENDING:
        side.pending = {}
    return side.pending


@dataclass(eq=False, slots=True)
class _Side:
    """One direction of a session: what ``check`` and ``apply`` need for every message sent
    that way, keyed by message_id (the direction is the side's)."""

    sender: EnergyManagementRole
    seen: dict[str, S2Message | int] = field(default_factory=dict)
    """The message itself (small ones) or its fingerprint, for the most recent ids."""
    pending: dict[str, list[_Step]] = field(default_factory=lambda: _NO_PENDING)
    """Messages awaiting their ReceptionStatus, with what to undo if it is not OK."""
    answered: dict[str, ReceptionStatusValues] = field(default_factory=dict)
    early: dict[str, ReceptionStatusValues] | None = None
    """Answers that came before their message was applied (None when there are none: an emptied
    dict keeps its table, and an idle session should not hold one per direction)."""
    verdicts: dict[type[S2Message], Finding | None] = field(default_factory=dict)
    """The phase table's verdicts in the context's present state (shared; see _phase_verdicts)."""
    answers: _Side | None = None
    """The other direction: whose messages a ReceptionStatus sent this way answers."""


class SessionContext(ControlTypeRules):
    """The memory of one session, for rules that judge a message by what came before.

    Built for the receive path of a live session, where ``check`` and ``apply`` run for every
    message and ``apply`` once more for the ReceptionStatus that answers it: each message type's
    rules are looked up once per type, the phase table's verdict once per type and state, a
    message answered before it is applied (as the engine does) records no undo steps, and the
    content of a small message is kept as it is instead of being encoded to be fingerprinted.

    A SessionRequest closes the phase table at once for its sender; its receiver may still send
    what it sent before it read the request (the two crossed) until it answers the request, and
    that is judged in the phase the session was in (``crossing``), as the engine does.
    """

    def __init__(self, profile: str = "0.0.2-beta") -> None:
        super().__init__()
        self.profile = get_profile(profile).version
        self.selected_version: str | None = None
        # each side's Handshake versions (_MISSING: no Handshake yet); two attributes, not a dict per session
        self._cem_versions: tuple[str, ...] | None = _MISSING
        self._rm_versions: tuple[str, ...] | None = _MISSING
        cem, rm = _Side(CEM), _Side(RM)
        cem.answers, rm.answers = rm, cem
        self._cem_side, self._rm_side = cem, rm  # two attributes: a dict of two costs every session its table
        self._phase = Phase.HANDSHAKE
        self._active: ControlType | None = None
        self._crossing: _Crossing | None = None
        self._state_changed()

    @property
    def _seen(self) -> dict[str, dict[str, S2Message | int]]:
        """The ids each direction used most recently, by direction (made on request: a per-session
        dict for the tests that look)."""
        return {direction: side.seen for direction, side in self._sides.items()}

    @property
    def _versions(self) -> dict[EnergyManagementRole, tuple[str, ...] | None]:
        """The versions each side's Handshake listed, by role (absent: no Handshake yet); made on request."""
        found = {CEM: self._cem_versions, RM: self._rm_versions}
        return {role: versions for role, versions in found.items() if versions is not _MISSING}

    @property
    def _sides(self) -> dict[str, _Side]:
        """Both directions' sides, by direction (made on request)."""
        return {CEM_TO_RM: self._cem_side, RM_TO_CEM: self._rm_side}

    def _side(self, direction: str) -> _Side | None:
        if direction == RM_TO_CEM:
            return self._rm_side
        if direction == CEM_TO_RM:
            return self._cem_side
        return None

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

    @property
    def crossing(self) -> _Crossing | None:
        """A SessionRequest the other side has not answered yet: what that side sent before it
        read the request crossed it, and is judged in the phase the session was in."""
        return self._crossing

    @crossing.setter
    def crossing(self, crossing: _Crossing | None) -> None:
        self._crossing = crossing
        self._state_changed()

    def _phase_of(self, direction: str) -> Phase:
        crossing = self._crossing
        return crossing.phase if crossing is not None and crossing.direction == direction else self._phase

    def _state_changed(self) -> None:
        crossing = self._crossing
        if crossing is None:
            verdicts = _phase_verdicts(self._phase, self._active)
            self._cem_side.verdicts = verdicts[CEM_TO_RM]
            self._rm_side.verdicts = verdicts[RM_TO_CEM]
            return
        self._cem_side.verdicts = _phase_verdicts(self._phase_of(CEM_TO_RM), self._active)[CEM_TO_RM]
        self._rm_side.verdicts = _phase_verdicts(self._phase_of(RM_TO_CEM), self._active)[RM_TO_CEM]

    # --- public API ---------------------------------------------------------------------------

    def check(self, message: S2Message, direction: str, now: datetime) -> list[Finding]:
        """Every finding for ``message`` sent in ``direction`` at ``now``; changes nothing.

        Runs the phase table, the single-message rules and the context rules (not the ``deep``
        ones: see ``check_deep``).
        """
        side = self._side(direction)
        if side is None:
            raise _bad_direction(direction)
        cls = type(message)
        plan = _PLANS.get(cls) or _plan(cls)
        refusal = side.verdicts.get(cls, _MISSING)
        if refusal is _MISSING:
            phase = self._phase_of(direction)
            refusal = side.verdicts[cls] = check_allowed(plan.name, side.sender, phase, self._active)
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
        side = self._side(direction)
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
                if not other.pending:
                    other.pending = _NO_PENDING  # let go of the emptied table
                _bounded_put(other.answered, subject, status, _MAX_ANSWERED)
                if status is not _OK:
                    _run(steps)
            crossing = self._crossing
            if crossing is not None and crossing.request == subject and crossing.direction == direction:
                self.crossing = None  # it read the request: from now on it sends nothing
            elif subject not in other.answered and subject != NIL_ID:
                early = other.early
                if early is None:
                    early = other.early = {}
                early[subject] = status
                if len(early) > _MAX_EARLY + (_MAX_EARLY >> 3):
                    _forget_oldest(early, _MAX_EARLY)
            if status is _PERMANENT_ERROR:
                self.phase = Phase.CLOSED
            return
        message_id: str = message.message_id  # type: ignore[attr-defined]
        undo: Undo
        answer = None
        if side.early:
            answer = side.early.pop(message_id, None)
            if not side.early:
                side.early = None
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
            _bounded_put(_pending_of(side), message_id, undo, _MAX_PENDING)

    def expect_status(self, direction: str, message_id: str) -> None:
        """Note a message that went over the wire but was not applied (undecodable, refused), so
        the ReceptionStatus that answers it is not taken for one that answers nothing."""
        side = self._side(direction)
        if side is None:
            raise _bad_direction(direction)
        if message_id not in side.pending and message_id not in side.answered:
            _bounded_put(_pending_of(side), message_id, [], _MAX_PENDING)

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
        if subject in answered.answered or (answered.early is not None and subject in answered.early):
            out.append(finding("S2-RS-002", "/subject_message_id", f"message {subject} was already answered"))
        elif message.status is not ReceptionStatusValues.INVALID_DATA:
            reason = f"the peer sent no message {subject} that awaits a status"
            out.append(finding("S2-RS-001", "/subject_message_id", reason))

    # --- common messages ----------------------------------------------------------------------

    def _c_handshake(self, m: common.Handshake, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        if (wrong := judge_handshake_role(m.role, sender)) is not None:
            out.append(wrong)

    def _a_handshake(self, m: common.Handshake, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        versions = (
            None if m.supported_protocol_versions is UNSET else shared_versions(tuple(m.supported_protocol_versions))
        )
        self._set_attr(self, "_cem_versions" if m.role is CEM else "_rm_versions", versions, undo)

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

    def _c_description(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        if self.details is not None and self.details.currency is UNSET:
            pointer = _cost_pointer(m)
            if pointer is not None:
                out.append(
                    finding("S2-RMD-006", pointer, "costs are published, but ResourceManagerDetails names no currency")
                )

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
        if self._phase is not Phase.CLOSED and self._crossing is None:
            receiver = RM_TO_CEM if sender is CEM else CEM_TO_RM
            self._set_attr(self, "crossing", _Crossing(m.message_id, receiver, self._phase), undo)
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
    """Raise :class:`~s2ws.errors.InvalidContent` (the first error's diagnostic) when ``message`` must not be sent.

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
