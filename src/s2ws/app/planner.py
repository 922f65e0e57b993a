"""The reference planner behind ``s2ws cem`` and ``s2ws demo``: deliberately simple, always valid.

- FRBC: on each FRBC.SystemDescription, charge the first actuator at ``factor``; then keep the
  fill level between ``low`` and ``high`` percent of the storage range by switching to discharge
  when it reaches ``high`` and back to charging at ``low`` (hysteresis, so it does not chatter).
- PEBC: on each PEBC.PowerConstraints, curtail production: the lower limit is set ``curtail`` of
  the way from the allowed minimum to the allowed maximum (e.g. -4000..0 W with 0.5 gives
  -2000 W), the upper limit to the most permissive allowed value, for ``envelope`` (cut to the
  constraints' valid_until).

With ``step`` (what ``s2ws cem`` uses) the RMs under the other control types (OMBC, DDBC, PPBC)
are planned by the per-control-type planners of :mod:`s2ws.app.planners`, once every ``step`` of
the CEM's clock (simulated time under a :class:`~s2ws.app.clock.SimClock`), on the RM's
:attr:`~s2ws.app.cem.RMHandle.view`; with ``reactive=False`` as well those two reactions stand
aside and the view planners plan FRBC and PEBC too (a day's plan: ``s2ws cem --planner day``).

Every instruction starts at the later of now and the description's valid_from, so the rule
catalogue (which ``send`` applies) finds the description in force even when the RM's clock runs
ahead. Ids are UUID4 strings (s2-python requires them).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from ..errors import S2Error, SessionClosedError
from ..messages.base import UNSET, new_id
from ..messages.enums import ControlType, PEBCPowerEnvelopeLimitType
from ..messages.frbc import (
    FRBCActuatorDescription,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCStorageStatus,
    FRBCSystemDescription,
)
from ..messages.pebc import PEBCInstruction, PEBCPowerConstraints, PEBCPowerEnvelope, PEBCPowerEnvelopeElement
from .base import describe_error
from .cem import CEM, RMHandle
from .clock import clock_speed, scaled_timeouts
from .handlers import on
from .planners import planner_for

__all__ = ["PlannerCEM"]

log = logging.getLogger("s2ws.app.planner")

LOWER = PEBCPowerEnvelopeLimitType.LOWER_LIMIT
UPPER = PEBCPowerEnvelopeLimitType.UPPER_LIMIT
_REACTIVE = (ControlType.FILL_RATE_BASED_CONTROL, ControlType.POWER_ENVELOPE_BASED_CONTROL)


def _normal(actuator: FRBCActuatorDescription) -> list[FRBCOperationMode]:
    return [mode for mode in actuator.operation_modes if not mode.abnormal_condition_only]


def charge_mode(actuator: FRBCActuatorDescription) -> FRBCOperationMode | None:
    """The normal mode that raises the fill level fastest."""
    raising = [m for m in _normal(actuator) if max(e.fill_rate.end_of_range for e in m.elements) > 0]
    return max(raising, key=lambda m: max(e.fill_rate.end_of_range for e in m.elements), default=None)


def discharge_mode(actuator: FRBCActuatorDescription) -> FRBCOperationMode | None:
    """The normal mode that lowers the fill level fastest."""
    lowering = [m for m in _normal(actuator) if min(e.fill_rate.start_of_range for e in m.elements) < 0]
    return min(lowering, key=lambda m: min(e.fill_rate.start_of_range for e in m.elements), default=None)


class PlannerCEM(CEM):
    """A CEM that instructs FRBC storages and PEBC producers; see the module docstring."""

    def __init__(
        self,
        *,
        factor: float = 0.5,
        low: float = 10.0,
        high: float = 90.0,
        curtail: float = 0.5,
        envelope: timedelta = timedelta(hours=1),
        step: timedelta | None = None,
        reactive: bool = True,
        **options: Any,
    ) -> None:
        if not (0.0 <= factor <= 1.0 and 0.0 <= curtail <= 1.0 and 0.0 <= low < high <= 100.0):
            raise ValueError("factor and curtail lie in [0, 1]; 0 <= low < high <= 100")
        if step is not None and step <= timedelta(0):
            raise ValueError("step must be positive")
        super().__init__(**scaled_timeouts(options.get("clock"), options))
        self.factor, self.low, self.high, self.curtail, self.envelope = factor, low, high, curtail, envelope
        self.step = step
        self.reactive = reactive or step is None
        """The FRBC/PEBC reactions above plan those two types (else the view planners do)."""

    # --- the per-control-type planners -------------------------------------------------------------

    async def on_select(self, rm: RMHandle, control_type: ControlType) -> None:
        if self.step is None or planner_for(rm.view) is None:
            return
        if self.reactive and control_type in _REACTIVE:
            return
        interval = self.step.total_seconds() / clock_speed(self.clock)
        rm.every(interval, lambda: self.plan(rm, control_type), name=f"plan {rm.name}")

    async def plan(self, rm: RMHandle, control_type: ControlType) -> None:
        """One planning step for ``rm``: send what its control type's planner decides now."""
        view = rm.view
        if rm.active_control_type is not control_type or view is None:
            raise SessionClosedError("the control type changed")  # ends this periodic task quietly
        planner = planner_for(view)
        if planner is None:
            return
        try:
            messages = planner(view, self.clock())
        except S2Error as exc:
            log.info("%s: nothing planned: %s", rm.name, describe_error(exc))
            return
        for message in messages:
            try:
                await rm.send(message)
            except Exception as exc:
                log.warning("%s: %s not sent: %s", rm.name, type(message).__name__, describe_error(exc))
                ident = getattr(message, "id", None)
                if isinstance(ident, str) and hasattr(view, "forget"):
                    view.forget(ident)

    # --- the reactive planner (without step) ---------------------------------------------------------

    @on(FRBCSystemDescription)
    async def _frbc_description(self, rm: RMHandle, description: FRBCSystemDescription) -> None:
        if not self.reactive:
            return
        await self._frbc_instruct(rm, description, "charge")

    @on(FRBCStorageStatus)
    async def _frbc_storage(self, rm: RMHandle, status: FRBCStorageStatus) -> None:
        if not self.reactive:
            return
        description = rm.last(FRBCSystemDescription)
        plan = rm.state.get("frbc_plan")
        if description is None or plan is None:
            return
        span = description.storage.fill_level_range
        width = span.end_of_range - span.start_of_range
        percent = 100.0 * (status.present_fill_level - span.start_of_range) / width if width > 0 else 50.0
        if plan == "charge" and percent >= self.high:
            await self._frbc_instruct(rm, description, "discharge")
        elif plan == "discharge" and percent <= self.low:
            await self._frbc_instruct(rm, description, "charge")

    async def _frbc_instruct(self, rm: RMHandle, description: FRBCSystemDescription, plan: str) -> None:
        actuator = description.actuators[0]
        mode = charge_mode(actuator) if plan == "charge" else discharge_mode(actuator)
        if mode is None:
            log.info("%s: no mode to %s in its description", rm.name, plan)
            return
        instruction = FRBCInstruction(
            message_id=new_id(),
            id=new_id(),
            actuator_id=actuator.id,
            operation_mode=mode.id,
            operation_mode_factor=self.factor,
            execution_time=max(self.clock(), description.valid_from),
            abnormal_condition=False,
        )
        try:
            await rm.send(instruction)
        except Exception as exc:
            log.warning("%s: FRBC.Instruction not sent: %s", rm.name, describe_error(exc))
            return
        rm.state["frbc_plan"] = plan

    @on(PEBCPowerConstraints)
    async def _pebc_constraints(self, rm: RMHandle, constraints: PEBCPowerConstraints) -> None:
        if not self.reactive:
            return
        start = max(self.clock(), constraints.valid_from)
        duration = self.envelope
        if constraints.valid_until is not UNSET:
            duration = min(duration, constraints.valid_until - start)
        milliseconds = int(duration.total_seconds() * 1000)
        if milliseconds <= 0:
            return
        envelopes = []
        for quantity in dict.fromkeys(r.commodity_quantity for r in constraints.allowed_limit_ranges):
            ranges = [r for r in constraints.allowed_limit_ranges if r.commodity_quantity is quantity]
            lows = [r.range_boundary for r in ranges if r.limit_type is LOWER and not r.abnormal_condition_only]
            highs = [r.range_boundary for r in ranges if r.limit_type is UPPER and not r.abnormal_condition_only]
            if not lows or not highs:
                continue
            low = lows[0]
            lower = low.start_of_range + (low.end_of_range - low.start_of_range) * self.curtail
            upper = max(r.end_of_range for r in highs)
            if upper < lower:
                continue
            element = PEBCPowerEnvelopeElement(duration=milliseconds, upper_limit=upper, lower_limit=lower)
            envelopes.append(
                PEBCPowerEnvelope(id=new_id(), commodity_quantity=quantity, power_envelope_elements=[element])
            )
        if not envelopes:
            log.info("%s: its power constraints leave nothing to curtail", rm.name)
            return
        instruction = PEBCInstruction(
            message_id=new_id(),
            id=new_id(),
            execution_time=start,
            abnormal_condition=False,
            power_constraints_id=constraints.id,
            power_envelopes=envelopes,
        )
        try:
            await rm.send(instruction)
        except Exception as exc:
            log.warning("%s: PEBC.Instruction not sent: %s", rm.name, describe_error(exc))
