"""Shared fixtures: where the upstream specification lives, and loaders for it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SPEC = SHARED / "spec"


def require_spec(*parts: str) -> Path:
    """The path below ../shared/spec, or skip the test with the reason when it is absent."""
    path = SPEC.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"upstream specification not found at {path} (expected ../shared/spec beside the repository)")
    return path


@pytest.fixture
def spec_root() -> Path:
    return require_spec()


@pytest.fixture
def examples_dir() -> Path:
    return require_spec("examples")


@pytest.fixture
def json_schema_dir() -> Path:
    return require_spec("s2-ws-json", "s2-json-schema")


S2PYTHON_PYTHON = REPO / ".venv-s2python" / "bin" / "python"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Say loudly, as the very last line, when the interop tests did not run: without
    ``.venv-s2python`` they skip, and a plain ``pytest`` run would otherwise look complete."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or S2PYTHON_PYTHON.exists():
        return
    skipped = [report for report in reporter.stats.get("skipped", []) if "s2-python" in str(report.longrepr)]
    if skipped:
        reporter.write_line(
            f"NOTICE: {len(skipped)} interop test(s) against s2-python did NOT run: {S2PYTHON_PYTHON} is missing "
            "(`make interop-venv` creates it; `make test` does so itself)",
            red=True,
            bold=True,
        )
