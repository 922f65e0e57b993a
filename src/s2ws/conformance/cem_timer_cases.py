"""Cases that test a CEM honours the RM's timers: the tester plays an RM whose way out of its active mode
is blocked by a running timer, and every instruction the CEM sends must keep to it.

The RM's content comes from s2ws's simulators (the heat pump for FRBC, the generator for OMBC, both off
at the start); right after the first status the tester adds a TimerStatus saying that the timer
blocking the start transition runs for another hour, and (FRBC) reports a cold tank, so that a planner
would want to start the device now. The rule
catalogue judges every instruction of the CEM (S2-FRBC-026 / S2-OMBC-015); the case also checks that none
asks for the blocked mode.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .cases import CaseContext, CaseSkipped, case
from .cem_cases import rm_session
from .probe import CaseFailed, Message, Probe, new_id

__all__: list[str] = []

_HOLD = 3.0
"""Seconds the tester waits for instructions once the timer is running."""


def _blocked_start(part: Message, active: str) -> tuple[str, set[str], Message] | None:
    """A timer that blocks a normal transition out of ``active``: (timer id, blocked target modes, timer)."""
    timers = {t["id"]: t for t in part.get("timers", [])}
    for transition in part.get("transitions", []):
        if transition["from"] != active or transition.get("abnormal_condition_only"):
            continue
        for timer_id in transition.get("blocking_timers", []):
            if timer_id in timers:
                blocked = {
                    t["to"]
                    for t in part.get("transitions", [])
                    if t["from"] == active and timer_id in t.get("blocking_timers", [])
                }
                return timer_id, blocked, timers[timer_id]
    return None


async def _honours_timer(probe: Probe, ctx: CaseContext, device: str, control_type: str, prefix: str) -> None:
    status_type = f"{prefix}.ActuatorStatus" if prefix == "FRBC" else f"{prefix}.Status"
    finished = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    found: list[tuple[str, set[str], str]] = []

    def amend(burst: list[Message]) -> list[Message]:
        """Right after the status: the blocking timer runs for another hour (and, FRBC, the tank is cold)."""
        description = next((m for m in burst if m.get("message_type") == f"{prefix}.SystemDescription"), None)
        status = next((m for m in burst if m.get("message_type") == status_type), None)
        if description is None or status is None:
            return burst
        part = description if prefix == "OMBC" else description["actuators"][0]
        blocking = _blocked_start(part, str(status["active_operation_mode_id"]))
        if blocking is None:
            return burst
        timer_id, blocked, _ = blocking
        timer: Message = {
            "message_type": f"{prefix}.TimerStatus",
            "message_id": new_id(),
            "timer_id": timer_id,
            "finished_at": finished,
        }
        if prefix != "OMBC":
            timer["actuator_id"] = part["id"]
        found.append((timer_id, blocked, timer["message_id"]))
        out = []
        for message in burst:
            if message.get("message_type") == "FRBC.StorageStatus":
                low = description["storage"]["fill_level_range"]["start_of_range"]
                message = {**message, "present_fill_level": low}
            out.append(message)
            if message is status:
                out.append(timer)
        return out

    _, selection = await rm_session(probe, ctx, device, amend=amend)
    if selection.get("control_type") != control_type:
        raise CaseFailed(f"offered only {control_type}, the CEM selected {selection.get('control_type')}")
    if not found:
        raise CaseSkipped(f"no transition out of the {device} simulator's active mode is blocked by a timer")
    timer_id, blocked, timer_message = found[0]
    await probe.drain(_HOLD)
    key = "operation_mode" if prefix == "FRBC" else "operation_mode_id"
    read = next(
        (n for n, m in enumerate(probe.received) if m.get("subject_message_id") == timer_message), len(probe.received)
    )
    for message in probe.received[read:]:  # what the CEM sent once it had read the TimerStatus
        if message.get("message_type") == f"{prefix}.Instruction" and message.get(key) in blocked:
            raise CaseFailed(
                f"the CEM instructed operation mode {message.get(key)} while timer {timer_id} blocks the "
                f"transition to it until {finished}"
            )


@case(
    115,
    "cem",
    "FRBC: the CEM does not switch along a transition a running timer blocks",
    rules=("S2-FRBC-025", "S2-FRBC-026"),
    sections=("Transition", "Timer", "FRBC.TimerStatus", "FRBC.Instruction"),
    tags=("frbc", "timers"),
)
async def cem_frbc_timer(probe: Probe, ctx: CaseContext) -> None:
    """An FRBC heat pump, off, reports that the timer blocking its start runs for another hour and that its
    tank is at the bottom of its range; for the next seconds no instruction of the CEM starts it."""
    await _honours_timer(probe, ctx, "heatpump", "FILL_RATE_BASED_CONTROL", "FRBC")


@case(
    116,
    "cem",
    "OMBC: the CEM does not switch along a transition a running timer blocks",
    rules=("S2-OMBC-014", "S2-OMBC-015"),
    sections=("Transition", "Timer", "OMBC.TimerStatus", "OMBC.Instruction"),
    tags=("ombc", "timers"),
)
async def cem_ombc_timer(probe: Probe, ctx: CaseContext) -> None:
    """An OMBC generator, off, reports that its cool-down timer, which blocks its start, runs for another
    hour; for the next seconds no instruction of the CEM starts it."""
    await _honours_timer(probe, ctx, "generator", "OPERATION_MODE_BASED_CONTROL", "OMBC")
