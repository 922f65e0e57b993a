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
)
from ..messages.base import UNSET
from ..rules.om_rules import (
    judge_om_instruction,
    judge_transition,
    mode_abnormal,
    no_description,
    no_fill_level,
    unknown_actuator,
)
from ..rules.single import judge_factor
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
            raise no_description(self.area, None).refusal()
        return moment

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
                raise no_description(self.area, None).refusal()
            upcoming = self.descriptions.next_after(moment)
            raise no_description(self.area, moment, None if upcoming is None else upcoming.valid_from).refusal()
        machine = machines.get(actuator_id)
        if machine is None:
            raise unknown_actuator(self.area, actuator_id, machines).refusal()
        return machine

    def actuator_ids(self, at: datetime | None = None) -> list[str]:
        """The actuators of the description in force at ``at`` (default: now); [] before one."""
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
        """Raise :class:`~s2ws.errors.InstructionRefused` unless "mode at factor from ``at``" is valid then.

        The order follows the catalogue: factor, actuator and mode ids, abnormal-only mode,
        transition from the expected mode, abnormal-only transition, blocking timers, and (FRBC)
        an element for the fill level (``fill_level``, else the last reported one).
        """
        wrong = judge_factor(self.area, factor, subject="factor ")
        if wrong is not None:
            raise wrong.refusal()
        machine = self.machine(actuator_id, at)
        mode = machine.mode(mode_id)
        expected = self.expected(actuator_id, at, exclude=exclude)
        note = _expected_words(self, actuator_id, expected, at)
        level = fill_level if fill_level is not None else self.fill_level
        problems = judge_om_instruction(machine, mode_id, abnormal, expected.mode_id, expected.timers, at, level, note)
        if problems:
            raise problems[0].refusal()
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
            raise no_fill_level(machine, mode).refusal()
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
    if (wrong := mode_abnormal(machine, mode_id, mode, abnormal)) is not None:
        return Reachability(mode_id, Reach.NEVER, None, wrong.reason, rule=wrong.rule)
    if isinstance(mode, FRBCOperationMode) and fill_level is not None:
        try:
            element_for(mode, fill_level, owner=machine.owner)
        except InstructionRefused as refusal:
            return Reachability(mode_id, Reach.NEVER, None, refusal.reason, rule=refusal.rule)
    if expected.mode_id is None:
        return Reachability(mode_id, Reach.NOW, at, "the active mode is unknown (no status yet); nothing to check")
    transition, until, wrong = judge_transition(machine, expected.mode_id, mode_id, abnormal, expected.timers, at)
    if wrong is not None:
        kind = Reach.LATER if until is not None else Reach.NEVER
        return Reachability(mode_id, kind, until, wrong.reason, transition, wrong.rule)
    assert transition is not None
    duration = transition.transition_duration
    settle = f", taking {duration} ms" if duration is not UNSET and duration else ""
    return Reachability(mode_id, Reach.NOW, at, f"via {machine.arrow(transition)}{settle}", transition)
