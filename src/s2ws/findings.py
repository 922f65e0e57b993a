"""The one result type of every rule check: which rule, where in the message, why, how bad.

The phase table, the rule catalogue, the session engine, the control views and the devices all
report what they find as :class:`Finding` values, so a refusal reads the same wherever it was
made. A finding is data; :meth:`Finding.error` and :meth:`Finding.refusal` turn it into the
exception a caller raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # errors imports the messages, whose phase table returns findings
    from .errors import InstructionRefused, InvalidContent

__all__ = ["Finding", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One breach of one rule in one message: ``rule`` (catalogue id), ``pointer`` (JSON
    pointer into the message, "" for the whole), ``reason`` (the values involved)."""

    rule: str
    pointer: str
    reason: str
    severity: Severity = "error"
    """"warning" where the standard is ambiguous: received messages pass, ``send`` refuses."""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def diagnostic(self) -> str:
        """The ReceptionStatus ``diagnostic_label``: "<RULE> at <pointer>: <reason>"."""
        return f"{self.rule} at {self.pointer or '/'}: {self.reason}"

    def error(self) -> InvalidContent:
        """The finding as the INVALID_CONTENT error a receiver answers with."""
        from .errors import InvalidContent

        return InvalidContent(self.rule, self.pointer, self.reason)

    def refusal(self) -> InstructionRefused:
        """The finding as the refusal of an instruction (a builder's or a device's)."""
        from .errors import InstructionRefused

        return InstructionRefused(self.rule, self.pointer, self.reason)

    @classmethod
    def of(cls, exc: InvalidContent | InstructionRefused) -> Finding:
        """The finding an exception carries (an application's refusal, a handler's error)."""
        return cls(exc.rule, exc.pointer, exc.reason)
