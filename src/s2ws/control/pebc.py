"""PEBC (power envelopes) for both roles: the CEM's picture of a device's constraints, and the RM's.

A PEBC device cannot be steered, only bounded: the RM publishes which values an envelope's
upper and lower limits may take (``PEBC.PowerConstraints``) and, optionally, how much energy it
needs in a window (``PEBC.EnergyConstraint``); the CEM sends envelopes inside those ranges.

:class:`PEBCView` is the CEM's side: fed every PEBC message of a session, it answers which
limits are allowed at a moment, judges envelopes and builds instructions that the RM cannot
reject on the rules of the standard. :class:`PEBCDevice` is the RM's side: it publishes the
device's constraints, judges received instructions with the *same* checks (a view of its own
messages), keeps the envelope in force and reports each instruction's lifecycle through an
:class:`~s2ws.control.scheduler.InstructionScheduler`.

Both are sans-I/O and clock-free: every method takes ``now``; the RM's methods return the
messages to send. Refusals are :class:`~s2ws.errors.InstructionRefused` carrying the id of the
catalogue rule they break (S2-PEBC-0xx), so both sides name the same rule.
"""

from __future__ import annotations

from ..rules.pebc_rules import amount_of, amount_unit
from .pebc_device import ActiveLimits, PEBCDevice
from .pebc_view import AllowedLimits, EnvelopeStep, PEBCView, limit_ranges

__all__ = [
    "ActiveLimits",
    "AllowedLimits",
    "EnvelopeStep",
    "PEBCDevice",
    "PEBCView",
    "amount_of",
    "amount_unit",
    "limit_ranges",
]
