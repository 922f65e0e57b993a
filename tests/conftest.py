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
