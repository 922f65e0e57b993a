"""What the application keeps about each instruction of a session: the message and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..messages.base import S2Message
from ..messages.common import ReceptionStatus
from ..messages.enums import InstructionStatus
from ..session.tracking import TERMINAL_STATUSES

__all__ = ["MAX_INSTRUCTIONS", "InstructionRecord"]

MAX_INSTRUCTIONS = 1000
"""How many recent instructions a session handle keeps (oldest dropped first)."""


@dataclass(eq=False)
class InstructionRecord:
    """One instruction of this session and what became of it (on both sides)."""

    message: S2Message
    at: datetime
    """When it was sent (CEM) or received (RM)."""
    status: InstructionStatus | None = None
    """The furthest status the RM reported; None before the first InstructionStatusUpdate."""
    updated_at: datetime | None = None
    refused: ReceptionStatus | None = None
    """The RM's non-OK ReceptionStatus, when it refused the instruction message itself."""

    @property
    def id(self) -> str:
        ident: str = getattr(self.message, "id", "")
        return ident

    @property
    def finished(self) -> bool:
        return self.refused is not None or self.status in TERMINAL_STATUSES
