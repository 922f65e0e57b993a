"""``s2ws spec export``: write the JSON Schema, AsyncAPI and OpenAPI files generated from the models.

Exit 0 when every file was written, 2 for a usage error (unknown profile) or an I/O error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ProfileError
from ..messages.profiles import DEFAULT_PROFILE, PROFILES

__all__ = ["register", "run_export"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "spec",
        help="export the specification files",
        description="Machine-readable S2 specification files, generated from the models.",
    )
    actions = parser.add_subparsers(dest="spec_command", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write the upstream file layout (JSON Schema, AsyncAPI, OpenAPI) below a directory",
        description="Write s2-json-schema/, s2-asyncapi/ and s2-schemas-in-openapi-format/ below DIR. "
        "Exit 0 written, 2 usage or I/O error.",
    )
    export.add_argument("--out", required=True, metavar="DIR", help="directory to write into (created if missing)")
    export.add_argument(
        "--profile",
        default=DEFAULT_PROFILE.version,
        help=f"protocol version ({', '.join(PROFILES)}; default {DEFAULT_PROFILE.version})",
    )
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from ..spec.export import export_spec  # late: keeps other subcommands from importing the emitters

    try:
        written = export_spec(args.out, args.profile)
    except ProfileError as exc:
        print(f"s2ws spec export: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"s2ws spec export: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    return 0
