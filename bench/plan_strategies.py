"""Who controls the home in the planning benchmark: nobody, the rule-based planners, the optimiser.

- ``none``: no control type is selected, so every device does what it does on its own (the car
  charges at full power when plugged in, the thermostat keeps the tank warm, the hybrid heat pump
  runs itself, the inverter delivers all it can, the battery and the generator stay idle); only the
  washer, which does nothing until it is started, is started at once, as a machine without a
  CEM starts when its door closes.
- ``rules``: every device under its control type, planned every quarter hour by the per-control-type
  planners ``s2ws cem`` uses (:func:`s2ws.app.planners.planner_for`).
"""

from __future__ import annotations

from datetime import datetime

from s2ws.app.planners import planner_for
from s2ws.errors import S2Error
from s2ws.messages.base import S2Message

from .plan_home import PPBC
from .plan_loop import HomeRun, Link

__all__ = ["NoControl", "RuleBased", "start_now"]


def start_now(link: Link, now: datetime) -> list[S2Message]:
    """Every container of every programme back to back from ``now``: a washer started by hand."""
    view = link.view
    out: list[S2Message] = []
    for profile in view.profiles():
        at = now
        for container in view.feasible_schedules(profile.id, now):
            if container.selected_sequence_id is not None or not container.options:
                break
            option = container.options[0]
            at = max(at, option.earliest_start)
            out.append(view.schedule(profile.id, container.container_id, option.sequence_id, at, now))
            at += option.duration
    return out


class NoControl:
    """Each device's default behaviour; see the module docstring."""

    name = "none"

    def start(self, run: HomeRun) -> None:
        for link in run.links:
            if link.device.control_type is PPBC:
                link.loop.select(PPBC)

    def step(self, run: HomeRun, now: datetime) -> None:
        for link in run.links:
            if link.device.control_type is PPBC:
                run.send(link, start_now(link, now))


class RuleBased:
    """The per-control-type planners of :mod:`s2ws.app.planners`, each on its own device, every step."""

    name = "rules"

    def start(self, run: HomeRun) -> None:
        for link in run.links:
            link.loop.select(link.device.control_type)

    def step(self, run: HomeRun, now: datetime) -> None:
        for link in run.links:
            planner = planner_for(link.view)
            if planner is None:
                continue
            try:
                messages = planner(link.view, now)
            except S2Error:
                continue  # nothing to plan yet (no description in force)
            run.send(link, messages)
