"""The UI's HTTP side without a browser: read-only, token, CSP, the JSON views and the transcript download."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from s2ws.rules.replay import parse_transcript
from s2ws.web import Monitor, serve_ui
from s2ws.web.monitor import MAX_MESSAGES

T0 = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
HANDSHAKE = '{"message_type":"Handshake","message_id":"%s","role":"%s","supported_protocol_versions":["0.0.2-beta"]}'


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def fed_monitor() -> Monitor:
    monitor = Monitor(source="test")
    monitor.session_started("s1", "CEM", "127.0.0.1")
    monitor.add(T0, "s1", "cem>rm", HANDSHAKE % (_uuid(1), "CEM"))
    monitor.add(T0 + timedelta(seconds=1), "s1", "rm>cem", HANDSHAKE % (_uuid(2), "RM"))
    monitor.add(T0 + timedelta(seconds=2), "s1", "rm>cem", '{"message_type":"PowerMeasurement"}')
    return monitor


@pytest.fixture
async def ui() -> AsyncIterator[tuple[Monitor, str]]:
    monitor = fed_monitor()
    server = await serve_ui(monitor, token="s3cret")
    yield monitor, server.url
    await server.close()


async def test_token_csp_and_read_only(ui: tuple[Monitor, str]) -> None:
    _, url = ui
    async with aiohttp.ClientSession() as client:
        async with client.get(url + "api/sessions") as response:
            assert response.status == 401
        async with client.get(url + "api/sessions", headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        auth = {"Authorization": "Bearer s3cret"}
        async with client.get(url, headers=auth) as response:
            assert response.status == 200
            page = await response.text()
            csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-eval" not in csp and "default-src 'none'" in csp
        assert "<script>" not in page and "style=" not in page and "s3cret" not in page
        async with client.post(url + "api/sessions", headers=auth) as response:
            assert response.status == 405
        async with client.get(url + "api/info?token=s3cret") as response:
            assert (await response.json())["charts"] is True  # plotly ships its bundle


async def test_views_and_transcript(ui: tuple[Monitor, str]) -> None:
    monitor, url = ui
    auth = {"Authorization": "Bearer s3cret"}
    async with aiohttp.ClientSession(headers=auth) as client:
        async with client.get(url + "api/messages?after=1") as response:
            rows = await response.json()
        assert [r["seq"] for r in rows] == [2, 3]
        assert rows[1]["findings"][0]["rule"].startswith("S2-SCHEMA-")
        async with client.get(url + "api/sessions") as response:
            (session,) = await response.json()
        assert session["version"] is None and session["frames"] == {"cem>rm": 1, "rm>cem": 2}
        assert session["errors"] >= 1
        async with client.get(url + "api/rules") as response:
            rules = await response.json()
        assert rules["S2-SCHEMA-001"]["statement"]
        async with client.get(url + "api/sessions/s1/transcript") as response:
            assert "attachment" in response.headers["Content-Disposition"]
            text = await response.text()
        records = list(parse_transcript(text.splitlines()))
        assert [r.text for r in records] == [m["text"] for m in monitor.messages]
        async with client.get(url + "api/sessions/nope/transcript") as response:
            assert response.status == 404
        async with client.get(url + "api/messages?after=abc") as response:
            assert response.status == 400


async def test_events_stream_new_messages(ui: tuple[Monitor, str]) -> None:
    monitor, url = ui
    async with (
        aiohttp.ClientSession() as client,
        asyncio.timeout(10),
        client.get(url + "api/events?token=s3cret") as response,
    ):
        assert response.headers["Content-Type"].startswith("text/event-stream")
        await response.content.readline()  # the hello comment
        await response.content.readline()
        monitor.add(T0 + timedelta(seconds=5), "s1", "cem>rm", '{"message_type":"x"}')
        line = await response.content.readline()
    event = json.loads(line.decode().removeprefix("data: "))
    assert event["kind"] == "message" and event["entry"]["seq"] == 4


def test_memory_is_bounded() -> None:
    monitor = Monitor()
    for i in range(MAX_MESSAGES + 500):
        text = '{"message_type":"PowerMeasurement","message_id":"%s","measurement_timestamp":"2026-03-20T10:00:00Z",'
        text += '"values":[{"commodity_quantity":"ELECTRIC.POWER.L1","value":%d}]}'
        monitor.add(T0 + timedelta(seconds=i), "s1", "rm>cem", text % (_uuid(i), i))
    assert len(monitor.messages) == MAX_MESSAGES
    assert monitor.messages[0]["seq"] == 501


def test_replayed_file_feeds_the_same_views(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"t": "2026-03-20T10:00:00Z", "dir": "cem>rm", "session": "a", "text": HANDSHAKE % (_uuid(1), "CEM")}
        ),
        json.dumps({"t": "2026-03-20T10:00:01Z", "dir": "rm>cem", "session": "a", "text": "{"}),
    ]
    monitor = Monitor(source="replay")
    for record in parse_transcript(lines):
        monitor.add(record.t, record.session, record.direction, record.text)
    assert [m["type"] for m in monitor.messages] == ["Handshake", None]
    assert monitor.messages[1]["findings"][0]["rule"] == "S2-SCHEMA-001"  # not JSON: INVALID_DATA


def test_malformed_values_never_break_the_monitor() -> None:
    monitor = Monitor()
    bad = [
        '{"message_type":"PowerMeasurement","message_id":"m1","measurement_timestamp":"x","values":[{"value":"abc"}]}',
        '{"message_type":"PowerForecast","message_id":"m2","start_time":"2026-03-20T10:00:00Z","elements":[{"duration":"1"}]}',
        '{"message_type":"PEBC.Instruction","message_id":"m3","execution_time":"nope","power_envelopes":[1]}',
        '{"message_type":"FRBC.SystemDescription","message_id":"m4","storage":{"fill_level_range":{"start_of_range":"a"}}}',
    ]
    for i, text in enumerate(bad):
        entry = monitor.add(T0 + timedelta(seconds=i), "s1", "rm>cem", text)
        assert entry["findings"]  # judged, and nothing raised


def test_forecast_and_envelope_become_step_series() -> None:
    monitor = Monitor()
    details = '{"message_type":"ResourceManagerDetails","message_id":"d1","resource_id":"pv","name":"PV"}'
    forecast = (
        '{"message_type":"PowerForecast","message_id":"f1","start_time":"2026-03-20T10:00:00Z","elements":['
        '{"duration":900000,"power_values":[{"commodity_quantity":"ELECTRIC.POWER.L1","value_expected":-1000}]},'
        '{"duration":900000,"power_values":[{"commodity_quantity":"ELECTRIC.POWER.L1","value_expected":-2000}]}]}'
    )
    instruction = (
        '{"message_type":"PEBC.Instruction","message_id":"i1","id":"i1","execution_time":"2026-03-20T10:00:00Z",'
        '"abnormal_condition":false,"power_constraints_id":"c1","power_envelopes":[{"id":"e1",'
        '"commodity_quantity":"ELECTRIC.POWER.L1","power_envelope_elements":[{"duration":1800000,'
        '"upper_limit":0,"lower_limit":-1500}]}]}'
    )
    for i, text in enumerate((details, forecast, instruction)):
        monitor.add(T0 + timedelta(seconds=i), "s1", "rm>cem" if i < 2 else "cem>rm", text)
    (device,) = monitor.energy()["devices"]
    assert device["forecast"] == [
        ("2026-03-20T10:00:00.000000Z", -1000.0),
        ("2026-03-20T10:15:00.000000Z", -2000.0),
        ("2026-03-20T10:30:00.000000Z", -2000.0),
    ]
    assert device["envelope"][0] == ("2026-03-20T10:00:00.000000Z", -1500.0, 0.0)
    assert device["envelope"][-1][0] == "2026-03-20T10:30:00.000000Z"


async def test_energy_reads_the_past_from_the_history(tmp_path: Path) -> None:
    from s2ws.store import History

    history = History(tmp_path / "h.sqlite")
    earlier = T0 - timedelta(hours=3)  # before this process saw anything
    history.record_measurement(
        "pv", "old-session", earlier, [("ELECTRIC.POWER.L1", -700.0), ("ELECTRIC.POWER.L2", -300.0)]
    )
    history.flush()
    monitor = Monitor()
    monitor.history = history
    details = '{"message_type":"ResourceManagerDetails","message_id":"d1","resource_id":"pv","name":"PV"}'
    monitor.add(T0, "s1", "rm>cem", details)
    server = await serve_ui(monitor)
    try:
        async with aiohttp.ClientSession() as client, client.get(server.url + "api/energy") as response:
            (device,) = (await response.json())["devices"]
    finally:
        await server.close()
        history.close()
    assert device["past"] == [[earlier.isoformat(timespec="microseconds").replace("+00:00", "Z"), -1000.0]]
