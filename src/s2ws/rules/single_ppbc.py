"""Single-message rules of PPBC (power profile based control): a profile definition's
containers and sequences fit its window, and a profile status says what it must."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..messages import ppbc
from ..messages.base import UNSET, S2Message
from ..messages.enums import PPBCPowerSequenceStatus
from .catalogue import finding
from .single_base import (
    Out,
    distinct_quantities,
    first_dup,
    fmt_num,
    one_per_cq,
    sequence_duration_ms,
    zero_durations,
)

__all__ = ["PPBC_CHECKS"]


def _profile_definition(m: ppbc.PPBCPowerProfileDefinition) -> Out:
    window_ms = (m.end_time - m.start_time).total_seconds() * 1000
    containers = m.power_sequences_containers
    if window_ms > 0 and len({c.id for c in containers}) == len(containers):
        shortest_total = 0
        for container in containers:
            sequences = container.power_sequences
            if len({q.id for q in sequences}) != len(sequences):
                break
            shortest = -1
            for sequence in sequences:
                total = 0
                for element in sequence.elements:
                    if element.duration == 0 or not distinct_quantities(element.power_values):
                        shortest = -2
                        break
                    total += element.duration
                if shortest == -2:
                    break
                if shortest < 0 or total < shortest:
                    shortest = total
            if shortest == -2:
                break
            shortest_total += shortest
        else:
            if shortest_total <= window_ms:
                return []
    out: Out = []
    if window_ms <= 0:
        reason = f"end_time {m.end_time.isoformat()} is not after start_time {m.start_time.isoformat()}"
        out.append(finding("S2-PPBC-001", "/end_time", reason))
    if len(containers) > 1 and (index := first_dup([c.id for c in containers])) >= 0:
        reason = f"container id {containers[index].id} is used twice"
        out.append(finding("S2-PPBC-002", f"/power_sequences_containers/{index}/id", reason))
    shortest_total = 0
    for i, container in enumerate(containers):
        sequences = container.power_sequences
        base = f"/power_sequences_containers/{i}/power_sequences"
        if len(sequences) > 1 and (index := first_dup([s.id for s in sequences])) >= 0:
            out.append(finding("S2-PPBC-003", f"{base}/{index}/id", f"sequence id {sequences[index].id} is used twice"))
        for j, sequence in enumerate(sequences):
            for k, element in enumerate(sequence.elements):
                one_per_cq(out, "S2-PPBC-004", element.power_values, f"{base}/{j}/elements/{k}/power_values")
            zero_durations(out, sequence.elements, f"{base}/{j}/elements")
        shortest_total += min(map(sequence_duration_ms, sequences))
    if 0 < window_ms < shortest_total:
        reason = (
            f"the shortest choice of sequences runs {shortest_total} ms, "
            f"but start_time to end_time is only {fmt_num(window_ms)} ms"
        )
        out.append(finding("S2-PPBC-005", "/end_time", reason))
    return out


_STARTED = frozenset(
    {PPBCPowerSequenceStatus.EXECUTING, PPBCPowerSequenceStatus.INTERRUPTED, PPBCPowerSequenceStatus.FINISHED}
)


def _profile_status(m: ppbc.PPBCPowerProfileStatus) -> Out:
    out: Out = []
    statuses = m.sequence_container_status
    for index, status in enumerate(statuses):
        if status.status in _STARTED and status.progress is UNSET:
            reason = f"status {status.status.value} means the sequence started, so progress is required"
            out.append(finding("S2-PPBC-006", f"/sequence_container_status/{index}/progress", reason))
        if status.status is not PPBCPowerSequenceStatus.NOT_SCHEDULED and status.selected_sequence_id is UNSET:
            reason = f"status {status.status.value} needs the selected_sequence_id it refers to"
            out.append(finding("S2-PPBC-007", f"/sequence_container_status/{index}/selected_sequence_id", reason))
    if len(statuses) > 1:
        index = first_dup([(s.power_profile_id, s.sequence_container_id) for s in statuses])
        if index >= 0:
            reason = f"container {statuses[index].sequence_container_id} is reported twice"
            out.append(finding("S2-PPBC-008", f"/sequence_container_status/{index}", reason))
    return out


PPBC_CHECKS: Final[dict[type[S2Message], Callable[[Any], Out]]] = {
    ppbc.PPBCPowerProfileDefinition: _profile_definition,
    ppbc.PPBCPowerProfileStatus: _profile_status,
}
"""The checker of each PPBC message type."""
