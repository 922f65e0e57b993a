"""Cases that test a Resource Manager honours its own timers and transitions (FRBC, OMBC, DDBC).

The tester plays the CEM and asks for a switch the RM's description forbids: one along no transition,
or one blocked by a timer that is running (reported in a TimerStatus, or started by a first switch the
tester asks for). The RM must refuse it: ReceptionStatus INVALID_CONTENT, or OK and then the
InstructionStatusUpdate REJECTED; it must never report it STARTED or SUCCEEDED, nor report the
forbidden mode active. A case whose description offers no such switch is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .cases import CaseContext, CaseSkipped, case
from .probe import CaseFailed, Message, Probe, new_id
from .rm_cases import DDBC, FRBC, OMBC, _now, _ready
from .rm_control_cases import _TERMINAL, _updates

__all__: list[str] = []

_STATUS = {FRBC: "FRBC.ActuatorStatus", OMBC: "OMBC.Status", DDBC: "DDBC.ActuatorStatus"}
_TIMER_STATUS = {FRBC: "FRBC.TimerStatus", OMBC: "OMBC.TimerStatus", DDBC: "DDBC.TimerStatus"}
_INSTRUCTION = {FRBC: "FRBC.Instruction", OMBC: "OMBC.Instruction", DDBC: "DDBC.Instruction"}
_LONG_ENOUGH_MS = 60_000
"""A timer shorter than this may run out before the forbidden switch arrives: not used."""


@dataclass(frozen=True, slots=True)
class _Machine:
    """One actuator's (or, for OMBC, the system's) modes, transitions and timers, and its active mode."""

    control_type: str
    actuator: str | None
    modes: frozenset[str]
    transitions: tuple[Message, ...]
    timers: dict[str, int]
    active: str

    def instruction(self, mode: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_type": _INSTRUCTION[self.control_type],
            "id": new_id(),
            "execution_time": _now(),
            "operation_mode_factor": 1.0,
            "abnormal_condition": False,
        }
        if self.control_type == FRBC:
            message["operation_mode"] = mode
        else:
            message["operation_mode_id"] = mode
        if self.actuator is not None:
            message["actuator_id"] = self.actuator
        return message

    def usable(self) -> list[Message]:
        return [
            t
            for t in self.transitions
            if not t.get("abnormal_condition_only") and t["from"] in self.modes and t["to"] in self.modes
        ]


def _machines(control_type: str, description: Message, statuses: list[Message]) -> list[_Machine]:
    """The machines of a description, each with the active mode its latest status reports."""
    mode_key = "Id" if control_type == DDBC else "id"
    parts: list[tuple[str | None, Message]]
    if control_type == OMBC:
        parts = [(None, description)]
    else:
        parts = [(str(a["id"]), a) for a in description.get("actuators", [])]
    out = []
    for actuator, part in parts:
        active = None
        for status in statuses:
            if control_type == OMBC or status.get("actuator_id") == actuator:
                active = status.get("active_operation_mode_id")
        if not isinstance(active, str):
            continue
        modes = frozenset(
            str(m[mode_key]) for m in part.get("operation_modes", []) if not m.get("abnormal_condition_only")
        )
        timers = {str(t["id"]): int(t["duration"]) for t in part.get("timers", [])}
        out.append(_Machine(control_type, actuator, modes, tuple(part.get("transitions", [])), timers, active))
    return out


async def _setup(probe: Probe, ctx: CaseContext, control_type: str) -> tuple[list[_Machine], Message]:
    """Select the control type, collect its first statuses (and any running timers) and the description."""
    _, description = await _ready(probe, ctx, control_type)
    await probe.expect_type(_STATUS[control_type])
    await probe.drain(0.5)
    statuses = [m for m in probe.received if m.get("message_type") == _STATUS[control_type]]
    return _machines(control_type, description, statuses), description


def _running(probe: Probe, control_type: str, machine: _Machine) -> set[str]:
    """Timers the RM reported as running for at least another minute."""
    now = datetime.now(UTC)
    out = set()
    for m in probe.received:
        if m.get("message_type") != _TIMER_STATUS[control_type] or m.get("timer_id") not in machine.timers:
            continue
        if machine.actuator is not None and m.get("actuator_id") != machine.actuator:
            continue
        try:
            finished = datetime.fromisoformat(str(m.get("finished_at")).replace("Z", "+00:00"))
        except ValueError:
            continue
        if (finished - now).total_seconds() * 1000 > _LONG_ENOUGH_MS:
            out.add(str(m["timer_id"]))
    return out


async def _require_refused(probe: Probe, machine: _Machine, mode: str, what: str) -> None:
    """Send the forbidden instruction; it must be refused and the RM must not switch."""
    instruction = machine.instruction(mode)
    seen = len(probe.received)
    ident = await probe.send(instruction)
    answer = await probe.status_of(ident, what)
    if answer not in ("OK", "INVALID_CONTENT"):
        raise CaseFailed(
            f"the RM answered {answer} to {what}; a well-formed instruction breaking a rule is INVALID_CONTENT"
        )
    if answer == "OK":
        await probe.expect(
            lambda m: m.get("instruction_id") == instruction["id"] and m.get("status_type") in _TERMINAL,
            f"a terminal InstructionStatusUpdate for {what}",
        )
    await probe.drain(0.5)
    statuses = _updates(probe, instruction["id"])
    if answer == "OK" and (statuses[-1:] != ["REJECTED"] or {"STARTED", "SUCCEEDED"} & set(statuses)):
        raise CaseFailed(f"{what} was accepted and went {' > '.join(statuses)}; expected it REJECTED")
    if answer != "OK" and statuses:
        raise CaseFailed(f"the RM refused {what} and still reported it {' > '.join(statuses)}")
    for message in probe.received[seen:]:
        if message.get("message_type") != _STATUS[machine.control_type]:
            continue
        if machine.actuator is not None and message.get("actuator_id") != machine.actuator:
            continue
        if message.get("active_operation_mode_id") == mode:
            raise CaseFailed(f"after {what} the RM reported the forbidden mode {mode} active: it switched anyway")


async def _missing_transition(probe: Probe, ctx: CaseContext, control_type: str) -> None:
    machines, _ = await _setup(probe, ctx, control_type)
    for machine in machines:
        reachable = {t["to"] for t in machine.transitions if t["from"] == machine.active}
        unreachable = sorted(machine.modes - reachable - {machine.active})
        if unreachable:
            what = f"an instruction from mode {machine.active} to {unreachable[0]}, along no transition"
            await _require_refused(probe, machine, unreachable[0], what)
            return
    raise CaseSkipped("every mode is reachable from the active one: no switch along no transition to ask for")


async def _blocked_by_timer(probe: Probe, ctx: CaseContext, control_type: str) -> None:
    machines, _ = await _setup(probe, ctx, control_type)
    for machine in machines:  # a timer the RM reports as running blocks a way out of the active mode
        running = _running(probe, control_type, machine)
        for t in machine.usable():
            blocked = set(t.get("blocking_timers", [])) & running
            if t["from"] == machine.active and t["to"] != machine.active and blocked:
                what = f"an instruction to {t['to']} while timer {sorted(blocked)[0]} blocks the transition"
                await _require_refused(probe, machine, t["to"], what)
                return
    for machine in machines:  # or a first switch starts a timer that blocks the way on
        running = _running(probe, control_type, machine)
        for first in machine.usable():
            if first["from"] != machine.active or first["to"] == machine.active:
                continue
            if set(first.get("blocking_timers", [])) & running:
                continue
            started = {x for x in first.get("start_timers", []) if machine.timers.get(x, 0) >= _LONG_ENOUGH_MS}
            for then in machine.usable():
                blocked = set(then.get("blocking_timers", [])) & started
                if then["from"] != first["to"] or then["to"] == first["to"] or not blocked:
                    continue
                await _switch(probe, machine, first["to"])
                switched = replace(machine, active=first["to"])
                what = f"an instruction to {then['to']} while timer {sorted(blocked)[0]} (just started) blocks it"
                await _require_refused(probe, switched, then["to"], what)
                return
    raise CaseSkipped("no transition out of the active mode, or out of the next one, is blocked by a long timer")


async def _switch(probe: Probe, machine: _Machine, mode: str) -> None:
    """The first, allowed switch: answered OK and SUCCEEDED (else the case cannot go on)."""
    instruction = machine.instruction(mode)
    ident = await probe.send(instruction)
    await probe.require_status(ident, {"OK"}, f"an allowed instruction to mode {mode}")
    done = await probe.expect(
        lambda m: m.get("instruction_id") == instruction["id"] and m.get("status_type") in _TERMINAL,
        f"a terminal status of the allowed instruction to mode {mode}",
    )
    if done.get("status_type") != "SUCCEEDED":
        raise CaseSkipped(f"the RM did not carry out the allowed switch to {mode} ({done.get('status_type')})")


def _register(number: int, control_type: str, tag: str, kind: str, rules: tuple[str, ...]) -> None:
    name = tag.upper()
    if kind == "timers":

        async def script(probe: Probe, ctx: CaseContext) -> None:
            await _blocked_by_timer(probe, ctx, control_type)

        title = f"{name}: a switch blocked by a running timer is refused and not carried out"
        script.__doc__ = (
            f"With {control_type} active, the tester asks for a switch whose transition is blocked by a running "
            "timer (one the RM reports running, or one a first allowed switch just started). The RM answers "
            "INVALID_CONTENT, or OK and then REJECTED; it never reports the instruction STARTED or SUCCEEDED "
            "nor the forbidden mode active."
        )
        sections: tuple[str, ...] = ("Transition", "Timer", f"{name}.TimerStatus", _INSTRUCTION[control_type])
    else:

        async def script(probe: Probe, ctx: CaseContext) -> None:
            await _missing_transition(probe, ctx, control_type)

        title = f"{name}: a switch along no transition is refused and not carried out"
        script.__doc__ = (
            f"With {control_type} active, the tester asks for an operation mode that no transition leads to from "
            "the active one. The RM answers INVALID_CONTENT, or OK and then REJECTED; it never reports the "
            "instruction STARTED or SUCCEEDED nor the mode active."
        )
        sections = ("Transition", _INSTRUCTION[control_type])
    case(number, "rm", title, rules=rules, sections=sections, tags=(tag, "instruction", kind))(script)


_register(41, FRBC, "frbc", "timers", ("S2-FRBC-026", "S2-INSTR-002"))
_register(42, FRBC, "frbc", "transitions", ("S2-FRBC-025", "S2-INSTR-002"))
_register(43, OMBC, "ombc", "timers", ("S2-OMBC-015", "S2-INSTR-002"))
_register(44, OMBC, "ombc", "transitions", ("S2-OMBC-014", "S2-INSTR-002"))
_register(45, DDBC, "ddbc", "timers", ("S2-DDBC-021", "S2-INSTR-002"))
_register(46, DDBC, "ddbc", "transitions", ("S2-DDBC-020", "S2-INSTR-002"))
