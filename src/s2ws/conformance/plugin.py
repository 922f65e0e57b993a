"""pytest plugin (entry point ``s2ws``, group ``pytest11``): S2 peers as fixtures, the catalogue as tests.

Fixtures (async ones need pytest-asyncio):

- ``s2_cem``: an in-process s2ws CEM on 127.0.0.1; ``.url`` to connect your RM to, ``.log`` (a
  :class:`~s2ws.conformance.harness.FrameLog`) to assert on what it received.
- ``s2_rm``: ``await s2_rm("battery", url)`` connects a simulated RM of any device (so any control
  type) to your CEM and returns its FrameLog; every RM started is stopped after the test.
- ``s2_conformance_case``: one catalogue case per test, parametrized from the marker
  ``@pytest.mark.s2_conformance("rm"|"cem", only=..., skip=..., profile=...)``; run it with
  :func:`~s2ws.conformance.harness.run_against_rm` / ``run_against_cem`` and your own factory.

See ``docs/conformance.md`` for a runnable example.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import pytest

from .cases import Case, select_cases
from .harness import FrameLog, Stop, simulated_rm

__all__ = ["CEMUnderTest", "pytest_configure", "pytest_generate_tests", "s2_cem", "s2_conformance_case", "s2_rm"]

F = TypeVar("F", bound=Callable[..., Any])

try:  # strict-mode users need pytest-asyncio's own decorator for async fixtures
    import pytest_asyncio

    _fixture: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - without pytest-asyncio the async fixtures cannot run anyway
    _fixture = pytest.fixture


def _async_fixture(function: F) -> F:
    return cast(F, _fixture(function))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "s2_conformance(role, only=(), skip=(), profile=None): run the test once per S2 conformance case "
        "of role 'rm' or 'cem' (fixture s2_conformance_case)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "s2_conformance_case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("s2_conformance")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.function.__name__}: s2_conformance_case needs @pytest.mark.s2_conformance")
    role = marker.args[0] if marker.args else marker.kwargs.get("role", "rm")
    cases = select_cases(
        role,
        only=marker.kwargs.get("only", ()),
        skip=marker.kwargs.get("skip", ()),
        profile=marker.kwargs.get("profile"),
    )
    metafunc.parametrize("s2_conformance_case", cases, ids=[c.id for c in cases])


@pytest.fixture
def s2_conformance_case(request: pytest.FixtureRequest) -> Case:
    """The catalogue case of this parametrized test."""
    case: Case = request.param
    return case


@dataclass
class CEMUnderTest:
    url: str
    log: FrameLog
    cem: Any


@_async_fixture
async def s2_cem() -> AsyncIterator[CEMUnderTest]:
    """An s2ws CEM listening on 127.0.0.1 (a free port) that records every frame."""
    from ..app.cem import CEM

    log = FrameLog()
    cem = CEM(observers=[log])
    server = await cem.serve("127.0.0.1", 0)
    try:
        yield CEMUnderTest(server.url("/"), log, cem)
    finally:
        await cem.close("test over")


@_async_fixture
async def s2_rm() -> AsyncIterator[Callable[[str, str], Awaitable[FrameLog]]]:
    """``await s2_rm(device, url)``: a simulated RM (``s2ws.sim.DEVICES``) connected to ``url``."""
    stops: list[Stop] = []

    async def start(device: str, url: str) -> FrameLog:
        log = FrameLog()
        stops.append(await simulated_rm(device, observers=[log])(url))
        return log

    try:
        yield start
    finally:
        for stop in reversed(stops):
            await stop()
