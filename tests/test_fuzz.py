"""A short, bounded run of every fuzz target (the long runs are ``make fuzz``).

Each target runs for a few seconds in its own process under atheris; the test fails when one
crashes (the log holds the input, and ``python -m fuzz.run TARGET --reproduce FILE`` replays it)
or when one did not execute at all. It asserts no timing: a slow machine runs fewer inputs.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fuzz.run import NAMES, run_all  # noqa: E402
from fuzz.seeds import seeds  # noqa: E402
from fuzz.targets import TARGETS  # noqa: E402

SECONDS = int(os.environ.get("FUZZ_TEST_SECONDS", "3"))


def test_every_target_runs_its_seeds_cleanly() -> None:
    """Without the fuzzer: the entry points take the seeds, which reach deep into each."""
    assert set(TARGETS) == set(NAMES)
    for name, target in TARGETS.items():
        for seed in seeds(name):
            target(seed)


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed (Linux only)")
def test_a_short_fuzzing_run_of_every_target_finds_no_crash(tmp_path: Path) -> None:
    outcomes = run_all(NAMES, SECONDS, tmp_path, timeout=SECONDS * 10 + 120)
    for o in outcomes:
        assert not o.crashed, f"fuzz target {o.name} crashed (exit {o.returncode}):\n{o.log[-3000:]}"
        assert o.executions > 0 and o.coverage > 0, f"fuzz target {o.name} did not run:\n{o.log[-3000:]}"
