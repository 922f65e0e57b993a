"""Reports of a conformance run: JUnit XML (for CI), JSON (for tools), HTML (for people) and a transcript.

The JUnit file follows the common schema (``testsuites/testsuite/testcase`` with ``failure``,
``error`` and ``skipped`` children, ``system-out`` for the transcript). The HTML page is one
self-contained file: inline CSS, no script, no external asset, so it opens offline.
"""

from __future__ import annotations

import html
import json
import os
import platform
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from .runner import CaseResult

__all__ = ["exit_code", "html_report", "json_report", "junit_xml", "summary", "write_transcript"]

StrPath = str | os.PathLike[str]


def summary(results: Sequence[CaseResult]) -> dict[str, int]:
    counts = Counter(r.verdict for r in results)
    return {v: counts.get(v, 0) for v in ("pass", "fail", "error", "skip")}


def exit_code(results: Sequence[CaseResult]) -> int:
    """0 when every case passed (or did not apply), 1 otherwise."""
    return 0 if all(r.passed for r in results) else 1


def _transcript_text(result: CaseResult) -> str:
    return "\n".join(f"{x.t} {x.dir} {x.text}" for x in result.transcript)


def junit_xml(results: Sequence[CaseResult], *, suite: str) -> str:
    counts = summary(results)
    total = sum(r.seconds for r in results)
    root = ET.Element(
        "testsuites",
        name="s2ws conformance",
        tests=str(len(results)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skip"]),
        time=f"{total:.3f}",
    )
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skip"]),
        time=f"{total:.3f}",
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=platform.node() or "localhost",
    )
    for r in results:
        item = ET.SubElement(
            node,
            "testcase",
            name=f"{r.case.id} {r.case.title}",
            classname=f"s2ws.conformance.{r.case.role}",
            time=f"{r.seconds:.3f}",
        )
        message = r.reason or ""
        if r.verdict == "fail":
            ET.SubElement(item, "failure", message=message, type="CaseFailed").text = "\n".join([message, *r.findings])
        elif r.verdict == "error":
            ET.SubElement(item, "error", message=message, type="NoSession").text = message
        elif r.verdict == "skip":
            ET.SubElement(item, "skipped", message=message)
        ET.SubElement(item, "system-out").text = _transcript_text(r)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def json_report(results: Sequence[CaseResult], *, target: str, role: str, profile: str) -> str:
    body = {
        "target": target,
        "role": role,
        "profile": profile,
        "summary": summary(results),
        "cases": [r.as_dict() for r in results],
    }
    return json.dumps(body, indent=2) + "\n"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
.pass{background:#e6f4e6}.fail{background:#fbe3e3}.error{background:#fbefd5}.skip{background:#eee}
pre{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:8px;max-height:30em;overflow:auto}
details{margin:.5em 0}
"""


def html_report(results: Sequence[CaseResult], *, target: str, role: str, profile: str) -> str:
    esc = html.escape
    counts = summary(results)
    rows = []
    for r in results:
        rows.append(
            f'<tr class="{r.verdict}"><td><a href="#{esc(r.case.id)}">{esc(r.case.id)}</a></td>'
            f"<td>{esc(r.case.title)}</td><td>{r.verdict}</td><td>{esc(r.reason)}</td></tr>"
        )
    sections = []
    for r in results:
        findings = "".join(f"<li>{esc(f)}</li>" for f in r.findings)
        sections.append(
            f'<section id="{esc(r.case.id)}"><h2 class="{r.verdict}">{esc(r.case.id)} {esc(r.case.title)}: '
            f"{r.verdict}</h2><p>{esc(r.case.doc)}</p><p>Rules: {esc(', '.join(r.case.rules) or '-')}. "
            f"Tags: {esc(', '.join(r.case.tags))}.</p>"
            f"<p>{esc(r.reason)}</p><ul>{findings}</ul>"
            f"<details><summary>Transcript ({len(r.transcript)} frames)</summary>"
            f"<pre>{esc(_transcript_text(r))}</pre></details></section>"
        )
    totals = ", ".join(f"{n} {v}" for v, n in counts.items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>S2 conformance: {esc(role)} {esc(target)}</title><style>{_CSS}</style></head><body>"
        f"<h1>S2 conformance of the {esc(role.upper())} at {esc(target)}</h1>"
        f"<p>Profile {esc(profile)}; {totals}.</p>"
        "<table><tr><th>case</th><th>title</th><th>verdict</th><th>reason</th></tr>"
        + "".join(rows)
        + "</table>"
        + "".join(sections)
        + "</body></html>\n"
    )


def write_transcript(results: Sequence[CaseResult], path: StrPath) -> None:
    """Every case's frames, one JSON line each, in the format ``s2ws replay`` reads (one session per case)."""
    with open(path, "w", encoding="utf-8") as out:
        for r in results:
            for line in r.transcript:
                out.write(line.json() + "\n")
