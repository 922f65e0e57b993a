"""The web UI in headless Chromium: the demo, the proxy's findings, the rule filter, replay."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from web_browser_support import browser_page, chromium_path, command, csp_refusals, screenshot

DEVICES = 7
BOUND_MS = 120_000  # generous: the machine is shared; the point is that it happens, not how fast


@pytest.fixture(autouse=True)
def _need_browser() -> None:
    chromium_path()
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def test_demo_page_shows_every_device_and_draws_charts(tmp_path: Path) -> None:
    args = ("--speed", "300", "--interval", "1", "--ui", "127.0.0.1:0", "--db", str(tmp_path / "history.sqlite"))
    with command("demo", "--quiet", *args) as demo:
        url = demo.url_after("UI on ")
        with browser_page() as page:
            page.goto(url + "#view=devices")
            page.wait_for_function(
                """n => { const cards = document.querySelectorAll('.device');
                          return cards.length === n && Array.from(cards).every(c =>
                            c.querySelector('.control-type').textContent !== 'none selected'); }""",
                arg=DEVICES,
                timeout=BOUND_MS,
            )
            names = page.eval_on_selector_all(".device h2", "els => els.map(e => e.textContent)")
            assert len(set(names)) == DEVICES
            # instructions reach the devices the planner steers
            page.wait_for_function(
                "() => document.querySelectorAll('.device .statuses span').length > 0", timeout=BOUND_MS
            )
            screenshot(page, "devices")

            page.click("#tabs button[data-view=energy]")
            # drawn points: the traces hold data and Plotly drew a line path through several of them
            page.wait_for_function(
                """() => { const gd = document.getElementById('chart-power');
                           if (!gd.data || !gd.data.some(t => t.x.length >= 3)) return false;
                           const lines = gd.querySelectorAll('.scatterlayer path.js-line');
                           return Array.from(lines).some(
                             p => (p.getAttribute('d') || '').split(/[LH]/).length >= 3); }""",
                timeout=BOUND_MS,
            )
            plotted = page.evaluate("() => document.getElementById('chart-power').data.map(t => [t.name, t.x.length])")
            measured = [(name, n) for name, n in plotted if not name.endswith("(plan)")]
            assert len(measured) == DEVICES and all(n >= 1 for _, n in measured)
            page.wait_for_function(
                "() => (document.getElementById('chart-fill').data || []).some(t => t.x.length >= 2)",
                timeout=BOUND_MS,
            )
            # PEBC: the PV's forecast (and any instructed envelope) on its own chart
            page.wait_for_function(
                """() => (document.getElementById('chart-pebc').data || [])
                           .some(t => t.name.endsWith(' forecast') && t.x.length >= 2)""",
                timeout=BOUND_MS,
            )
            # the plan's future beside the measured past: planned import and prices on the site chart
            page.wait_for_function(
                """() => { const gd = document.getElementById('chart-site');
                           const names = (gd.data || []).filter(t => t.x.length >= 2).map(t => t.name);
                           return names.includes('site import (plan)') && names.includes('import price'); }""",
                timeout=BOUND_MS,
            )
            # PPBC: the washer's sequences placed on the time axis (drawn steps from each planned start) inside
            # the profile's allowed window (a drawn rectangle), labelled with what the RM reports
            page.wait_for_function(
                """() => { const gd = document.getElementById('chart-ppbc');
                           const placed = (gd.data || []).filter(t => t.name.startsWith('Washing machine #')
                             && t.x.length >= 2);
                           const windows = ((gd.layout || {}).shapes || []).filter(s => s.type === 'rect');
                           const drawn = Array.from(gd.querySelectorAll('.scatterlayer path.js-line'))
                             .filter(p => (p.getAttribute('d') || '').split(/[LH]/).length >= 3);
                           const rects = Array.from(gd.querySelectorAll('.shapelayer path'))
                             .filter(p => (p.getAttribute('d') || '').length > 8);
                           return placed.length && windows.length && drawn.length && rects.length; }""",
                timeout=BOUND_MS,
            )
            names = page.evaluate("() => document.getElementById('chart-ppbc').data.map(t => t.name)")
            assert any("→" in name and "(" in name for name in names)  # container, sequence and status
            screenshot(page, "energy")
            page.locator("#chart-ppbc").scroll_into_view_if_needed()
            screenshot(page, "ppbc")
            page.evaluate("() => window.scrollTo(0, 0)")

            page.click("#tabs button[data-view=messages]")
            page.wait_for_function("() => document.querySelectorAll('#messages tr.msg').length > 20")
            page.click("#messages tr.msg >> nth=0")
            page.wait_for_selector("#messages tr.detail pre.json")
            screenshot(page, "messages")

            page.click("#tabs button[data-view=sessions]")
            page.wait_for_function(
                "n => document.querySelectorAll('#sessions tbody tr').length === n", arg=DEVICES, timeout=BOUND_MS
            )
            states = page.eval_on_selector_all(
                "#sessions tbody tr td:nth-child(3)", "els => els.map(e => e.textContent)"
            )
            assert set(states) == {"active"}
            screenshot(page, "sessions")

            # the charts drew, hovered and zoomed without an inline style attribute (no style-src-attr
            # 'unsafe-inline'); the only refusal is the chart library's unused inline map stylesheet
            page.click("#tabs button[data-view=energy]")
            page.wait_for_function("() => (document.getElementById('chart-power').data || []).length > 0")
            box = page.locator("#chart-power .nsewdrag").first.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
            page.wait_for_timeout(300)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6, steps=5)
            page.mouse.up()
            page.wait_for_timeout(300)
            refused = csp_refusals(page)
            assert all(directive == "style-src-elem" for directive, _ in refused), refused


def _handshake(role: str) -> str:
    return json.dumps(
        {
            "message_type": "Handshake",
            "message_id": str(uuid.uuid4()),
            "role": role,
            "supported_protocol_versions": ["0.0.2-beta"],
        }
    )


def test_invalid_frame_through_the_proxy_shows_rule_and_pointer(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    record = tmp_path / "proxy.jsonl"
    with command("cem", "--listen", "127.0.0.1:0", "--quiet", "--planner", "rules") as cem:
        upstream = cem.url_after("listening on ")
        args = ("--upstream", upstream, "--ui", "127.0.0.1:0", "--record", str(record))
        with command("proxy", "--listen", "127.0.0.1:0", *args) as proxy:
            ui = proxy.url_after("UI on ")
            rm_url = proxy.url_after("listening on ")
            with connect(rm_url, open_timeout=20, close_timeout=5) as ws:
                assert json.loads(ws.recv(timeout=20))["message_type"] == "Handshake"
                ws.send(_handshake("RM"))
                broken = {"message_type": "ResourceManagerDetails", "message_id": str(uuid.uuid4())}
                ws.send(json.dumps(broken))  # no resource_id, no roles...: refused, and forwarded anyway
                answers = [json.loads(ws.recv(timeout=20)) for _ in range(3)]
                assert any(a.get("status") == "INVALID_MESSAGE" for a in answers if "status" in a)
            proxy.wait_for("S2-SCHEMA-002")  # printed as it passed
            with browser_page() as page:
                page.goto(ui + "#view=messages")
                page.wait_for_function("() => document.querySelectorAll('#messages tr.msg').length >= 5")
                total = page.eval_on_selector_all("#messages tr.msg", "els => els.length")
                page.fill("#f-rule", "S2-SCHEMA-002")
                page.wait_for_function(
                    "t => document.querySelectorAll('#messages tr.msg').length < t", arg=total, timeout=10_000
                )
                rules = page.eval_on_selector_all(
                    "#messages tr.msg",
                    "rows => rows.map(r => Array.from(r.querySelectorAll('.finding'), f => f.textContent))",
                )
                assert rules and all("S2-SCHEMA-002" in found for found in rules)
                page.click("#messages tr.msg >> nth=0")
                hit = page.wait_for_selector("#messages tr.detail .hit")
                assert hit.get_attribute("data-pointer") == "/resource_id"
                statement = page.text_content("#messages tr.detail .statement") or ""
                assert statement.startswith("Rule: ") and len(statement) > 20
                screenshot(page, "messages-finding")
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert json.loads(lines[2]["text"]) == broken  # recorded as forwarded


def test_replay_ui_shows_a_recorded_file_with_a_time_slider(tmp_path: Path) -> None:
    session = "recorded"
    frames = [("cem>rm", _handshake("CEM")), ("rm>cem", _handshake("RM"))]
    frames.append(("rm>cem", json.dumps({"message_type": "PowerMeasurement", "message_id": "nope"})))
    path = tmp_path / "t.jsonl"
    path.write_text(
        "".join(
            json.dumps({"t": f"2026-03-20T10:00:0{i}Z", "dir": d, "session": session, "text": text}) + "\n"
            for i, (d, text) in enumerate(frames)
        )
    )
    with command("replay", "--ui", str(path)) as replay:
        url = replay.url_after("UI on ")
        with browser_page() as page:
            page.goto(url + "#view=messages")
            page.wait_for_function("n => document.querySelectorAll('#messages tr.msg').length === n", arg=len(frames))
            assert page.is_visible("#slider")
            last = page.text_content("#messages tr.msg >> nth=0 >> td:nth-child(6)")
            assert last == "PowerMeasurement"
            page.eval_on_selector("#slider", "s => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
            page.wait_for_function("() => document.querySelectorAll('#messages tr.msg').length === 1")
            screenshot(page, "replay")
