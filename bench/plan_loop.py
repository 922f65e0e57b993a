"""A home in closed loop under simulated time: one in-memory session per device, a strategy that plans.

Every device runs behind its own :class:`~s2ws.sim.Loopback` (a CEM session, a control-type view, the
RM session and the simulator, no sockets); one clock moves them all a minute at a time. Every
quarter hour the strategy looks at the views and sends what it decides through the CEM sessions, whose
rule contexts judge every message before it leaves. Each minute the site's net power (base load plus
every device) is sampled for the cost; at the end every transcript is replayed through the rule
catalogue, which is how S2 transition and timer breaches are counted.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import msgspec

from s2ws.app.planners import make_view
from s2ws.errors import S2Error
from s2ws.messages import (
    CommodityQuantity,
    DDBCAverageDemandRateForecast,
    FRBCUsageForecast,
    InstructionStatus,
    InstructionStatusUpdate,
    PowerForecast,
)
from s2ws.messages.base import S2Message
from s2ws.rules.replay import replay
from s2ws.sim import EVSim, HeatPumpSim, Loopback, OperationModeSim

from .plan_home import GAS_EUR_PER_LITRE, PPBC, STEP, Device, Season, Tariff, base_load_w

__all__ = ["MINUTE", "HomeRun", "Link", "NoisyForecasts", "Outcome", "Strategy"]

MINUTE: Final = timedelta(minutes=1)
GAS = CommodityQuantity.NATURAL_GAS_FLOW_RATE
_TANK_WH_PER_K: Final = 200 * 1.163
"""The 200 l hot-water tank: 1.163 Wh per litre and kelvin."""
_HP_COP: Final = 3.25


class Strategy(Protocol):
    """Who controls the home: told once before the first minute, then every planning step."""

    name: str

    def start(self, run: HomeRun) -> None: ...

    def step(self, run: HomeRun, now: datetime) -> None: ...


class NoisyForecasts:
    """A viewer in front of a control-type view that distorts the forecasts the RM sends (seeded).

    Every element of a PowerForecast, DDBC.AverageDemandRateForecast or FRBC.UsageForecast is scaled
    by 1 + e, e an AR(1) process (correlation 0.8 per element, standard deviation ``sigma``), so
    the CEM plans on a plausible but wrong forecast while the device does what it really does.
    """

    def __init__(self, view: Any, rng: random.Random, sigma: float) -> None:
        self.view = view
        self.rng = rng
        self.sigma = sigma

    def apply(self, message: S2Message, now: datetime) -> bool:
        if isinstance(message, PowerForecast | DDBCAverageDemandRateForecast | FRBCUsageForecast):
            message = self._distort(message)
        return bool(self.view.apply(message, now))

    def _distort(self, message: Any) -> Any:
        error = 0.0
        elements = []
        for element in message.elements:
            error = 0.8 * error + self.rng.gauss(0.0, self.sigma * math.sqrt(1 - 0.8**2))
            elements.append(_scale(element, max(0.0, 1.0 + error)))
        return msgspec.structs.replace(message, elements=elements)


def _scale(obj: Any, factor: float) -> Any:
    """``obj`` with every float field (and those of its power values) multiplied by ``factor``."""
    changes: dict[str, Any] = {}
    for name in obj.__struct_fields__:
        value = getattr(obj, name)
        if name == "power_values":
            changes[name] = [_scale(v, factor) for v in value]
        elif isinstance(value, float) and name != "duration":
            changes[name] = value * factor
    return msgspec.structs.replace(obj, **changes)


@dataclass
class Link:
    """One device of the home as the CEM sees it: its session loop and its control-type view."""

    device: Device
    loop: Loopback
    view: Any
    resource_id: str = ""
    refused: int = 0
    """Messages the strategy built that the CEM's own checks refused to send."""
    sent: int = 0

    @property
    def sim(self) -> Any:
        return self.device.sim


@dataclass
class Outcome:
    """What one strategy did to one simulated day: the figures the benchmark tables show."""

    strategy: str
    season: str
    cost_eur: float
    electricity_eur: float
    gas_eur: float
    generator_eur: float
    stored_credit_eur: float
    import_kwh: float
    export_kwh: float
    peak_import_kw: float
    self_consumption: float
    switches: int
    s2_findings: int
    not_ok: int
    rejected: int
    refused: int
    ev_short_kwh: float
    tank_low_minutes: int
    unmet_heat_kwh: float
    ppbc_outside: int
    replan_seconds: list[float] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def s2_violations(self) -> int:
        """Breaches of the protocol: rule findings on replay and messages the receiver did not accept."""
        return self.s2_findings + self.not_ok


class HomeRun:
    """One simulated day of one home under one strategy."""

    def __init__(
        self,
        season: Season,
        start: datetime,
        devices: Sequence[Device],
        tariff: Tariff,
        *,
        noise: float = 0.0,
        seed: int = 0,
        base_load: Callable[[datetime], float] | None = None,
    ) -> None:
        self.season = season
        self.start = start
        self.now = start
        self.tariff = tariff
        self.base_load: Callable[[datetime], float] = base_load or (lambda t: base_load_w(season, t))
        self.links: list[Link] = []
        for i, device in enumerate(devices):
            view = make_view(device.control_type)
            viewer: Any = view
            if noise > 0 and view is not None:
                viewer = NoisyForecasts(view, random.Random(f"{seed}/{season.name}/{i}"), noise)
            loop = Loopback(device.sim, viewer, now=start, session=device.name)
            self.links.append(Link(device, loop, view, str(device.sim.details().resource_id)))
        self.replan_seconds: list[float] = []
        """Wall time of each planning call, filled in by the strategies that time themselves."""

    # --- what strategies use ---------------------------------------------------------------------

    def send(self, link: Link, messages: Sequence[S2Message]) -> None:
        """Send through the CEM session; one the CEM's own checks refuse is counted and forgotten."""
        for message in messages:
            try:
                link.loop.send(message)
                link.sent += 1
            except S2Error:
                link.refused += 1
                ident = getattr(message, "id", None)
                if isinstance(ident, str) and hasattr(link.view, "forget"):
                    link.view.forget(ident)

    # --- the day ---------------------------------------------------------------------------------

    def run(self, strategy: Strategy, length: timedelta, progress: Callable[[str], None] | None = None) -> Outcome:
        for link in self.links:
            link.loop.start()
        strategy.start(self)
        minutes = int(length / MINUTE)
        net: list[float] = []
        produced: list[float] = []
        modes: dict[tuple[int, str], str | None] = {}
        switches = 0
        ev_short = 0.0
        tank_low = 0
        plugged = {i: link.sim.plugged for i, link in enumerate(self.links) if isinstance(link.sim, EVSim)}
        stored_before = self._stored_kwh()
        steps = int(STEP / MINUTE)
        for minute in range(minutes):
            now = self.start + minute * MINUTE
            self.now = now
            if minute % steps == 0:
                strategy.step(self, now)
                if progress is not None and minute % (steps * 16) == 0:
                    progress(f"{self.season.name} {strategy.name}: {now:%H:%M}")
            total = self.base_load(now)
            local = 0.0
            for i, link in enumerate(self.links):
                power = link.sim.power(now)
                watts = sum(v for q, v in power.items() if q is not GAS)
                total += watts
                local += max(-watts, 0.0)
                switches += self._count_switches(i, link.sim, modes)
                if isinstance(link.sim, EVSim):
                    if plugged[i] and not link.sim.plugged:
                        ev_short += (
                            max(link.sim.params.target_soc - link.sim.level, 0.0)
                            / 100
                            * (link.sim.params.capacity_wh / 1000)
                        )
                    plugged[i] = link.sim.plugged
                if isinstance(link.sim, HeatPumpSim) and link.sim.level < link.sim.params.min_c - 0.01:
                    tank_low += 1
            net.append(total)
            produced.append(local)
            for link in self.links:
                link.loop.advance(now + MINUTE)
        self.now = self.start + minutes * MINUTE
        return self._outcome(strategy.name, net, produced, switches, ev_short, tank_low, stored_before)

    @staticmethod
    def _count_switches(i: int, sim: Any, modes: dict[tuple[int, str], str | None]) -> int:
        if not isinstance(sim, OperationModeSim):
            return 0
        count = 0
        for actuator, status in sim.device.statuses.items():
            key = (i, actuator)
            if key in modes and modes[key] != status.mode_id:
                count += 1
            modes[key] = status.mode_id
        return count

    def _stored_kwh(self) -> float:
        """Energy in the battery and the hot-water tank, as kWh of electricity bought to put it there."""
        total = 0.0
        for link in self.links:
            sim = link.sim
            if isinstance(sim, HeatPumpSim):
                total += sim.level * _TANK_WH_PER_K / _HP_COP / 1000
            elif link.device.kind == "battery":
                total += sim.level / 100 * sim.params.capacity_wh / 1000
        return total

    def _outcome(
        self,
        name: str,
        net: list[float],
        produced: list[float],
        switches: int,
        ev_short: float,
        tank_low: int,
        stored_before: float,
    ) -> Outcome:
        electricity = imported = exported = 0.0
        for minute, watts in enumerate(net):
            at = self.start + minute * MINUTE
            kwh = watts / 60_000
            if kwh >= 0:
                imported += kwh
                electricity += kwh * self.tariff.import_at(at)
            else:
                exported -= kwh
                electricity += kwh * self.tariff.export_at(at)
        steps = int(STEP / MINUTE)
        quarters = [sum(net[i : i + steps]) / len(net[i : i + steps]) for i in range(0, len(net), steps)]
        local_kwh = sum(produced) / 60_000
        gas = generator = unmet = 0.0
        findings: list[str] = []
        not_ok = rejected = refused = outside = 0
        for link in self.links:
            sim = link.sim
            gas += getattr(sim, "gas_litres", 0.0) * GAS_EUR_PER_LITRE
            generator += getattr(sim, "costs", 0.0) if link.device.kind == "generator" else 0.0
            unmet += getattr(sim, "unmet_wh", 0.0) / 1000
            findings += [f.text(link.device.name) for f in replay(link.loop.transcript()) if f.severity == "error"]
            not_ok += len(link.loop.not_ok())
            refused += link.refused
            rejected += sum(
                1
                for m in link.loop.received
                if isinstance(m, InstructionStatusUpdate) and m.status_type is InstructionStatus.REJECTED
            )
            if link.device.control_type is PPBC:
                outside += _ppbc_outside(link, self.now)
        credit = (self._stored_kwh() - stored_before) * self.tariff.mean_import
        return Outcome(
            strategy=name,
            season=self.season.name,
            cost_eur=electricity + gas + generator - credit,
            electricity_eur=electricity,
            gas_eur=gas,
            generator_eur=generator,
            stored_credit_eur=credit,
            import_kwh=imported,
            export_kwh=exported,
            peak_import_kw=max(quarters, default=0.0) / 1000,
            self_consumption=1.0 - exported / local_kwh if local_kwh > 0 else 1.0,
            switches=switches,
            s2_findings=len(findings),
            not_ok=not_ok,
            rejected=rejected,
            refused=refused,
            ev_short_kwh=ev_short,
            tank_low_minutes=tank_low,
            unmet_heat_kwh=unmet,
            ppbc_outside=outside,
            replan_seconds=list(self.replan_seconds),
            findings=findings,
        )


def _ppbc_outside(link: Link, end: datetime) -> int:
    """Containers of each programme that did not run to completion inside the programme's window."""
    view = link.view
    if view is None:
        return 0
    count = 0
    for profile in view.profiles():
        for container in view.feasible_schedules(profile.id, end):
            done = container.status.value == "FINISHED"
            inside = (
                container.start is not None
                and container.end is not None
                and profile.start_time <= container.start
                and container.end <= profile.end_time
            )
            count += 0 if done and inside else 1
    return count
