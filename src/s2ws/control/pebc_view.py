"""The CEM's side of PEBC: :class:`PEBCView` follows a device's constraints, answers which
limits are allowed when, and builds envelopes the RM cannot refuse on the rules of the standard."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, NamedTuple, TypeVar

from ..findings import Finding
from ..messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatus,
    InstructionStatusUpdate,
    NumberRange,
    PEBCAllowedLimitRange,
    PEBCEnergyConstraint,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelope,
    PEBCPowerEnvelopeElement,
    PEBCPowerEnvelopeLimitType,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..messages.timeline import later
from ..rules import check_message
from ..rules.pebc_rules import (
    Interval,
    allowed_intervals,
    constraints_in_force,
    energy_problem,
    judge_constraints_reference,
    judge_envelope,
    judge_pebc_instruction,
    missing_limit_kind,
    no_lower_limit_below,
    no_room_for,
)

__all__ = ["AllowedLimits", "EnvelopeStep", "Interval", "PEBCView", "StepLike", "limit_ranges"]

UPPER: Final = PEBCPowerEnvelopeLimitType.UPPER_LIMIT
LOWER: Final = PEBCPowerEnvelopeLimitType.LOWER_LIMIT
_MS: Final = timedelta(milliseconds=1)
_MAX_REVOKED: Final = 256

_T = TypeVar("_T")


# --- small helpers ---------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _ms(duration: timedelta) -> int:
    """A timedelta as whole milliseconds, the only durations S2 can carry."""
    return round(duration / _MS)


def limit_ranges(
    quantity: CommodityQuantity,
    *,
    upper: Iterable[Interval],
    lower: Iterable[Interval],
    abnormal_upper: Iterable[Interval] = (),
    abnormal_lower: Iterable[Interval] = (),
) -> list[PEBCAllowedLimitRange]:
    """The ``allowed_limit_ranges`` entries for one quantity, from plain (start, end) pairs.

    A PV inverter of 4 kWp: ``limit_ranges(L1, upper=[(0, 0)], lower=[(-4000, 0)])``.
    """
    out: list[PEBCAllowedLimitRange] = []
    for kind, pairs, abnormal in (
        (UPPER, upper, False),
        (LOWER, lower, False),
        (UPPER, abnormal_upper, True),
        (LOWER, abnormal_lower, True),
    ):
        out.extend(
            PEBCAllowedLimitRange(
                commodity_quantity=quantity,
                limit_type=kind,
                range_boundary=NumberRange(start_of_range=float(a), end_of_range=float(b)),
                abnormal_condition_only=abnormal,
            )
            for a, b in pairs
        )
    return out


# --- values --------------------------------------------------------------------------------


class EnvelopeStep(NamedTuple):
    """One element of an envelope as a planner thinks of it: for ``duration``, stay within
    [``lower_limit``, ``upper_limit``]."""

    duration: timedelta
    lower_limit: float
    upper_limit: float


StepLike = EnvelopeStep | PEBCPowerEnvelopeElement


def _element(step: StepLike) -> PEBCPowerEnvelopeElement:
    if isinstance(step, PEBCPowerEnvelopeElement):
        return step
    return PEBCPowerEnvelopeElement(
        duration=_ms(step.duration), upper_limit=float(step.upper_limit), lower_limit=float(step.lower_limit)
    )


@dataclass(frozen=True, slots=True)
class AllowedLimits:
    """Which envelope limits one quantity may take at one moment: the union of its ranges.

    ``upper`` and ``lower`` are sorted, disjoint closed intervals (abnormal-only ranges are
    included only when the query asked for them). Empty tuples: the constraints in force allow
    no limit of that kind for this quantity, so no envelope for it can be built.
    """

    quantity: CommodityQuantity
    constraints_id: str
    upper: tuple[Interval, ...]
    lower: tuple[Interval, ...]

    def allows_upper(self, value: float) -> bool:
        return any(a <= value <= b for a, b in self.upper)

    def allows_lower(self, value: float) -> bool:
        return any(a <= value <= b for a, b in self.lower)

    def tightest_upper(self, cap: float) -> float | None:
        """The allowed upper limit closest to ``cap`` that does not exceed it, or the lowest
        allowed one when every allowed value exceeds ``cap`` (None: no upper range at all)."""
        return _at_most(self.upper, cap) if _at_most(self.upper, cap) is not None else _at_least(self.upper, cap)

    def tightest_lower(self, cap: float) -> float | None:
        """The allowed lower limit closest to ``cap`` that is not below it, or the highest
        allowed one when every allowed value is below ``cap`` (None: no lower range at all)."""
        return _at_least(self.lower, cap) if _at_least(self.lower, cap) is not None else _at_most(self.lower, cap)


def _at_most(intervals: Sequence[Interval], value: float) -> float | None:
    """The largest allowed value ≤ ``value``."""
    best: float | None = None
    for a, b in intervals:
        if a <= value:
            best = float(min(b, value))
    return best


def _at_least(intervals: Sequence[Interval], value: float) -> float | None:
    """The smallest allowed value ≥ ``value``."""
    for a, b in intervals:
        if b >= value:
            return float(max(a, value))
    return None


# --- the CEM's view ----------------------------------------------------------------------------


class PEBCView:
    """What a CEM knows about one RM's PEBC constraints, and the instructions it may send.

    Feed it every message of the session with :meth:`apply` (received and sent alike; anything
    that is not PEBC state is ignored). PowerConstraints are kept by id until revoked: those
    whose ``valid_from`` is still ahead are *scheduled*, and from its ``valid_from`` the most
    recent constraints supersede the older ones (protocol §3.6), so exactly one set is *in force*
    at any moment (or none). Queries and builders take the moment they ask about.
    """

    def __init__(self) -> None:
        self._constraints: dict[str, PEBCPowerConstraints] = {}
        self._energy: dict[str, PEBCEnergyConstraint] = {}
        self._revoked: dict[str, None] = {}
        self._sent: dict[str, InstructionStatus | None] = {}
        """Instructions built (or applied as sent) here -> the last status the RM reported."""

    # --- state ---------------------------------------------------------------------------------

    def apply(self, message: S2Message, now: datetime) -> bool:
        """Take in a message of the session; False when it means nothing here.

        A SelectControlType other than PEBC drops everything: constraints belong to the active
        control type.
        """
        if isinstance(message, PEBCPowerConstraints):
            self._constraints.pop(message.id, None)  # a re-publication counts as the newest
            self._constraints[message.id] = message
        elif isinstance(message, PEBCEnergyConstraint):
            self._energy.pop(message.id, None)
            self._energy[message.id] = message
        elif isinstance(message, PEBCInstruction):
            self._record(message.id)
        elif isinstance(message, InstructionStatusUpdate):
            if message.instruction_id not in self._sent:
                return False
            self._sent[message.instruction_id] = message.status_type
        elif isinstance(message, RevokeObject):
            if message.object_type is RevokableObjects.PEBC_PowerConstraints:
                return self._drop(self._constraints, message.object_id)
            if message.object_type is RevokableObjects.PEBC_EnergyConstraint:
                return self._drop(self._energy, message.object_id)
            return False
        elif isinstance(message, SelectControlType):
            if message.control_type is not ControlType.POWER_ENVELOPE_BASED_CONTROL:
                self.clear()
        else:
            return False
        return True

    def clear(self) -> None:
        """Forget everything (the control type was deselected or the session ended)."""
        self._constraints.clear()
        self._energy.clear()
        self._sent.clear()

    def _drop(self, table: dict[str, _T], object_id: str) -> bool:
        if table.pop(object_id, None) is None:
            return False
        self._revoked[object_id] = None
        if len(self._revoked) > _MAX_REVOKED:
            del self._revoked[next(iter(self._revoked))]
        return True

    def _record(self, instruction_id: str) -> None:
        self._sent.setdefault(instruction_id, None)
        if len(self._sent) > _MAX_REVOKED:
            del self._sent[next(iter(self._sent))]

    def instruction_status(self, instruction_id: str) -> InstructionStatus | None:
        """The last status the RM reported for an instruction built or applied here."""
        return self._sent.get(instruction_id)

    def forget(self, instruction_id: str) -> None:
        """Drop an instruction that was built but never sent."""
        self._sent.pop(instruction_id, None)

    def revoke(self, instruction_id: str, now: datetime) -> RevokeObject:
        """The RevokeObject withdrawing an instruction; its envelopes stop applying at the RM."""
        return RevokeObject(
            message_id=new_id(), object_type=RevokableObjects.PEBC_Instruction, object_id=instruction_id
        )

    # --- queries -------------------------------------------------------------------------------

    def constraints(self, now: datetime) -> list[PEBCPowerConstraints]:
        """Every PowerConstraints in force or scheduled at ``now`` (not yet expired), by valid_from."""
        live = [c for c in self._constraints.values() if c.valid_until is UNSET or c.valid_until > now]
        return sorted(live, key=lambda c: c.valid_from)

    def constraints_at(self, at: datetime) -> PEBCPowerConstraints | None:
        """The PowerConstraints in force at ``at``: of those valid then, the one with the latest
        valid_from (the later-received one on a tie)."""
        return constraints_in_force(self._constraints.values(), at)  # insertion order = order of arrival

    def get_constraints(self, constraints_id: str) -> PEBCPowerConstraints | None:
        """The PowerConstraints received with this id (None when unknown or revoked)."""
        return self._constraints.get(constraints_id)

    def energy_constraints(self, quantity: CommodityQuantity | None = None) -> list[PEBCEnergyConstraint]:
        """The EnergyConstraints not revoked (of ``quantity`` when given), by valid_from."""
        found = [e for e in self._energy.values() if quantity is None or e.commodity_quantity is quantity]
        return sorted(found, key=lambda e: e.valid_from)

    def allowed_limits(self, quantity: CommodityQuantity, at: datetime, abnormal: bool = False) -> AllowedLimits | None:
        """The union of allowed UPPER and LOWER ranges of ``quantity`` at ``at``.

        Abnormal-only ranges count only when ``abnormal`` is true. None when no constraints are
        in force at ``at``.
        """
        constraints = self.constraints_at(at)
        return None if constraints is None else _allowed(constraints, quantity, abnormal)

    # --- judging -------------------------------------------------------------------------------

    def check(self, instruction: PEBCInstruction, now: datetime) -> list[Finding]:
        """Every reason the RM may refuse ``instruction`` if it arrived at ``now`` (empty: none).

        The single-message rules, then the PEBC rules of ``rules.pebc_rules`` against what this
        view holds: the constraints it names exist and are the ones in force when it takes effect
        (S2-PEBC-010/011), each envelope's quantity has ranges (012), every limit lies in an
        allowed range (013/014), abnormal-only ranges only with ``abnormal_condition`` (015), no
        envelope outlives its constraints (017), energy constraints keep their room (016).
        """
        out = [f for f in check_message(instruction) if f.is_error]
        out.extend(judge_pebc_instruction(instruction, now, self._constraints, self._revoked, self._energy.values()))
        return out

    def check_envelope(
        self,
        quantity: CommodityQuantity,
        steps: Sequence[StepLike],
        execution_time: datetime,
        now: datetime,
        *,
        abnormal: bool = False,
        constraints_id: str | None = None,
    ) -> list[Finding]:
        """Every reason an envelope of ``quantity`` starting at ``execution_time`` would be
        refused; the constraints are those in force then unless ``constraints_id`` names others."""
        constraints, problem = self._resolve(constraints_id, execution_time, now)
        if constraints is None:
            return [] if problem is None else [problem]
        elements = [_element(s) for s in steps]
        return judge_envelope(constraints, quantity, elements, execution_time, abnormal, self._energy.values())

    def _resolve(
        self, constraints_id: str | None, execution_time: datetime, now: datetime
    ) -> tuple[PEBCPowerConstraints | None, Finding | None]:
        start = max(execution_time, now)
        return judge_constraints_reference(constraints_id, self._constraints, self._revoked, start)

    # --- building ------------------------------------------------------------------------------

    def instruct(
        self,
        envelopes: Mapping[CommodityQuantity, Sequence[StepLike]],
        execution_time: datetime,
        now: datetime,
        *,
        abnormal: bool = False,
        constraints_id: str | None = None,
        instruction_id: str | None = None,
        record: bool = True,
    ) -> PEBCInstruction:
        """A PEBC.Instruction with one envelope per quantity, each starting at ``execution_time``.

        It refers to the constraints in force when it takes effect (or ``constraints_id``).
        Raises :class:`~s2ws.errors.InstructionRefused` with the first reason the RM could refuse it, so an
        instruction that leaves here breaks no rule of the standard. With ``record`` the view
        follows its status updates (:meth:`instruction_status`).
        """
        if not envelopes:
            raise ValueError("an instruction needs at least one envelope")
        constraints, problem = self._resolve(constraints_id, execution_time, now)
        if constraints is None:
            assert problem is not None
            raise problem.refusal()
        instruction = PEBCInstruction(
            message_id=new_id(),
            id=instruction_id or new_id(),
            execution_time=execution_time,
            abnormal_condition=abnormal,
            power_constraints_id=constraints.id,
            power_envelopes=[
                PEBCPowerEnvelope(
                    id=new_id(), commodity_quantity=quantity, power_envelope_elements=[_element(s) for s in steps]
                )
                for quantity, steps in envelopes.items()
            ],
        )
        problems = self.check(instruction, now)
        if problems:
            raise problems[0].refusal()
        if record:
            self._record(instruction.id)
        return instruction

    def tightest_envelope(
        self,
        quantity: CommodityQuantity,
        execution_time: datetime,
        now: datetime,
        duration: timedelta,
        *,
        upper: float | None = None,
        lower: float | None = None,
        abnormal: bool = False,
    ) -> list[EnvelopeStep]:
        """The envelope that holds ``quantity`` as close to the wanted caps as the RM allows.

        ``upper`` caps consumption, ``lower`` caps production (a negative number); a cap left
        out gets the most permissive allowed limit. Each cap is rounded to the nearest allowed
        value on the safe side (a cap of 2500 W with allowed [0, 2000] ∪ [3000, 4000] gives
        2000), or to the nearest allowed at all when nothing is on that side. Inside the window
        of an EnergyConstraint the envelope covers, the limits are then relaxed just enough to
        leave the energy the device needs. Raises :class:`~s2ws.errors.InstructionRefused` when no valid
        envelope exists (no constraints, unknown quantity, past ``valid_until``, no room).
        """
        total = _ms(duration)
        if total <= 0:
            raise ValueError("the envelope must last at least 1 ms")
        constraints, problem = self._resolve(None, execution_time, now)
        if constraints is None:
            assert problem is not None
            raise problem.refusal()
        allowed = _allowed(constraints, quantity, abnormal)
        missing = missing_limit_kind(constraints, quantity, allowed.upper, allowed.lower)
        if missing is not None:
            raise missing.refusal()
        hi = allowed.upper[-1][1] if upper is None else allowed.tightest_upper(upper)
        lo = allowed.lower[0][0] if lower is None else allowed.tightest_lower(lower)
        assert hi is not None and lo is not None
        if lo > hi:
            lo = _require(_at_most(allowed.lower, hi), no_lower_limit_below(quantity, hi))
        # Segments in milliseconds from execution_time: [start, end, lower, upper].
        segments: list[list[float]] = [[0, total, lo, hi]]
        end = later(execution_time, total)
        for energy in self.energy_constraints(quantity):
            if not (execution_time <= energy.valid_from and end >= energy.valid_until):
                continue
            first = math.floor((energy.valid_from - execution_time) / _MS)
            last = math.ceil((energy.valid_until - execution_time) / _MS)
            segments = _split(_split(segments, first), last)
            inside = [s for s in segments if first <= s[0] and s[1] <= last]
            elements = _segments_to_elements(segments)
            if energy_problem(elements, execution_time, energy) is None:
                continue
            if energy.upper_average_power > 0:
                level = _require(_at_least(allowed.upper, energy.upper_average_power), no_room_for(energy, "upper"))
                for s in inside:
                    s[3] = max(s[3], level)
            if energy.lower_average_power < 0:
                level = _require(_at_most(allowed.lower, energy.lower_average_power), no_room_for(energy, "lower"))
                for s in inside:
                    s[2] = min(s[2], level)
        steps = [EnvelopeStep(e.duration * _MS, e.lower_limit, e.upper_limit) for e in _segments_to_elements(segments)]
        problems = self.check_envelope(quantity, steps, execution_time, now, abnormal=abnormal)
        if problems:
            raise problems[0].refusal()
        return steps

    def cap(
        self,
        quantity: CommodityQuantity,
        execution_time: datetime,
        now: datetime,
        duration: timedelta,
        *,
        upper: float | None = None,
        lower: float | None = None,
        abnormal: bool = False,
        instruction_id: str | None = None,
        record: bool = True,
    ) -> PEBCInstruction:
        """:meth:`tightest_envelope` wrapped in an instruction: the one-line way to cap a device."""
        steps = self.tightest_envelope(
            quantity, execution_time, now, duration, upper=upper, lower=lower, abnormal=abnormal
        )
        return self.instruct(
            {quantity: steps}, execution_time, now, abnormal=abnormal, instruction_id=instruction_id, record=record
        )


def _allowed(constraints: PEBCPowerConstraints, quantity: CommodityQuantity, abnormal: bool) -> AllowedLimits:
    upper, lower = allowed_intervals(constraints, quantity, abnormal)
    return AllowedLimits(quantity, constraints.id, upper, lower)


def _require(value: float | None, refusal: Finding) -> float:
    if value is None:
        raise refusal.refusal()
    return value


def _split(segments: list[list[float]], at: float) -> list[list[float]]:
    out: list[list[float]] = []
    for s in segments:
        if s[0] < at < s[1]:
            out.extend(([s[0], at, s[2], s[3]], [at, s[1], s[2], s[3]]))
        else:
            out.append(s)
    return out


def _segments_to_elements(segments: Sequence[Sequence[float]]) -> list[PEBCPowerEnvelopeElement]:
    """Envelope elements from ms segments, joining neighbours with the same limits."""
    out: list[PEBCPowerEnvelopeElement] = []
    for start, end, lo, hi in segments:
        duration = int(end - start)
        if out and out[-1].lower_limit == lo and out[-1].upper_limit == hi:
            last = out.pop()
            duration += last.duration
        out.append(PEBCPowerEnvelopeElement(duration=duration, upper_limit=hi, lower_limit=lo))
    return out
