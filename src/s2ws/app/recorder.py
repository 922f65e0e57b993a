"""The transcript writer: one JSON line per frame, in the format ``s2ws replay`` reads.

``{"t": RFC 3339, "dir": "cem>rm" | "rm>cem", "session": str, "text": raw frame}``. The raw text is
kept byte for byte (an invalid frame is the interesting one), and every line is flushed as it is
written, so a transcript survives a crash or a kill and can be followed with ``tail -f``.

A transcript written to a path rotates by size, as log files do: when the next line would take
``FILE`` past ``max_bytes``, ``FILE`` becomes ``FILE.1`` (``FILE.1`` becomes ``FILE.2`` and so on,
the oldest beyond ``keep`` is deleted) and a fresh ``FILE`` is started. A line is never split, so
a single line longer than ``max_bytes`` makes a file of its own. ``s2ws replay FILE`` reads the
whole set, oldest first. The defaults (``s2ws.transcripts``) bound a
transcript to 9 files of 64 MiB on disk, whatever a peer sends.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import BinaryIO, TextIO

import msgspec

from ..messages.timeline import utc
from ..transcripts import DEFAULT_KEEP, DEFAULT_MAX_BYTES, rotated_name
from .observe import Frame, Observer

__all__ = ["Recorder", "rfc3339"]


def rfc3339(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: what s2-python and the interop scripts write too (a peer's instant
    beyond what UTC can hold in years 1 to 9999 is clamped to that range)."""
    return utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Line(msgspec.Struct):
    t: str
    dir: str
    session: str
    text: str


class Recorder(Observer):
    """Appends every frame to ``path`` (created if missing, rotated by size); or writes to an open text ``stream``.

    ``max_bytes=0`` turns rotation off (the file grows without bound); ``keep`` is how many rotated
    files are kept beside ``path`` (0: the current file is simply started afresh when full).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: TextIO | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
    ) -> None:
        if (path is None) == (stream is None):
            raise ValueError("give exactly one of path and stream")
        if max_bytes < 0 or keep < 0:
            raise ValueError("max_bytes and keep must not be negative")
        self._path = path
        self._stream = stream
        self._file: BinaryIO | None = None
        self._size = 0
        if path is not None:
            self._open()
        self.max_bytes = max_bytes
        self.keep = keep
        self._encoder = msgspec.json.Encoder()
        self.frames = 0
        self.rotations = 0

    def _open(self) -> None:
        assert self._path is not None
        self._file = open(self._path, "ab")  # noqa: SIM115 - kept open until rotated or closed
        self._size = self._file.tell()

    def _rotate(self) -> None:
        assert self._file is not None and self._path is not None
        self._file.close()
        for index in range(self.keep, 0, -1):  # the oldest is overwritten, the rest move up by one
            older = rotated_name(self._path, index - 1)
            if os.path.exists(older):
                os.replace(older, rotated_name(self._path, index))
        if self.keep == 0:
            os.remove(self._path)
        self._open()
        self.rotations += 1

    def frame(self, frame: Frame) -> None:
        line = self._encoder.encode(_Line(rfc3339(frame.t), frame.direction, frame.session, frame.text)) + b"\n"
        if self._file is None:
            assert self._stream is not None
            self._stream.write(line.decode())
            self._stream.flush()
        else:
            if self.max_bytes and self._size and self._size + len(line) > self.max_bytes:
                self._rotate()
            self._file.write(line)
            self._file.flush()
            self._size += len(line)
        self.frames += 1

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
