"""``s2ws test``: exit codes, report files (JUnit against the common schema, JSON, offline HTML, transcript)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import junitparser
import pytest
from lxml import etree

from s2ws.app import PlannerCEM
from s2ws.cli import main
from s2ws.rules.replay import parse_transcript

XSD = Path(__file__).resolve().parent / "data" / "junit.xsd"


async def _cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "s2ws.cli", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode()


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)
        if tag == "script":
            self.external.append("script")


async def test_test_cem_writes_every_report(tmp_path: Path) -> None:
    cem = PlannerCEM()
    server = await cem.serve("127.0.0.1", 0)
    files = {name: tmp_path / f"report.{name}" for name in ("xml", "json", "html", "jsonl")}
    try:
        code, out = await _cli(
            "test",
            "cem",
            server.url("/"),
            "--only",
            "errors",
            "--only",
            "101",
            "--junit",
            str(files["xml"]),
            "--json",
            str(files["json"]),
            "--html",
            str(files["html"]),
            "--record",
            str(files["jsonl"]),
        )
    finally:
        await cem.close("test over")
    assert code == 0, out
    assert "6 pass, 0 fail" in out

    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.parse(str(files["xml"]))
    assert schema.validate(document), schema.error_log
    xml = junitparser.JUnitXml.fromfile(str(files["xml"]))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == 6 and all(case.is_passed for case in cases)
    assert any(case.name.startswith("S2-TEST-120") for case in cases)

    report = json.loads(files["json"].read_text())
    assert report["summary"] == {"pass": 6, "fail": 0, "error": 0, "skip": 0}
    assert all(c["transcript"] for c in report["cases"])

    page = files["html"].read_text()
    assets = _Assets()
    assets.feed(page)
    assert assets.external == []
    assert re.search(r"S2-TEST-121.*pass", page)

    records = list(parse_transcript(files["jsonl"].read_text().splitlines()))
    assert len({r.session for r in records}) == 6


async def test_a_failing_case_exits_1_and_is_a_junit_failure(tmp_path: Path) -> None:
    """Against a server that is no S2 peer at all (it answers nothing), the handshake case fails."""
    from aiohttp import web

    async def silent(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/", silent)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    junit = tmp_path / "r.xml"
    try:
        code, out = await _cli(
            "test", "cem", f"ws://127.0.0.1:{port}/", "--only", "101", "--timeout", "1", "--junit", str(junit)
        )
    finally:
        await runner.cleanup()
    assert code == 1, out
    case = next(iter(next(iter(junitparser.JUnitXml.fromfile(str(junit))))))
    assert not case.is_passed and "no Handshake" in case.result[0].message


@pytest.mark.parametrize(
    "argv",
    [
        ["test", "rm"],
        ["test", "rm", "--listen", "nohost"],
        ["test", "rm", "--listen", "127.0.0.1:1", "--connect", "ws://x/"],
        ["test", "cem", "ws://127.0.0.1:1/", "--only", "S2-TEST-999"],
        ["test", "cem", "ws://127.0.0.1:1/", "--profile", "9.9"],
        ["test", "cem", "not-a-url"],
        ["test", "cem", "ws://127.0.0.1:1/", "--timeout", "0"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert main(argv) == 2


def test_an_unreachable_rm_is_an_error_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "rm", "--connect", "ws://127.0.0.1:1/", "--only", "1", "--timeout", "1"]) == 1
    assert "S2-TEST-001 ERROR" in capsys.readouterr().out
