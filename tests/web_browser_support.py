"""Headless Chromium for the UI tests: Debian's ``chromium`` driven by Playwright, never a downloaded build.

The browser is found on PATH (``chromium``, ``chromium-browser``) or at ``$S2WS_CHROMIUM``; without it,
or without the ``playwright`` package, the tests skip and say which is missing. ``S2WS_UI_SCREENSHOTS``
names a directory where the tests save a 1280x800 screenshot of each view (``make ui-screenshots``).
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str:
    found = os.environ.get("S2WS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no Chromium found (apt-get install chromium, or set S2WS_CHROMIUM): the browser tests need one")
    return found


def _vendor_css(text: str) -> bool:
    """The CSP refusing the chart library's inline map stylesheet (unused here): expected, not a fault.
    Any other CSP report (a script, say) still fails the test."""
    return text.startswith("Applying inline style violates") and "style-src" in text


@contextmanager
def browser_page() -> Iterator[Any]:
    """A fresh 1280x800 page in headless Chromium; console errors fail the test at the end."""
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            # every CSP refusal, by the directive that refused it (see csp_refusals)
            page.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation', "
                "e => window.__csp.push([e.effectiveDirective, e.sample]));"
            )
            errors: list[str] = []
            page.on(
                "console",
                lambda msg: errors.append(msg.text) if msg.type == "error" and not _vendor_css(msg.text) else None,
            )
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert not errors, f"the page reported errors: {errors}"
        finally:
            browser.close()


def csp_refusals(page: Any) -> list[tuple[str, str]]:
    """(directive, sample) of everything the page's Content-Security-Policy refused so far."""
    return [(d, sample) for d, sample in page.evaluate("() => window.__csp || []")]


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("S2WS_UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


class Command:
    """``python -m s2ws.cli ARGS`` in the background; its stdout lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "s2ws.cli", *args],
            cwd=str(REPO),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, marker: str, timeout: float = 60.0) -> str:
        """The first output line containing ``marker`` (fails on exit or after ``timeout`` seconds)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"s2ws {' '.join(self.args[:2])}: no line with {marker!r} in {timeout} s: {self.seen}")
            if line is None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                pytest.fail(f"s2ws {' '.join(self.args[:2])} ended early: {self.seen}\n{err[-3000:]}")
            self.seen.append(line)
            if marker in line:
                return line

    def url_after(self, marker: str) -> str:
        return self.wait_for(marker).split(marker, 1)[1].split()[0].rstrip(";")

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.proc.returncode


@contextmanager
def command(*args: str) -> Iterator[Command]:
    running = Command(*args)
    try:
        yield running
    finally:
        running.stop()
