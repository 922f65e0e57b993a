"""The RM's side of PEBC: :class:`PEBCDevice` publishes a device's constraints, judges envelopes
with a :class:`~s2ws.control.pebc_view.PEBCView` of its own messages and keeps the one in force."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypeVar

from ..messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatusUpdate,
    PEBCAllowedLimitRange,
    PEBCEnergyConstraint,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelopeConsequenceType,
    PEBCPowerEnvelopeLimitType,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..messages.timeline import later, total_ms
from ..rules import check_message
from .pebc_view import PEBCView
from .scheduler import Decision, InstructionScheduler

__all__ = ["ActiveLimits", "PEBCDevice"]

UPPER: Final = PEBCPowerEnvelopeLimitType.UPPER_LIMIT
LOWER: Final = PEBCPowerEnvelopeLimitType.LOWER_LIMIT
_MAX_REVOKED: Final = 256

_T = TypeVar("_T")


# --- the RM's building block -------------------------------------------------------------------


def _ensure_valid(message: S2Message) -> None:
    """Refuse to publish a description the single-message rules reject (a device-author bug)."""
    for item in check_message(message):
        if item.severity == "error":
            raise item.error()


@dataclass(frozen=True, slots=True)
class ActiveLimits:
    """The envelope element in force for one quantity at one moment."""

    instruction_id: str
    lower_limit: float
    upper_limit: float
    until: datetime
    """When this element ends."""


@dataclass(eq=False)
class _Running:
    instruction: PEBCInstruction
    start: datetime
    ends: dict[CommodityQuantity, datetime]
    """Quantities still bounded by this instruction, and when each envelope ends."""


class PEBCDevice:
    """The RM side of PEBC for one device: publish constraints, judge and follow envelopes.

    The device author supplies the allowed limit ranges (see :func:`~s2ws.control.pebc_view.limit_ranges`) and, when the
    device needs energy in a window (an EV by its departure), energy constraints. Received
    instructions are judged by a :class:`PEBCView` of the device's own messages, so the RM
    refuses exactly what a CEM's view would not have built. Accepted instructions start at
    their execution_time; for each quantity the most recently started envelope is in force
    (a newer instruction replaces an older one from its execution_time), and an instruction
    SUCCEEDS when its last envelope ends or is replaced: replacing is how a CEM re-plans, not a
    failure.
    """

    def __init__(
        self,
        allowed_limit_ranges: Sequence[PEBCAllowedLimitRange],
        *,
        consequence_type: PEBCPowerEnvelopeConsequenceType = PEBCPowerEnvelopeConsequenceType.VANISH,
        valid_for: timedelta | None = None,
        strict_ids: bool = False,
    ) -> None:
        self.allowed_limit_ranges = list(allowed_limit_ranges)
        self.strict_ids = strict_ids
        """Answer an instruction naming unknown constraints with INVALID_CONTENT (raise from
        :meth:`handle`) rather than ReceptionStatus OK plus REJECTED."""
        self.consequence_type = consequence_type
        self.valid_for = valid_for
        self.view = PEBCView()
        self.scheduler: InstructionScheduler[PEBCInstruction] = InstructionScheduler(self._judge)
        self._energy: dict[str, PEBCEnergyConstraint] = {}
        self._running: dict[str, _Running] = {}
        self._active = False

    # --- publishing -----------------------------------------------------------------------------

    def activate(self, now: datetime) -> list[S2Message]:
        """PEBC was selected: fresh PowerConstraints (valid from ``now``, for ``valid_for`` when
        given), then every energy constraint not yet over."""
        self._active = True
        self.view.clear()
        out: list[S2Message] = [self._constraints(self.allowed_limit_ranges, now, None)]
        out.extend(e for e in self._energy.values() if e.valid_until > now)
        for message in out:
            self.view.apply(message, now)
        return out

    def update_limits(
        self,
        allowed_limit_ranges: Sequence[PEBCAllowedLimitRange],
        now: datetime,
        *,
        valid_from: datetime | None = None,
    ) -> list[S2Message]:
        """New ranges (a cooler day, a new grid contract): new PowerConstraints that supersede
        the current ones from ``valid_from`` (default ``now``). Nothing is sent while inactive."""
        self.allowed_limit_ranges = list(allowed_limit_ranges)
        if not self._active:
            return []
        message = self._constraints(self.allowed_limit_ranges, now, valid_from)
        self.view.apply(message, now)
        return [message]

    def require_energy(
        self,
        quantity: CommodityQuantity,
        valid_from: datetime,
        valid_until: datetime,
        *,
        lower_average_power: float,
        upper_average_power: float,
        now: datetime,
        constraint_id: str | None = None,
    ) -> list[S2Message]:
        """Ask the CEM to leave room for energy in a window; the EnergyConstraint is sent now when
        PEBC is active, or on :meth:`activate`."""
        message = PEBCEnergyConstraint(
            message_id=new_id(),
            id=constraint_id or new_id(),
            valid_from=valid_from,
            valid_until=valid_until,
            upper_average_power=float(upper_average_power),
            lower_average_power=float(lower_average_power),
            commodity_quantity=quantity,
        )
        _ensure_valid(message)
        self._energy[message.id] = message
        if not self._active:
            return []
        self.view.apply(message, now)
        return [message]

    def drop_energy(self, constraint_id: str, now: datetime) -> list[S2Message]:
        """Withdraw an energy constraint (the EV left early): a RevokeObject when active."""
        if self._energy.pop(constraint_id, None) is None or not self._active:
            return []
        revoke = RevokeObject(
            message_id=new_id(), object_type=RevokableObjects.PEBC_EnergyConstraint, object_id=constraint_id
        )
        self.view.apply(revoke, now)
        return [revoke]

    def _constraints(
        self, ranges: Sequence[PEBCAllowedLimitRange], now: datetime, valid_from: datetime | None
    ) -> PEBCPowerConstraints:
        start = valid_from or now
        message = PEBCPowerConstraints(
            message_id=new_id(),
            id=new_id(),
            valid_from=start,
            valid_until=UNSET if self.valid_for is None else start + self.valid_for,
            consequence_type=self.consequence_type,
            allowed_limit_ranges=list(ranges),
        )
        _ensure_valid(message)
        return message

    # --- instructions ---------------------------------------------------------------------------

    def _judge(self, instruction: PEBCInstruction, now: datetime) -> None:
        problems = self.view.check(instruction, now)
        if problems:
            raise problems[0].refusal()

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        """React to a message from the CEM: SelectControlType, a PEBC.Instruction, its revocation.

        Raises :class:`~s2ws.errors.InvalidContent` where the ReceptionStatus should say so: revoking an
        unknown instruction and, with ``strict_ids``, an instruction naming unknown constraints.
        """
        if isinstance(message, SelectControlType):
            out: list[S2Message] = self.deactivate(now) if self._active else []
            if message.control_type is ControlType.POWER_ENVELOPE_BASED_CONTROL:
                out.extend(self.activate(now))
            return out
        if isinstance(message, PEBCInstruction):
            decision = self.receive(message, now)
            if self.strict_ids and not decision.accepted and not decision.rejectable and not decision.duplicate:
                raise decision.as_invalid_content()
            return [*decision.messages, *self.tick(now)]
        if isinstance(message, RevokeObject) and message.object_type is RevokableObjects.PEBC_Instruction:
            return self.revoke(message.object_id, now)
        return []

    def receive(self, instruction: PEBCInstruction, now: datetime) -> Decision:
        """Judge an instruction: ACCEPTED (it starts on a later :meth:`tick`) or REJECTED with the
        rule it breaks (see :class:`~s2ws.control.scheduler.Decision`)."""
        return self.scheduler.submit(instruction, now)

    def revoke(self, instruction_id: str, now: datetime) -> list[S2Message]:
        """The CEM revoked an instruction: REVOKED, and its envelopes no longer apply."""
        out: list[S2Message] = [*self.scheduler.revoke(instruction_id, now)]
        self._running.pop(instruction_id, None)
        return out

    def tick(self, now: datetime) -> list[S2Message]:
        """Advance to ``now``: start what fell due (STARTED), end what ran out (SUCCEEDED).

        Events are taken in time order, so a late call reports the same story as timely ones,
        each update stamped with the moment it happened.
        """
        out: list[S2Message] = []
        for instruction in self.scheduler.due(now):
            start = instruction.execution_time
            out.extend(self._finish_until(start))
            ends = {
                e.commodity_quantity: later(start, total_ms(x.duration for x in e.power_envelope_elements))
                for e in instruction.power_envelopes
            }
            for other in list(self._running.values()):  # replaced from this start on
                for quantity in ends:
                    other.ends.pop(quantity, None)
                if not other.ends:
                    out.extend(self._succeed(other, start))
            out.extend(self.scheduler.start(instruction.id, start))
            self._running[instruction.id] = _Running(instruction, start, ends)
        out.extend(self._finish_until(now))
        return out

    def _finish_until(self, moment: datetime) -> list[InstructionStatusUpdate]:
        out: list[InstructionStatusUpdate] = []
        for running in sorted(self._running.values(), key=lambda r: max(r.ends.values(), default=r.start)):
            for quantity, end in list(running.ends.items()):
                if end <= moment:
                    del running.ends[quantity]
            if not running.ends:
                out.extend(self._succeed(running, moment))
        return out

    def _succeed(self, running: _Running, moment: datetime) -> list[InstructionStatusUpdate]:
        self._running.pop(running.instruction.id, None)
        ended = max(
            (
                later(running.start, total_ms(x.duration for x in e.power_envelope_elements))
                for e in running.instruction.power_envelopes
            ),
            default=moment,
        )
        return self.scheduler.succeed(running.instruction.id, min(ended, moment))

    def deactivate(self, now: datetime) -> list[S2Message]:
        """PEBC was deselected: open instructions are ABORTED and no envelope applies any more."""
        self._active = False
        self._running.clear()
        self.view.clear()
        return list(self.scheduler.deactivate(now))

    def next_wakeup(self) -> datetime | None:
        """When :meth:`tick` has something to do next (an execution time or an envelope's end)."""
        times = [end for r in self._running.values() for end in r.ends.values()]
        due = self.scheduler.next_wakeup()
        if due is not None:
            times.append(due)
        return min(times, default=None)

    # --- what the device must do --------------------------------------------------------------------

    def limits_at(self, quantity: CommodityQuantity, at: datetime) -> ActiveLimits | None:
        """The envelope element bounding ``quantity`` at ``at`` (None: unconstrained).

        Looks at accepted and started instructions as :meth:`tick` left them, so ask about
        ``at`` ≥ the last tick: the latest instruction taking effect by ``at`` that still bounds
        ``quantity`` decides.
        """
        for instruction in reversed(self.scheduler.open()):
            if instruction.execution_time > at:
                continue
            running = self._running.get(instruction.id)
            if running is not None and quantity not in running.ends:
                continue
            envelope = next((e for e in instruction.power_envelopes if e.commodity_quantity is quantity), None)
            if envelope is None:
                continue
            t = instruction.execution_time
            for element in envelope.power_envelope_elements:
                t_end = later(t, element.duration)
                if t <= at < t_end:
                    return ActiveLimits(instruction.id, element.lower_limit, element.upper_limit, t_end)
                t = t_end
            return None
        return None

    def clamp(self, quantity: CommodityQuantity, wanted: float, at: datetime) -> float:
        """The power the device may use at ``at`` when it would like ``wanted``."""
        limits = self.limits_at(quantity, at)
        if limits is None:
            return wanted
        return min(max(wanted, limits.lower_limit), limits.upper_limit)
