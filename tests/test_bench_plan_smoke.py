"""The planning benchmark runs end to end on a tiny scenario: one device, a few hours, every strategy here.

Only that the metrics come out sane is checked (costs add up, shares and self-consumption are fractions,
no violations from planners that are valid by construction); figures are never asserted against a
budget: a benchmark reports, a test asserts behaviour.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import plan  # noqa: E402
from bench.plan_home import SEASONS  # noqa: E402
from bench.plan_loop import Strategy  # noqa: E402
from bench.plan_optimiser import Optimised, Oracle, time_fleet  # noqa: E402
from bench.plan_strategies import NoControl, RuleBased  # noqa: E402


def test_saving_share() -> None:
    assert plan.saving_share(10.0, 10.0, 6.0) == 0.0
    assert plan.saving_share(10.0, 6.0, 6.0) == 1.0
    assert plan.saving_share(10.0, 7.0, 6.0) == pytest.approx(0.75)
    assert plan.saving_share(10.0, 7.0, 10.0) is None  # nothing to save: no share


@pytest.mark.parametrize("kind", ["battery", "washer"])
def test_a_tiny_home_runs_under_each_strategy(kind: str) -> None:
    summer = SEASONS[-1]
    outcomes = plan.run_days([summer], [NoControl, RuleBased], kinds=[kind], length=timedelta(hours=6))
    assert [o.strategy for o in outcomes] == ["none", "rules"]
    for o in outcomes:
        assert o.cost_eur == pytest.approx(o.electricity_eur + o.gas_eur + o.generator_eur - o.stored_credit_eur)
        assert o.import_kwh > 0  # the base load alone imports
        assert 0.0 <= o.self_consumption <= 1.0
        assert o.peak_import_kw > 0
        assert (o.s2_violations, o.refused, o.ev_short_kwh, o.ppbc_outside) == (0, 0, 0.0, 0), o.findings
    none, rules = outcomes
    if kind == "battery":  # 18:00-24:00: the rules discharge the battery through the evening, nobody else does
        assert none.stored_credit_eur == 0.0 and rules.stored_credit_eur < 0 and rules.import_kwh < none.import_kwh
        assert none.switches == 0 and rules.switches > 0
    else:  # both start the washer at once (the rules' 06:00 has passed) and it finishes: ppbc_outside is 0
        assert none.import_kwh == pytest.approx(rules.import_kwh)


def test_the_optimiser_strategies_on_a_battery() -> None:
    """One battery from 18:00 to 19:00 under the optimiser, with and without noise, and the oracle."""
    winter = SEASONS[0]
    strategies: list[Callable[[], Strategy]] = [
        NoControl,
        lambda: Optimised(0.0),
        lambda: Optimised(0.3, seed=3),
        lambda: Oracle(30.0),
    ]
    used: list[Strategy] = []
    outcomes = plan.run_days([winter], strategies, kinds=["battery"], length=timedelta(hours=1), used=used)
    assert [o.strategy for o in outcomes] == ["none", "plan-exact", "plan-noisy", "oracle"]
    for o in outcomes:
        assert (o.s2_violations, o.refused) == (0, 0), o.findings
        assert o.cost_eur == pytest.approx(o.electricity_eur + o.gas_eur + o.generator_eur - o.stored_credit_eur)
    none, exact, noisy, oracle = outcomes
    assert len(exact.replan_seconds) == len(noisy.replan_seconds) == 4  # 18:00, 18:15, 18:30, 18:45
    assert all(t > 0 for t in exact.replan_seconds) and oracle.replan_seconds == []
    assert isinstance(used[-1], Oracle) and used[-1].plan is not None  # one plan, made at the start
    # the evening is dear: whatever the plan does with the battery, it never costs more than leaving it idle
    for o in (exact, oracle):
        assert o.cost_eur <= none.cost_eur + 1e-6


def test_fleet_replans_are_timed() -> None:
    timed = time_fleet(3, SEASONS[1], replans=2, time_limit_s=5.0)
    assert len(timed) == 2 and all(seconds > 0 and status for seconds, status in timed)


def test_the_report_and_the_doc_section(tmp_path: Path) -> None:
    outcomes = plan.run_days([SEASONS[0]], [NoControl], kinds=["heatpump"], length=timedelta(hours=1))
    res = plan.Results(outcomes, ["winter"], ["none"], replan={"home": [0.1, 0.2, 7.0]})
    res.replan_status["home"] = ["optimal", "optimal", "no_solution"]
    text = plan.report(res, md=True, command="pytest")
    assert "### Per simulated day" in text and "| winter | none |" in text and "### Budgets" in text
    assert "| home | 3 | 0.20 s | 7.00 s | 7.00 s | optimal 2, no_solution 1 |" in text
    assert "for the home: 7.00 s: NOT met, but 1 of 3 replans found no solution" in text
    doc = tmp_path / "planning.md"
    doc.write_text("# Planning\n\n## Model\n\nx\n\n## Benchmark\n\nold\n\n## Per control type\n\ny\n")
    plan.write_doc(text, doc)
    written = doc.read_text()
    assert "old" not in written and "## Model\n\nx" in written and written.endswith("## Per control type\n\ny\n")
    assert "| winter | none |" in written
