"""Where a transcript lives on disk: the rotation policy and the names of a rotated set.

A transcript recorded to ``FILE`` rotates by size as log files do: ``FILE`` is the newest part,
``FILE.1`` the one before it, up to ``FILE.<keep>``, the oldest kept. The recorder writes by this
policy and ``s2ws replay`` reads a set back in order, oldest first, so both take it from here.
"""

from __future__ import annotations

import os
import re

__all__ = ["DEFAULT_KEEP", "DEFAULT_MAX_BYTES", "parse_size", "rotated_name", "rotated_set"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Size past which ``FILE`` is rotated (64 MiB)."""
DEFAULT_KEEP = 8
"""Rotated files kept beside ``FILE`` (``FILE.1`` .. ``FILE.8``): at most 576 MiB in all by default."""

_SIZE = re.compile(r"(\d+)\s*([KMG]?)(?:I?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(value: str) -> int:
    """A byte count: ``1048576``, ``512K``, ``64M``, ``2G`` (powers of 1024; ``MiB``/``MB`` also read)."""
    m = _SIZE.fullmatch(value.strip())
    if m is None:
        raise ValueError(f"expected a size such as 64M, 512K or 1048576, got {value!r}")
    return int(m[1]) * _UNITS[m[2].upper()]


def rotated_name(path: str | os.PathLike[str], index: int) -> str:
    """``FILE`` for index 0, else ``FILE.<index>`` (1 is the newest rotated part)."""
    return os.fspath(path) if index == 0 else f"{os.fspath(path)}.{index}"


def rotated_set(path: str | os.PathLike[str]) -> list[str]:
    """The parts of a transcript in the order they were written: ``FILE.n`` .. ``FILE.1``, ``FILE``.

    Rotated parts are found by probing ``FILE.1``, ``FILE.2``, ... until one is missing, so a stray
    ``FILE.9`` after a gap is not taken for part of the set. ``FILE`` itself is always listed.
    """
    parts = [os.fspath(path)]
    index = 1
    while os.path.isfile(name := rotated_name(path, index)):
        parts.append(name)
        index += 1
    return parts[::-1]
