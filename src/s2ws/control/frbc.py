"""FRBC: a storage whose fill level 1..10 actuators raise or lower.

Every FRBC operation mode is split into elements by fill level (a heat pump's COP changes with
the tank temperature), so most questions need a fill level: the one given, else the last
``FRBC.StorageStatus``. A fill level outside every element of a mode makes that mode unusable
at that level, and the answer is a refusal naming the level and the ranges there are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from ..errors import ResolutionError
from ..messages import (
    CommodityQuantity,
    ControlType,
    FRBCActuatorStatus,
    FRBCFillLevelTargetProfile,
    FRBCFillLevelTargetProfileElement,
    FRBCInstruction,
    FRBCLeakageBehaviour,
    FRBCLeakageBehaviourElement,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCTimerStatus,
    FRBCUsageForecast,
    FRBCUsageForecastElement,
    NumberRange,
    RevokableObjects,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..rules.single import fmt_num
from .operation_modes import (
    Executor,
    ModeStatus,
    OperationModeDevice,
    OperationModeView,
    Policy,
    Reachability,
    check_outgoing,
    renewed,
    series_element,
)
from .quantities import QuantityValue, factor_for, value_at
from .timers import Area

__all__ = ["FRBCDevice", "FRBCView"]


def _actuator_status(actuator_id: str, status: ModeStatus) -> FRBCActuatorStatus:
    return FRBCActuatorStatus(
        message_id=new_id(),
        actuator_id=actuator_id,
        active_operation_mode_id=status.mode_id,
        operation_mode_factor=status.factor,
        previous_operation_mode_id=UNSET if status.previous_mode_id is None else status.previous_mode_id,
        transition_timestamp=UNSET if status.transition_timestamp is None else status.transition_timestamp,
    )


def _leakage_rate(behaviour: FRBCLeakageBehaviour | None, fill_level: float) -> float | None:
    if behaviour is None:
        return None
    top: FRBCLeakageBehaviourElement | None = None
    for element in behaviour.elements:
        level = element.fill_level_range
        if level.start_of_range <= fill_level < level.end_of_range:
            return element.leakage_rate
        if fill_level == level.end_of_range:
            top = element
    if top is not None:
        return top.leakage_rate
    raise ResolutionError(f"the leakage behaviour has no element for fill level {fmt_num(fill_level)}")


class _FRBCState:
    """Storage-side information both the view and the device keep."""

    def __init__(self) -> None:
        self.fill_level_time: datetime | None = None
        self._leakage: list[FRBCLeakageBehaviour] = []
        self.usage_forecast: FRBCUsageForecast | None = None
        self.fill_level_target: FRBCFillLevelTargetProfile | None = None

    def _add_leakage(self, message: FRBCLeakageBehaviour, now: datetime) -> None:
        # As with descriptions: the latest valid_from at or before a moment is in force then.
        kept = [m for m in self._leakage if m.valid_from != message.valid_from]
        kept.append(message)
        kept.sort(key=lambda m: m.valid_from)
        current = [m for m in kept if m.valid_from <= now]
        self._leakage = current[-1:] + [m for m in kept if m.valid_from > now]

    def leakage(self, at: datetime) -> FRBCLeakageBehaviour | None:
        """The leakage behaviour in force at ``at``."""
        found = None
        for message in self._leakage:
            if message.valid_from <= at:
                found = message
        return found

    def usage_rate_at(self, moment: datetime) -> float | None:
        """The expected usage rate at ``moment`` (>0 lowers the level); None outside the forecast."""
        forecast = self.usage_forecast
        if forecast is None:
            return None
        element: FRBCUsageForecastElement | None = series_element(
            forecast.start_time, forecast.elements, moment, [e.duration for e in forecast.elements]
        )
        return None if element is None else element.usage_rate_expected

    def target_at(self, moment: datetime) -> NumberRange | None:
        """The fill-level band the CEM should aim for at ``moment``; None outside the profile."""
        profile = self.fill_level_target
        if profile is None:
            return None
        element: FRBCFillLevelTargetProfileElement | None = series_element(
            profile.start_time, profile.elements, moment, [e.duration for e in profile.elements]
        )
        return None if element is None else element.fill_level_range


class FRBCView(_FRBCState, OperationModeView[FRBCSystemDescription, FRBCInstruction]):
    """What the CEM knows of an FRBC RM (storage, actuators, forecasts), and the instructions it may send.

    ``at`` defaults to the latest ``now`` given to ``apply`` or a builder; ``fill_level`` to the
    last reported one.
    """

    area: ClassVar[Area] = "FRBC"
    status_types = (FRBCActuatorStatus,)
    timer_type = FRBCTimerStatus
    description_types = (FRBCSystemDescription,)
    instruction_object = RevokableObjects.FRBC_Instruction

    def __init__(self) -> None:
        OperationModeView.__init__(self)
        _FRBCState.__init__(self)

    def _apply_more(self, message: S2Message, now: datetime) -> bool:
        if isinstance(message, FRBCStorageStatus):
            self.fill_level = message.present_fill_level
            self.fill_level_time = now
        elif isinstance(message, FRBCLeakageBehaviour):
            self._add_leakage(message, now)
        elif isinstance(message, FRBCUsageForecast):
            self.usage_forecast = message
        elif isinstance(message, FRBCFillLevelTargetProfile):
            self.fill_level_target = message
        else:
            return False
        return True

    def clear(self) -> None:
        super().clear()
        _FRBCState.__init__(self)

    # --- questions ----------------------------------------------------------------------------

    def actuator_status(self, actuator_id: str) -> ModeStatus | None:
        """The actuator's last reported mode and factor (None before its first ActuatorStatus)."""
        return self.statuses.get(actuator_id)

    def storage(self, at: datetime | None = None) -> FRBCStorageDescription | None:
        """The storage of the description in force at ``at`` (default: the view's now)."""
        description = self.description(at)
        return None if description is None else description.storage

    def leakage_rate(self, fill_level: float | None = None, at: datetime | None = None) -> float | None:
        """Leakage (>0 lowers the level) at a fill level; None when no LeakageBehaviour is known."""
        level = fill_level if fill_level is not None else self.fill_level
        if level is None:
            return None
        return _leakage_rate(self.leakage(self._moment(at)), level)

    def reachable_modes(
        self,
        actuator_id: str,
        at: datetime | None = None,
        *,
        abnormal: bool = False,
        fill_level: float | None = None,
    ) -> list[Reachability]:
        """Every mode of the actuator: active, reachable now, later (from when) or never, and why."""
        return self._reachable_modes(actuator_id, at, abnormal=abnormal, fill_level=fill_level)

    def element_for(
        self, actuator_id: str, mode_id: str, *, fill_level: float | None = None, at: datetime | None = None
    ) -> FRBCOperationModeElement:
        """The element of the mode for the fill level, or :class:`~s2ws.errors.InstructionRefused` naming the level."""
        machine = self.machine(actuator_id, at)
        mode = machine.mode(mode_id)
        assert isinstance(mode, FRBCOperationMode)
        return self._element(machine, mode, fill_level)

    def power_at(
        self,
        actuator_id: str,
        mode_id: str,
        factor: float,
        *,
        fill_level: float | None = None,
        at: datetime | None = None,
    ) -> dict[CommodityQuantity, QuantityValue]:
        """The mode's value of every commodity quantity at ``factor`` and the fill level."""
        return self._power_at(actuator_id, mode_id, factor, fill_level=fill_level, at=at)

    def fill_rate_at(
        self,
        actuator_id: str,
        mode_id: str,
        factor: float,
        *,
        fill_level: float | None = None,
        at: datetime | None = None,
    ) -> float:
        """Fill-level units per second the mode adds at ``factor`` and the fill level."""
        element = self.element_for(actuator_id, mode_id, fill_level=fill_level, at=at)
        return value_at(element.fill_rate, factor, unit=self._rate_unit(at))

    def factor_for_power(
        self,
        actuator_id: str,
        mode_id: str,
        quantity: CommodityQuantity,
        value: float,
        *,
        fill_level: float | None = None,
        at: datetime | None = None,
    ) -> float:
        """The factor at which the mode's ``quantity`` reaches ``value`` (ResolutionError when it never does)."""
        return self._factor_for_power(actuator_id, mode_id, quantity, value, fill_level=fill_level, at=at)

    def factor_for_fill_rate(
        self,
        actuator_id: str,
        mode_id: str,
        rate: float,
        *,
        fill_level: float | None = None,
        at: datetime | None = None,
    ) -> float:
        """The factor at which the mode fills at ``rate`` (ResolutionError when it never does)."""
        element = self.element_for(actuator_id, mode_id, fill_level=fill_level, at=at)
        return factor_for(element.fill_rate, rate, unit=self._rate_unit(at))

    def _rate_unit(self, at: datetime | None) -> str:
        storage = self.storage(at)
        label = storage.fill_level_label if storage is not None else UNSET
        return f"{label}/s" if isinstance(label, str) and label else "/s"

    # --- building -----------------------------------------------------------------------------

    def instruct(
        self,
        actuator_id: str,
        mode_id: str,
        factor: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool = False,
        *,
        fill_level: float | None = None,
        record: bool = True,
    ) -> FRBCInstruction:
        """An FRBC.Instruction valid at ``execution_time``, or :class:`~s2ws.errors.InstructionRefused` saying why not.

        ``fill_level`` is the level expected then (default: the last reported one). ``record``
        keeps it as pending, so later instructions are judged from the mode it leaves.
        """
        return self._instruct(actuator_id, mode_id, factor, execution_time, now, abnormal, fill_level, record)

    def instruct_power(
        self,
        actuator_id: str,
        mode_id: str,
        quantity: CommodityQuantity,
        value: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool = False,
        *,
        fill_level: float | None = None,
        record: bool = True,
    ) -> FRBCInstruction:
        """:meth:`instruct` with the factor at which ``quantity`` reaches ``value``."""
        return self._instruct_power(
            actuator_id, mode_id, quantity, value, execution_time, now, abnormal, fill_level, record
        )

    def _build(
        self, actuator_id: str, mode_id: str, factor: float, execution_time: datetime, abnormal: bool
    ) -> FRBCInstruction:
        return FRBCInstruction(
            message_id=new_id(),
            id=new_id(),
            actuator_id=actuator_id,
            operation_mode=mode_id,
            operation_mode_factor=factor,
            execution_time=execution_time,
            abnormal_condition=abnormal,
        )


class FRBCDevice(_FRBCState, OperationModeDevice[FRBCSystemDescription, FRBCInstruction]):
    """The RM side of FRBC: the description, each actuator's starting mode, and the fill level.

    The fill level is the device's to report (``set_fill_level``); instructions are judged against
    the last one set, as the CEM judges them against the last one reported.
    """

    area: ClassVar[Area] = "FRBC"
    control_type = ControlType.FILL_RATE_BASED_CONTROL
    instruction_type = FRBCInstruction
    instruction_object = RevokableObjects.FRBC_Instruction

    def __init__(
        self,
        description: FRBCSystemDescription,
        modes: Mapping[str, tuple[str, float]],
        *,
        fill_level: float | None = None,
        on_change: Executor | None = None,
        accept: Policy | None = None,
        strict_ids: bool = False,
    ) -> None:
        OperationModeDevice.__init__(
            self, description, modes, on_change=on_change, accept=accept, strict_ids=strict_ids
        )
        _FRBCState.__init__(self)
        self.fill_level = fill_level

    def set_mode(self, actuator_id: str, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
        """An actuator changed mode or factor on its own: its status (and timers) to send."""
        return self._set_mode(actuator_id, mode_id, factor, now)

    def set_fill_level(self, fill_level: float, now: datetime) -> list[S2Message]:
        """The storage's level changed: the StorageStatus to send."""
        self._seen(now)
        self.fill_level = fill_level
        self.fill_level_time = now
        return [self._storage_status()] if self.active else []

    def _storage_status(self) -> FRBCStorageStatus:
        assert self.fill_level is not None
        return FRBCStorageStatus(message_id=new_id(), present_fill_level=self.fill_level)

    def _flag(self, name: str, now: datetime) -> None:
        description = self.descriptions.at(now) or self.descriptions.next_after(now)
        if description is None or not getattr(description.storage, name):
            raise ValueError(f"the storage description announces {name} false; say true before sending it")

    def set_leakage(
        self, elements: Sequence[FRBCLeakageBehaviourElement], now: datetime, *, valid_from: datetime | None = None
    ) -> list[S2Message]:
        """New leakage behaviour (from ``valid_from``, default now): the message to send."""
        self._seen(now)
        self._flag("provides_leakage_behaviour", now)
        message = FRBCLeakageBehaviour(message_id=new_id(), valid_from=valid_from or now, elements=list(elements))
        check_outgoing(message, now)
        self._add_leakage(message, now)
        return [message] if self.active else []

    def set_usage_forecast(
        self, start_time: datetime, elements: Sequence[FRBCUsageForecastElement], now: datetime
    ) -> list[S2Message]:
        self._seen(now)
        self._flag("provides_usage_forecast", now)
        message = FRBCUsageForecast(message_id=new_id(), start_time=start_time, elements=list(elements))
        check_outgoing(message, now)
        self.usage_forecast = message
        return [message] if self.active else []

    def set_fill_level_target(
        self, start_time: datetime, elements: Sequence[FRBCFillLevelTargetProfileElement], now: datetime
    ) -> list[S2Message]:
        self._seen(now)
        self._flag("provides_fill_level_target_profile", now)
        message = FRBCFillLevelTargetProfile(message_id=new_id(), start_time=start_time, elements=list(elements))
        check_outgoing(message, now)
        self.fill_level_target = message
        return [message] if self.active else []

    def _status_message(self, actuator_id: str, status: ModeStatus) -> S2Message:
        return _actuator_status(actuator_id, status)

    def _extra_messages(self, now: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        if self.fill_level is not None:
            out.append(self._storage_status())
        leakage = self.leakage(now)
        if leakage is not None:
            fresh = renewed(leakage)
            self._leakage = [fresh if m is leakage else m for m in self._leakage]
            out.append(fresh)
        if self.usage_forecast is not None:
            self.usage_forecast = renewed(self.usage_forecast)
            out.append(self.usage_forecast)
        if self.fill_level_target is not None:
            self.fill_level_target = renewed(self.fill_level_target)
            out.append(self.fill_level_target)
        return out
