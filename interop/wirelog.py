"""Wire recording shared by the s2-python interop scripts (run with the s2-python interpreter).

Every text frame a script sends or receives goes through a `Recorder`: it appends one JSON line in
the s2ws transcript format ({"t": RFC 3339, "dir": "cem>rm" | "rm>cem", "session": str, "text": raw
frame}) and keeps the counts the one-line JSON summary reports. It works on raw frames, so it sees
what s2-python really sent and received, including frames s2-python itself could not parse.

It also captures what s2-python logs (warnings and errors, with the exception type), because that is
where s2-python says why it stopped a session or ignored a message.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

TERMINAL_INSTRUCTION_STATUSES = frozenset({"SUCCEEDED", "REJECTED", "REVOKED", "ABORTED"})


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def describe_frame(text: str | bytes) -> tuple[str, dict[str, Any] | None]:
    """The message type to count a frame under, and the frame as a JSON object when it is one."""
    if isinstance(text, bytes):
        return "<binary frame>", None
    try:
        value = json.loads(text)
    except ValueError:
        return "<not JSON>", None
    if not isinstance(value, dict):
        return f"<JSON {type(value).__name__}>", None
    message_type = value.get("message_type")
    return (message_type if isinstance(message_type, str) else "<no message_type>"), value


class Recorder:
    """Counts and logs the frames of one script; `session` names the current WebSocket session."""

    def __init__(self, role: str, log_path: str | None) -> None:
        if role not in ("cem", "rm"):
            raise ValueError(role)
        self.role = role
        self.peer = "rm" if role == "cem" else "cem"
        self.session = ""
        self._log: TextIO | None = Path(log_path).open("a", encoding="utf-8") if log_path else None  # noqa: SIM115
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        # message_id -> message type, for the messages that want a ReceptionStatus
        self._sent_ids: dict[str, str] = {}
        self._received_ids: dict[str, str] = {}
        self.statuses_received: list[dict[str, Any]] = []
        self.statuses_sent: list[dict[str, Any]] = []
        self.instruction_statuses: list[dict[str, Any]] = []
        self.other_frames_received: list[str] = []

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _write(self, direction: str, text: str | bytes) -> None:
        if self._log is None:
            return
        raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
        line = {"t": now_rfc3339(), "dir": direction, "session": self.session, "text": raw}
        self._log.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._log.flush()

    def outgoing(self, text: str | bytes) -> None:
        self._write(f"{self.role}>{self.peer}", text)
        message_type, value = describe_frame(text)
        self.sent[message_type] += 1
        if value is None:
            return
        if message_type == "ReceptionStatus":
            subject = str(value.get("subject_message_id"))
            self.statuses_sent.append(
                {
                    "subject": subject,
                    "subject_type": self._received_ids.get(subject),
                    "status": value.get("status"),
                    "diagnostic_label": value.get("diagnostic_label"),
                }
            )
        elif isinstance(value.get("message_id"), str):
            self._sent_ids[value["message_id"]] = message_type
        if message_type == "InstructionStatusUpdate":
            self.instruction_statuses.append(
                {"dir": "sent", "instruction_id": value.get("instruction_id"), "status": value.get("status_type")}
            )

    def incoming(self, text: str | bytes) -> None:
        self._write(f"{self.peer}>{self.role}", text)
        message_type, value = describe_frame(text)
        self.received[message_type] += 1
        if value is None:
            self.other_frames_received.append(message_type)
            return
        if message_type == "ReceptionStatus":
            subject = str(value.get("subject_message_id"))
            self.statuses_received.append(
                {
                    "subject": subject,
                    "subject_type": self._sent_ids.get(subject),
                    "status": value.get("status"),
                    "diagnostic_label": value.get("diagnostic_label"),
                }
            )
        elif isinstance(value.get("message_id"), str):
            self._received_ids[value["message_id"]] = message_type
        if message_type == "InstructionStatusUpdate":
            self.instruction_statuses.append(
                {"dir": "received", "instruction_id": value.get("instruction_id"), "status": value.get("status_type")}
            )

    def summary(self) -> dict[str, Any]:
        answered_by_peer = {status["subject"] for status in self.statuses_received}
        answered_by_us = {status["subject"] for status in self.statuses_sent}
        return {
            "sent": dict(sorted(self.sent.items())),
            "received": dict(sorted(self.received.items())),
            "statuses_received": self.statuses_received,
            "statuses_sent": self.statuses_sent,
            "instruction_statuses": self.instruction_statuses,
            # messages of ours that the peer never acknowledged, and messages of the peer we never acknowledged
            "unanswered_sent": sorted(t for mid, t in self._sent_ids.items() if mid not in answered_by_peer),
            "unanswered_received": sorted(t for mid, t in self._received_ids.items() if mid not in answered_by_us),
        }


class LogCapture(logging.Handler):
    """Keeps s2-python's warnings and errors (message plus exception type and text) for the summary."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        entry = {"level": record.levelname, "message": record.getMessage()}
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["exception"] = f"{type(exc).__name__}: {exc}"
        self.records.append(entry)


def capture_s2python_logs() -> LogCapture:
    """Attach a capture to the "s2python" logger and echo its records on stderr."""
    capture = LogCapture()
    logger = logging.getLogger("s2python")
    logger.setLevel(logging.INFO)
    logger.addHandler(capture)
    echo = logging.StreamHandler(sys.stderr)
    echo.setLevel(logging.INFO)
    echo.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(echo)
    return capture


def print_summary(summary: dict[str, Any]) -> None:
    """The summary is the last line on stdout, one JSON object."""
    sys.stdout.write(json.dumps(summary, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
