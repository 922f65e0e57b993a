"""Cases that test a Resource Manager's control types: descriptions, statuses, instruction lifecycles.

The tester plays the CEM, one fresh session per case (see :mod:`.rm_cases` for the session-level cases
and the helpers shared with these). A case for a control type the RM does not offer is skipped.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from .cases import CaseContext, CaseSkipped, case
from .probe import CaseFailed, Message, PeerClosed, Probe, new_id
from .rm_cases import _ERRORS, DDBC, FRBC, OMBC, PEBC, PPBC, _frbc_instruction, _frbc_target, _now, _ready, _ts

__all__ = ["ddbc_instruction", "ombc_instruction", "pebc_instruction", "ppbc_instruction", "revoke_ahead"]


def _updates(probe: Probe, instruction_id: str) -> list[str]:
    return [
        str(m.get("status_type"))
        for m in probe.received
        if m.get("message_type") == "InstructionStatusUpdate" and m.get("instruction_id") == instruction_id
    ]


_TERMINAL = {"REJECTED", "REVOKED", "SUCCEEDED", "ABORTED"}


def _check_order(statuses: list[str]) -> None:
    for index, status in enumerate(statuses[:-1]):
        if status in _TERMINAL:
            raise CaseFailed(f"status {statuses[index + 1]} came after the terminal {status} ({' > '.join(statuses)})")
    if "SUCCEEDED" in statuses and "STARTED" not in statuses[: statuses.index("SUCCEEDED")]:
        raise CaseFailed(f"SUCCEEDED was reported before STARTED ({' > '.join(statuses)})")


async def _lifecycle(probe: Probe, instruction: dict[str, Any], what: str) -> list[str]:
    ident = await probe.send(instruction)
    await probe.require_status(ident, {"OK"}, what)
    ident_i = instruction["id"]
    await probe.expect(
        lambda m: m.get("instruction_id") == ident_i and m.get("status_type") in _TERMINAL,
        f"a terminal InstructionStatusUpdate for {what}",
    )
    await probe.drain(0.3)
    statuses = _updates(probe, ident_i)
    _check_order(statuses)
    return statuses


@case(
    30,
    "rm",
    "FRBC: description, statuses, and an instruction to a terminal status",
    rules=("S2-FRBC-021", "S2-FRBC-025", "S2-INSTR-001", "S2-INSTR-002", "S2-INSTR-003"),
    sections=("FRBC.SystemDescription", "FRBC.ActuatorStatus", "FRBC.Instruction", "InstructionStatusUpdate"),
    tags=("frbc", "instruction"),
)
async def rm_frbc_flow(probe: Probe, ctx: CaseContext) -> None:
    """After selection the RM sends SystemDescription, ActuatorStatus and StorageStatus; an instruction along
    a transition is answered OK and reported up to a terminal status, in order, nothing after it."""
    _, description = await _ready(probe, ctx, FRBC)
    status = await probe.expect_type("FRBC.ActuatorStatus")
    await probe.expect_type("FRBC.StorageStatus")
    actuator, mode = _frbc_target(description, status)
    await _lifecycle(probe, _frbc_instruction(actuator, mode["id"], _now()), "an FRBC.Instruction")


@case(
    31,
    "rm",
    "FRBC: a revoked instruction is reported REVOKED and not carried out",
    rules=("S2-REVOKE-001", "S2-REVOKE-002", "S2-INSTR-002"),
    sections=("RevokeObject", "InstructionStatusUpdate"),
    tags=("frbc", "instruction", "revocation"),
)
async def rm_frbc_revoke(probe: Probe, ctx: CaseContext) -> None:
    """An instruction for one hour ahead is accepted; RevokeObject is answered OK; the RM reports REVOKED and
    never STARTED or SUCCEEDED for it."""
    _, description = await _ready(probe, ctx, FRBC)
    status = await probe.expect_type("FRBC.ActuatorStatus")
    actuator, mode = _frbc_target(description, status)
    await revoke_ahead(probe, _frbc_instruction(actuator, mode["id"], _now(3600)), "FRBC.Instruction")


async def revoke_ahead(probe: Probe, instruction: dict[str, Any], object_type: str) -> None:
    """Send an instruction for later (answered OK), revoke it (answered OK): it must end REVOKED, never
    STARTED or SUCCEEDED, and nothing may follow."""
    what = f"the {object_type} for one hour ahead"
    ident = await probe.send(instruction)
    await probe.require_status(ident, {"OK"}, what)
    await probe.drain(0.2)
    if _updates(probe, instruction["id"])[-1:] == ["REJECTED"]:
        raise CaseSkipped(f"the RM rejected {what} (its own policy): nothing left to revoke")
    revoke = await probe.send(
        {"message_type": "RevokeObject", "object_type": object_type, "object_id": instruction["id"]}
    )
    await probe.require_status(revoke, {"OK"}, f"RevokeObject of {what}")
    await probe.expect(
        lambda m: m.get("instruction_id") == instruction["id"] and m.get("status_type") in _TERMINAL,
        "the revoked instruction's terminal status",
    )
    await probe.drain(0.3)
    statuses = _updates(probe, instruction["id"])
    _check_order(statuses)
    if statuses[-1] != "REVOKED" or {"STARTED", "SUCCEEDED"} & set(statuses):
        raise CaseFailed(f"the revoked instruction went {' > '.join(statuses)}; expected it to end REVOKED")


@case(
    32,
    "rm",
    "FRBC: an operation mode without a transition from the active one is not started",
    rules=("S2-FRBC-024", "S2-FRBC-025"),
    sections=("FRBC.Instruction", "Transition"),
    tags=("frbc", "instruction", "transitions"),
)
async def rm_frbc_transition(probe: Probe, ctx: CaseContext) -> None:
    """An instruction naming an operation mode that does not exist is refused (INVALID_CONTENT) or REJECTED."""
    _, description = await _ready(probe, ctx, FRBC)
    status = await probe.expect_type("FRBC.ActuatorStatus")
    actuator, _mode = _frbc_target(description, status)
    instruction = _frbc_instruction(actuator, "no-such-mode", _now())
    ident = await probe.send(instruction)
    answer = await probe.status_of(ident, "an FRBC.Instruction to an unknown operation mode")
    if answer == "OK":
        await probe.expect(
            lambda m: m.get("instruction_id") == instruction["id"] and m.get("status_type") in _TERMINAL,
            "a terminal status for the impossible instruction",
        )
        statuses = _updates(probe, instruction["id"])
        if statuses[-1] != "REJECTED":
            raise CaseFailed(f"an instruction to an unknown mode went {' > '.join(statuses)}")
    elif answer not in _ERRORS:
        raise CaseFailed(f"the RM answered {answer} to an instruction to an unknown operation mode")


@case(
    33,
    "rm",
    "OMBC: description, status, and an instruction to a terminal status",
    rules=("S2-OMBC-011", "S2-OMBC-013", "S2-OMBC-014", "S2-INSTR-002"),
    sections=("OMBC.SystemDescription", "OMBC.Status", "OMBC.Instruction"),
    tags=("ombc", "instruction"),
)
async def rm_ombc_flow(probe: Probe, ctx: CaseContext) -> None:
    """The RM describes its modes and reports its status; an instruction along a transition ends terminally."""
    _, description = await _ready(probe, ctx, OMBC)
    status = await probe.expect_type("OMBC.Status")
    instruction = ombc_instruction(description, status, 0.0)
    await _lifecycle(probe, instruction, "an OMBC.Instruction")


@case(
    34,
    "rm",
    "PEBC: power constraints and energy constraint",
    rules=("S2-PEBC-001", "S2-PEBC-002", "S2-PEBC-004"),
    sections=("PEBC.PowerConstraints", "PEBC.EnergyConstraint"),
    tags=("pebc",),
)
async def rm_pebc_flow(probe: Probe, ctx: CaseContext) -> None:
    """After selection the RM sends its PowerConstraints (judged by the catalogue) and keeps the session up."""
    await _ready(probe, ctx, PEBC)
    await probe.drain(1.0)


@case(
    35,
    "rm",
    "PPBC: power profile definition and its status",
    rules=("S2-PPBC-001", "S2-PPBC-009", "S2-PPBC-010"),
    sections=("PPBC.PowerProfileDefinition", "PPBC.PowerProfileStatus"),
    tags=("ppbc",),
)
async def rm_ppbc_flow(probe: Probe, ctx: CaseContext) -> None:
    """After selection the RM defines its power profile and reports the status of its containers."""
    await _ready(probe, ctx, PPBC)
    await probe.expect_type("PPBC.PowerProfileStatus")


@case(
    36,
    "rm",
    "DDBC: description and actuator status",
    rules=("S2-DDBC-016",),
    sections=("DDBC.SystemDescription", "DDBC.ActuatorStatus"),
    tags=("ddbc",),
)
async def rm_ddbc_flow(probe: Probe, ctx: CaseContext) -> None:
    """After selection the RM describes its actuators and reports their status."""
    await _ready(probe, ctx, DDBC)
    await probe.expect_type("DDBC.ActuatorStatus")


async def _until_terminal_or_revoked(probe: Probe, instruction: dict[str, Any], object_type: str, what: str) -> None:
    """Send; it must be answered OK and end terminally. An instruction still running after a second
    (a device whose program lasts hours) is revoked, and must then end REVOKED."""
    ident = await probe.send(instruction)
    await probe.require_status(ident, {"OK"}, what)
    ident_i = instruction["id"]
    saved = probe.deadline
    probe.deadline = min(saved, time.monotonic() + 1.0)
    try:
        await probe.expect(
            lambda m: m.get("instruction_id") == ident_i and m.get("status_type") in _TERMINAL, "a terminal status"
        )
        probe.deadline = saved
    except PeerClosed:
        raise
    except CaseFailed:
        probe.deadline = saved
        if not _updates(probe, ident_i):
            raise CaseFailed(f"no InstructionStatusUpdate for {what} within a second") from None
        revoke = await probe.send({"message_type": "RevokeObject", "object_type": object_type, "object_id": ident_i})
        await probe.require_status(revoke, {"OK"}, f"RevokeObject of {what}")
        await probe.expect(
            lambda m: m.get("instruction_id") == ident_i and m.get("status_type") in _TERMINAL,
            f"a terminal status for the revoked {what}",
        )
    await probe.drain(0.3)
    _check_order(_updates(probe, ident_i))


@case(
    37,
    "rm",
    "DDBC: an instruction along a transition to a terminal status",
    rules=("S2-DDBC-013", "S2-DDBC-016", "S2-INSTR-002", "S2-INSTR-003"),
    sections=("DDBC.Instruction", "InstructionStatusUpdate"),
    tags=("ddbc", "instruction", "transitions"),
)
async def rm_ddbc_instruction(probe: Probe, ctx: CaseContext) -> None:
    """An instruction for the actuator's mode reachable from the active one is answered OK and ends terminally
    (revoked, and then REVOKED, when it is still running after a second)."""
    _, description = await _ready(probe, ctx, DDBC)
    status = await probe.expect_type("DDBC.ActuatorStatus")
    instruction = ddbc_instruction(description, status, 0.0)
    await _until_terminal_or_revoked(probe, instruction, "DDBC.Instruction", "a DDBC.Instruction")


def _widest_envelopes(constraints: Message, *, elements: int) -> list[dict[str, Any]]:
    """One envelope per commodity quantity: the widest the normal ranges allow, ``elements`` of one second."""
    envelopes = []
    quantities = {r["commodity_quantity"] for r in constraints.get("allowed_limit_ranges", [])}
    for quantity in sorted(quantities):
        ranges = [
            r
            for r in constraints["allowed_limit_ranges"]
            if r["commodity_quantity"] == quantity and not r["abnormal_condition_only"]
        ]
        upper = [r["range_boundary"]["end_of_range"] for r in ranges if r["limit_type"] == "UPPER_LIMIT"]
        lower = [r["range_boundary"]["start_of_range"] for r in ranges if r["limit_type"] == "LOWER_LIMIT"]
        if upper and lower and min(lower) <= max(upper):
            element = {"duration": 1000, "upper_limit": max(upper), "lower_limit": min(lower)}
            envelopes.append(
                {"id": new_id(), "commodity_quantity": quantity, "power_envelope_elements": [element] * elements}
            )
    if not envelopes:
        raise CaseSkipped("the PowerConstraints allow no envelope without abnormal conditions")
    return envelopes


@case(
    38,
    "rm",
    "PEBC: an envelope inside the constraints to a terminal status",
    rules=("S2-PEBC-010", "S2-PEBC-011", "S2-PEBC-013", "S2-PEBC-014", "S2-INSTR-002"),
    sections=("PEBC.Instruction", "InstructionStatusUpdate"),
    tags=("pebc", "instruction"),
)
async def rm_pebc_instruction(probe: Probe, ctx: CaseContext) -> None:
    """The widest envelope the RM's PowerConstraints allow, for one second, is answered OK and ends terminally."""
    _, constraints = await _ready(probe, ctx, PEBC)
    instruction = pebc_instruction(constraints, 0.0, elements=1)
    await _until_terminal_or_revoked(probe, instruction, "PEBC.Instruction", "a PEBC.Instruction")


@case(
    39,
    "rm",
    "PPBC: a scheduled sequence to a terminal status",
    rules=("S2-PPBC-011", "S2-PPBC-012", "S2-PPBC-014", "S2-REVOKE-001", "S2-INSTR-002"),
    sections=("PPBC.ScheduleInstruction", "RevokeObject", "InstructionStatusUpdate"),
    tags=("ppbc", "instruction", "revocation"),
)
async def rm_ppbc_instruction(probe: Probe, ctx: CaseContext) -> None:
    """Scheduling the first sequence of the first container is answered OK and ends terminally (a program
    still running after a second is revoked and must end REVOKED)."""
    _, profile = await _ready(probe, ctx, PPBC)
    instruction = ppbc_instruction(profile, 0.0)
    await _until_terminal_or_revoked(probe, instruction, "PPBC.ScheduleInstruction", "a PPBC.ScheduleInstruction")


@case(
    40,
    "rm",
    "PEBC: an instruction with 288-element envelopes is accepted",
    rules=("S2-PEBC-008", "S2-PEBC-013", "S2-PEBC-014"),
    sections=("PEBC.Instruction", "PEBC.PowerEnvelope"),
    tags=("pebc", "large"),
)
async def rm_pebc_large(probe: Probe, ctx: CaseContext) -> None:
    """The schema's largest envelope (288 elements) inside the constraints is answered OK."""
    _, constraints = await _ready(probe, ctx, PEBC)
    instruction = pebc_instruction(constraints, 0.0, elements=288)
    ident = await probe.send(instruction)
    await probe.require_status(ident, {"OK"}, "a PEBC.Instruction with 288-element envelopes")


# --- instructions the cases build (``offset``: seconds from now to the execution time) -----------------


def _target(modes: set[str], transitions: list[Message], active: object) -> object:
    """A mode reachable from ``active`` along a normal transition no timer blocks, else ``active`` itself."""
    for t in transitions:
        if (
            t["from"] == active
            and t["to"] in modes
            and not t.get("abnormal_condition_only")
            and not t.get("blocking_timers")
        ):
            return t["to"]
    return active


def ombc_instruction(description: Message, status: Message, offset: float, *, stay: bool = False) -> dict[str, Any]:
    """To a mode reachable from the active one (``stay``: the active mode itself, which needs no transition)."""
    modes = {m["id"] for m in description.get("operation_modes", []) if not m.get("abnormal_condition_only")}
    active = status.get("active_operation_mode_id")
    target = active if stay else _target(modes, description.get("transitions", []), active)
    return {
        "message_type": "OMBC.Instruction",
        "id": new_id(),
        "execution_time": _now(offset),
        "operation_mode_id": target,
        "operation_mode_factor": 1.0,
        "abnormal_condition": False,
    }


def ddbc_instruction(description: Message, status: Message, offset: float, *, stay: bool = False) -> dict[str, Any]:
    """For the status's actuator, as :func:`ombc_instruction`."""
    actuators = {a["id"]: a for a in description.get("actuators", [])}
    actuator = actuators.get(status.get("actuator_id"))
    if actuator is None:
        raise CaseFailed("DDBC.ActuatorStatus names no actuator of the DDBC.SystemDescription")
    modes = {m["Id"] for m in actuator["operation_modes"] if not m.get("abnormal_condition_only")}
    active = status.get("active_operation_mode_id")
    target = active if stay else _target(modes, actuator.get("transitions", []), active)
    return {
        "message_type": "DDBC.Instruction",
        "id": new_id(),
        "execution_time": _now(offset),
        "abnormal_condition": False,
        "actuator_id": actuator["id"],
        "operation_mode_id": target,
        "operation_mode_factor": 1.0,
    }


def pebc_instruction(constraints: Message, offset: float, *, elements: int) -> dict[str, Any]:
    return {
        "message_type": "PEBC.Instruction",
        "id": new_id(),
        "execution_time": _now(offset),
        "abnormal_condition": False,
        "power_constraints_id": constraints["id"],
        "power_envelopes": _widest_envelopes(constraints, elements=elements),
    }


def ppbc_instruction(profile: Message, offset: float) -> dict[str, Any]:
    """The first normal sequence of the first container, at the profile's start (or now) plus ``offset``."""
    containers = profile.get("power_sequences_containers", [])
    sequences = [
        s for s in (containers[0]["power_sequences"] if containers else []) if not s["abnormal_condition_only"]
    ]
    if not sequences:
        raise CaseSkipped("the first container has no sequence usable without abnormal conditions")
    start = max(datetime.now(UTC), datetime.fromisoformat(str(profile["start_time"]).replace("Z", "+00:00")))
    return {
        "message_type": "PPBC.ScheduleInstruction",
        "id": new_id(),
        "power_profile_id": profile["id"],
        "sequence_container_id": containers[0]["id"],
        "power_sequence_id": sequences[0]["id"],
        "execution_time": _ts(start + timedelta(seconds=offset)),
        "abnormal_condition": False,
    }
