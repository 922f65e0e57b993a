"""The PPBC instruction rules (S2-PPBC-011..020), each finding made in one place for the rule
context, the CEM's view and the RM's device.

The callers keep different records (a replay its transcript, the view and the device a model of
every container), so each works out the facts (which sequence a container holds, when the
previous one ends, the window a sequence still fits) and these functions judge them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

from ..findings import Finding
from ..messages import timeline
from ..messages.base import UNSET, UnsetType
from ..messages.enums import PPBCPowerSequenceStatus
from ..messages.ppbc import PPBCPowerProfileDefinition, PPBCPowerSequence
from .catalogue import finding

__all__ = [
    "Kind",
    "after_aborted",
    "container_taken",
    "find_sequence",
    "judge_after_previous",
    "judge_before_next",
    "judge_window",
    "no_selected_sequence",
    "not_interruptible",
    "not_selected",
    "outside_profile",
    "sequence_abnormal",
    "span",
    "unknown_profile",
    "wrong_state",
]

Kind = Literal["interrupt", "resume"]
_MS: Final = timedelta(milliseconds=1)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def span(ms: float) -> str:
    """A duration as a person reads it: 90 min, 45 s, 1500 ms."""
    ms = round(ms)
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def _interruption_rule(kind: Kind) -> str:
    return "S2-PPBC-018" if kind == "interrupt" else "S2-PPBC-019"


def unknown_profile(profile_id: str, why: str) -> Finding:
    """S2-PPBC-011: the instruction names a PowerProfileDefinition not in force (``why``)."""
    return finding("S2-PPBC-011", "/power_profile_id", f"PowerProfileDefinition {profile_id} {why}")


def no_container(profile_id: str, container_id: str) -> Finding:
    """S2-PPBC-012: the container is not one of the profile's."""
    return finding("S2-PPBC-012", "/sequence_container_id", f"{container_id} is not a container of {profile_id}")


def find_sequence(
    definition: PPBCPowerProfileDefinition, container_id: str, sequence_id: str
) -> tuple[int, PPBCPowerSequence] | Finding:
    """S2-PPBC-012: (container index, sequence) the instruction names, or why there is none."""
    for index, container in enumerate(definition.power_sequences_containers):
        if container.id == container_id:
            sequence = next((s for s in container.power_sequences if s.id == sequence_id), None)
            if sequence is None:
                reason = f"{sequence_id} is not a sequence of container {container_id}"
                return finding("S2-PPBC-012", "/power_sequence_id", reason)
            return index, sequence
    return no_container(definition.id, container_id)


def sequence_abnormal(sequence: PPBCPowerSequence, abnormal: bool) -> Finding | None:
    """S2-PPBC-013: an abnormal-only sequence needs ``abnormal_condition``."""
    if not sequence.abnormal_condition_only or abnormal:
        return None
    return finding(
        "S2-PPBC-013", "/abnormal_condition", f"sequence {sequence.id} may only run under an abnormal condition"
    )


def outside_profile(definition: PPBCPowerProfileDefinition, start: datetime, end: datetime) -> Finding | None:
    """S2-PPBC-014: the sequence runs within the profile's [start_time, end_time]."""
    if definition.start_time <= start and end <= definition.end_time:
        return None
    reason = (
        f"the sequence would run {_iso(start)} to {_iso(end)}, outside "
        f"[{_iso(definition.start_time)}, {_iso(definition.end_time)}] of {definition.id}"
    )
    return finding("S2-PPBC-014", "/execution_time", reason)


def container_taken(container_id: str, status: str, sequence_id: str, schedule_id: str | None) -> Finding:
    """S2-PPBC-020: the container is scheduled (or further) already; ``schedule_id`` the
    instruction to revoke first, when there is one."""
    reason = f"container {container_id} is already {status} with sequence {sequence_id}"
    if schedule_id:
        reason += f"; revoke instruction {schedule_id} first"
    return finding("S2-PPBC-020", "/sequence_container_id", reason)


def after_aborted(container_id: str) -> Finding:
    """S2-PPBC-015: nothing runs after an aborted container."""
    reason = f"container {container_id} was aborted, so the containers after it cannot run"
    return finding("S2-PPBC-015", "/sequence_container_id", reason)


def judge_after_previous(
    start: datetime, before_end: datetime, before_name: str, sequence: PPBCPowerSequence
) -> Finding | None:
    """S2-PPBC-015/016: a sequence starts after the previous container ends, and within its
    ``max_pause_before`` of that end."""
    if start < before_end:
        reason = f"the sequence starts at {_iso(start)}, before container {before_name} ends at {_iso(before_end)}"
        return finding("S2-PPBC-015", "/execution_time", reason)
    if sequence.max_pause_before is not UNSET and start - before_end > timeline.span(sequence.max_pause_before):
        reason = (
            f"a pause of {span((start - before_end) / _MS)} after container {before_name} exceeds "
            f"max_pause_before {span(sequence.max_pause_before)} of sequence {sequence.id}"
        )
        return finding("S2-PPBC-016", "/execution_time", reason)
    return None


def judge_before_next(end: datetime, after_start: datetime, after_name: str, pause: int | UnsetType) -> Finding | None:
    """S2-PPBC-015/016: a sequence ends before the next container (already chosen) starts, and
    within that one's ``max_pause_before`` (``pause``, ms)."""
    if end > after_start:
        reason = f"the sequence would end at {_iso(end)}, after container {after_name} starts at {_iso(after_start)}"
        return finding("S2-PPBC-015", "/execution_time", reason)
    if pause is not UNSET and after_start - end > timeline.span(pause):
        reason = (
            f"the sequence would end {span((after_start - end) / _MS)} before container {after_name} starts, "
            f"more than its max_pause_before {span(pause)}"
        )
        return finding("S2-PPBC-016", "/execution_time", reason)
    return None


def judge_window(
    definition: PPBCPowerProfileDefinition,
    container_id: str,
    sequence: PPBCPowerSequence,
    start: datetime,
    window: tuple[datetime, datetime, bool] | None,
) -> Finding | None:
    """S2-PPBC-014/015/016 against the window the sequence still fits, given the containers
    around it: ``window`` is (earliest start, latest start, whether max_pause_before sets the
    latest), None when it fits nowhere."""
    if window is None:
        reason = (
            f"sequence {sequence.id} no longer fits in container {container_id}: with the containers "
            f"around it, it cannot run within [{_iso(definition.start_time)}, {_iso(definition.end_time)}]"
        )
        return finding("S2-PPBC-014", "/execution_time", reason)
    earliest, latest, pause_bound = window
    if start < earliest:
        reason = (
            f"the sequence starts at {_iso(start)}, but the containers before {container_id} "
            f"cannot have run by then; the earliest start is {_iso(earliest)}"
        )
        return finding("S2-PPBC-015", "/execution_time", reason)
    if start <= latest:
        return None
    if pause_bound:
        limit = span(sequence.max_pause_before) if sequence.max_pause_before is not UNSET else "?"
        reason = (
            f"the sequence starts at {_iso(start)}, which exceeds its max_pause_before "
            f"{limit} however late the container before it ends; the latest start is {_iso(latest)}"
        )
        return finding("S2-PPBC-016", "/execution_time", reason)
    reason = (
        f"the sequence starts at {_iso(start)}, too late for the containers after it to end "
        f"by {_iso(definition.end_time)}; the latest start is {_iso(latest)}"
    )
    return finding("S2-PPBC-014", "/execution_time", reason)


def not_interruptible(sequence: PPBCPowerSequence) -> Finding | None:
    """S2-PPBC-017: only an interruptible sequence is interrupted."""
    if sequence.is_interruptible:
        return None
    return finding("S2-PPBC-017", "/power_sequence_id", f"sequence {sequence.id} is not interruptible")


def not_selected(kind: Kind, sequence_id: str, container_id: str, held: str | None) -> Finding:
    """S2-PPBC-018/019: the interruption names a sequence its container does not hold."""
    holds = "no sequence" if held is None else f"sequence {held}"
    reason = f"sequence {sequence_id} is not selected in container {container_id} (it holds {holds})"
    return finding(_interruption_rule(kind), "/power_sequence_id", reason)


def no_selected_sequence(kind: Kind, container_id: str) -> Finding:
    """S2-PPBC-018/019 for a builder: nothing to interrupt or resume in the container."""
    return finding(_interruption_rule(kind), "/power_sequence_id", f"container {container_id} has no selected sequence")


def wrong_state(kind: Kind, sequence_id: str, state: PPBCPowerSequenceStatus, at: datetime) -> Finding:
    """S2-PPBC-018/019: a sequence is interrupted only while it runs, resumed only while interrupted."""
    verb = "interrupted" if kind == "interrupt" else "resumed"
    reason = f"sequence {sequence_id} is {state.value} at {_iso(at)}, so it cannot be {verb}"
    return finding(_interruption_rule(kind), "/execution_time", reason)
