"""Knobs and contracts of the session engine: retry policy, the checker protocol, engine rule ids.

Kept apart from the engine so that the rule catalogue and the transports can import the
contracts without pulling in the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, Protocol

from ..findings import Finding
from ..messages.base import NIL_ID, S2Message
from ..messages.enums import EnergyManagementRole

__all__ = [
    "CATALOGUE_RULES_USED",
    "CEM_TO_RM",
    "ENGINE_RULES",
    "NIL_ID",
    "RM_TO_CEM",
    "Checker",
    "Direction",
    "Finding",
    "RetryPolicy",
    "direction_of",
]

Direction = Literal["cem>rm", "rm>cem"]
CEM_TO_RM: Final[Direction] = "cem>rm"
RM_TO_CEM: Final[Direction] = "rm>cem"


def direction_of(sender: EnergyManagementRole) -> Direction:
    """The transcript direction of a message written by ``sender``."""
    return CEM_TO_RM if sender is EnergyManagementRole.CEM else RM_TO_CEM


# Rules the engine enforces itself, so that a session is sound without a checker. Where the rule
# catalogue (s2ws.rules) has the rule, the engine reports the catalogue's id and follows its
# severity; ENGINE_RULES lists the few that only the engine can judge (states.PHASE_RULES owns
# S2-SESSION-001..005; these start at 101 so they never collide with catalogue ids).
ENGINE_RULES: Final = {
    "S2-SESSION-101": "ReceptionStatus, Handshake and HandshakeResponse are written by the engine, never by send().",
    "S2-SESSION-102": "A message_id is not reused while a message with that id still awaits its ReceptionStatus.",
    "S2-SESSION-103": (
        "The CEM selects a protocol version both sides support (exact string, one leading 'v' ignored); "
        "without one the session ends."
    ),
}

CATALOGUE_RULES_USED: Final = (
    "S2-HANDSHAKE-001",  # the RM's Handshake lists its versions (fatal: no version can be agreed)
    "S2-HANDSHAKE-003",  # a Handshake carries its sender's role (fatal: two CEMs or two RMs)
    "S2-HANDSHAKE-004",  # HandshakeResponse selects a version the RM offered (fatal)
    "S2-SESSION-007",  # SelectControlType names an offered control type or NO_SELECTION
    "S2-INSTR-001",  # InstructionStatusUpdate names an instruction sent in this session
    "S2-INSTR-002",  # nothing follows a terminal status
    "S2-INSTR-003",  # statuses move forward (a warning when received; send() refuses)
    "S2-REVOKE-001",  # each side revokes only what it publishes
    "S2-REVOKE-002",  # object_id names an object the sender published (system descriptions: message_id)
    "S2-REVOKE-003",  # an object is revoked once
    "S2-REVOKE-004",  # revoking a finished instruction has no effect (warning)
)
"""Catalogue rule ids the engine reports itself (documented in s2ws.rules)."""


class Checker(Protocol):
    """Cross-message rules (the rule catalogue's SessionContext implements this).

    ``check`` judges a message without changing anything; ``apply`` records a message that
    went on the wire (sent by us, or received and answered OK). Direction is "cem>rm" or
    "rm>cem".
    """

    def check(self, message: S2Message, direction: str, now: datetime) -> Sequence[Finding]: ...

    def apply(self, message: S2Message, direction: str, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a message answered TEMPORARY_ERROR is sent again: same frame, same message_id.

    ``max_attempts`` counts every send, the first included, so 1 disables retrying. The n-th
    retry waits ``first_delay * factor**(n-1)``, capped at ``max_delay``: a peer that is busy
    gets breathing room, and the number of frames one message can cause stays bounded.
    """

    max_attempts: int = 3
    first_delay: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    max_delay: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first send, so it must be at least 1")
        if self.first_delay < timedelta(0) or self.max_delay < timedelta(0) or self.factor < 1:
            raise ValueError("delays must not be negative and factor must be at least 1")

    def delay(self, attempts: int) -> timedelta | None:
        """Wait before the next send after ``attempts`` sends were refused; None = give up."""
        if attempts >= self.max_attempts:
            return None
        cap = self.max_delay.total_seconds()
        seconds = self.first_delay.total_seconds()
        for _ in range(attempts - 1):  # multiply step by step: a float power could overflow
            if seconds >= cap:
                break
            seconds *= self.factor
        return timedelta(seconds=min(seconds, cap))
