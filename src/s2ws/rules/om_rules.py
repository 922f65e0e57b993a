"""The operation-mode instruction rules (OMBC, FRBC, DDBC; protocol §4.0), judged once for the
rule context, the CEM's views and the RM's devices.

Each caller works out what it knows at the instruction's execution time (the machine in force,
the mode expected to be active, the timers running, the fill level) and asks these functions;
they name the rule of the area (``OM_RULE_IDS``) and the values involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ..findings import Finding
from ..messages import FRBCOperationMode, FRBCOperationModeElement, Transition
from .catalogue_om import OM_RULE_IDS
from .om_machine import Area, Machine, OperationMode, _mode_pointer, _named, missing_rule, unknown_mode
from .single import fmt_num, judge_factor

__all__ = [
    "blocked_by",
    "element_for",
    "judge_factor",
    "judge_om_instruction",
    "judge_transition",
    "mode_abnormal",
    "no_description",
    "no_fill_level",
    "unknown_actuator",
    "unknown_mode",
]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def no_description(area: Area, moment: datetime | None, upcoming: datetime | None = None) -> Finding:
    """instr_om (OMBC) / instr_actuator: no description is in force (``moment`` None: none was
    received at all); ``upcoming`` is when the next one starts, if one is scheduled."""
    if moment is None:
        reason = f"no {area}.SystemDescription was received"
    else:
        later = f" (the next one is valid from {_iso(upcoming)})" if upcoming is not None else ""
        reason = f"no {area}.SystemDescription is in force at {_iso(moment)}{later}"
    pointer = _mode_pointer(area) if area == "OMBC" else "/actuator_id"
    return Finding(missing_rule(area), pointer, reason)


def unknown_actuator(area: Area, actuator_id: str, known: Iterable[str]) -> Finding:
    """instr_actuator: the instruction names an actuator the description in force lacks."""
    reason = f"{actuator_id} is not an actuator of the {area}.SystemDescription (it has {', '.join(known)})"
    return Finding(missing_rule(area), "/actuator_id", reason)


def mode_abnormal(machine: Machine, mode_id: str, mode: OperationMode, abnormal: bool) -> Finding | None:
    """abnormal: an abnormal-only mode needs ``abnormal_condition``."""
    if not mode.abnormal_condition_only or abnormal:
        return None
    reason = f"operation mode {machine.name(mode_id)} may only be used under an abnormal condition"
    return Finding(machine.rule("abnormal"), "/abnormal_condition", reason)


def no_fill_level(machine: Machine, mode: FRBCOperationMode) -> Finding:
    """fill_level: a mode of several elements needs a known fill level to choose one."""
    reason = (
        f"operation mode {machine.name(mode.id)} has {len(mode.elements)} elements "
        "and no fill level is known to choose one"
    )
    return Finding(machine.rule("fill_level"), "/operation_mode", reason)


def blocked_by(
    machine: Machine, transition: Transition, timers: Mapping[str, datetime], at: datetime
) -> tuple[datetime, Finding] | None:
    """transition_blocked: (when it unblocks, the finding) if a blocking timer of ``transition``
    still runs at ``at`` (``timers``: name -> when it finishes)."""
    running = [(timers[n], n) for n in transition.blocking_timers if n in timers]
    running = [(until, name) for until, name in running if until > at]
    if not running:
        return None
    until, name = max(running)
    timer = machine.timers.get(name)
    label = timer.diagnostic_label if timer is not None else None
    others = [n for _, n in running if n != name]
    also = f" (and by {', '.join(others)})" if others else ""
    reason = (
        f"{machine.arrow(transition)} is blocked by timer {_named(name, label)} until {_iso(until)}{also}, "
        f"after the execution time {_iso(at)}"
    )
    return until, Finding(machine.rule("transition_blocked"), "/execution_time", reason)


def judge_transition(
    machine: Machine,
    source: str,
    target: str,
    abnormal: bool,
    timers: Mapping[str, datetime],
    at: datetime,
    note: str = "",
) -> tuple[Transition | None, datetime | None, Finding | None]:
    """transition_exists, abnormal (of the transition), transition_blocked for a move from
    ``source`` to ``target`` at ``at``: (the transition, when a blocking timer ends, the first
    finding). ``note`` explains where ``source`` comes from."""
    transition = machine.transition(source, target)
    if transition is None:
        reason = f"{machine.owner} has no transition {machine.name(source)}→{machine.name(target)}{note}"
        return None, None, Finding(machine.rule("transition_exists"), _mode_pointer(machine.area), reason)
    if transition.abnormal_condition_only and not abnormal:
        reason = f"{machine.arrow(transition)} may only be used under an abnormal condition"
        return transition, None, Finding(machine.rule("abnormal"), "/abnormal_condition", reason)
    blocked = blocked_by(machine, transition, timers, at)
    if blocked is not None:
        return transition, blocked[0], blocked[1]
    return transition, None, None


def _element(mode: FRBCOperationMode, fill_level: float, owner: str, rule: str) -> FRBCOperationModeElement | Finding:
    top: FRBCOperationModeElement | None = None
    for element in mode.elements:
        level = element.fill_level_range
        if level.start_of_range <= fill_level < level.end_of_range:
            return element
        if fill_level == level.end_of_range:
            top = element
    if top is not None:
        return top
    covered = ", ".join(
        f"[{fmt_num(e.fill_level_range.start_of_range)}, {fmt_num(e.fill_level_range.end_of_range)}]"
        for e in mode.elements
    )
    where = f" of {owner}" if owner else ""
    reason = (
        f"operation mode {_named(mode.id, mode.diagnostic_label)}{where} has no element for fill level "
        f"{fmt_num(fill_level)} (its elements cover {covered})"
    )
    return Finding(rule or OM_RULE_IDS["FRBC"]["fill_level"], "/operation_mode", reason)


def element_for(
    mode: FRBCOperationMode, fill_level: float, *, owner: str = "", rule: str = ""
) -> FRBCOperationModeElement:
    """The element of an FRBC mode whose fill-level range holds ``fill_level``.

    Elements are contiguous, so a boundary level belongs to two of them; the one that starts
    there wins (ranges read as [start, end), the topmost also holds its end). A level outside
    every element raises :class:`~s2ws.errors.InstructionRefused` (the FRBC fill_level rule).
    """
    found = _element(mode, fill_level, owner, rule)
    if isinstance(found, Finding):
        raise found.refusal()
    return found


def judge_om_instruction(
    machine: Machine,
    mode_id: str,
    abnormal: bool,
    expected_mode: str | None,
    timers: Mapping[str, datetime],
    at: datetime,
    fill_level: float | None,
    note: str = "",
) -> list[Finding]:
    """Every rule of §4.0 that "mode ``mode_id`` from ``at``" breaks, in the catalogue's order:
    the mode exists, an abnormal-only mode only under an abnormal condition, a transition from
    ``expected_mode`` exists, is allowed and is not blocked by ``timers``, and (FRBC) the mode has
    an element for ``fill_level``. The factor is the single-message rules' business."""
    mode = machine.modes.get(mode_id)
    if mode is None:
        return [unknown_mode(machine, mode_id)]
    out: list[Finding] = []
    if (wrong := mode_abnormal(machine, mode_id, mode, abnormal)) is not None:
        out.append(wrong)
    if expected_mode is not None and expected_mode != mode_id:
        _, _, wrong = judge_transition(machine, expected_mode, mode_id, abnormal, timers, at, note)
        if wrong is not None:
            out.append(wrong)
    if isinstance(mode, FRBCOperationMode) and fill_level is not None:
        found = _element(mode, fill_level, machine.owner, "")
        if isinstance(found, Finding):
            out.append(found)
    return out
