"""The transcript writer: one JSON line per frame, in the format ``s2ws replay`` reads.

``{"t": RFC 3339, "dir": "cem>rm" | "rm>cem", "session": str, "text": raw frame}``. The raw text is
kept byte for byte (an invalid frame is the interesting one), and every line is flushed as it is
written, so a transcript survives a crash or a kill and can be followed with ``tail -f``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TextIO

import msgspec

from .observe import Frame, Observer

__all__ = ["Recorder", "rfc3339"]


def rfc3339(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: what s2-python and the interop scripts write too."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Line(msgspec.Struct):
    t: str
    dir: str
    session: str
    text: str


class Recorder(Observer):
    """Appends every frame to ``path`` (created if missing); or writes to an open text ``stream``."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, stream: TextIO | None = None) -> None:
        if (path is None) == (stream is None):
            raise ValueError("give exactly one of path and stream")
        self._own = stream is None
        if stream is None:
            assert path is not None
            stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the whole run
        self._out: TextIO = stream
        self._encoder = msgspec.json.Encoder()
        self.frames = 0

    def frame(self, frame: Frame) -> None:
        line = _Line(rfc3339(frame.t), frame.direction, frame.session, frame.text)
        self._out.write(self._encoder.encode(line).decode() + "\n")
        self._out.flush()
        self.frames += 1

    def close(self) -> None:
        if self._own and not self._out.closed:
            self._out.close()
