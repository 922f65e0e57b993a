"""Timing, statistics and table output shared by the benchmarks.

Every competitor is timed by the same loop (``for item in items: func(item)``), calibrated so
that one run lasts about a target time, and run several times; runs of competitors that are
compared with each other are interleaved so that a slow phase of the machine hits all of them.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from time import perf_counter_ns
from typing import Any

__all__ = [
    "Measurement",
    "Timed",
    "fmt_ns",
    "fmt_ratio",
    "import_time_ns",
    "machine_info",
    "measure_group",
    "render_table",
]


@dataclass
class Timed:
    """One competitor: a function applied to every item of a list, once per iteration."""

    name: str
    func: Callable[[Any], object]
    items: Sequence[Any]
    collector: bool = True  # False: timed with the garbage collector off


@dataclass
class Measurement:
    """Per-iteration times (ns) of each run of one competitor."""

    name: str
    runs_ns: list[float] = field(default_factory=list)
    iterations: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.runs_ns)

    @property
    def spread(self) -> float:
        """(max - min) / median of the runs: how noisy the figure is."""
        return (max(self.runs_ns) - min(self.runs_ns)) / self.median if self.runs_ns else 0.0


def _loop(timed: Timed) -> Callable[[int], int]:
    func, items = timed.func, timed.items

    def run(n: int) -> int:
        t0 = perf_counter_ns()
        for _ in range(n):
            for item in items:
                func(item)
        return perf_counter_ns() - t0

    return run


def _calibrate(run: Callable[[int], int], target_ns: int) -> int:
    """The number of iterations that makes one run last about ``target_ns`` (at least 1)."""
    run(1)  # warm-up: first call pays for caches, lazy imports and specialisation
    n = 1
    while True:
        elapsed = run(n)
        if elapsed >= target_ns // 10 or n >= 1 << 24:
            break
        n *= 4
    per_iteration = max(elapsed / n, 1.0)
    return max(1, round(target_ns / per_iteration))


def measure_group(group: Sequence[Timed], runs: int, target_ns: int) -> list[Measurement]:
    """Time each competitor ``runs`` times, interleaved. The garbage collector stays on as in a
    real process (unless a competitor asks otherwise), but is emptied before every run so that
    no run inherits another's garbage."""
    loops = [_loop(t) for t in group]
    counts = [_calibrate(loop, target_ns) for loop in loops]
    results = [Measurement(t.name, iterations=n) for t, n in zip(group, counts, strict=True)]
    was_enabled = gc.isenabled()
    try:
        for _ in range(runs):
            for timed, loop, n, result in zip(group, loops, counts, results, strict=True):
                gc.collect()
                if not timed.collector:
                    gc.disable()
                result.runs_ns.append(loop(n) / n)
                if was_enabled:
                    gc.enable()
    finally:
        if was_enabled:
            gc.enable()
    return results


def import_time_ns(module: str, runs: int, python: str | None = None) -> list[int]:
    """Wall time of ``import module`` in fresh interpreters (one discarded warm-up run)."""
    code = f"import time; t = time.perf_counter_ns(); import {module}; print(time.perf_counter_ns() - t)"
    times: list[int] = []
    for i in range(runs + 1):
        out = subprocess.run(
            [python or sys.executable, "-c", code],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        if i:
            times.append(int(out.strip()))
    return times


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info(dists: Sequence[str]) -> list[tuple[str, str]]:
    """What the figures depend on: processor, cores, Python and package versions."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = [
        ("CPU", _cpu_model()),
        ("nproc", str(affinity)),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
    ]
    rows += [(dist, _version(dist)) for dist in dists]
    return rows


def fmt_ns(ns: float | None) -> str:
    """A duration with three significant digits and a readable unit."""
    if ns is None:
        return "-"
    unit, value = "ns", ns
    for name, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            unit, value = name, ns / scale
            break
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False, left: int = 1) -> str:
    """A table; the first ``left`` columns are left-aligned, the others right-aligned."""
    n = len(headers)
    if markdown:
        rule = [":---"] * min(left, n) + ["---:"] * max(n - left, 0)
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(cell)) for cell in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])
