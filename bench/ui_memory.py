"""Memory of ``s2ws demo`` (the CEM, its seven simulated devices and the web UI) with the UI open.

Runs the demo on a fast simulated clock for a simulated week while headless Chromium keeps the
Messages view open and live (then switches through every view), and samples the demo process's
resident memory. Run from the repository root::

    python -m bench.ui_memory [--speed 3000] [--days 7] [--chromium /usr/bin/chromium]

Prints one line per sample (wall seconds, simulated day, VmRSS in MiB, messages the UI holds).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=3000.0)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--interval", type=float, default=0.5, help="demo seconds between measurements")
    parser.add_argument("--sample", type=float, default=10.0, help="wall seconds between samples")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "")
    parser.add_argument("--planner", choices=("optimizer", "rules"), default="optimizer", help="the demo's planner")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    wall = args.days * 86400 / args.speed
    command = [sys.executable, "-m", "s2ws.cli", "demo", "--quiet", "--speed", str(args.speed)]
    command += ["--interval", str(args.interval), "--duration", str(wall), "--ui", "127.0.0.1:0"]
    command += ["--planner", args.planner]
    demo = subprocess.Popen(
        command,
        cwd=str(REPO),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert demo.stdout is not None
    url = ""
    for line in demo.stdout:
        if "UI on " in line:
            url = line.split("UI on ", 1)[1].split()[0]
            break
    # keep reading the demo's output (a plan summary per plan), or a full pipe would stall it
    threading.Thread(target=lambda: deque(demo.stdout or (), maxlen=1), daemon=True).start()
    start = time.monotonic()
    samples: list[tuple[float, float, float, int]] = []
    views = ["messages", "energy", "devices", "sessions"]
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "#view=messages")
        turn = 0
        while demo.poll() is None:
            elapsed = time.monotonic() - start
            try:
                with urllib.request.urlopen(url + "api/sessions", timeout=10) as response:
                    sessions = json.loads(response.read())
            except OSError:
                break
            held = page.evaluate("() => document.querySelectorAll('#messages tr.msg').length")
            row = (elapsed, elapsed * args.speed / 86400, rss_mib(demo.pid), held)
            samples.append(row)
            frames = sum(s["frames"]["cem>rm"] + s["frames"]["rm>cem"] for s in sessions)
            print(f"{row[0]:7.0f} s  day {row[1]:4.2f}  RSS {row[2]:7.1f} MiB  frames {frames:8d}  rows {held}")
            sys.stdout.flush()
            page.click(f"#tabs button[data-view={views[turn % len(views)]}]")
            turn += 1
            time.sleep(args.sample)
        browser.close()
    if demo.poll() is None:
        demo.send_signal(signal.SIGINT)
    demo.wait(60)
    if samples:
        first = samples[min(2, len(samples) - 1)][2]
        peak = max(s[2] for s in samples)
        print(f"RSS after {samples[min(2, len(samples) - 1)][0]:.0f} s: {first:.1f} MiB; peak {peak:.1f} MiB;")
        print(f"last {samples[-1][2]:.1f} MiB after {samples[-1][1]:.2f} simulated days")
        warm = next((s for s in samples if s[1] >= 2.0), None)  # after warm-up: from simulated day 2 on
        if warm is not None:
            after = [s for s in samples if s[1] >= 2.0]
            half = len(after) // 2
            early, late = [s[2] for s in after[:half]] or [warm[2]], [s[2] for s in after[half:]]
            print(
                f"from day {warm[1]:.2f} ({warm[2]:.1f} MiB) to day {samples[-1][1]:.2f}: "
                f"{samples[-1][2] - warm[2]:+.1f} MiB; range {min(s[2] for s in after):.1f} .. "
                f"{max(s[2] for s in after):.1f} MiB; median {statistics.median(early):.1f} MiB "
                f"(days {after[0][1]:.1f}-{after[half][1]:.1f}) then {statistics.median(late):.1f} MiB "
                f"(days {after[half][1]:.1f}-{after[-1][1]:.1f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
