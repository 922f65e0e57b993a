"""Everything an energy-management developer needs to write an S2 CEM, in one import.

A :class:`CEM` serves any number of Resource Managers, selects a control type for each (by
``preference``) and keeps one :class:`RMHandle` per RM. ``RMHandle.view`` is the CEM's picture of
the RM under the active control type, one of the *views* (:class:`FRBCView`, :class:`OMBCView`,
:class:`DDBCView`, :class:`PEBCView`, :class:`PPBCView`): fed with every accepted message, it
answers what the RM can do at a moment and builds instructions that are valid then, raising
:class:`InstructionRefused` (naming the rule it would break) instead of producing one that is not::

    from s2ws import FRBCSystemDescription
    from s2ws.cem import CEM, FRBCView, InstructionRefused, RMHandle, on

    class MyCEM(CEM):
        @on(FRBCSystemDescription)
        async def plan(self, rm: RMHandle, description: FRBCSystemDescription) -> None:
            view: FRBCView = rm.view
            now = execution_time = self.clock()
            try:
                instruction = view.instruct("battery", "charge", 1.0, execution_time, now)
            except InstructionRefused as refusal:
                print(refusal.rule, refusal.reason)
            else:
                await rm.send(instruction)

    await MyCEM().serve("127.0.0.1", 8080)

:class:`PlannerCEM` is the reference CEM behind ``s2ws cem``. ``rm.send`` refuses (raises, sends
nothing) any message that would break a rule. The S2 messages themselves are imported from
:mod:`s2ws`.
"""

from __future__ import annotations

from .app import CEM, DEFAULT_PREFERENCE, LiveLog, PlannerCEM, Recorder, RMHandle, SimClock, on
from .control import DDBCView, FRBCView, OMBCView, PEBCView, PPBCView, Reach, Reachability
from .errors import InstructionRefused, OutstandingLimitError, RuleViolation, SessionClosedError

__all__ = [
    "CEM",
    "DEFAULT_PREFERENCE",
    "DDBCView",
    "FRBCView",
    "InstructionRefused",
    "LiveLog",
    "OMBCView",
    "OutstandingLimitError",
    "PEBCView",
    "PPBCView",
    "PlannerCEM",
    "RMHandle",
    "Reach",
    "Reachability",
    "Recorder",
    "RuleViolation",
    "SessionClosedError",
    "SimClock",
    "on",
]
