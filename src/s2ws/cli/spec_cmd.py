"""``s2ws spec export``: placeholder until the spec emitter lands."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("spec", help="export the specification files")
    parser.set_defaults(run=lambda args: 2)
