"""The proxy between s2-python 0.11.1's RM and ``s2ws cem``: a whole session, not a byte changed.

The CEM's own transcript, the proxy's transcript and s2-python's wire log hold the same frames in the
same order; the proxy's monitor shows s2-python's known deviations (docs/interop.md) as findings.
Skips with the reason when the s2-python environment is missing (``make test`` creates it).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from app_support import cheap_now_site_file, interrupt, listening_url, s2ws_command, wait_line
from interop_support import read_transcript, s2python_interpreter, s2python_script

DEADLINE = 90.0


def _texts(path: Path, direction: str) -> list[str]:
    return [f.text for f in read_transcript(path) if f.dir == direction]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


async def test_proxy_carries_an_s2python_session_unchanged(tmp_path: Path) -> None:
    s2python_interpreter()
    cem_log, proxy_log, rm_log = tmp_path / "cem.jsonl", tmp_path / "proxy.jsonl", tmp_path / "rm.jsonl"
    site = cheap_now_site_file(tmp_path)
    async with asyncio.timeout(DEADLINE):
        async with s2ws_command("cem", "--listen", "127.0.0.1:0", "--site", str(site), "--record", str(cem_log)) as cem:
            upstream = await listening_url(cem)
            proxy_args = ("--upstream", upstream, "--record", str(proxy_log), "--ui", "127.0.0.1:0")
            async with s2ws_command("proxy", "--listen", "127.0.0.1:0", *proxy_args) as proxy:
                ui = (await wait_line(proxy, lambda line: "UI on " in line)).split("UI on ", 1)[1].split()[0]
                url = await listening_url(proxy)
                async with s2python_script(
                    "s2python_rm.py", "--url", url, "--timeout", "40", "--log", str(rm_log)
                ) as rm:
                    await wait_line(cem, lambda line: "SUCCEEDED for FRBC instruction" in line)
                    cem_result = await interrupt(cem)  # TERMINATE, then the close passes through the proxy
                    rm_result = await rm.finish(40)
                await wait_line(proxy, lambda line: " closed: " in line, timeout=20)
                sessions = await asyncio.to_thread(_get, ui + "api/sessions")
                messages = await asyncio.to_thread(_get, ui + "api/messages")
                await interrupt(proxy)
    assert cem_result.returncode == 0, cem_result.describe()
    assert rm_result.returncode == 0, rm_result.describe()
    assert rm_result.summary["close_code"] == 1000  # the CEM's close code reached s2-python through the proxy

    for direction in ("cem>rm", "rm>cem"):
        cem_side, proxied, rm_side = _texts(cem_log, direction), _texts(proxy_log, direction), _texts(rm_log, direction)
        assert proxied == cem_side, direction
        assert proxied == rm_side, direction
    assert len(_texts(proxy_log, "cem>rm")) >= 8

    assert len(sessions) == 1 and sessions[0]["state"] == "closed" and sessions[0]["version"] == "0.0.2-beta"
    found = sorted({(f["rule"], m["type"]) for m in messages for f in m["findings"]})
    assert found == [
        ("S2-RMD-005", "ResourceManagerDetails"),  # FRBC offered together with NOT_CONTROLABLE
        ("S2-RS-004", "SessionRequest"),  # s2-python sends no ReceptionStatus for SessionRequest
    ]
