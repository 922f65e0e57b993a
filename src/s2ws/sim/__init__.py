"""Deterministic device simulators: physics and the S2 messages that describe them.

Clock-free like the engine: every method takes ``now``. The command line and the demo
drive them from a real clock; tests drive them from a fake one.
"""

from __future__ import annotations

from .battery import BatteryParams, BatterySim
from .pv import PVParams, PVSim

__all__ = ["BatteryParams", "BatterySim", "PVParams", "PVSim"]
