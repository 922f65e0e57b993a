"""What both roles know of an operation-mode device: :class:`OperationModeState`, the
descriptions, statuses and timers fed to it, and the reachability of modes it answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic

from ..errors import InstructionRefused, ResolutionError
from ..messages import (
    CommodityQuantity,
    FRBCOperationMode,
    FRBCOperationModeElement,
    PowerRange,
    Transition,
)
from ..messages.base import UNSET
from ..rules.catalogue import OM_RULE_IDS
from ..rules.om_machine import _mode_pointer, _named
from ..rules.single import fmt_num
from .om_machine import (
    D,
    DescriptionBook,
    Expected,
    Machine,
    ModeStatus,
    OperationMode,
    Reach,
    Reachability,
    Step,
    element_for,
    iso,
    project,
)
from .quantities import QuantityValue, factor_for_quantity, value_of
from .timers import Area, TimerBook

__all__ = ["OperationModeState"]

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
