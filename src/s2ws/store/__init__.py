"""The CEM's history in SQLite (stdlib ``sqlite3``, WAL, one writer thread): sessions, devices,
measurements, plans, instructions with every status, and the messages that explain them."""

from .history import History
from .rows import DeviceRow, InstructionRow, MeasurementRow, MessageRow, PlanRow, SessionRow, StatusChange
from .schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "DeviceRow",
    "History",
    "InstructionRow",
    "MeasurementRow",
    "MessageRow",
    "PlanRow",
    "SessionRow",
    "StatusChange",
]
