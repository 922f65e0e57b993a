"""The names that lived here before the application core was split by what each part holds.

:class:`~s2ws.app.application.AppBase` (application.py), :class:`~s2ws.app.handle.SessionHandle`
(handle.py), :class:`~s2ws.app.observe.AppSession` (observe.py),
:class:`~s2ws.app.instructions.InstructionRecord` (instructions.py), ``Clock`` (clock.py) and
:func:`~s2ws.app.describe.describe_error` (describe.py). Import from those modules; this one only
keeps older imports working.
"""

from __future__ import annotations

from .application import AppBase
from .clock import Clock
from .describe import describe_error
from .handle import SessionHandle
from .instructions import InstructionRecord
from .observe import AppSession

__all__ = ["AppBase", "AppSession", "Clock", "InstructionRecord", "SessionHandle", "describe_error"]
