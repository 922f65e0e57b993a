"""S2 applications: an async CEM serving many RMs, an async RM, a blocking RM facade, tools.

- :class:`CEM` / :class:`RMHandle`: accept RMs, select a control type, keep each RM's picture,
  send valid instructions. :class:`PlannerCEM` is the reference planner of ``s2ws cem``.
- :class:`ResourceManager`: describe a device, publish on selection, handle instructions.
  :class:`SimulatedBattery` and :class:`SimulatedPV` are complete examples; :class:`DeviceRM` runs
  any simulator of :data:`s2ws.sim.DEVICES`, on a :class:`SimClock` when time should run faster.
- :func:`on`: typed per-instance handlers. :class:`BlockingRM`: for RM code that is not async.
- :class:`Recorder` writes transcripts for ``s2ws replay``; :class:`LiveLog` prints the live log
  (one line per message with its answer). ``View`` is its former name, kept for old imports.

"View" in s2ws means one thing: a control-type view of :mod:`s2ws.control` (``RMHandle.view``).

Modules: ``application`` (:class:`~s2ws.app.application.AppBase`), ``handle`` (:class:`SessionHandle`), ``observe``
(:class:`Frame`, :class:`Observer`, :class:`AppSession`), ``instructions``
(:class:`InstructionRecord`), ``worker``, ``describe``, ``cem``, ``rm``, ``device_rm``,
``simulated``, ``blocking``, ``live_log``, ``recorder``, ``clock``, ``console``.

This layer uses asyncio and the transports; the layers below it stay free of I/O.
"""

from __future__ import annotations

from .blocking import BlockingRM, LoopThread
from .cem import CEM, DEFAULT_PREFERENCE, RMHandle
from .clock import SimClock
from .device_rm import DeviceRM
from .handle import SessionHandle
from .handlers import on
from .instructions import InstructionRecord
from .live_log import LiveLog
from .observe import AppSession, Frame, Observer
from .planner import PlannerCEM
from .recorder import Recorder
from .rm import ResourceManager
from .simulated import SimulatedBattery, SimulatedPV

View = LiveLog
"""The former name of :class:`LiveLog`."""

__all__ = [
    "CEM",
    "DEFAULT_PREFERENCE",
    "AppSession",
    "BlockingRM",
    "DeviceRM",
    "Frame",
    "InstructionRecord",
    "LiveLog",
    "LoopThread",
    "Observer",
    "PlannerCEM",
    "RMHandle",
    "Recorder",
    "ResourceManager",
    "SessionHandle",
    "SimClock",
    "SimulatedBattery",
    "SimulatedPV",
    "View",
    "on",
]
