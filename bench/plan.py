"""Planning benchmark: the reference home over simulated days, under every kind of control.

Runs the home of :mod:`bench.plan_home` in closed loop (:mod:`bench.plan_loop`) for each season under
each strategy, and reports cost, the share of the perfect-foresight saving captured, peak import,
self-consumption, violations and mode switches; then times replanning for the home and for generated
fleets. ``make bench-plan`` runs it and records the result in docs/planning.md (section "Benchmark").
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from s2ws.plan import Site

from .harness import machine_info, render_table
from .plan_emhass import EMHASS_KINDS, EmhassDayAhead, emhass_python
from .plan_home import DAY, KINDS, SEASONS, Season, home, tariff
from .plan_loop import HomeRun, Outcome, Strategy
from .plan_optimiser import Optimised, Oracle, time_fleet
from .plan_strategies import NoControl, RuleBased

__all__ = ["DOC", "Results", "main", "report", "run_days", "saving_share", "write_doc"]

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "planning.md"
SECTION = "## Benchmark"

StrategyFactory = Callable[[], Strategy]

PREAMBLE = """\
`make bench-plan` (`bench/plan.py` with `bench/plan_home.py`, `plan_loop.py`, `plan_strategies.py`,
`plan_optimiser.py`, `plan_emhass.py`) runs a reference home through simulated days in closed loop,
without sockets: each device is an `s2ws.sim` simulator behind an RM session, joined in memory to a CEM
session whose rule context judges every message, and to the CEM's control-type view. One simulated clock
moves every device a minute at a time; every quarter hour the strategy under test reads the views and
sends what it decides through the CEM sessions.

**The home.** A 10 kWh battery (FRBC), a 60 kWh car on an 11 kW charger that comes home at 18:00 with
40 % and wants 80 % at 07:30 (FRBC with a fill-level target), a heat pump on a 200 l hot-water tank with
showers at 06:30 and 19:00 (FRBC with a usage forecast, minimum on and off times), a PV inverter (PEBC),
a washer loaded at 18:00 that must be done by 10:00 (PPBC, three containers), a hybrid heat pump heating
the house with a gas boiler beside it (DDBC), a 6 kW generator with start-up, minimum run and cool-down
(OMBC); a base load of 280-350 W with a breakfast bump and an evening hump. The tariff is dynamic: the
import price is the day-ahead price + 0.12 EUR/kWh, export earns the day-ahead price (negative at a sunny
summer noon); gas costs 1.30 EUR/m³. Each simulated day runs from 18:00 to 18:00, so that the car's
evening arrival, the washer's window and the published day-ahead prices all fall inside it.

| season | date | PV peak | daylight | outdoor | day-ahead price |
|:---|:---|---:|:---|:---|:---|
| winter | 14 Jan | 1.8 kW | 08:30-16:30 | 1 ± 4 °C | 0.09 night, 0.26 evening, 0.66 at 18:00 |
| spring | 15 Apr | 3.4 kW | 06:00-19:30 | 10 ± 6 °C | 0.07 night, 0.02 noon, 0.20 evening |
| summer | 15 Jul | 4.0 kW | 05:00-21:00 | 19 ± 6 °C | 0.08 night, -0.04 noon, 0.17 evening |

**The strategies.** `none`: no control type selected, each device does what it does alone (the car
charges at once, thermostats, the hybrid heat pump runs itself, the battery and generator stay idle; the
washer, which does nothing unless started, is started at 18:00). `rules`: the per-control-type planners
of `s2ws cem` (`s2ws.app.planners.planner_for`). `plan-exact`: `s2ws.plan` in rolling horizon: every
quarter hour a model of every view, one plan over 24 h, and the first quarter hour's instructions built
through the views. `plan-noisy`: the same, with the base-load forecast and every forecast the devices
send (PV, heat demand, hot-water use) scaled by a seeded AR(1) error. `oracle`: the offline
perfect-foresight optimum of the same model: one solve at 18:00 over the whole day with exact data,
carried out open loop.

**The figures.** Cost: electricity per minute at that quarter hour's price (import paid, export earned),
plus gas, plus the generator's running and start costs, minus the energy left in the battery and the tank
compared with the start (credited at the day's mean import price). Share of the oracle's saving:
(C_none − C) / (C_none − C_oracle). Peak import: the highest quarter-hour mean. Self-consumption: the share
of local production (PV and generator) used on site. S2 violations: error findings when each device's
transcript is replayed through the rule catalogue (transitions, timers, everything else) plus messages
their receiver did not answer OK. Rejected / refused: instructions the device rejected
(InstructionStatusUpdate REJECTED) / the CEM's own checks refused to send. EV short: energy missing at
departure. Tank < min: minutes below 45 °C. Unmet heat: heat demand the hybrid heat pump did not cover.
PPBC outside window: containers not run to completion inside the programme's window. Mode switches:
changes of an actuator's active operation mode.
"""


def saving_share(none: float, cost: float, oracle: float) -> float | None:
    """(C_none − C) / (C_none − C_oracle): the share of the perfect-foresight saving captured."""
    if none - oracle <= 1e-9:
        return None
    return (none - cost) / (none - oracle)


@dataclass
class Results:
    """Everything one run measured, for the report."""

    outcomes: list[Outcome]
    seasons: list[str]
    strategies: list[str]
    replan: dict[str, list[float]] = field(default_factory=dict)
    """Label ("home", "50 devices", ...) -> wall seconds of each replan."""
    replan_status: dict[str, list[str]] = field(default_factory=dict)
    """Label -> the solver's status of each replan."""
    notes: list[str] = field(default_factory=list)
    settings: str = ""
    emhass: list[Outcome] = field(default_factory=list)
    """Runs of the battery + PV + deferrable-load part of the home, EMHASS's plan among them."""

    def outcome(self, season: str, strategy: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.season == season and o.strategy == strategy), None)


def run_days(
    seasons: Sequence[Season],
    strategies: Sequence[StrategyFactory],
    *,
    kinds: Sequence[str] = KINDS,
    length: timedelta = DAY,
    noise_seed: int = 1,
    progress: Callable[[str], None] | None = None,
    used: list[Strategy] | None = None,
) -> list[Outcome]:
    """One closed-loop day per (season, strategy), every run on a freshly built home; ``used``
    collects the strategy objects (what they learnt along the way)."""
    out: list[Outcome] = []
    for season in seasons:
        for factory in strategies:
            strategy = factory()
            if used is not None:
                used.append(strategy)
            start, devices = home(season, kinds=kinds)
            noise = float(getattr(strategy, "noise", 0.0))
            run = HomeRun(season, start, devices, tariff(season, start), noise=noise, seed=noise_seed)
            strategy_start = time.perf_counter()
            outcome = run.run(strategy, length, progress)
            if progress is not None:
                progress(f"{season.name} {strategy.name}: done in {time.perf_counter() - strategy_start:.1f} s")
            out.append(outcome)
    return out


# --- the report ----------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _eur(value: float) -> str:
    return f"{value:.2f}"


def _seconds(values: Sequence[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return f"{ordered[index]:.2f} s" if q != 0.5 else f"{statistics.median(ordered):.2f} s"


def _statuses(statuses: Sequence[str] | None) -> str:
    """ "optimal 90, time_limit 6": how the replans ended."""
    if not statuses:
        return "-"
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _share(res: Results, season: str, outcome: Outcome) -> float | None:
    none = res.outcome(season, "none")
    oracle = res.outcome(season, "oracle")
    if none is None or oracle is None:
        return None
    return saving_share(none.cost_eur, outcome.cost_eur, oracle.cost_eur)


def _total(res: Results, strategy: str) -> float | None:
    costs = [res.outcome(s, strategy) for s in res.seasons]
    if any(c is None for c in costs):
        return None
    return sum(c.cost_eur for c in costs if c is not None)


def report(res: Results, *, md: bool, command: str) -> str:
    """The benchmark section: tables, budgets, the command and the machine."""
    parts: list[str] = [PREAMBLE.rstrip()] if md else []
    heading = "### " if md else ""
    headers = [
        "season",
        "strategy",
        "cost EUR",
        "of oracle saving",
        "peak import kW",
        "self-consumption",
        "S2 violations",
        "rejected / refused",
        "EV short kWh",
        "tank < min (min)",
        "unmet heat kWh",
        "PPBC outside window",
        "mode switches",
    ]
    rows = []
    for o in res.outcomes:
        rows.append(
            [
                o.season,
                o.strategy,
                _eur(o.cost_eur),
                _pct(_share(res, o.season, o)),
                f"{o.peak_import_kw:.2f}",
                _pct(o.self_consumption),
                str(o.s2_violations),
                f"{o.rejected} / {o.refused}",
                f"{o.ev_short_kwh:.2f}",
                str(o.tank_low_minutes),
                f"{o.unmet_heat_kwh:.2f}",
                str(o.ppbc_outside),
                str(o.switches),
            ]
        )
    parts.append(f"{heading}Per simulated day\n\n{render_table(headers, rows, md, left=2)}")

    totals = []
    for strategy in res.strategies:
        total = _total(res, strategy)
        none, oracle = _total(res, "none"), _total(res, "oracle")
        share = None if total is None or none is None or oracle is None else saving_share(none, total, oracle)
        outcomes = [o for o in res.outcomes if o.strategy == strategy]
        violations = sum(o.s2_violations for o in outcomes)
        switches = sum(o.switches for o in outcomes)
        totals.append([strategy, "-" if total is None else _eur(total), _pct(share), str(violations), str(switches)])
    table = render_table(
        ["strategy", "cost EUR, all days", "of oracle saving", "S2 violations", "switches"], totals, md
    )
    parts.append(f"{heading}All days together\n\n{table}")

    if res.replan:
        rows = [
            [k, str(len(v)), _seconds(v, 0.5), _seconds(v, 0.95), _seconds(v, 1.0), _statuses(res.replan_status.get(k))]
            for k, v in res.replan.items()
        ]
        table = render_table(["problem", "replans", "p50", "p95", "max", "solver status"], rows, md)
        parts.append(f"{heading}Replan time (wall clock, one planner call)\n\n{table}")

    parts.append(f"{heading}Budgets\n\n" + "\n".join(f"- {line}" for line in verdicts(res)))
    if res.emhass:
        parts.append(f"{heading}EMHASS beside ours (battery, PV, car, washer)\n\n{_emhass_table(res, md)}")
    if res.notes:
        parts.append(f"{heading}Notes\n\n" + "\n".join(f"- {n}" for n in res.notes))
    info = machine_info(["highspy", "msgspec"])
    machine = render_table(["", ""], [list(r) for r in info], md)
    parts.append(f"{heading}How this was measured\n\nCommand: `{command}`; {res.settings}\n\n{machine}")
    return "\n\n".join(parts) + "\n"


def _emhass_table(res: Results, md: bool) -> str:
    strategies = list(dict.fromkeys(o.strategy for o in res.emhass))
    seasons = list(dict.fromkeys(o.season for o in res.emhass))
    rows = []
    for season in seasons:
        row = [season]
        for strategy in strategies:
            found = next((o for o in res.emhass if o.season == season and o.strategy == strategy), None)
            row.append("-" if found is None else _eur(found.cost_eur))
        rows.append(row)
    totals = ["all days"]
    for strategy in strategies:
        totals.append(_eur(sum(o.cost_eur for o in res.emhass if o.strategy == strategy)))
    rows.append(totals)
    violations = ["S2 violations / EV short kWh / PPBC outside"]
    for strategy in strategies:
        runs = [o for o in res.emhass if o.strategy == strategy]
        v, short, out = (
            sum(o.s2_violations for o in runs),
            sum(o.ev_short_kwh for o in runs),
            sum(o.ppbc_outside for o in runs),
        )
        violations.append(f"{v} / {short:.1f} / {out}")
    rows.append(violations)
    return render_table(["cost EUR", *strategies], rows, md)


def verdicts(res: Results) -> list[str]:
    """Each budget with the measured figure and whether it is met (figures, never test thresholds)."""
    out: list[str] = []
    exact = [o for o in res.outcomes if o.strategy == "plan-exact"]
    if exact:
        none, oracle, total = _total(res, "none"), _total(res, "oracle"), _total(res, "plan-exact")
        share = None if none is None or oracle is None or total is None else saving_share(none, total, oracle)
        verdict = "not measured" if share is None else ("met" if share >= 0.97 else "NOT met")
        out.append(f"at least 97 % of the oracle's saving with exact forecasts: {_pct(share)}: {verdict}")
    else:
        out.append("at least 97 % of the oracle's saving with exact forecasts: not measured (no optimiser run)")
    violations = sum(o.s2_violations for o in res.outcomes)
    out.append(f"zero S2 violations over every run: {violations}: {'met' if violations == 0 else 'NOT met'}")
    for label, budget in (("home", 5.0), ("200 devices", 60.0)):
        values = res.replan.get(label)
        if not values:
            out.append(f"replan p95 <= {budget:g} s for the {label}: not measured")
            continue
        p95 = sorted(values)[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        verdict = "met" if p95 <= budget else "NOT met"
        unsolved = sum(1 for status in res.replan_status.get(label, []) if status == "no_solution")
        if unsolved:
            verdict += f", but {unsolved} of {len(values)} replans found no solution in the time limit"
        out.append(f"replan p95 <= {budget:g} s for the {label}: {p95:.2f} s: {verdict}")
    return out


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the benchmark section of ``doc`` (or append it), keeping everything else."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Planning\n"
    body = f"{SECTION}\n\n{section}"
    start = text.find(f"\n{SECTION}\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + 1)
        text = text[: start + 1] + body + ("" if end < 0 else "\n" + text[end + 1 :])
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


# --- main ----------------------------------------------------------------------------------------


def strategies_for(args: argparse.Namespace, *, noisy: bool = True) -> list[StrategyFactory]:
    """The strategies to compare, in the order of the tables."""
    limit = float(args.time_limit)

    def exact() -> Strategy:
        return Optimised(0.0, args.seed, limit)

    def noisy_forecasts() -> Strategy:
        return Optimised(args.noise, args.seed, limit)

    def oracle() -> Strategy:
        return Oracle(float(args.oracle_time_limit))

    factories: list[StrategyFactory] = [NoControl, RuleBased, exact]
    if noisy:
        factories.append(noisy_forecasts)
    factories.append(oracle)
    return factories


def fleet_limit_text(args: argparse.Namespace) -> str:
    """How the fleets' time limit was set: given, or the planner's default scaled with the fleet."""
    if args.fleet_time_limit is not None:
        return f"{args.fleet_time_limit:g} s time limit"
    site = Site(time_limit_s=args.time_limit)
    return (
        f"the default time limit scaled with the fleet, max({args.time_limit:g} s, {site.time_limit_per_device_s:g} s"
        f" per modelled device) up to {site.time_limit_cap_s:g} s: {site.time_limit_for(50):g} s for 50,"
        f" {site.time_limit_for(200):g} s for 200"
    )


def notes_for(outcomes: Sequence[Outcome], strategies: Sequence[Strategy]) -> list[str]:
    """What a reader needs to read the tables right: fallbacks, rejections, the oracle's solves."""
    notes: list[str] = []
    fallback = sorted({kind for s in strategies for kind in getattr(s, "fallback", set())})
    if fallback:
        notes.append(
            "The optimiser had no model for: " + ", ".join(fallback) + "; in the optimiser's runs (and the oracle's)"
            " those devices are run by their rule-based planner, and their power is not in the plan."
        )
    rejected = sorted({o.strategy for o in outcomes if o.rejected})
    if rejected:
        notes.append(
            "'rejected' counts instructions the device refused with InstructionStatusUpdate REJECTED (the device may"
            " refuse what the protocol allows, e.g. a hybrid heat pump an order of switches that would briefly leave"
            " its heat demand unmet); it happened under: " + ", ".join(rejected) + "."
        )
    for s in strategies:
        if isinstance(s, Oracle) and s.plan is not None:
            notes.append(f"Oracle solve: {s.plan.status} in {s.seconds:.1f} s ({len(s.plan.steps)} steps).")
    return notes


def emhass_runs(
    args: argparse.Namespace, seasons: Sequence[Season], progress: Callable[[str], None]
) -> tuple[list[Outcome], list[str]]:
    """The battery + PV + deferrable-load part of the home under EMHASS and under ours (if EMHASS is there)."""
    python = emhass_python()
    if args.no_emhass:
        return [], []
    if python is None:
        return [], ["EMHASS was not run: its environment is missing (make emhass-venv installs it from PyPI)."]
    factories = [f for f in strategies_for(args, noisy=False) if f is not RuleBased]

    def emhass() -> Strategy:
        return EmhassDayAhead(python)

    try:
        outcomes = run_days(
            seasons, [*factories, emhass], kinds=EMHASS_KINDS, length=timedelta(hours=args.hours), progress=progress
        )
    except (OSError, ValueError, IndexError, subprocess.SubprocessError) as exc:
        return [], [f"EMHASS did not run here: {exc}"]
    return outcomes, []


def source_commit() -> str:
    """The commit the figures were measured on (with "+changes" when the tree differs from it)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def time_fleets(args: argparse.Namespace, season: Season, res: Results, progress: Callable[[str], None]) -> None:
    limit = float(args.fleet_time_limit if args.fleet_time_limit is not None else args.time_limit)
    for size in [int(n) for n in args.fleets.split(",") if n.strip()]:
        timed = time_fleet(
            size, season, replans=args.fleet_replans, seed=args.seed, time_limit_s=limit, progress=progress
        )
        res.replan[f"{size} devices"] = [t for t, _ in timed]
        res.replan_status[f"{size} devices"] = [status for _, status in timed]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help=f"record the run in {DOC.relative_to(REPO)}")
    parser.add_argument("--seasons", default=",".join(s.name for s in SEASONS), help="comma-separated season names")
    parser.add_argument("--noise", type=float, default=0.2, help="forecast error standard deviation (0.2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the forecast noise and the fleets (1)")
    parser.add_argument("--fleets", default="50,200", help="fleet sizes to time replanning on (50,200)")
    parser.add_argument("--fleet-replans", type=int, default=3, help="replans timed per fleet (3)")
    parser.add_argument("--hours", type=float, default=24.0, help="length of each simulated day (24)")
    default_limit = Site().time_limit_s
    parser.add_argument(
        "--time-limit", type=float, default=default_limit, help=f"solver time limit per replan, s ({default_limit:g})"
    )
    parser.add_argument("--fleet-time-limit", type=float, default=None, help="for the fleets (--time-limit)")
    parser.add_argument("--fleets-only", action="store_true", help="only time the fleets' replans; no days")
    parser.add_argument("--oracle-time-limit", type=float, default=120.0, help="the oracle's time limit, s (120)")
    parser.add_argument("--no-emhass", action="store_true", help="skip the EMHASS comparison")
    parser.add_argument("--invoked-as", default=None, help="the command to record in the docs")
    args = parser.parse_args(argv)
    command = args.invoked_as or "python -m bench.plan " + " ".join(sys.argv[1:] if argv is None else argv)
    chosen = [s for s in SEASONS if s.name in args.seasons.split(",")]
    if not chosen:
        parser.error(f"no known season in {args.seasons!r}; the seasons are {', '.join(s.name for s in SEASONS)}")

    def progress(text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    began = time.perf_counter()
    if args.fleets_only:
        res = Results([], [], [])
        time_fleets(args, chosen[0], res, progress)
        print(report(res, md=False, command=command))
        return 0
    used: list[Strategy] = []
    length = timedelta(hours=args.hours)
    outcomes = run_days(chosen, strategies_for(args), length=length, noise_seed=args.seed, progress=progress, used=used)
    names = list(dict.fromkeys(o.strategy for o in outcomes))
    res = Results(outcomes, [s.name for s in chosen], names, notes=notes_for(outcomes, used))
    res.replan["home"] = [t for o in outcomes if o.strategy.startswith("plan-") for t in o.replan_seconds]
    res.replan_status["home"] = [status for s in used for status in getattr(s, "statuses", [])]
    time_fleets(args, chosen[0], res, progress)
    res.emhass, emhass_notes = emhass_runs(args, chosen, progress)
    res.notes += emhass_notes
    res.settings = (
        f"{len(chosen)} simulated days ({args.hours:g} h from 18:00) per strategy, one minute of simulated time per"
        f" sample, a planning step of 15 minutes, a horizon of 24 h, a solver time limit of {args.time_limit:g} s per"
        f" replan ({args.oracle_time_limit:g} s for the oracle); forecast noise {args.noise:g} (seed {args.seed});"
        f" fleets timed on the {chosen[0].name} day, {args.fleet_replans} replans each"
        f" ({fleet_limit_text(args)}); source {source_commit()};"
        f" whole run {time.perf_counter() - began:.0f} s of wall time."
    )
    print(report(res, md=False, command=command))
    if args.write_docs:
        write_doc(report(res, md=True, command=command))
        print(f"recorded in {DOC.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
