"""The examples of docs/control-types run: each page's RM and CEM together, type-checked and linted.

Every ```python block of a control-type page starts with ``# example: rm`` or ``# example: cem``
(docs/control-types/README.md explains the convention). The RM block defines ``make_rm()``, the
CEM block ``make_cem()``; the test joins the two in one process (in memory, and over a WebSocket
on 127.0.0.1 as the index shows), waits for the one instruction the CEM sends to reach the RM and
get the status the page promises, and replays the CEM's transcript: no finding at all.
Waits are for states, bounded by ``asyncio.timeout``; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest

from s2ws.app import CEM, Recorder, ResourceManager, RMHandle
from s2ws.messages import InstructionStatus
from s2ws.rules.replay import replay
from s2ws.transport import memory_pair

REPO: Final = Path(__file__).resolve().parent.parent
DOCS: Final = REPO / "docs" / "control-types"
PAGES: Final = ("pebc", "ppbc", "ombc", "frbc", "ddbc")
ROLES: Final = ("rm", "cem")
DEADLINE: Final = 15.0
S = InstructionStatus
EXPECTED: Final = {
    "pebc": S.STARTED,  # the envelope holds for an hour; SUCCEEDED comes when it ends
    "ppbc": S.ACCEPTED,  # scheduled to start in two hours
    "ombc": S.SUCCEEDED,
    "frbc": S.SUCCEEDED,
    "ddbc": S.SUCCEEDED,
}
"""What the instruction of each page has become once the RM has answered it."""

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_TAG = re.compile(r"# example: (\w+)")


def python_blocks(path: Path) -> list[str]:
    return [code for lang, code in _FENCE.findall(path.read_text(encoding="utf-8")) if lang == "python"]


def examples(page: str) -> dict[str, str]:
    """role -> the code of that role's example on the page; every python block must be one."""
    found: dict[str, str] = {}
    for code in python_blocks(DOCS / f"{page}.md"):
        tag = _TAG.fullmatch(code.splitlines()[0])
        assert tag is not None, f"{page}.md: a python block that is not an example:\n{code[:200]}"
        role = tag.group(1)
        assert role in ROLES and role not in found, f"{page}.md: unexpected or repeated '# example: {role}'"
        found[role] = code
    assert set(found) == set(ROLES), f"{page}.md has examples {sorted(found)}, wants {list(ROLES)}"
    return found


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example as a module file ``<page>_<role>.py`` (and the index's ``pair``), for exec,
    mypy and ruff."""
    directory = tmp_path_factory.mktemp("control_type_examples")
    for page in PAGES:
        for role, code in examples(page).items():
            (directory / f"{page}_{role}.py").write_text(code, encoding="utf-8")
    (directory / "index_pair.py").write_text(pair_code(), encoding="utf-8")
    return directory


def load(directory: Path, page: str, role: str) -> dict[str, Any]:
    """Run one example as a fresh module (not as __main__) and return its namespace."""
    path = directory / f"{page}_{role}.py"
    namespace: dict[str, Any] = {"__name__": f"{page}_{role}", "__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace


def factories(directory: Path, page: str) -> tuple[Callable[[], ResourceManager], Callable[[], CEM]]:
    make_rm, make_cem = load(directory, page, "rm").get("make_rm"), load(directory, page, "cem").get("make_cem")
    assert callable(make_rm), f"the RM example of {page}.md defines no make_rm()"
    assert callable(make_cem), f"the CEM example of {page}.md defines no make_cem()"
    return make_rm, make_cem


def pair_code() -> str:
    """The index page's one python block: the ``pair`` helper that joins a CEM and an RM over a WebSocket."""
    (code,) = python_blocks(DOCS / "README.md")
    assert code.startswith("# example: pair\n")
    return code


def websocket_pair() -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": "control_types_pair"}
    exec(compile(pair_code(), str(DOCS / "README.md"), "exec"), namespace)
    pair: Callable[..., Any] = namespace["pair"]
    return pair


def test_every_page_has_its_examples() -> None:
    assert sorted(p.stem for p in DOCS.glob("*.md")) == sorted([*PAGES, "README"])
    for page in PAGES:
        examples(page)
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        assert f"({page}.md)" in index, f"the index does not link {page}.md"
    assert "docs/control-types/README.md" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("transport", ["memory", "websocket"])
@pytest.mark.parametrize("page", PAGES)
async def test_rm_and_cem_of_a_page_run_together(example_dir: Path, page: str, transport: str) -> None:
    make_rm, make_cem = factories(example_dir, page)
    stream = io.StringIO()
    cem, rm = make_cem(), make_rm()
    assert isinstance(cem, CEM) and isinstance(rm, ResourceManager)
    cem.observers.append(Recorder(stream=stream))
    tasks: list[asyncio.Task[Any]] = []
    try:
        async with asyncio.timeout(DEADLINE):
            if transport == "memory":
                near, far = memory_pair(("cem", "rm"))
                tasks += [asyncio.create_task(cem.run_channel(near)), asyncio.create_task(rm.run_channel(far))]
                handle: RMHandle = await cem.next_rm()
            else:
                handle, task = await websocket_pair()(cem, rm)
                tasks.append(task)
            expected = EXPECTED[page]
            await handle.wait_until(
                lambda: any(r.status is expected or r.finished for r in handle.instructions.values())
            )
            (record,) = handle.instructions.values()
            assert record.refused is None and record.status is expected, (record.refused, record.status)
            # the RM received that very instruction and reported the same status
            session = rm.session
            assert session is not None
            await session.wait_until(lambda: record.id in session.instructions)
            mine = session.instructions[record.id]
            assert mine.message == record.message and mine.status is expected
            assert handle.active_control_type is rm.active_control_type is not None
    finally:
        async with asyncio.timeout(DEADLINE):
            await rm.close()
            await cem.close()
            await asyncio.gather(*tasks, return_exceptions=True)
    lines = stream.getvalue().splitlines()
    assert lines and [(f.rule, f.severity, f.reason) for f in replay(lines)] == []


def _written(directory: Path) -> list[str]:
    return sorted(str(p) for p in directory.glob("*.py"))


def test_examples_pass_mypy_strict(example_dir: Path) -> None:
    api = pytest.importorskip("mypy.api")
    options = ["--strict", "--python-version", "3.11", "--cache-dir", str(example_dir / ".mypy_cache")]
    stdout, stderr, status = api.run([*options, *_written(example_dir)])
    assert status == 0, stdout + stderr


def test_examples_pass_ruff(example_dir: Path) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this interpreter")
    config = str(REPO / "pyproject.toml")
    done = subprocess.run(
        [str(ruff), "check", "--no-cache", "--config", config, *_written(example_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
