"""The simulators as Resource Managers: a home battery under FRBC and a PV inverter under PEBC.

Both publish their description when the CEM selects their control type, send a PowerMeasurement
every ``interval`` seconds (the battery adds its FRBC.StorageStatus, and an FRBC.ActuatorStatus
whenever it switched mode by itself, e.g. when full), and carry out instructions:
InstructionStatusUpdate ACCEPTED at once (REJECTED when the simulator refuses it, with its reason
in the log, since the message has no field for it), then STARTED and SUCCEEDED at the
instruction's execution_time (ABORTED if by then the simulator refuses it, say the battery is
full), with the new statuses. A RevokeObject for an instruction not started yet is answered
REVOKED and the instruction is dropped.

``speed`` accelerates the physics, never the wire: the battery fills and empties ``speed`` times
faster (its description's fill rates say so) and the sun crosses the sky ``speed`` times faster,
while every timestamp in every message stays wall-clock time, so peers and rules see a coherent
conversation.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

from ..messages.common import ResourceManagerDetails, RevokeObject
from ..messages.enums import ControlType, InstructionStatus
from ..messages.frbc import FRBCInstruction
from ..messages.pebc import PEBCInstruction
from ..sim.battery import BatteryParams, BatterySim
from ..sim.pv import PVParams, PVSim
from .handlers import on
from .rm import ResourceManager

__all__ = ["SimulatedBattery", "SimulatedPV"]

log = logging.getLogger("s2ws.app.sim")

FRBC = ControlType.FILL_RATE_BASED_CONTROL
PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL
Instruction = FRBCInstruction | PEBCInstruction


class _InstructionRunner(ResourceManager):
    """ACCEPTED now, STARTED + SUCCEEDED at execution_time; REVOKED if revoked before."""

    def __init__(self, *, interval: float = 5.0, speed: float = 1.0, **options: Any) -> None:
        if interval <= 0 or speed <= 0:
            raise ValueError("interval and speed must be positive")
        super().__init__(**options)
        self.interval = interval
        self.speed = speed
        self._pending: dict[str, asyncio.Task[None]] = {}

    def _dry_run(self, instruction: Instruction) -> str | None:
        """The simulator's refusal, judged on a copy so nothing changes yet."""
        raise NotImplementedError

    def _carry_out(self, instruction: Instruction) -> str | None:
        raise NotImplementedError

    async def _after(self, instruction: Instruction) -> None:
        """Statuses to publish once an instruction took effect (before SUCCEEDED)."""

    async def _take(self, instruction: Instruction) -> None:
        reason = self._dry_run(instruction)
        if reason is not None:
            log.info("rejecting instruction %s: %s", instruction.id, reason)
            await self.report(instruction.id, InstructionStatus.REJECTED)
            return
        await self.report(instruction.id, InstructionStatus.ACCEPTED)
        self._pending[instruction.id] = self.spawn(self._execute(instruction), name=f"instruction {instruction.id}")

    async def _execute(self, instruction: Instruction) -> None:
        delay = (instruction.execution_time - self.clock()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        self._pending.pop(instruction.id, None)
        reason = self._carry_out(instruction)
        if reason is not None:
            log.info("aborting instruction %s: %s", instruction.id, reason)
            await self.report(instruction.id, InstructionStatus.ABORTED)
            return
        await self.report(instruction.id, InstructionStatus.STARTED)
        await self._after(instruction)
        await self.report(instruction.id, InstructionStatus.SUCCEEDED)

    @on(RevokeObject)
    async def _revoked(self, message: RevokeObject) -> None:
        task = self._pending.pop(message.object_id, None)
        if task is not None:
            task.cancel()
            await self.report(message.object_id, InstructionStatus.REVOKED)

    async def on_disconnect(self, reason: str) -> None:
        self._pending.clear()  # the session's tasks were cancelled with it


class SimulatedBattery(_InstructionRunner):
    """A :class:`~s2ws.sim.BatterySim` as an FRBC Resource Manager."""

    def __init__(self, params: BatteryParams | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.params = params or BatteryParams()
        scaled = dataclasses.replace(self.params, capacity_wh=self.params.capacity_wh / self.speed)
        self.sim = BatterySim(scaled, now=self.clock())
        self._published: tuple[str, float] | None = None

    def details(self) -> ResourceManagerDetails:
        return self.sim.details()

    async def on_connect(self) -> None:
        self.every(self.interval, self.publish, name="battery measurements")

    async def on_select(self, control_type: ControlType) -> None:
        if control_type is not FRBC:
            return
        now = self.clock()
        self.sim.advance(now)
        await self.send(self.sim.system_description(now))
        await self._send_actuator_status()
        await self.send(self.sim.storage_status())

    async def publish(self) -> None:
        """The periodic part: a measurement, and under FRBC the fill level (and any mode change)."""
        now = self.clock()
        self.sim.advance(now)
        await self.send(self.sim.measurement(now))
        if self.active_control_type is FRBC:
            if self._published is not None and self._published != (self.sim.mode, self.sim.factor):
                await self._send_actuator_status()
            await self.send(self.sim.storage_status())

    async def _send_actuator_status(self) -> None:
        await self.send(self.sim.actuator_status())
        self._published = (self.sim.mode, self.sim.factor)

    def _dry_run(self, instruction: Instruction) -> str | None:
        if not isinstance(instruction, FRBCInstruction):
            return "not an FRBC instruction"
        trial = copy.deepcopy(self.sim)
        return trial.apply(instruction, max(self.clock(), instruction.execution_time))

    def _carry_out(self, instruction: Instruction) -> str | None:
        assert isinstance(instruction, FRBCInstruction)
        return self.sim.apply(instruction, self.clock())

    async def _after(self, instruction: Instruction) -> None:
        await self._send_actuator_status()
        await self.send(self.sim.storage_status())

    @on(FRBCInstruction)
    async def _instruction(self, instruction: FRBCInstruction) -> None:
        await self._take(instruction)


class _SunPV(PVSim):
    """PVSim whose sun runs on an accelerated clock; envelopes stay on wall-clock time."""

    def __init__(self, params: PVParams | None, *, start: datetime, sun_start: datetime, speed: float) -> None:
        super().__init__(params)
        self._start, self._sun_start, self._speed = start, sun_start, speed

    def available_w(self, when: datetime) -> float:
        return super().available_w(self._sun_start + (when - self._start) * self._speed)


class SimulatedPV(_InstructionRunner):
    """A :class:`~s2ws.sim.PVSim` as a PEBC Resource Manager.

    ``sun_start`` is the simulated time of day at start-up (default: now), so a demo at night can
    still show the sun.
    """

    def __init__(self, params: PVParams | None = None, *, sun_start: datetime | None = None, **options: Any) -> None:
        super().__init__(**options)
        now = self.clock()
        self.sim: PVSim = _SunPV(params, start=now, sun_start=sun_start or now, speed=self.speed)

    def details(self) -> ResourceManagerDetails:
        return self.sim.details()

    async def on_connect(self) -> None:
        self.every(self.interval, self.publish, name="pv measurements")

    async def on_select(self, control_type: ControlType) -> None:
        if control_type is not PEBC:
            return
        now = self.clock()
        await self.send(self.sim.power_constraints(now))
        await self.send(self.sim.forecast(now, step=timedelta(minutes=15) / self.speed))

    async def publish(self) -> None:
        await self.send(self.sim.measurement(self.clock()))

    def _dry_run(self, instruction: Instruction) -> str | None:
        if not isinstance(instruction, PEBCInstruction):
            return "not a PEBC instruction"
        return copy.deepcopy(self.sim).apply(instruction, self.clock())

    def _carry_out(self, instruction: Instruction) -> str | None:
        assert isinstance(instruction, PEBCInstruction)
        return self.sim.apply(instruction, self.clock())

    async def _after(self, instruction: Instruction) -> None:
        await self.publish()

    @on(PEBCInstruction)
    async def _instruction(self, instruction: PEBCInstruction) -> None:
        await self._take(instruction)
