"""Codec benchmark: s2ws against s2-python 0.11.1 and the bare JSON parsers, in one process.

Run it with ``make bench`` (which makes its own virtual environment with orjson and
s2-python) or directly with ``python -m bench.codec [--write-docs]`` from the repository root.

Decode means bytes in, validated object out:
- s2ws: ``get_codec().decode`` (the typed, schema-checked message);
- s2-python: ``S2Parser.parse_as_any_message`` (json.loads, then pydantic validation);
- ``orjson.loads`` and ``json.loads``: parsing alone, no validation at all (the floor).

Encode means object in, JSON out: ``s2ws.encode`` of the decoded message, s2-python's
``to_json()`` of its parsed message, and ``orjson.dumps``/``json.dumps`` of the same data as
plain dicts and lists.

Two mixes: every corpus message once (large messages weigh most), and the session-weighted mix
(100 messages in the proportions a CEM receives them from an FRBC device; see
``corpus.SESSION_WEIGHTS``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec

import s2ws
from s2ws.ids import id_check
from s2ws.messages.base import ID, ID_MATCH_PATTERN

from .corpus import SESSION_WEIGHTS, Entry, count_ids, generated, official_examples, session_mix, uuid_ids
from .harness import Measurement, Timed, fmt_ns, fmt_ratio, import_time_ns, machine_info, measure_group, render_table

try:
    import orjson
    from s2python.s2_parser import S2Parser
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"bench: {exc.name} is missing; run `make bench`, which installs orjson and s2-python==0.11.1")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO.parent / "shared" / "spec" / "examples"
DOC = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
DISTS = ("s2ws", "msgspec", "orjson", "s2-python", "pydantic", "pydantic-core")

# Budgets (the issues' acceptance text; docs/performance.md repeats them)
DECODE_VS_S2PYTHON = 8.0
DECODE_VS_ORJSON = 1.5
SESSION_DECODE_VS_S2PYTHON = 10.0
SESSION_DECODE_VS_ORJSON = 1.1
ENCODE_VS_S2PYTHON = 3.0
ENCODE_VS_MSGSPEC = 1.0
IMPORT_MS = 100.0
RULES_OVERHEAD = 0.30

DECODERS = ("s2ws", "s2-python", "orjson.loads", "json.loads")
ENCODERS = ("s2ws", "s2-python", "orjson.dumps", "json.dumps")
MSGSPEC_DECODE = "(msgspec.json.decode, untyped)"
NO_GC = " (gc off)"
MSGSPEC_ENCODE = "(msgspec.json.encode of the dicts)"


@dataclass
class Row:
    """One line of the per-type tables: the corpus messages reported under one label."""

    label: str
    entries: list[Entry]
    in_mix: bool
    decode: dict[str, float] = field(default_factory=dict)  # name -> median ns per message
    encode: dict[str, float] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return round(statistics.mean(len(e.data) for e in self.entries))


@dataclass
class Excluded:
    source: str
    label: str
    reason: str
    replacement: str | None = None


@dataclass
class Results:
    rows: list[Row]
    excluded: list[Excluded]
    mix: list[Entry]
    mix_decode: list[Measurement]
    mix_encode: list[Measurement]
    session: list[Entry]
    session_decode: list[Measurement]
    session_encode: list[Measurement]
    rules: list[Measurement] | str
    rule_costs: list[RuleCost]
    imports: dict[str, list[int]]
    settings: str
    examples_note: str
    id_cost: dict[str, float]


def s2python_refusal(data: bytes) -> str | None:
    """None when s2-python parses the bytes, else its first complaint."""
    try:
        S2Parser.parse_as_any_message(data)
    except Exception as exc:
        cause = exc.__cause__
        errors = getattr(cause, "errors", None)
        if callable(errors):
            first = errors()[0]
            where = "/".join(str(p) for p in first.get("loc", ()))
            text = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        else:
            text = str(exc).splitlines()[0]
        # a model validator's message embeds the whole model's repr: keep its head and its point
        return text if len(text) <= 160 else f"{text[:60]} ... {text[-100:]}"
    return None


def build_corpus(examples: Path | None) -> tuple[list[Row], list[Excluded], list[Entry], str]:
    """Check every message with both libraries; sort it into the mix or the excluded list."""
    codec = s2ws.get_codec()
    candidates = generated()
    note = ""
    if examples is not None and examples.is_dir():
        candidates += official_examples(examples)
        note = f"`{_shown(examples)}`, fragments skipped"
    else:
        note = f"none: the official examples were not found at {examples}"
    excluded: list[Excluded] = []
    mix: list[Entry] = []
    s2ws_only: list[Entry] = []
    for entry in candidates:
        try:
            codec.decode(entry.data)
        except s2ws.DecodeError as exc:  # s2ws refuses it: nothing to compare, say so
            excluded.append(Excluded(entry.source, entry.label, f"refused by s2ws: {exc}"))
            continue
        reason = s2python_refusal(entry.data)
        if reason is None:
            mix.append(entry)
            continue
        if entry.source != "generated":
            rewritten = uuid_ids(entry)
            codec.decode(rewritten.data)
            if s2python_refusal(rewritten.data) is None:
                excluded.append(Excluded(entry.source, entry.label, reason, "ids rewritten to UUID4: in the mix"))
                mix.append(rewritten)
                continue
        excluded.append(Excluded(entry.source, entry.label, reason))
        s2ws_only.append(entry)
    rows: dict[str, Row] = {}
    for entry in mix:
        rows.setdefault(entry.label, Row(entry.label, [], True)).entries.append(entry)
    extra: dict[str, Row] = {}
    for entry in s2ws_only:
        extra.setdefault(entry.label, Row(entry.label + " [not in mix]", [], False)).entries.append(entry)
    order = {label: i for i, label in enumerate(rows)}

    def key(row: Row) -> tuple[int, str, int]:
        """Messages of every control type first, then one control type after the other."""
        name = row.label.split(" ", 1)[0]
        prefix = name.split(".", 1)[0] if "." in name else ""
        return ("", "PEBC", "PPBC", "OMBC", "FRBC", "DDBC").index(prefix), name, order[row.label]

    return [*sorted(rows.values(), key=key), *extra.values()], excluded, mix, note


def _shown(path: Path) -> str:
    return os.path.relpath(path.absolute(), REPO)


def decoders(in_mix: bool) -> dict[str, Callable[[Any], object] | None]:
    return {
        "s2ws": s2ws.get_codec().decode,
        "s2-python": S2Parser.parse_as_any_message if in_mix else None,
        "orjson.loads": orjson.loads,
        "json.loads": json.loads,
    }


def encode_inputs(entries: Sequence[Entry], in_mix: bool) -> dict[str, tuple[Callable[[Any], object], list[Any]]]:
    """For each encoder, the function and the objects it encodes (the same data, in its own form)."""
    decode = s2ws.get_codec().decode
    plain = [orjson.loads(e.data) for e in entries]
    out: dict[str, tuple[Callable[[Any], object], list[Any]]] = {
        "s2ws": (s2ws.encode, [decode(e.data) for e in entries]),
    }
    if in_mix:
        out["s2-python"] = (_to_json, [S2Parser.parse_as_any_message(e.data) for e in entries])
    out["orjson.dumps"] = (orjson.dumps, plain)
    out["json.dumps"] = (json.dumps, plain)
    return out


def _to_json(message: Any) -> object:
    return message.to_json()


def time_rows(rows: list[Row], runs: int, target_ns: int, progress: Callable[[str], None]) -> None:
    for i, row in enumerate(rows, 1):
        progress(f"[{i}/{len(rows)}] {row.label}")
        data = [e.data for e in row.entries]
        group = [Timed(name, f, data) for name, f in decoders(row.in_mix).items() if f is not None]
        for m in measure_group(group, runs, target_ns):
            row.decode[m.name] = m.median / len(data)
        group = [Timed(name, f, items) for name, (f, items) in encode_inputs(row.entries, row.in_mix).items()]
        for m in measure_group(group, runs, target_ns):
            row.encode[m.name] = m.median / len(data)


def time_mix(mix: list[Entry], runs: int, target_ns: int) -> tuple[list[Measurement], list[Measurement]]:
    """The mix, plus msgspec's own untyped parser and writer (the engine s2ws is built on), and
    the decoders once more with the garbage collector off."""
    data = [e.data for e in mix]
    group = [Timed(n, f, data) for n, f in decoders(True).items() if f is not None]
    group.append(Timed(MSGSPEC_DECODE, msgspec.json.decode, data))
    group += [Timed(n + NO_GC, f, data, collector=False) for n, f in decoders(True).items() if f is not None]
    dec = measure_group(group, runs, target_ns)
    group = [Timed(n, f, items) for n, (f, items) in encode_inputs(mix, True).items()]
    group.append(Timed(MSGSPEC_ENCODE, msgspec.json.encode, [orjson.loads(d) for d in data]))
    enc = measure_group(group, runs, target_ns)
    return dec, enc


RuleCost = tuple[str, float, float]  # label, check_message ns, decode ns


def time_rules(mix: list[Entry], runs: int, target_ns: int) -> tuple[list[Measurement] | str, list[RuleCost]]:
    """decode + rules.check_message against decode alone, when the rule layer exists; and the
    messages whose check costs most."""
    try:
        rules = importlib.import_module("s2ws.rules")
    except ImportError as exc:
        return f"the rule layer is not present (import s2ws.rules failed: {exc})", []
    check: Callable[[Any], object] | None = getattr(rules, "check_message", None)
    if check is None:
        return "the rule layer is not present (s2ws.rules has no check_message)", []
    decode = s2ws.get_codec().decode
    data = [e.data for e in mix]
    refusals: list[str] = []
    for entry in mix:
        try:
            check(decode(entry.data))
        except Exception as exc:  # a rule the message breaks, or a broken rule layer
            refusals.append(f"{entry.source} [{entry.label}]: {type(exc).__name__}: {exc}")
    if len(refusals) == len(mix):
        return f"rules.check_message raised on every message of the mix; first: {refusals[0]}", []

    def decode_and_check(item: bytes) -> object:
        try:
            return check(decode(item))
        except Exception as exc:  # timed as a receiver pays for it: the refusal included
            return exc

    def safe_check(message: object) -> object:
        try:
            return check(message)
        except Exception as exc:
            return exc

    name = "decode + check_message" + (f" ({len(refusals)} of {len(mix)} messages refused)" if refusals else "")
    timed = measure_group([Timed("decode", decode, data), Timed(name, decode_and_check, data)], runs, target_ns)
    costs: list[RuleCost] = []
    for entry in mix:
        message = decode(entry.data)
        check_m, decode_m = measure_group(
            [Timed("check", safe_check, [message]), Timed("decode", decode, [entry.data])], 3, target_ns // 40
        )
        costs.append((f"{entry.label} ({entry.source})", check_m.median, decode_m.median))
    costs.sort(key=lambda c: c[1], reverse=True)
    return timed, costs[:6]


def time_id_pattern(mix: list[Entry], runs: int, target_ns: int) -> dict[str, float]:
    """What checking ids costs: 1000 UUIDs decoded with msgspec's per-id pattern (how s2ws once
    checked them), as IDs (length bounds only) and as bare strings; the codec's one-pass check of
    the characters over the decoded mix; and how many ids the mix holds."""
    ids = msgspec.json.encode([str(uuid.UUID(int=i * 7919 + 1, version=4)) for i in range(1000)])
    kinds: dict[str, Any] = {
        "pattern": list[Annotated[str, msgspec.Meta(pattern=ID_MATCH_PATTERN)]],
        "length": list[ID],
        "str": list[str],
    }
    group = [Timed(k, msgspec.json.Decoder(t).decode, [ids]) for k, t in kinds.items()]
    out = {m.name: m.median / 1000 for m in measure_group(group, runs, target_ns)}
    decoded = [s2ws.get_codec().decode(e.data) for e in mix]

    def check(message: msgspec.Struct) -> object:
        return id_check(type(message))(message)

    (checked,) = measure_group([Timed("check", check, decoded)], runs, target_ns)
    out["check of mix"] = checked.median
    out["ids in mix"] = sum(count_ids(e.data) for e in mix)
    return out


# --- reporting --------------------------------------------------------------------------------


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num and den else None


def per_type_tables(rows: list[Row], md: bool) -> tuple[str, str]:
    dh = ["message", "n", "bytes", *DECODERS, "s2-python / s2ws", "s2ws / orjson"]
    eh = ["message", "n", *ENCODERS, "s2-python / s2ws", "s2ws / orjson"]
    drows, erows = [], []
    for r in rows:
        d, e = r.decode, r.encode
        drows.append(
            [r.label, str(len(r.entries)), str(r.size)]
            + [fmt_ns(d.get(n)) for n in DECODERS]
            + [fmt_ratio(_ratio(d.get("s2-python"), d["s2ws"])), fmt_ratio(_ratio(d["s2ws"], d["orjson.loads"]))]
        )
        erows.append(
            [r.label, str(len(r.entries))]
            + [fmt_ns(e.get(n)) for n in ENCODERS]
            + [fmt_ratio(_ratio(e.get("s2-python"), e["s2ws"])), fmt_ratio(_ratio(e["s2ws"], e["orjson.dumps"]))]
        )
    return render_table(dh, drows, md), render_table(eh, erows, md)


def mix_table(dec: list[Measurement], enc: list[Measurement], md: bool, title: str = "mix (one pass)") -> str:
    rows = []
    for kind, ms in (("decode", dec), ("encode", enc)):
        medians = {m.name: m.median for m in ms}
        for m in ms:
            base = medians["s2ws" + NO_GC if m.name.endswith(NO_GC) else "s2ws"]
            rows.append([f"{kind}: {m.name}", fmt_ns(m.median), f"±{m.spread * 50:.1f}%", fmt_ratio(m.median / base)])
    return render_table([title, "median", "spread", "time / s2ws"], rows, md)


def verdicts(res: Results) -> list[str]:
    out = []

    def line(what: str, value: float, unit: str, budget: str, ok: bool) -> None:
        out.append(f"{what}: {value:.2f}{unit} (budget {budget}): {'met' if ok else 'NOT MET'}")

    for name, dec, enc, vs_s2python, vs_orjson in (
        ("the mix", res.mix_decode, res.mix_encode, DECODE_VS_S2PYTHON, DECODE_VS_ORJSON),
        (
            "the session-weighted mix",
            res.session_decode,
            res.session_encode,
            SESSION_DECODE_VS_S2PYTHON,
            SESSION_DECODE_VS_ORJSON,
        ),
    ):
        d = {m.name: m.median for m in dec}
        e = {m.name: m.median for m in enc}
        x = d["s2-python"] / d["s2ws"]
        line(f"decode+validate of {name} vs s2-python", x, "x faster", f">= {vs_s2python:g}x", x >= vs_s2python)
        x = d["s2ws"] / d["orjson.loads"]
        line(f"decode+validate of {name} vs orjson.loads", x, "x its time", f"<= {vs_orjson:g}x", x <= vs_orjson)
        x = e["s2-python"] / e["s2ws"]
        line(f"encode of {name} vs s2-python", x, "x faster", f">= {ENCODE_VS_S2PYTHON:g}x", x >= ENCODE_VS_S2PYTHON)
        x = e["s2ws"] / e[MSGSPEC_ENCODE]
        line(
            f"encode of {name} vs msgspec writing the same plain data",
            x,
            "x its time",
            f"<= {ENCODE_VS_MSGSPEC:g}x",
            x <= ENCODE_VS_MSGSPEC,
        )
    ms = statistics.median(res.imports["s2ws"]) / 1e6
    out.append(f"import s2ws: {ms:.1f} ms (budget < {IMPORT_MS:g} ms): {'met' if ms < IMPORT_MS else 'NOT MET'}")
    if isinstance(res.rules, str):
        out.append(f"rule layer: not measured, {res.rules}")
    else:
        plain, checked = (m.median for m in res.rules)
        x = checked / plain - 1
        ok = x <= RULES_OVERHEAD
        out.append(
            f"rule layer adds {x * 100:.1f}% to decode of the mix (budget <= {RULES_OVERHEAD * 100:g}%): "
            + ("met" if ok else "NOT MET")
        )
    return out


def analysis(res: Results) -> list[str]:
    """The figures that explain the ratios: the ID pattern and msgspec's own parser and writer."""
    d = {m.name: m.median for m in res.mix_decode}
    e = {m.name: m.median for m in res.mix_encode}
    c = res.id_cost
    ids = int(c["ids in mix"])
    extra = c["pattern"] - c["length"]
    return [
        f"IDs: decoding an id costs {c['length']:.0f} ns with the length bounds s2ws declares, {c['str']:.0f} ns as"
        f" a bare string, and {c['pattern']:.0f} ns with msgspec's per-id pattern. The mix holds {ids} ids:"
        f" the pattern would add about {fmt_ns(ids * extra)} to the {fmt_ns(d['s2ws'])} s2ws spends decoding it;"
        f" s2ws's one-pass check of their characters takes {fmt_ns(c['check of mix'])}"
        f" ({c['check of mix'] / d['s2ws'] * 100:.0f}% of decode).",
        f"Parser: msgspec's untyped parse of the mix takes {fmt_ns(d[MSGSPEC_DECODE])}"
        f" ({d[MSGSPEC_DECODE] / d['orjson.loads']:.2f}x orjson.loads); the typed, validated decode"
        f" takes {fmt_ns(d['s2ws'])} ({d['s2ws'] / d[MSGSPEC_DECODE]:.2f}x the untyped parse).",
        f"Garbage collector: with it off, s2-python decodes the mix in {fmt_ns(d['s2-python' + NO_GC])}"
        f" instead of {fmt_ns(d['s2-python'])}, s2ws in {fmt_ns(d['s2ws' + NO_GC])} instead of"
        f" {fmt_ns(d['s2ws'])} ({d['s2-python' + NO_GC] / d['s2ws' + NO_GC]:.2f}x instead of"
        f" {d['s2-python'] / d['s2ws']:.2f}x): s2ws's models are not tracked by the collector, pydantic's are.",
        f"Writer: msgspec writes the same plain dicts in {fmt_ns(e[MSGSPEC_ENCODE])}"
        f" ({e[MSGSPEC_ENCODE] / e['orjson.dumps']:.2f}x orjson.dumps); s2ws.encode of the models takes"
        f" {fmt_ns(e['s2ws'])} ({e['s2ws'] / e[MSGSPEC_ENCODE]:.2f}x msgspec on dicts). The distance to"
        " orjson.dumps is msgspec's JSON writer (number formatting above all), not the models.",
    ]


def import_table(imports: dict[str, list[int]], md: bool) -> str:
    rows = [
        [f"import {mod}", fmt_ns(statistics.median(t)), fmt_ns(min(t)), fmt_ns(max(t))] for mod, t in imports.items()
    ]
    return render_table(["fresh interpreter", "median", "min", "max"], rows, md)


def report(res: Results, md: bool, command: str) -> str:
    dec_table, enc_table = per_type_tables(res.rows, md)
    total = sum(len(e.data) for e in res.mix)
    generated = sum(e.source == "generated" for e in res.mix)
    large = sorted(res.mix, key=lambda e: len(e.data), reverse=True)[:4]
    h = "### " if md else "== "
    out: list[str] = []
    if md:
        out += [
            f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`.",
            "",
            render_table(["machine", ""], [list(r) for r in machine_info(DISTS)], True, left=2),
            "",
        ]
    else:
        out += ["  ".join(f"{k}: {v}" for k, v in machine_info(DISTS)), ""]
    out += [
        f"{h}Corpus",
        "",
        f"{len(res.mix)} messages in the mix ({total / 1024:.0f} KiB): {generated} generated messages and"
        f" {len(res.mix) - generated} official examples ({res.examples_note}). Largest: "
        + ", ".join(f"{e.label} ({len(e.data) / 1024:.1f} KiB)" for e in large)
        + ".",
        f"Timing: {res.settings}.",
        "",
    ]
    dropped = [x for x in res.excluded if x.replacement is None and not x.reason.startswith("refused by s2ws")]
    refused = [x for x in res.excluded if x.reason.startswith("refused by s2ws")]
    if refused:
        out += [f"{h}Refused by s2ws, not timed ({len(refused)})", ""]
        out += [f"- {x.source} [{x.label}]: {x.reason}" for x in refused] + [""]
    rewritten = [x for x in res.excluded if x.replacement is not None]
    out += [f"{h}Not in the mix: s2-python cannot parse them ({len(dropped)})", ""]
    out += [f"- {x.source} [{x.label}]: {x.reason}" for x in dropped] or ["- none"]
    out += ["", "Their s2ws, orjson and json figures are in the tables below, marked [not in mix].", ""]
    out += [f"{h}In the mix only with their ids rewritten to UUID4s ({len(rewritten)})", ""]
    if rewritten:
        out.append("s2-python refuses these official examples as they are; its first complaint:")
        out.append("")
        out.append(render_table(["example", "s2-python"], [[x.source, x.reason] for x in rewritten], md, left=2))
    else:
        out.append("None.")
    out += [
        "",
        f"{h}Decode + validate, median per message",
        "",
        dec_table,
        "",
        f"{h}Encode, median per message",
        "",
        enc_table,
        "",
        f"{h}The mix, every message once per pass",
        "",
        mix_table(res.mix_decode, res.mix_encode, md),
        "",
        f"{h}The session-weighted mix",
        "",
        f"{len(res.session)} messages ({sum(len(e.data) for e in res.session) / 1024:.0f} KiB), each built afresh,"
        " weighted as a CEM receives them from an FRBC device: "
        + ", ".join(f"{label} {weight}" for label, weight in SESSION_WEIGHTS.items())
        + ".",
        "",
        mix_table(res.session_decode, res.session_encode, md, "session mix (one pass)"),
        "",
        f"{h}Import time",
        "",
        import_table(res.imports, md),
        "",
        f"{h}Rule layer",
        "",
    ]
    if isinstance(res.rules, str):
        out.append(res.rules[0].upper() + res.rules[1:] + ".")
    else:
        out.append(
            render_table(
                ["mix (one pass)", "median", "spread"],
                [[m.name, fmt_ns(m.median), f"±{m.spread * 50:.1f}%"] for m in res.rules],
                md,
            )
        )
        out += ["", "The messages whose check costs most:", ""]
        rows = [[label, fmt_ns(c), fmt_ns(d), fmt_ratio(c / d)] for label, c, d in res.rule_costs]
        out.append(render_table(["message", "check_message", "decode", "check / decode"], rows, md))
    out += ["", f"{h}Where the time goes", ""]
    out += [f"- {line}" for line in analysis(res)]
    out += ["", f"{h}Budgets", ""]
    out += [f"- {v}" for v in verdicts(res)]
    return "\n".join(out) + "\n"


def write_doc(text: str) -> None:
    """Replace the recorded run between the markers of docs/performance.md (create it if needed)."""
    block = f"{BEGIN}\n{text}{END}"
    if DOC.exists() and BEGIN in (old := DOC.read_text(encoding="utf-8")) and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        DOC.write_text(head + block + tail, encoding="utf-8")
    else:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(f"# Codec performance\n\n{block}\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help=f"record the run in {DOC.relative_to(REPO)}")
    parser.add_argument("--examples", type=Path, default=EXAMPLES, help="folder of the official example messages")
    parser.add_argument("--runs", type=int, default=7, help="runs per figure; the median is reported (7)")
    parser.add_argument("--target-ms", type=float, default=20.0, help="length of one run per message type (20)")
    parser.add_argument("--mix-target-ms", type=float, default=200.0, help="length of one run on the mix (200)")
    parser.add_argument("--import-runs", type=int, default=9, help="fresh interpreters per import time (9)")
    parser.add_argument("--quick", action="store_true", help="3 runs of 5 ms: a smoke test, not a measurement")
    parser.add_argument("--invoked-as", default=None, help="the command to record in the docs")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is not met")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.target_ms, args.mix_target_ms, args.import_runs = 3, 5.0, 20.0, 3
    command = args.invoked_as or "python -m bench.codec " + " ".join(sys.argv[1:] if argv is None else argv)

    def progress(text: str) -> None:
        print(f"\r\033[K  {text}"[:110], end="", file=sys.stderr, flush=True)

    rows, excluded, mix, note = build_corpus(args.examples)
    time_rows(rows, args.runs, int(args.target_ms * 1e6), progress)
    progress("the mix")
    mix_decode, mix_encode = time_mix(mix, args.runs, int(args.mix_target_ms * 1e6))
    progress("the session-weighted mix")
    session = session_mix()
    session_decode, session_encode = time_mix(session, args.runs, int(args.mix_target_ms * 1e6))
    progress("rule layer")
    rules, rule_costs = time_rules(mix, args.runs, int(args.mix_target_ms * 1e6))
    progress("ID pattern")
    id_cost = time_id_pattern(mix, args.runs, int(args.target_ms * 1e6))
    progress("import times")
    imports = {m: import_time_ns(m, args.import_runs) for m in ("s2ws", "s2python", "s2python.s2_parser")}
    print("\r\033[K", end="", file=sys.stderr, flush=True)
    settings = (
        f"median of {args.runs} runs, each calibrated to about {args.target_ms:g} ms per message type"
        f" and {args.mix_target_ms:g} ms on the mix; runs of competitors interleaved; garbage collector on;"
        f" import times are the median of {args.import_runs} fresh interpreters after one warm-up"
    )
    res = Results(
        rows,
        excluded,
        mix,
        mix_decode,
        mix_encode,
        session,
        session_decode,
        session_encode,
        rules,
        rule_costs,
        imports,
        settings,
        note,
        id_cost,
    )
    print(report(res, md=False, command=command))
    if args.write_docs:
        write_doc(report(res, md=True, command=command))
        print(f"recorded in {DOC.relative_to(REPO)}")
    met = all(v.endswith(": met") for v in verdicts(res) if "not measured" not in v)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
