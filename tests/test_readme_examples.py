"""Every code block of README.md and docs/*.md runs, or is checked against the code it names.

Each fenced block must be one of these kinds (a block of another kind fails the test, so a new one
cannot slip by unchecked); the blocks of docs/control-types/ run in test_docs_examples.py.

- ``python`` without a network address: executed; the comment lines right after a ``print(``
  line are what that call prints, and the printed text must equal them.
- ``python`` that serves on or connects to port 8080 of 127.0.0.1: run as processes against each
  other on a free port (the README's CEM and RM examples meet).
- a shell session, lines starting with ``$ ``: each command runs in bash (``s2ws`` on the PATH,
  in an empty directory) and the lines up to the next prompt are its output, compared after
  :func:`normalise` (clock times, 8-hex ids, the port). A last shown line ``...`` means the
  output goes on and the shown lines must appear in order; otherwise output equals them. A
  command that serves (``s2ws cem``) gets its companion from :data:`COMPANIONS` and is stopped
  with SIGINT once its output has been shown.
- ``toml``: a site file; it loads with :func:`s2ws.plan.load_site` (the CSV files it names made up).
- ``text``: plain notation (the planning model's equations): not run.
- command lists (``make TARGET``, ``s2ws ...``, ``.venv/bin/pytest FILE``, ``python -m MODULE``):
  the targets, files and modules exist, ``s2ws`` commands parse, and an ``s2ws`` synopsis (one
  with ``[``) names every option of its command and no other.

Waits are for output lines or process exits, bounded by ``asyncio.timeout``; nothing sleeps.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import re
import shlex
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from interop_support import REPO, ScriptProcess, ScriptResult, free_port
from s2ws.cli import build_parser

DOCS: Final = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
DEADLINE: Final = 40.0
PORT: Final = "8080"
"""The port the docs show; the tests use a free one and show it as this."""
COMPANIONS: Final = {
    "s2ws cem": ("s2ws", "rm", "simulate", "battery", "--connect", "ws://127.0.0.1:{port}/", "--quiet")
}
"""What the README says connects to a serving command while its output is shown."""

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_TIME = re.compile(r"\b\d\d:\d\d:\d\d\.\d{3}\b")
_HEX8 = re.compile(r"\b[0-9a-f]{8}\b")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(path, line, match.group(1), match.group(2)))
    return found


def kind(block: Block) -> str:
    if block.lang == "python":
        return "python-network" if PORT in block.code else "python"
    if block.lang in ("text", "toml"):  # plain notation (equations); a site file
        return block.lang
    if block.lang == "":
        if block.code.startswith("$ "):
            return "shell"
        return "commands"
    return "unknown"


def of_kind(name: str) -> list[Block]:
    return [block for block in blocks() if kind(block) == name]


def ids(found: list[Block]) -> list[str]:
    return [block.where for block in found]


def normalise(line: str, port: int | str) -> str:
    """What varies from run to run: clock times, 8-hex ids (sessions, instructions) and the port."""
    line = line.replace(f"127.0.0.1:{port}", f"127.0.0.1:{PORT}")
    return _HEX8.sub("xxxxxxxx", _TIME.sub("HH:MM:SS.mmm", line))


def test_every_block_is_of_a_known_kind() -> None:
    found = blocks()
    assert {kind(block) for block in found} <= {"python", "python-network", "shell", "commands", "text", "toml"}, [
        block.where for block in found if kind(block) == "unknown"
    ]
    assert len(of_kind("python")) >= 1 and len(of_kind("python-network")) == 2 and len(of_kind("shell")) >= 2


# --- toml: site files ----------------------------------------------------------------------------


@pytest.mark.parametrize("block", of_kind("toml"), ids=ids(of_kind("toml")))
def test_site_file_block_loads(block: Block, tmp_path: Path) -> None:
    """A TOML block is a site file: it loads, with the CSV files it names made up beside it."""
    from s2ws.plan import load_site

    (tmp_path / "prices.csv").write_text(
        "start,import_price,export_price\n2026-01-05T00:00:00+00:00,0.30,0.08\n2026-01-05T12:00:00+00:00,0.20,0.05\n"
    )
    (tmp_path / "base.csv").write_text("start,w\n2026-01-05T00:00:00+00:00,300\n2026-01-05T12:00:00+00:00,400\n")
    site_file = tmp_path / "site.toml"
    site_file.write_text(block.code, encoding="utf-8")
    site = load_site(site_file)
    assert site.prices is not None, block.where


# --- python ------------------------------------------------------------------------------------


def shown_prints(code: str) -> list[str]:
    """The comment lines right after each ``print(`` line: what the block says it prints."""
    out: list[str] = []
    lines = code.splitlines()
    for index, line in enumerate(lines):
        if "print(" not in line:
            continue
        for following in lines[index + 1 :]:
            stripped = following.strip()
            if not stripped.startswith("# "):
                break
            out.append(stripped[2:])
    return out


@pytest.mark.parametrize("block", of_kind("python"), ids=ids(of_kind("python")))
def test_python_block_runs_and_prints_what_it_shows(block: Block) -> None:
    stdout = io.StringIO()
    namespace = {"__name__": "readme_example"}
    with contextlib.redirect_stdout(stdout):
        exec(compile(block.code, block.where, "exec"), namespace)
    assert stdout.getvalue().splitlines() == shown_prints(block.code)


@contextlib.asynccontextmanager
async def process(name: str, *argv: str, cwd: Path) -> AsyncIterator[ScriptProcess]:
    """A process whose output is drained as it comes; killed and reaped on exit whatever happens."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(cwd),
    )
    script = ScriptProcess(name, proc)
    script.start_reading()
    try:
        yield script
    finally:
        await script.stop()


async def until_listening(port: int) -> None:
    """Wait (bounded by the caller) until something accepts connections on 127.0.0.1:``port``."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def lines_until(script: ScriptProcess, *wanted: str) -> None:
    """Read stdout until every line of ``wanted`` was printed (in any order)."""
    missing = set(wanted)
    while missing:
        line = await script.readline(DEADLINE)
        if line is None:
            pytest.fail(f"{script.name} ended without printing {sorted(missing)}\nstderr:\n{script.stderr[-4000:]}")
        missing.discard(line)


async def test_the_readme_rm_and_cem_examples_run_against_each_other(tmp_path: Path) -> None:
    """The CEM example serves, the RM example connects to it; the CEM prints the selection and the
    measurements, and when the CEM is stopped its TERMINATE ends the RM's ``run`` (exit 0)."""
    found = of_kind("python-network")
    (server,) = [b for b in found if ".serve(" in b.code]
    (client,) = [b for b in found if '.run("ws://' in b.code]
    port = free_port()
    for block, name in ((server, "cem.py"), (client, "rm.py")):
        (tmp_path / name).write_text(block.code.replace(PORT, str(port)), encoding="utf-8")
    python = (sys.executable, "-u")
    async with asyncio.timeout(DEADLINE), process("CEM example", *python, "cem.py", cwd=tmp_path) as cem:
        await until_listening(port)
        async with process("RM example", *python, "rm.py", cwd=tmp_path) as rm:
            await lines_until(cem, "Heater is now under NOT_CONTROLABLE", "Heater [1800.0]")
            cem.proc.send_signal(signal.SIGINT)  # asyncio.run cancels main(): its finally closes the CEM
            rm_result = await rm.finish(DEADLINE)
        await cem.finish(DEADLINE)
    assert rm_result.returncode == 0, rm_result.describe()
    assert "Traceback" not in rm_result.stderr, rm_result.stderr


# --- shell sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    command: str
    shown: list[str]


def commands(block: Block) -> list[Command]:
    out: list[Command] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            out.append(Command(line[2:], []))
        else:
            out[-1].shown.append(line)
    return out


@pytest.fixture
def shell_path(tmp_path: Path) -> str:
    """A PATH whose ``s2ws`` is this interpreter's s2ws."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    s2ws = bin_dir / "s2ws"
    s2ws.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m s2ws.cli "$@"\n', encoding="utf-8")
    s2ws.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


def in_order(shown: list[str], actual: list[str]) -> bool:
    """Whether ``shown`` is a subsequence of ``actual``."""
    remaining = iter(actual)
    return all(any(line == candidate for candidate in remaining) for line in shown)


@pytest.mark.parametrize("block", of_kind("shell"), ids=ids(of_kind("shell")))
async def test_shell_session_shows_the_real_output(block: Block, tmp_path: Path, shell_path: str) -> None:
    for step in commands(block):
        port = free_port()
        command = step.command.replace(f"127.0.0.1:{PORT}", f"127.0.0.1:{port}")
        goes_on = bool(step.shown) and step.shown[-1] == "..."
        shown = step.shown[:-1] if goes_on else step.shown
        expected = [normalise(line, PORT) for line in shown]
        argv = ("env", f"PATH={shell_path}", "PYTHONUNBUFFERED=1", "bash", "-c", f"exec {command}")
        serving = next((c for prefix, c in COMPANIONS.items() if step.command.startswith(prefix)), None)
        async with asyncio.timeout(DEADLINE), process(step.command, *argv, cwd=tmp_path) as main:
            if serving is None:
                result = await main.finish(DEADLINE)
                actual = result.stdout_lines + result.stderr.splitlines()
            else:
                await until_listening(port)
                companion = [part.format(port=port) for part in serving]
                async with process("companion", "env", f"PATH={shell_path}", *companion, cwd=tmp_path):
                    # until the shown lines have appeared; if they never do, the diff below says why
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(DEADLINE / 2):
                            while not in_order(expected, [normalise(line, port) for line in main.stdout_lines]):
                                if await main.readline(DEADLINE) is None:
                                    break
                result = await _interrupted(main)
                actual = result.stdout_lines
        assert result.returncode in (0, 1), result.describe()
        normalised = [normalise(line, port) for line in actual]
        if goes_on:
            assert in_order(expected, normalised), (
                "shown:\n" + "\n".join(expected) + "\nreal:\n" + "\n".join(normalised)
            )
        else:
            assert normalised == expected


async def _interrupted(script: ScriptProcess) -> ScriptResult:
    script.proc.send_signal(signal.SIGINT)
    return await script.finish(DEADLINE)


# --- command lists and synopses ----------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def parser_of(words: list[str]) -> tuple[argparse.ArgumentParser, int]:
    """The (sub)parser of ``s2ws WORDS...`` and how many words name it."""
    parser, used = build_parser(), 1
    while used < len(words) and words[used] in (choices := _subparsers(parser)):
        parser, used = choices[words[used]], used + 1
    return parser, used


def check_synopsis(synopsis: str) -> None:
    words = synopsis.split()
    parser, _ = parser_of(words)
    tokens = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", synopsis))
    options = {o for action in parser._actions for o in action.option_strings if o not in ("-h", "--help")}
    assert tokens <= options, f"{synopsis!r} names options {sorted(tokens - options)} that do not exist"
    for action in parser._actions:
        names = [o for o in action.option_strings if o not in ("-h", "--help")]
        if names:
            assert set(names) & tokens, f"{synopsis!r} omits {names[-1]}"


def check_command(line: str, block: Block) -> None:
    """One line of a command list: it names something that exists."""
    code, _, comment = line.partition("#")
    if "s2ws " in comment and "[" in comment:  # make demo  # or: s2ws demo [--duration S] ...
        check_synopsis(comment[comment.index("s2ws ") :])
    words = shlex.split(code)
    if not words:
        return
    if re.fullmatch(r"[A-Z]+=\$\(.*\)", code.strip()):  # T=$(date ...): a shell variable
        return
    if words[0] == "make":
        makefile = (REPO / "Makefile").read_text(encoding="utf-8")
        for target in words[1:]:
            if re.fullmatch(r"[A-Z_]+=\S*", target):  # make fuzz FUZZ_SECONDS=600: a variable, not a target
                assert re.search(rf"^{target.split('=')[0]} \?=", makefile, re.MULTILINE), f"{block.where}: no {target}"
                continue
            assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), f"{block.where}: no make {target}"
    elif words[0] == "s2ws":
        if "[" in code or "|" in code:
            check_synopsis(code)
        else:
            build_parser().parse_args([w.replace("$T", "2026-03-20T12:00:00Z") for w in words[1:]])
    elif words[0].endswith("/pytest"):
        for name in words[1:]:
            assert (REPO / name).is_file(), f"{block.where}: {name} does not exist"
    elif words[0].endswith("/python") and words[1] == "-m":
        source = (REPO / words[2].replace(".", "/")).with_suffix(".py")
        assert source.is_file(), f"{block.where}: no module {words[2]}"
        text = source.read_text(encoding="utf-8")
        for option in (word for word in words[3:] if word.startswith("-")):  # values and targets vary
            assert f'"{option}"' in text, f"{block.where}: {words[2]} has no option {option}"
    else:
        pytest.fail(f"{block.where}: a command of unknown kind: {line!r}")


def _command_lines(block: Block) -> Iterator[str]:
    """The lines of a command list; a synopsis goes on over indented lines."""
    current = ""
    for line in block.code.splitlines():
        if line.startswith(" ") and current:
            current += " " + line.strip()
            continue
        if current:
            yield current
        current = line
    if current:
        yield current


@pytest.mark.parametrize("block", of_kind("commands"), ids=ids(of_kind("commands")))
def test_command_list_names_what_exists(block: Block) -> None:
    for line in _command_lines(block):
        check_command(line, block)


FULL_DEMO = (
    "s2ws demo [--duration S] [--speed N] [--interval S] [--planner optimizer|rules] [--db FILE]"
    " [--record FILE [--record-max-bytes SIZE] [--record-keep N]] [--ui HOST:PORT [--ui-token T] | --no-ui]"
    " [--quiet] [-v]"
)


def test_synopsis_check_catches_a_missing_or_unknown_option() -> None:
    check_synopsis(FULL_DEMO)
    with pytest.raises(AssertionError, match="omits --record"):
        check_synopsis(FULL_DEMO.replace("[--record FILE [--record-max-bytes SIZE] [--record-keep N]] ", ""))
    with pytest.raises(AssertionError, match="--fast"):
        check_synopsis(FULL_DEMO + " [--fast]")
