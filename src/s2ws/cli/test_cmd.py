"""``s2ws test rm|cem``: run the conformance catalogue against a real peer.

``s2ws test rm --listen HOST:PORT`` plays the CEM and waits for the RM under test to connect, once
per case: the RM must reconnect after each session ends (s2ws's simulators do, with back-off; a
TERMINATE may rightly stop an RM, so those cases run last, and a case the RM then does not come back
for is reported as not run, a skip). ``s2ws test rm --connect URL`` dials an
RM that listens. ``s2ws test cem URL`` plays RMs of each control type toward the CEM at URL.
Exit 0 when every selected case passes (or does not apply), 1 when one fails, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "test",
        help="conformance suite against an RM or a CEM",
        description="Run the S2 conformance cases (docs/conformance.md) against a peer. "
        "Exit 0 all passed, 1 a case failed, 2 usage error.",
    )
    roles = parser.add_subparsers(dest="test_role", required=True, metavar="ROLE")
    rm = roles.add_parser("rm", help="test a Resource Manager (the suite plays the CEM)")
    where = rm.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="HOST:PORT", help="listen; the RM connects (and reconnects per case)")
    where.add_argument("--connect", metavar="URL", help="connect to an RM that listens at this ws:// URL")
    cem = roles.add_parser("cem", help="test a CEM (the suite plays RMs of each control type)")
    cem.add_argument("url", metavar="URL", help="the CEM's ws:// URL")
    for p in (rm, cem):
        p.add_argument("--only", action="append", default=[], metavar="ID|TAG", help="run only these (repeatable)")
        p.add_argument("--skip", action="append", default=[], metavar="ID|TAG", help="leave these out (repeatable)")
        p.add_argument("--profile", default="0.0.2-beta", help="protocol version to test (default 0.0.2-beta)")
        p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds per case (default 5)")
        p.add_argument(
            "--allowance",
            type=float,
            default=1.0,
            metavar="S",
            help="seconds added to the declared processing delay (default 1)",
        )
        p.add_argument(
            "--wait",
            type=float,
            default=30.0,
            metavar="S",
            help="with --listen: seconds to wait for the RM to connect for each case (default 30)",
        )
        p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
        p.add_argument("--json", metavar="FILE", help="write a JSON report")
        p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
        p.add_argument("--record", metavar="FILE", help="write every frame as a JSON Lines transcript")
        p.add_argument("--quiet", action="store_true", help="print only the summary")
        p.set_defaults(run=run)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..conformance import select_cases
    from ..messages.profiles import PROFILES, normalize_version

    profile = normalize_version(args.profile)
    if profile not in PROFILES:
        print(f"s2ws test: --profile: unknown version {args.profile!r}; one of {', '.join(PROFILES)}", file=sys.stderr)
        return 2
    for name in ("timeout", "allowance", "wait"):
        if not getattr(args, name) >= 0 or (name == "timeout" and args.timeout == 0):
            print(f"s2ws test: --{name} must be positive", file=sys.stderr)
            return 2
    try:
        cases = select_cases(args.test_role, only=_split(args.only), skip=_split(args.skip), profile=profile)
    except ValueError as exc:
        print(f"s2ws test: {exc}", file=sys.stderr)
        return 2
    listen = getattr(args, "listen", None)
    host, port = "", 0
    if listen is not None:
        host, sep, port_text = listen.rpartition(":")
        if not sep or not host or not port_text.isdigit():
            print(f"s2ws test rm: --listen wants HOST:PORT, got {listen!r}", file=sys.stderr)
            return 2
        port = int(port_text)
    target = getattr(args, "url", None) or getattr(args, "connect", None) or listen
    if target and "://" not in target and listen is None:
        print(f"s2ws test: {target!r} is not a ws:// or wss:// URL", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, cases, profile, host, port, str(target)))
    except KeyboardInterrupt:
        return 1


async def _run(args: argparse.Namespace, cases: list[Any], profile: str, host: str, port: int, target: str) -> int:
    from ..conformance import CaseContext, Dialer, Listener, run_cases
    from ..conformance.reports import exit_code, html_report, json_report, junit_xml, summary, write_transcript
    from ..conformance.runner import CaseResult, Connector

    def show(result: CaseResult) -> None:
        if not args.quiet:
            why = f": {result.reason}" if result.reason else ""
            print(f"{result.case.id} {result.verdict.upper():5} {result.case.title}{why}", flush=True)

    ctx = CaseContext(profile, allowance=args.allowance)
    closer: Listener | Dialer
    if host:
        listener = Listener(host, port)
        try:
            await listener.start()
        except OSError as exc:
            print(f"s2ws test rm: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"s2ws test rm: listening on {listener.url}; connect the RM under test (it must reconnect)")
        wait = args.wait

        async def connector(timeout: float) -> Any:
            return await listener(max(timeout, wait))

        closer, connect = listener, connector
    else:
        closer = Dialer(target)
        connect = closer
    chosen: Connector = connect
    try:
        results = await run_cases(cases, chosen, ctx, timeout=args.timeout, progress=show)
    finally:
        await closer.close()
    role = args.test_role
    try:
        if args.junit:
            _write(args.junit, junit_xml(results, suite=f"s2ws test {role} {target}"))
        if args.json:
            _write(args.json, json_report(results, target=target, role=role, profile=profile))
        if args.html:
            _write(args.html, html_report(results, target=target, role=role, profile=profile))
        if args.record:
            write_transcript(results, args.record)
    except OSError as exc:
        print(f"s2ws test: cannot write a report: {exc}", file=sys.stderr)
        return 2
    counts = summary(results)
    print(f"s2ws test {role}: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    return exit_code(results)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
