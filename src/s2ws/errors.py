"""The one exception tree of s2ws.

Every exception that corresponds to a ReceptionStatus carries that value in ``status``, so a
session driver can map any failure to its answer mechanically. The right column is the
ReceptionStatus a session answers with when a received message raises it; ``-`` marks errors
that never become an answer (they concern our own sending, the transport or the application).
``tests/test_errors.py`` checks this drawing against the classes below.

```text
S2Error                                   -
+-- StatusError                           PERMANENT_ERROR
|   +-- DecodeError                       PERMANENT_ERROR
|   |   +-- InvalidData                   INVALID_DATA
|   |   +-- InvalidMessage                INVALID_MESSAGE
|   +-- InvalidContent                    INVALID_CONTENT
|   |   +-- RuleViolation                 INVALID_CONTENT
|   +-- TemporaryError                    TEMPORARY_ERROR
|   +-- PermanentError                    PERMANENT_ERROR
+-- EncodeError                           -
+-- ProfileError (also ValueError)        -
+-- TransportError                        -
|   +-- TransportConfigError (also ValueError)  -
|   +-- ChannelClosed                     -
|   +-- ConnectError                      -
|       +-- AuthenticationError           -
|       +-- CertificateError              -
+-- SessionError                          -
|   +-- SessionClosedError                -
|   +-- OutstandingLimitError             -
|   +-- InstructionStateError             -
+-- InstructionRefused                    -
+-- ResolutionError (also ValueError)     -
+-- SiteFileError (also ValueError)       -
+-- StoreError                            -
```

``InstructionRefused`` never becomes a ReceptionStatus: an RM's device model that refuses an
instruction answers it OK and reports InstructionStatusUpdate REJECTED, and the CEM's views raise
it from their instruction builders before anything is sent. Import it from ``s2ws`` (or
``s2ws.errors``); ``s2ws.cem`` and ``s2ws.rm`` re-export it too.
"""

from __future__ import annotations

from .messages.enums import ReceptionStatusValues

__all__ = [
    "AuthenticationError",
    "CertificateError",
    "ChannelClosed",
    "ConnectError",
    "DecodeError",
    "EncodeError",
    "InstructionRefused",
    "InstructionStateError",
    "InvalidContent",
    "InvalidData",
    "InvalidMessage",
    "OutstandingLimitError",
    "PermanentError",
    "ProfileError",
    "ResolutionError",
    "RuleViolation",
    "S2Error",
    "SessionClosedError",
    "SessionError",
    "SiteFileError",
    "StatusError",
    "StoreError",
    "TemporaryError",
    "TransportConfigError",
    "TransportError",
]


class S2Error(Exception):
    """Base of every error s2ws raises on purpose."""


class StatusError(S2Error):
    """An error that maps to a ReceptionStatus value (``status``)."""

    status: ReceptionStatusValues = ReceptionStatusValues.PERMANENT_ERROR

    def __init__(self, reason: str, *, pointer: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.pointer = pointer

    @property
    def diagnostic(self) -> str:
        """One line for a ReceptionStatus ``diagnostic_label``."""
        return f"at {self.pointer or '/'}: {self.reason}"


class DecodeError(StatusError):
    """A frame that is not a schema-valid S2 message.

    ``message_id`` and ``message_type`` are filled in whenever they could be recovered from
    the frame, so the receiver can still address its ReceptionStatus.
    """

    def __init__(
        self,
        reason: str,
        *,
        pointer: str = "",
        message_id: str | None = None,
        message_type: str | None = None,
    ) -> None:
        super().__init__(reason, pointer=pointer)
        self.message_id = message_id
        self.message_type = message_type

    def __str__(self) -> str:
        where = f" at {self.pointer}" if self.pointer else ""
        what = self.message_type or "frame"
        ident = f" {self.message_id}" if self.message_id else ""
        return f"{self.status.value}: {what}{ident}{where}: {self.reason}"


class InvalidData(DecodeError):
    """Not JSON, not an object, or no usable ``message_id``: the frame cannot be understood."""

    status = ReceptionStatusValues.INVALID_DATA


class InvalidMessage(DecodeError):
    """Valid JSON that the schema forbids (unknown type, missing or extra field, bad value)."""

    status = ReceptionStatusValues.INVALID_MESSAGE


class InvalidContent(StatusError):
    """Schema-valid, but semantically wrong: raised by rules and by handlers."""

    status = ReceptionStatusValues.INVALID_CONTENT

    def __init__(self, rule: str, pointer: str, reason: str) -> None:
        super().__init__(reason, pointer=pointer)
        self.rule = rule

    @property
    def diagnostic(self) -> str:
        return f"{self.rule} at {self.pointer or '/'}: {self.reason}"

    def __str__(self) -> str:
        return self.diagnostic


class TemporaryError(StatusError):
    """A handler could not process the message now; the peer should send it again."""

    status = ReceptionStatusValues.TEMPORARY_ERROR


class PermanentError(StatusError):
    """A handler cannot ever process this peer's messages; the session ends."""

    status = ReceptionStatusValues.PERMANENT_ERROR


class EncodeError(S2Error):
    """An outgoing message that would not be valid on the wire; it is never sent."""

    def __init__(self, reason: str, *, pointer: str = "", message_type: str | None = None) -> None:
        super().__init__(f"{message_type or 'message'} at {pointer or '/'}: {reason}")
        self.reason = reason
        self.pointer = pointer
        self.message_type = message_type


class ProfileError(S2Error, ValueError):
    """An unknown protocol profile (version) was asked for."""


class TransportError(S2Error):
    """A failure of the WebSocket transport; it ends a connection, never a rule of the protocol."""


class TransportConfigError(TransportError, ValueError):
    """A transport option that would break the standard or cannot work (pings under 50 s, TLS on ws://)."""


class ChannelClosed(TransportError):
    """A frame was written to a channel that is already closed."""


class ConnectError(TransportError):
    """A WebSocket could not be opened; ``status`` is the HTTP status when the server answered."""

    def __init__(self, reason: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}" if url else reason)
        self.reason = reason
        self.url = url
        self.status = status


class AuthenticationError(ConnectError):
    """The server refused the bearer token (HTTP 401/403 before the upgrade): retrying will not help."""


class CertificateError(ConnectError):
    """The server's TLS certificate failed verification or did not match the pinned fingerprint."""


class RuleViolation(InvalidContent):
    """The rule catalogue found errors; ``diagnostics`` keeps every one, the first is the label."""

    def __init__(self, rule: str, pointer: str, reason: str, *, diagnostics: tuple[str, ...] = ()) -> None:
        super().__init__(rule, pointer, reason)
        self.diagnostics = diagnostics

    @property
    def diagnostic(self) -> str:
        return self.diagnostics[0] if self.diagnostics else super().diagnostic


class SessionError(S2Error):
    """The application used a session in a way it cannot honour (not the peer's fault)."""


class SessionClosedError(SessionError):
    """``send`` after the session closed: nothing more may go out but acknowledgements."""


class OutstandingLimitError(SessionError):
    """Too many sent messages still await their ReceptionStatus; wait for answers or timeouts."""


class InstructionRefused(S2Error):
    """An instruction that is not valid at its execution time (any control type).

    Raised by the CEM's builders before anything is sent, and by an RM's checks to reject what
    arrived. ``rule`` is the catalogue id of the rule it breaks, so a refusal on either side
    names the same rule; ``pointer`` is where in the instruction; ``reason`` names the values
    ("transition om1→om0 is blocked by timer timer1 until ..."). The arguments come in the
    order of :class:`InvalidContent` and :class:`~s2ws.findings.Finding`: rule, pointer, reason.
    """

    def __init__(self, rule: str, pointer: str, reason: str) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule = rule
        self.reason = reason
        self.pointer = pointer


class ResolutionError(S2Error, ValueError):
    """A factor outside [0, 1], or a value outside a factor-linked range, so no mapping exists."""


class InstructionStateError(SessionError):
    """The application asked for an instruction status move the lifecycle forbids (backwards,
    after a terminal status) or named an instruction that was never accepted."""


class SiteFileError(S2Error, ValueError):
    """A site file the planner cannot use: names the file, the line (0 when unknown) and the key."""

    def __init__(self, path: str, line: int, key: str, reason: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")
        self.path = path
        self.line = line
        self.key = key
        self.reason = reason


class StoreError(S2Error):
    """The history database cannot be opened, migrated or written (names the file and the reason)."""
