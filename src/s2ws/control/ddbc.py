"""DDBC: a demand that 1..10 actuators can supply in different ways (a hybrid heat pump).

Each mode has a factor-linked ``supply_range`` besides its power ranges; the demand comes from
the description (profile 0.0.2-beta) or from ``DDBC.PresentDemandStatus`` (profile 1.0.0), and
optionally an average demand rate forecast. Supply and demand share one RM-defined unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

import msgspec

from ..messages import (
    CommodityQuantity,
    ControlType,
    DDBCActuatorStatus,
    DDBCAverageDemandRateForecast,
    DDBCAverageDemandRateForecastElement,
    DDBCInstruction,
    DDBCOperationMode,
    DDBCPresentDemandStatus,
    DDBCSystemDescription,
    DDBCSystemDescriptionV1,
    DDBCTimerStatus,
    NumberRange,
    RevokableObjects,
    new_id,
)
from ..messages.base import UNSET, S2Message
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

__all__ = ["DDBCDescription", "DDBCDevice", "DDBCView"]

DDBCDescription = DDBCSystemDescription | DDBCSystemDescriptionV1
"""Either profile's description: 0.0.2-beta carries present_demand_rate, 1.0.0 does not."""


class _DDBCState:
    def __init__(self) -> None:
        self.demand_status: NumberRange | None = None
        """The demand from the last DDBC.PresentDemandStatus (profile 1.0.0)."""
        self.demand_forecast: DDBCAverageDemandRateForecast | None = None

    def demand_rate_at(self, moment: datetime) -> float | None:
        """The forecast average demand rate at ``moment``; None outside the forecast."""
        forecast = self.demand_forecast
        if forecast is None:
            return None
        element: DDBCAverageDemandRateForecastElement | None = series_element(
            forecast.start_time, forecast.elements, moment, [e.duration for e in forecast.elements]
        )
        return None if element is None else element.demand_rate_expected


class DDBCView(_DDBCState, OperationModeView[DDBCDescription, DDBCInstruction]):
    """What the CEM knows of a DDBC RM (demand, actuators), and the instructions it may send.

    ``at`` defaults to the latest ``now`` given to ``apply`` or a builder.
    """

    area: ClassVar[Area] = "DDBC"
    status_types = (DDBCActuatorStatus,)
    timer_type = DDBCTimerStatus
    description_types = (DDBCSystemDescription, DDBCSystemDescriptionV1)
    instruction_object = RevokableObjects.DDBC_Instruction

    def __init__(self) -> None:
        OperationModeView.__init__(self)
        _DDBCState.__init__(self)

    def _apply_more(self, message: S2Message, now: datetime) -> bool:
        if isinstance(message, DDBCPresentDemandStatus):
            self.demand_status = message.present_demand_rate
        elif isinstance(message, DDBCAverageDemandRateForecast):
            self.demand_forecast = message
        else:
            return False
        return True

    def clear(self) -> None:
        super().clear()
        _DDBCState.__init__(self)

    # --- questions ----------------------------------------------------------------------------

    def actuator_status(self, actuator_id: str) -> ModeStatus | None:
        """The actuator's last reported mode and factor (None before its first ActuatorStatus)."""
        return self.statuses.get(actuator_id)

    def present_demand_rate(self, at: datetime | None = None) -> NumberRange | None:
        """The demand now: the last PresentDemandStatus, else the description's (0.0.2-beta)."""
        if self.demand_status is not None:
            return self.demand_status
        description = self.description(at)
        if isinstance(description, DDBCSystemDescription):
            return description.present_demand_rate
        return None

    def reachable_modes(
        self, actuator_id: str, at: datetime | None = None, *, abnormal: bool = False
    ) -> list[Reachability]:
        """Every mode of the actuator: active, reachable now, later (from when) or never, and why."""
        return self._reachable_modes(actuator_id, at, abnormal=abnormal)

    def power_at(
        self, actuator_id: str, mode_id: str, factor: float, *, at: datetime | None = None
    ) -> dict[CommodityQuantity, QuantityValue]:
        """The mode's value of every commodity quantity at ``factor``."""
        return self._power_at(actuator_id, mode_id, factor, at=at)

    def supply_rate_at(self, actuator_id: str, mode_id: str, factor: float, *, at: datetime | None = None) -> float:
        """The demand the mode supplies at ``factor`` (in the RM's demand unit)."""
        return value_at(self._mode(actuator_id, mode_id, at).supply_range, factor)

    def factor_for_power(
        self, actuator_id: str, mode_id: str, quantity: CommodityQuantity, value: float, *, at: datetime | None = None
    ) -> float:
        """The factor at which the mode's ``quantity`` reaches ``value`` (ResolutionError when it never does)."""
        return self._factor_for_power(actuator_id, mode_id, quantity, value, at=at)

    def factor_for_supply(self, actuator_id: str, mode_id: str, rate: float, *, at: datetime | None = None) -> float:
        """The factor at which the mode supplies ``rate`` (ResolutionError when it never does)."""
        return factor_for(self._mode(actuator_id, mode_id, at).supply_range, rate)

    def _mode(self, actuator_id: str, mode_id: str, at: datetime | None) -> DDBCOperationMode:
        mode = self.machine(actuator_id, at).mode(mode_id)
        assert isinstance(mode, DDBCOperationMode)
        return mode

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
        record: bool = True,
    ) -> DDBCInstruction:
        """A DDBC.Instruction valid at ``execution_time``, or :class:`~s2ws.errors.InstructionRefused` saying why not.

        ``record`` keeps it as pending, so later instructions are judged from the mode it leaves.
        """
        return self._instruct(actuator_id, mode_id, factor, execution_time, now, abnormal, None, record)

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
        record: bool = True,
    ) -> DDBCInstruction:
        """:meth:`instruct` with the factor at which ``quantity`` reaches ``value``."""
        return self._instruct_power(actuator_id, mode_id, quantity, value, execution_time, now, abnormal, None, record)

    def _build(
        self, actuator_id: str, mode_id: str, factor: float, execution_time: datetime, abnormal: bool
    ) -> DDBCInstruction:
        return DDBCInstruction(
            message_id=new_id(),
            id=new_id(),
            execution_time=execution_time,
            abnormal_condition=abnormal,
            actuator_id=actuator_id,
            operation_mode_id=mode_id,
            operation_mode_factor=factor,
        )


class DDBCDevice(_DDBCState, OperationModeDevice[DDBCDescription, DDBCInstruction]):
    """The RM side of DDBC: the description (either profile) and each actuator's starting mode."""

    area: ClassVar[Area] = "DDBC"
    control_type = ControlType.DEMAND_DRIVEN_BASED_CONTROL
    instruction_type = DDBCInstruction
    instruction_object = RevokableObjects.DDBC_Instruction

    def __init__(
        self,
        description: DDBCDescription,
        modes: Mapping[str, tuple[str, float]],
        *,
        demand_rate: NumberRange | None = None,
        on_change: Executor | None = None,
        accept: Policy | None = None,
        strict_ids: bool = False,
    ) -> None:
        OperationModeDevice.__init__(
            self, description, modes, on_change=on_change, accept=accept, strict_ids=strict_ids
        )
        _DDBCState.__init__(self)
        self.demand_status = demand_rate

    def set_mode(self, actuator_id: str, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
        """An actuator changed mode or factor on its own: its status (and timers) to send."""
        return self._set_mode(actuator_id, mode_id, factor, now)

    def set_demand_rate(self, rate: NumberRange, now: datetime) -> list[S2Message]:
        """The demand changed. Profile 1.0.0: a PresentDemandStatus. Profile 0.0.2-beta keeps the
        demand in the description, so a copy valid from ``now`` is published instead."""
        self._seen(now)
        self.demand_status = rate
        current = self.descriptions.at(now)
        if isinstance(current, DDBCSystemDescription):
            renewed = msgspec.structs.replace(current, message_id=new_id(), valid_from=now, present_demand_rate=rate)
            return self.publish_description(renewed, now)
        message = DDBCPresentDemandStatus(message_id=new_id(), present_demand_rate=rate)
        check_outgoing(message, now)
        return [message] if self.active else []

    def set_demand_forecast(
        self, start_time: datetime, elements: Sequence[DDBCAverageDemandRateForecastElement], now: datetime
    ) -> list[S2Message]:
        """A new average demand rate forecast (the description must announce it)."""
        self._seen(now)
        current = self.descriptions.at(now) or self.descriptions.next_after(now)
        if current is None or not current.provides_average_demand_rate_forecast:
            raise ValueError("the description announces provides_average_demand_rate_forecast false")
        message = DDBCAverageDemandRateForecast(message_id=new_id(), start_time=start_time, elements=list(elements))
        check_outgoing(message, now)
        self.demand_forecast = message
        return [message] if self.active else []

    def _status_message(self, actuator_id: str, status: ModeStatus) -> S2Message:
        return DDBCActuatorStatus(
            message_id=new_id(),
            actuator_id=actuator_id,
            active_operation_mode_id=status.mode_id,
            operation_mode_factor=status.factor,
            previous_operation_mode_id=UNSET if status.previous_mode_id is None else status.previous_mode_id,
            transition_timestamp=UNSET if status.transition_timestamp is None else status.transition_timestamp,
        )

    def _extra_messages(self, now: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        if self.demand_status is not None and isinstance(self.descriptions.at(now), DDBCSystemDescriptionV1):
            out.append(DDBCPresentDemandStatus(message_id=new_id(), present_demand_rate=self.demand_status))
        if self.demand_forecast is not None:
            self.demand_forecast = renewed(self.demand_forecast)
            out.append(self.demand_forecast)
        return out
