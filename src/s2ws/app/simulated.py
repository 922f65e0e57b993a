"""The simulators as Resource Managers: a home battery under FRBC and a PV inverter under PEBC.

Both are :class:`~s2ws.app.DeviceRM` running a device simulator; what they add is only the
device: :class:`BatterySim` and :class:`PVSim` physics made into :class:`~s2ws.sim.DeviceSim`
objects whose instructions live the one lifecycle of
:class:`~s2ws.control.InstructionScheduler`: InstructionStatusUpdate ACCEPTED at once (REJECTED
when the simulator refuses it, with its reason in the log, since the message has no field for
it), then STARTED and SUCCEEDED at the instruction's execution_time (ABORTED if by then the
simulator refuses it, say the battery is full), with the new statuses. A RevokeObject for an
instruction not started yet is answered REVOKED and the instruction is dropped.

Both publish their description when the CEM selects their control type, send a PowerMeasurement
every ``interval`` seconds (the battery adds its FRBC.StorageStatus, and an FRBC.ActuatorStatus
whenever it switched mode by itself, e.g. when full).

``speed`` accelerates the physics, never the wire: the battery fills and empties ``speed`` times
faster (its description's fill rates say so) and the sun crosses the sky ``speed`` times faster,
while every timestamp in every message stays wall-clock time, so peers and rules see a coherent
conversation. (To run the wire on simulated time instead, give :class:`~s2ws.app.DeviceRM` a
:class:`~s2ws.app.SimClock`.)
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from ..control import DEVICE_POLICY, InstructionScheduler
from ..errors import InstructionRefused
from ..messages.base import S2Message
from ..messages.common import RevokeObject
from ..messages.enums import ControlType, InstructionStatus, RevokableObjects
from ..messages.frbc import FRBCInstruction
from ..messages.pebc import PEBCInstruction
from ..sim.battery import BatteryParams, BatterySim
from ..sim.pv import PVParams, PVSim
from ..transport.driver import utc_now
from .device_rm import DeviceRM

__all__ = ["SimulatedBattery", "SimulatedPV"]

log = logging.getLogger("s2ws.app.sim")

FRBC = ControlType.FILL_RATE_BASED_CONTROL
PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL
I = TypeVar("I", FRBCInstruction, PEBCInstruction)  # noqa: E741


class _Instructions(Generic[I]):
    """What both simulated devices share: selection, the scheduler, the periodic report.

    ``dry_run`` judges an instruction on a copy of the physics (a reason refuses it; ``apply``
    rebinds the state it changes, so a shallow copy keeps the original as it was), ``carry_out``
    applies it at its execution time (a reason aborts it), ``after`` lists the statuses to send
    once it took effect, ``report`` the periodic messages, ``publish`` the messages on selection.
    """

    def __init__(
        self,
        control_type: ControlType,
        instruction_type: type[I],
        revocable: RevokableObjects,
        *,
        now: datetime,
        interval: timedelta,
        dry_run: Callable[[I, datetime], str | None],
        carry_out: Callable[[I, datetime], str | None],
        after: Callable[[datetime], list[S2Message]],
        report: Callable[[datetime, bool], list[S2Message]],
        publish: Callable[[datetime], list[S2Message]],
    ) -> None:
        self.control_type = control_type
        self.instruction_type: type[I] = instruction_type
        self.revocable = revocable
        self.interval = interval
        self.active = False
        self._dry_run: Callable[[I, datetime], str | None] = dry_run
        self._carry_out: Callable[[I, datetime], str | None] = carry_out
        self._after = after
        self._report, self._publish = report, publish
        self._next_report = now
        self.scheduler: InstructionScheduler[I] = InstructionScheduler(self._judge)

    def _judge(self, instruction: I, now: datetime) -> None:
        reason = self._dry_run(instruction, max(now, instruction.execution_time))
        if reason is not None:
            log.info("rejecting instruction %s: %s", instruction.id, reason)
            raise InstructionRefused(DEVICE_POLICY, "", reason)

    def on_select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        if self.active and control_type is not self.control_type:
            out.extend(self.scheduler.deactivate(now))
        self.active = control_type is self.control_type
        if control_type is ControlType.NO_SELECTION:
            self.scheduler = InstructionScheduler(self._judge)  # a new session starts from scratch
        if self.active:
            out.extend(self._publish(now))
        return out

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        if isinstance(message, self.instruction_type):
            return list(self.scheduler.submit(message, now).messages)
        if not isinstance(message, RevokeObject) or message.object_type is not self.revocable:
            return []
        if self.scheduler.status(message.object_id) is InstructionStatus.ACCEPTED:  # not started yet
            return list(self.scheduler.revoke(message.object_id, now))
        return []

    def tick(self, now: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        for instruction in self.scheduler.due(now):
            reason = self._carry_out(instruction, now)
            if reason is not None:
                log.info("aborting instruction %s: %s", instruction.id, reason)
                out.extend(self.scheduler.abort(instruction.id, now, reason))
                continue
            out.extend(self.scheduler.start(instruction.id, now))
            out.extend(self._after(now))
            out.extend(self.scheduler.succeed(instruction.id, now))
        if now >= self._next_report:
            out.extend(self._report(now, self.active))
            self._next_report = now + self.interval
        return out

    def next_wakeup(self) -> datetime | None:
        due = self.scheduler.next_wakeup()
        return self._next_report if due is None else min(due, self._next_report)


class _BatteryDevice(BatterySim):
    """:class:`BatterySim` as a DeviceSim (FRBC)."""

    def __init__(self, params: BatteryParams, *, now: datetime, interval: timedelta) -> None:
        super().__init__(params, now=now)
        self._published: tuple[str, float] | None = None
        self.instructions: _Instructions[FRBCInstruction] = _Instructions(
            FRBC,
            FRBCInstruction,
            RevokableObjects.FRBC_Instruction,
            now=now,
            interval=interval,
            dry_run=lambda instruction, at: copy.copy(self).apply(instruction, at),
            carry_out=self.apply,
            after=lambda at: [self._actuator_status(), self.storage_status()],
            report=self._report,
            publish=self._publish,
        )

    @property
    def control_types(self) -> tuple[ControlType, ...]:
        return tuple(self.details().available_control_types)

    def _actuator_status(self) -> S2Message:
        self._published = (self.mode, self.factor)
        return self.actuator_status()

    def _publish(self, now: datetime) -> list[S2Message]:
        self.advance(now)
        return [self.system_description(now), self._actuator_status(), self.storage_status()]

    def _report(self, now: datetime, active: bool) -> list[S2Message]:
        self.advance(now)
        out: list[S2Message] = [self.measurement(now)]
        if active:
            if self._published is not None and self._published != (self.mode, self.factor):
                out.append(self._actuator_status())
            out.append(self.storage_status())
        return out

    def on_select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        return self.instructions.on_select(control_type, now)

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        return self.instructions.handle(message, now)

    def tick(self, now: datetime) -> list[S2Message]:
        self.advance(now)
        return self.instructions.tick(now)

    def next_wakeup(self) -> datetime | None:
        return self.instructions.next_wakeup()


class _PVDevice(PVSim):
    """:class:`PVSim` as a DeviceSim (PEBC), its sun on an accelerated clock."""

    def __init__(
        self, params: PVParams | None, *, now: datetime, interval: timedelta, sun_start: datetime, speed: float
    ) -> None:
        super().__init__(params)
        self._start, self._sun_start, self._speed = now, sun_start, speed
        self.instructions: _Instructions[PEBCInstruction] = _Instructions(
            PEBC,
            PEBCInstruction,
            RevokableObjects.PEBC_Instruction,
            now=now,
            interval=interval,
            dry_run=lambda instruction, at: copy.copy(self).apply(instruction, at),
            carry_out=self.apply,
            after=lambda at: [self.measurement(at)],
            report=lambda at, active: [self.measurement(at)],
            publish=self._publish,
        )

    @property
    def control_types(self) -> tuple[ControlType, ...]:
        return tuple(self.details().available_control_types)

    def available_w(self, when: datetime) -> float:
        return super().available_w(self._sun_start + (when - self._start) * self._speed)

    def _publish(self, now: datetime) -> list[S2Message]:
        return [self.power_constraints(now), self.forecast(now, step=timedelta(minutes=15) / self._speed)]

    def on_select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        return self.instructions.on_select(control_type, now)

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        return self.instructions.handle(message, now)

    def tick(self, now: datetime) -> list[S2Message]:
        return self.instructions.tick(now)

    def next_wakeup(self) -> datetime | None:
        return self.instructions.next_wakeup()


def _check(interval: float, speed: float) -> None:
    if interval <= 0 or speed <= 0:
        raise ValueError("interval and speed must be positive")


class SimulatedBattery(DeviceRM):
    """A :class:`~s2ws.sim.BatterySim` as an FRBC Resource Manager; see the module docstring.

    ``sim`` is the battery (``sim.mode``, ``sim.soc``, ``sim.mode_ids``), ``params`` its physics
    at speed 1.
    """

    sim: _BatteryDevice

    def __init__(
        self, params: BatteryParams | None = None, *, interval: float = 5.0, speed: float = 1.0, **options: Any
    ) -> None:
        _check(interval, speed)
        self.params = params or BatteryParams()
        self.physics_speed = speed
        self.interval = interval
        scaled = dataclasses.replace(self.params, capacity_wh=self.params.capacity_wh / speed)
        device = _BatteryDevice(scaled, now=_now(options), interval=timedelta(seconds=interval))
        super().__init__(device, **options)


class SimulatedPV(DeviceRM):
    """A :class:`~s2ws.sim.PVSim` as a PEBC Resource Manager; see the module docstring.

    ``sun_start`` is the simulated time of day at start-up (default: now), so a demo at night can
    still show the sun. ``sim`` is the inverter (``sim.power_w(when)``, ``sim.lower_limit(when)``).
    """

    sim: _PVDevice

    def __init__(
        self,
        params: PVParams | None = None,
        *,
        sun_start: datetime | None = None,
        interval: float = 5.0,
        speed: float = 1.0,
        **options: Any,
    ) -> None:
        _check(interval, speed)
        self.physics_speed = speed
        self.interval = interval
        now = _now(options)
        device = _PVDevice(
            params, now=now, interval=timedelta(seconds=interval), sun_start=sun_start or now, speed=speed
        )
        super().__init__(device, **options)


def _now(options: dict[str, Any]) -> datetime:
    clock: Callable[[], datetime] = options.get("clock") or utc_now
    return clock()
