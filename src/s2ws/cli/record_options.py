"""The transcript options every long-running command shares: ``--record`` and its rotation."""

from __future__ import annotations

import argparse
from typing import Any

from ..transcripts import DEFAULT_KEEP, DEFAULT_MAX_BYTES, parse_size

__all__ = ["add_rotation_arguments"]


def _size(value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(value: str) -> int:
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of files, got {value!r}")
    return int(value)


def add_rotation_arguments(parser: Any) -> None:
    """``--record-max-bytes`` and ``--record-keep``, beside a command's ``--record``."""
    parser.add_argument(
        "--record-max-bytes",
        type=_size,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help=(
            f"rotate the transcript to FILE.1, FILE.2, ... before it grows past SIZE "
            f"(default {DEFAULT_MAX_BYTES // 1024**2}M; 0: never)"
        ),
    )
    parser.add_argument(
        "--record-keep",
        type=_count,
        default=DEFAULT_KEEP,
        metavar="N",
        help=f"rotated transcript files kept, older ones deleted (default {DEFAULT_KEEP})",
    )
