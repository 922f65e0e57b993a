"""Run the fuzz targets with atheris (libFuzzer, coverage-guided on Python bytecode).

    python -m fuzz.run TARGET [--seconds N] [--corpus DIR]   # one target, libFuzzer's own output
    python -m fuzz.run --all [--seconds N]                   # each target in turn, then a table

One target runs in this process: s2ws is imported under atheris' instrumentation, the seeds of
the target are written into the corpus folder (kept between runs, so each run starts where the
last one got to), and libFuzzer runs for ``--seconds``. A crash (an exception that escapes a
target) stops it, leaves the input in ``--artifacts`` and exits non-zero; replay one with
``python -m fuzz.run TARGET --reproduce FILE``. ``--all`` runs every target in its own process
and prints executions per second and coverage per target (``--markdown`` for the docs).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NAMES", "Outcome", "main", "run_all", "run_one"]

NAMES = ("codec", "rules", "session_cem", "session_rm", "transcript")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO / ".fuzz"
_STAT = re.compile(r"^stat::(\w+):\s*(\d+)", re.M)
_PROGRESS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.M)


def _target(name: str, instrument: bool) -> Callable[[bytes], None]:
    if instrument:
        import atheris

        with atheris.instrument_imports(include=["s2ws"]):
            from fuzz import targets
    else:
        from fuzz import targets
    return targets.TARGETS[name]


def _write_seeds(name: str, corpus: Path) -> None:
    from fuzz.seeds import seeds

    corpus.mkdir(parents=True, exist_ok=True)
    for n, seed in enumerate(seeds(name)):
        (corpus / f"seed-{n:03d}").write_bytes(seed)


def run_one(name: str, seconds: int, corpus: Path, artifacts: Path, extra: Sequence[str] = ()) -> None:
    """Fuzz one target in this process; libFuzzer exits the process when done (0) or on a crash."""
    import atheris

    target = _target(name, instrument=True)
    _write_seeds(name, corpus)
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={seconds}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}{os.sep}{name}-",
        "-timeout=30",
        "-rss_limit_mb=2048",
        *extra,
    ]
    atheris.Setup(argv, target)
    atheris.Fuzz()


@dataclass(frozen=True)
class Outcome:
    """What one bounded run of one target did."""

    name: str
    seconds: int
    returncode: int
    executions: int
    per_second: int
    coverage: int
    features: int
    corpus: int
    log: str

    @property
    def crashed(self) -> bool:
        return self.returncode != 0


def _outcome(name: str, seconds: int, returncode: int, log: str) -> Outcome:
    stats = {k: int(v) for k, v in _STAT.findall(log)}
    progress = _PROGRESS.findall(log)
    _, cov, ft, corp = progress[-1] if progress else ("0", "0", "0", "0")
    return Outcome(
        name,
        seconds,
        returncode,
        stats.get("number_of_executed_units", 0),
        stats.get("average_exec_per_sec", 0),
        int(cov),
        int(ft),
        int(corp),
        log,
    )


def run_all(names: Sequence[str], seconds: int, root: Path, timeout: float | None = None) -> list[Outcome]:
    """Each target in its own process, one after the other; the outcome of each."""
    out = []
    for name in names:
        command = [
            sys.executable,
            "-m",
            "fuzz.run",
            name,
            "--seconds",
            str(seconds),
            "--corpus",
            str(root / "corpus" / name),
            "--artifacts",
            str(root / "crashes"),
        ]
        try:
            done = subprocess.run(
                command,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=timeout if timeout is not None else seconds * 4 + 120,
                check=False,
            )
            out.append(_outcome(name, seconds, done.returncode, done.stderr + done.stdout))
        except subprocess.TimeoutExpired as exc:
            log = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else str(exc.stderr or "")
            out.append(_outcome(name, seconds, -1, log + "\n(the run did not end in time)"))
    return out


def table(outcomes: Sequence[Outcome], markdown: bool) -> str:
    head = ["target", "seconds", "executions", "exec/s", "coverage (cov)", "features (ft)", "corpus", "result"]
    rows = [
        [
            o.name,
            str(o.seconds),
            f"{o.executions:,}",
            f"{o.per_second:,}",
            f"{o.coverage:,}",
            f"{o.features:,}",
            str(o.corpus),
            "CRASH" if o.crashed else "ok",
        ]
        for o in outcomes
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", choices=NAMES, help="the target to fuzz")
    parser.add_argument("--all", action="store_true", help="every target in turn, then a table")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "60")), help="per target")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="corpus and crashes (with --all)")
    parser.add_argument("--corpus", type=Path, help="the corpus folder of one target")
    parser.add_argument("--artifacts", type=Path, help="where a crashing input is left")
    parser.add_argument("--reproduce", type=Path, metavar="FILE", help="run the target once on FILE and exit")
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    args = parser.parse_args(argv)
    if args.all:
        outcomes = run_all(NAMES, args.seconds, args.root)
        for o in outcomes:
            if o.crashed:
                print(f"== {o.name} crashed:\n{o.log[-4000:]}", file=sys.stderr)
        print(table(outcomes, args.markdown))
        return 1 if any(o.crashed for o in outcomes) else 0
    if args.target is None:
        parser.error("name a target or give --all")
    if args.reproduce is not None:
        _target(args.target, instrument=False)(args.reproduce.read_bytes())
        print(f"{args.target}: {args.reproduce} runs without a fault")
        return 0
    corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"fuzz-{args.target}-"))
    run_one(args.target, args.seconds, corpus, args.artifacts or args.root / "crashes")
    return 0  # not reached: libFuzzer exits the process


if __name__ == "__main__":
    sys.exit(main())
