"""One resource: its ResourceManagerDetails and a control device per control type it offers.

The devices of this package (:class:`FRBCDevice`, :class:`OMBCDevice`, :class:`DDBCDevice`,
:class:`PEBCDevice`, :class:`PPBCDevice`) each know one control type. A real resource offers one
or several, and what runs it over a session (:class:`s2ws.app.DeviceRM`, or
:class:`s2ws.sim.RMLink` in memory) wants one object that answers for all of them: this is that
object, with the same sans-I/O interface as the simulators (:class:`s2ws.sim.DeviceSim`). A
selection goes to every device, so the one selected activates and the others stop what they were
doing; instructions and revocations go to every device, and only the one they belong to acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..messages.base import S2Message, new_id
from ..messages.common import ResourceManagerDetails, SelectControlType
from ..messages.enums import ControlType
from .ddbc import DDBCDevice
from .frbc import FRBCDevice
from .ombc import OMBCDevice
from .pebc import PEBCDevice
from .ppbc import PPBCDevice

__all__ = ["ControlDevice", "Resource", "control_type_of"]


class ControlDevice(Protocol):
    """What every control device of this package offers."""

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]: ...

    def tick(self, now: datetime) -> list[S2Message]: ...

    def next_wakeup(self) -> datetime | None: ...


_TYPES: tuple[tuple[type[object], ControlType], ...] = (
    (FRBCDevice, ControlType.FILL_RATE_BASED_CONTROL),
    (OMBCDevice, ControlType.OPERATION_MODE_BASED_CONTROL),
    (DDBCDevice, ControlType.DEMAND_DRIVEN_BASED_CONTROL),
    (PEBCDevice, ControlType.POWER_ENVELOPE_BASED_CONTROL),
    (PPBCDevice, ControlType.POWER_PROFILE_BASED_CONTROL),
)


def control_type_of(device: object) -> ControlType:
    """The control type a device of this package implements (TypeError for anything else)."""
    for cls, control_type in _TYPES:
        if isinstance(device, cls):
            return control_type
    raise TypeError(f"{type(device).__name__} is not a control device (FRBCDevice, OMBCDevice, ...)")


class Resource:
    """``details`` plus one device per control type; see the module docstring.

    The details must offer every device's control type, and no type may have two devices: a
    mismatch raises ValueError here rather than surprising a CEM later. NOT_CONTROLABLE needs
    no device. Once built, ``details()`` and ``devices`` are what a driver reads.
    """

    def __init__(self, details: ResourceManagerDetails, *devices: ControlDevice) -> None:
        offered = set(details.available_control_types)
        by_type: dict[ControlType, ControlDevice] = {}
        for device in devices:
            control_type = control_type_of(device)
            if control_type in by_type:
                raise ValueError(f"two devices for {control_type.value}: one per control type")
            if control_type not in offered:
                raise ValueError(
                    f"the details do not offer {control_type.value}, which {type(device).__name__} implements"
                )
            by_type[control_type] = device
        missing = offered - set(by_type) - {ControlType.NOT_CONTROLABLE, ControlType.NO_SELECTION}
        if missing:
            names = ", ".join(sorted(t.value for t in missing))
            raise ValueError(f"the details offer {names} but no device implements it")
        self._details = details
        self.devices: dict[ControlType, ControlDevice] = by_type

    @property
    def control_types(self) -> tuple[ControlType, ...]:
        return tuple(self._details.available_control_types)

    def details(self) -> ResourceManagerDetails:
        return self._details

    def on_select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        """The CEM selected ``control_type`` (or NO_SELECTION): the others deactivate first."""
        select = SelectControlType(message_id=new_id(), control_type=control_type)
        chosen = self.devices.get(control_type)
        out: list[S2Message] = []
        for device in self.devices.values():
            if device is not chosen:
                out.extend(device.handle(select, now))
        if chosen is not None:
            out.extend(chosen.handle(select, now))
        return out

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        """An instruction or a revocation: every device sees it, the one it concerns answers."""
        return self._all(lambda device: device.handle(message, now))

    def tick(self, now: datetime) -> list[S2Message]:
        return self._all(lambda device: device.tick(now))

    def next_wakeup(self) -> datetime | None:
        wakeups = [w for device in self.devices.values() if (w := device.next_wakeup()) is not None]
        return min(wakeups) if wakeups else None

    def _all(self, call: _Call) -> list[S2Message]:
        out: list[S2Message] = []
        for device in self.devices.values():
            out.extend(call(device))
        return out


class _Call(Protocol):
    def __call__(self, device: ControlDevice, /) -> Sequence[S2Message]: ...
