"""Deterministic device simulators: physics and the S2 messages that describe them.

Clock-free like the engine: every method takes ``now``. The command line and the demo drive
them from a real (possibly accelerated) clock; tests drive them from a fake one.

Every simulator in :data:`DEVICES` is a :class:`DeviceSim` on a control-type building block of
:mod:`s2ws.control`; :class:`RMLink` puts one on a session engine and :class:`Loopback` runs a
whole session in memory. :class:`BatterySim` and :class:`PVSim` are the older stand-alone
physics the application's simulated RMs drive directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .base import DeviceFactory, DeviceSim, IdFactory, OperationModeSim, ReadableIds, SimBase, uuid_ids
from .battery import BatteryDeviceSim, BatteryParams, BatterySim
from .ev import EVParams, EVSim
from .generator import GeneratorParams, GeneratorSim
from .heatpump import HeatPumpParams, HeatPumpSim
from .hybrid_heatpump import HybridHeatPumpParams, HybridHeatPumpSim
from .link import Frame, Loopback, RMLink, Viewer
from .pv import PVDeviceSim, PVParams, PVSim
from .storage import StorageSim
from .washer import WasherParams, WasherSim

__all__ = [
    "DEVICES",
    "BatteryDeviceSim",
    "BatteryParams",
    "BatterySim",
    "DeviceFactory",
    "DeviceSim",
    "EVParams",
    "EVSim",
    "Frame",
    "GeneratorParams",
    "GeneratorSim",
    "HeatPumpParams",
    "HeatPumpSim",
    "HybridHeatPumpParams",
    "HybridHeatPumpSim",
    "IdFactory",
    "Loopback",
    "OperationModeSim",
    "PVDeviceSim",
    "PVParams",
    "PVSim",
    "RMLink",
    "ReadableIds",
    "SimBase",
    "StorageSim",
    "Viewer",
    "WasherParams",
    "WasherSim",
    "uuid_ids",
]

DEVICES: Final[Mapping[str, DeviceFactory]] = MappingProxyType(
    {
        "battery": BatteryDeviceSim,
        "ev": EVSim,
        "heatpump": HeatPumpSim,
        "pv": PVDeviceSim,
        "washer": WasherSim,
        "hybrid-heatpump": HybridHeatPumpSim,
        "generator": GeneratorSim,
    }
)
"""Device name (as ``s2ws rm simulate DEVICE`` spells it) -> a factory taking ``now=`` (and
optionally ``ids=`` and ``interval=``) that returns a :class:`DeviceSim` with default params."""
