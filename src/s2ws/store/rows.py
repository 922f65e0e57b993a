"""What the history's query API returns: plain frozen records, safe to hand to another thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..messages.timeline import utc

__all__ = [
    "DeviceRow",
    "InstructionRow",
    "MeasurementRow",
    "MessageRow",
    "PlanRow",
    "SessionRow",
    "StatusChange",
    "from_text",
    "maybe",
    "to_text",
]


def to_text(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: text that sorts as the instants do."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: the history stores aware instants only")
    return utc(moment).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def maybe(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    role: str
    peer: str | None
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    resource_id: str | None
    control_type: str | None


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One resource as last described: its ResourceManagerDetails (JSON) and active control type."""

    resource_id: str
    name: str | None
    details: str
    session_id: str | None
    control_type: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MeasurementRow:
    resource_id: str
    at: datetime
    quantity: str
    value: float


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class InstructionRow:
    """An instruction the CEM sent, its message (JSON), and every status the RM reported."""

    id: str
    session_id: str
    resource_id: str | None
    message_type: str
    execution_time: datetime | None
    sent_at: datetime
    plan_id: int | None
    message: str
    status: str | None
    """The last status reported (None: none yet); ``refused`` when the RM refused the message itself."""
    status_at: datetime | None
    refused: str | None
    timeline: tuple[StatusChange, ...]

    @property
    def finished(self) -> bool:
        return self.refused is not None or self.status in ("REJECTED", "REVOKED", "SUCCEEDED", "ABORTED")


@dataclass(frozen=True, slots=True)
class PlanRow:
    id: int
    at: datetime
    status: str
    objective_value: float | None
    solve_seconds: float | None
    relaxations: list[dict[str, Any]]
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message kept to explain a plan or an instruction (descriptions, forecasts, constraints, revokes)."""

    session_id: str
    resource_id: str | None
    at: datetime
    direction: str
    message_type: str
    message_id: str | None
    message: str
