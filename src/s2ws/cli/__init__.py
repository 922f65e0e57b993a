"""The ``s2ws`` command line: one subcommand per module, each registering its own parser."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import cem_cmd, demo_cmd, proxy_cmd, replay_cmd, rm_cmd, spec_cmd, test_cmd, validate_cmd

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2ws", description="S2 over JSON WebSockets: tools for CEMs and RMs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (validate_cmd, replay_cmd, spec_cmd, cem_cmd, rm_cmd, demo_cmd, proxy_cmd, test_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
