"""Everything a device maker needs to write an S2 Resource Manager, in one import.

A device maker describes the device with a control-type *device model* (sans-I/O, clock-free: every
method takes ``now`` and returns the messages to send) and lets :class:`DeviceRM` run it over a
WebSocket::

    from s2ws.rm import DeviceRM, FRBCDevice, ModeChange, Resource

    def switch(change: ModeChange) -> None:
        inverter.set_power(change.mode_id, change.factor)     # the real device

    def refuse_at_night(change: ModeChange) -> str | None:
        return "quiet hours" if change.at.hour < 6 else None  # a reason rejects the instruction

    frbc = FRBCDevice(description, {"battery": ("idle", 0.0)}, fill_level=50.0,
                      on_change=switch, accept=refuse_at_night)
    # details: a ResourceManagerDetails offering FILL_RATE_BASED_CONTROL; description: the
    # FRBC.SystemDescription (both from s2ws)
    await DeviceRM(Resource(details, frbc)).run("wss://cem.example/s2")

The device models (:class:`FRBCDevice`, :class:`OMBCDevice`, :class:`DDBCDevice`,
:class:`PEBCDevice`, :class:`PPBCDevice`) check every instruction against the S2 rules, schedule it
for its execution time and report its lifecycle (ACCEPTED, STARTED, SUCCEEDED, or REJECTED /
ABORTED / REVOKED). The operation-mode devices (FRBC, OMBC, DDBC) take two callbacks:
``on_change`` (an :data:`Executor`) carries a :class:`ModeChange` out on the device, and raising
aborts the instruction; ``accept`` (a :data:`Policy`) returns a reason to reject an instruction the
rules allow (comfort, safety), or None. PEBC and PPBC devices follow their envelopes and sequences
themselves; read their state on each tick. What the device does on its own (``set_mode``,
``set_fill_level``, ``update_limits``, a new description) returns messages too: hand them to
:meth:`DeviceRM.publish`.

For full control over every message, subclass :class:`ResourceManager` and write ``@on`` handlers.
:class:`BlockingRM` runs either from code that is not async. :class:`InstructionRefused` is the
refusal the device models raise when an instruction breaks a rule; :class:`InvalidContent`,
:class:`TemporaryError` and :class:`PermanentError` raised in a handler choose the ReceptionStatus.
The S2 messages themselves are imported from :mod:`s2ws`.
"""

from __future__ import annotations

from .app import BlockingRM, DeviceRM, LiveLog, Recorder, ResourceManager, SimClock, on
from .control import (
    DDBCDevice,
    Executor,
    FRBCDevice,
    ModeChange,
    OMBCDevice,
    PEBCDevice,
    Policy,
    PPBCDevice,
    Resource,
)
from .errors import InstructionRefused, InvalidContent, PermanentError, TemporaryError

__all__ = [
    "BlockingRM",
    "DDBCDevice",
    "DeviceRM",
    "Executor",
    "FRBCDevice",
    "InstructionRefused",
    "InvalidContent",
    "LiveLog",
    "ModeChange",
    "OMBCDevice",
    "PEBCDevice",
    "PPBCDevice",
    "PermanentError",
    "Policy",
    "Recorder",
    "Resource",
    "ResourceManager",
    "SimClock",
    "TemporaryError",
    "on",
]
