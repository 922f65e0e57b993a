"""Helpers for the tests that run s2-python 0.11.1 as a peer.

s2-python lives in its own virtual environment (`.venv-s2python`, made by `make interop-venv`, which
`make test` runs): it pins websockets 13 and pydantic, which s2ws must not depend on. The tests run the
scripts in `interop/` with that interpreter as subprocesses and read back

- the JSON summary each script prints as the last line on stdout, and
- the JSON Lines transcripts both sides write ({"t", "dir", "session", "text"}, one frame per line).

Every subprocess runs with a bounded lifetime: the script's own --timeout, and a kill from here when
the test's deadline passes. Use `s2python_script` in an `async with` so the process is always killed
and reaped, whatever the test does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
INTEROP_DIR = REPO / "interop"
S2PYTHON_VENV = REPO / ".venv-s2python"
S2PYTHON_VERSION = "0.11.1"
DIRECTIONS = ("cem>rm", "rm>cem")


def s2python_interpreter() -> Path:
    """The interpreter of the s2-python environment, or skip the test saying how to create it."""
    python = S2PYTHON_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(
            f"s2-python {S2PYTHON_VERSION} interpreter not found at {python}; "
            "`make interop-venv` (part of `make test`) creates it"
        )
    return python


def interop_script(name: str) -> Path:
    path = INTEROP_DIR / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def last_json_object(lines: Iterable[str]) -> dict[str, Any]:
    """The last line that is a JSON object (the scripts' summary), or {} when there is none."""
    for line in reversed(list(lines)):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


@dataclass
class ScriptResult:
    returncode: int
    stdout_lines: list[str]
    stderr: str
    summary: dict[str, Any]

    def describe(self) -> str:
        """For assertion messages: exit status, summary and the tail of stderr."""
        return (
            f"exit {self.returncode}\nsummary: {json.dumps(self.summary, indent=1)}\n"
            f"stderr (tail):\n{self.stderr[-4000:]}"
        )


@dataclass
class ScriptProcess:
    """A running interop script; its stdout lines and stderr are drained continuously."""

    name: str
    proc: asyncio.subprocess.Process
    stdout_lines: list[str] = field(default_factory=list)
    stderr_chunks: list[bytes] = field(default_factory=list)
    _lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    def start_reading(self) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        stdout, stderr = self.proc.stdout, self.proc.stderr

        async def read_stdout() -> None:
            async for raw in stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.stdout_lines.append(line)
                self._lines.put_nowait(line)
            self._lines.put_nowait(None)

        async def read_stderr() -> None:
            while chunk := await stderr.read(65536):
                self.stderr_chunks.append(chunk)

        loop = asyncio.get_running_loop()
        self._readers = [loop.create_task(read_stdout()), loop.create_task(read_stderr())]

    @property
    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    async def readline(self, timeout: float) -> str | None:
        """The next stdout line, None at end of output; fails the test after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                return await self._lines.get()
        except TimeoutError:
            pytest.fail(f"{self.name}: no output line within {timeout} s\nstderr:\n{self.stderr[-4000:]}")

    async def wait_port(self, timeout: float = 15.0) -> int:
        """Read the "PORT <n>" line a server script prints once it listens."""
        line = await self.readline(timeout)
        if line is None or not line.startswith("PORT "):
            pytest.fail(f"{self.name}: expected 'PORT <n>', got {line!r}\nstderr:\n{self.stderr[-4000:]}")
        return int(line.split()[1])

    async def finish(self, timeout: float) -> ScriptResult:
        """Wait for the script to exit by itself; kill it and fail the test after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                returncode = await self.proc.wait()
                await asyncio.gather(*self._readers)
        except TimeoutError:
            await self.stop()
            pytest.fail(f"{self.name} did not exit within {timeout} s\nstderr:\n{self.stderr[-4000:]}")
        return ScriptResult(returncode, list(self.stdout_lines), self.stderr, last_json_object(self.stdout_lines))

    async def stop(self) -> None:
        """Kill the script if it still runs, reap it and its output readers."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        await self.proc.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


@contextlib.asynccontextmanager
async def s2python_script(name: str, *args: str) -> AsyncIterator[ScriptProcess]:
    """Start `interop/<name>` with the s2-python interpreter; killed and reaped on exit."""
    python = s2python_interpreter()
    proc = await asyncio.create_subprocess_exec(
        str(python),
        str(interop_script(name)),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
    )
    script = ScriptProcess(name, proc)
    script.start_reading()
    try:
        yield script
    finally:
        await script.stop()


def run_s2python_script(name: str, *args: str, timeout: float) -> ScriptResult:
    """Run `interop/<name>` to completion (blocking); fails the test if it outlives `timeout`."""
    python = s2python_interpreter()
    try:
        done = subprocess.run(
            [str(python), str(interop_script(name)), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(REPO),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed and reaped it
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc.stderr or "")
        pytest.fail(f"{name} did not exit within {timeout} s\nstderr:\n{stderr[-4000:]}")
    lines = done.stdout.splitlines()
    return ScriptResult(done.returncode, lines, done.stderr, last_json_object(lines))


def run_s2python_code(code: str, *, timeout: float = 60.0) -> Any:
    """Run a snippet with the s2-python interpreter and return the JSON it prints last on stdout."""
    python = s2python_interpreter()
    done = subprocess.run(
        [str(python), "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class TranscriptFrame:
    """One line of a JSON Lines transcript: {"t": RFC 3339, "dir": ..., "session": ..., "text": raw frame}."""

    t: datetime
    dir: str
    session: str
    text: str

    @property
    def message(self) -> dict[str, Any] | None:
        """The frame as a JSON object, None when it is not one."""
        try:
            value = json.loads(self.text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def message_type(self) -> str | None:
        message = self.message
        value = None if message is None else message.get("message_type")
        return value if isinstance(value, str) else None


def read_transcript(path: Path) -> list[TranscriptFrame]:
    """Parse and check a transcript: exactly the four keys, a known direction, an offset-aware time."""
    frames = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        entry = json.loads(line)
        assert isinstance(entry, dict) and set(entry) == {"t", "dir", "session", "text"}, f"{path}:{number}: {line}"
        assert entry["dir"] in DIRECTIONS, f"{path}:{number}: dir {entry['dir']!r}"
        assert isinstance(entry["session"], str) and isinstance(entry["text"], str), f"{path}:{number}"
        stamp = datetime.fromisoformat(entry["t"])
        assert stamp.tzinfo is not None, f"{path}:{number}: timestamp without offset {entry['t']!r}"
        frames.append(TranscriptFrame(stamp, entry["dir"], entry["session"], entry["text"]))
    return frames


def messages(frames: Iterable[TranscriptFrame], direction: str | None = None) -> list[dict[str, Any]]:
    """The JSON-object frames of a transcript, optionally of one direction only, in order."""
    out = []
    for frame in frames:
        if direction is not None and frame.dir != direction:
            continue
        message = frame.message
        if message is not None:
            out.append(message)
    return out


def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
