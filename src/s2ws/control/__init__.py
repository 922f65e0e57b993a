"""Per-control-type state, sans I/O and clock-free: descriptions, instruction resolution, lifecycles.

Everything here takes ``now`` as an argument and returns the messages to send; the async
application layer wires it to sessions.
"""

from __future__ import annotations

from .ddbc import DDBCDescription, DDBCDevice, DDBCView
from .frbc import FRBCDevice, FRBCView
from .ombc import OMBCDevice, OMBCView
from .operation_modes import (
    DEVICE_POLICY,
    DescriptionBook,
    Executor,
    Expected,
    Machine,
    ModeChange,
    ModeStatus,
    OperationModeDevice,
    OperationModeState,
    OperationModeView,
    Policy,
    Reach,
    Reachability,
    element_for,
    machines_of,
    target_of,
)
from .pebc import (
    ActiveLimits,
    AllowedLimits,
    EnvelopeStep,
    PEBCDevice,
    PEBCView,
    amount_of,
    amount_unit,
    limit_ranges,
)
from .ppbc import ContainerOptions, PPBCDevice, PPBCView, SequenceOption, energy_of, power_sequence
from .quantities import (
    ENDPOINT_TOLERANCE,
    QUANTITY_UNITS,
    QuantityValue,
    commodity_of,
    factor_for,
    factor_for_quantity,
    quantities_of,
    unit_of,
    value_at,
    value_of,
)
from .resource import ControlDevice, Resource, control_type_of
from .scheduler import TERMINAL, Decision, InstructionLike, InstructionScheduler, status_update
from .timers import TimerBook, timer_status

__all__ = [
    "DEVICE_POLICY",
    "ENDPOINT_TOLERANCE",
    "QUANTITY_UNITS",
    "TERMINAL",
    "ActiveLimits",
    "AllowedLimits",
    "ContainerOptions",
    "ControlDevice",
    "DDBCDescription",
    "DDBCDevice",
    "DDBCView",
    "Decision",
    "DescriptionBook",
    "EnvelopeStep",
    "Executor",
    "Expected",
    "FRBCDevice",
    "FRBCView",
    "InstructionLike",
    "InstructionScheduler",
    "Machine",
    "ModeChange",
    "ModeStatus",
    "OMBCDevice",
    "OMBCView",
    "OperationModeDevice",
    "OperationModeState",
    "OperationModeView",
    "PEBCDevice",
    "PEBCView",
    "PPBCDevice",
    "PPBCView",
    "Policy",
    "QuantityValue",
    "Reach",
    "Reachability",
    "Resource",
    "SequenceOption",
    "TimerBook",
    "amount_of",
    "amount_unit",
    "commodity_of",
    "control_type_of",
    "element_for",
    "energy_of",
    "factor_for",
    "factor_for_quantity",
    "limit_ranges",
    "machines_of",
    "power_sequence",
    "quantities_of",
    "status_update",
    "target_of",
    "timer_status",
    "unit_of",
    "value_at",
    "value_of",
]
