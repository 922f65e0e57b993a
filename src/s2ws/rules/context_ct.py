"""The context rules of the control types: PEBC and PPBC instructions against what the RM
published, and the operation-mode machines of OMBC, FRBC and DDBC (statuses, timers,
instructions chained per actuator)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from ..findings import Finding
from ..messages import ddbc, frbc, ombc, pebc, ppbc
from ..messages.base import UNSET
from ..messages.enums import (
    EnergyManagementRole,
    PPBCPowerSequenceStatus,
)
from ..messages.timeline import later
from .catalogue import OM_RULE_IDS, finding
from .memory import (
    _MAX_DESCRIPTIONS,
    _MAX_PER_ACTUATOR,
    _OM_AREA,
    ContextMemory,
    Out,
    Undo,
    _Description,
    _discard,
    _Status,
    _target,
)
from .om_machine import Machine, machines_of
from .om_rules import judge_om_instruction, no_description, unknown_actuator
from .pebc_rules import judge_pebc_instruction
from .ppbc_rules import (
    Kind,
    container_taken,
    find_sequence,
    judge_after_previous,
    not_interruptible,
    not_selected,
    outside_profile,
    sequence_abnormal,
    unknown_profile,
    wrong_state,
)
from .single import fmt_num, sequence_duration_ms

if TYPE_CHECKING:
    pass

__all__ = ["ControlTypeRules"]


_RUNNING: Final = frozenset({PPBCPowerSequenceStatus.SCHEDULED, PPBCPowerSequenceStatus.EXECUTING})
"""Where the context lets an interruption start: it cannot tell a schedule that began from one
that is yet to begin (a ScheduleInstruction does not say when the RM started it)."""
_INTERRUPTED: Final = frozenset({PPBCPowerSequenceStatus.INTERRUPTED})


class ControlTypeRules(ContextMemory):
    """The ``_c_*`` (check) and ``_a_*`` (apply) steps of the control types' messages."""

    # --- PEBC ---------------------------------------------------------------------------------

    def _c_constraints(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        self._check_object_id(m, out)

    def _a_power_constraints(
        self, m: pebc.PEBCPowerConstraints, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_object(self._ct.constraints, m, undo)

    def _a_energy_constraint(
        self, m: pebc.PEBCEnergyConstraint, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_object(self._ct.energy, m, undo)

    def _c_pebc_instruction(
        self, m: pebc.PEBCInstruction, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        self._check_instruction_id(m, out)
        for i, envelope in enumerate(m.power_envelopes):
            earlier = self._envelope_ids.get(envelope.id)
            if earlier is not None and earlier != m.message_id:
                reason = f"envelope id {envelope.id} was already used by message {earlier}"
                out.append(finding("S2-ID-003", f"/power_envelopes/{i}/id", reason))
        ct = self._ct
        live = {key: p.message for key, p in ct.constraints.items() if not p.revoked}
        revoked = [key for key, p in ct.constraints.items() if p.revoked]
        energy = [p.message for p in ct.energy.values() if not p.revoked]
        out.extend(judge_pebc_instruction(m, now, live, revoked, energy))

    def _a_pebc_instruction(
        self, m: pebc.PEBCInstruction, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_instruction(m, now, undo)
        for envelope in m.power_envelopes:
            if envelope.id not in self._envelope_ids:
                self._set(self._envelope_ids, envelope.id, m.message_id, undo)

    # --- PPBC ---------------------------------------------------------------------------------

    def _c_profile(
        self, m: ppbc.PPBCPowerProfileDefinition, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        self._check_object_id(m, out)

    def _a_profile(
        self, m: ppbc.PPBCPowerProfileDefinition, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._record_object(self._ct.profiles, m, undo)

    def _live_profile(self, profile_id: str) -> ppbc.PPBCPowerProfileDefinition | None:
        published = self._ct.profiles.get(profile_id)
        return None if published is None or published.revoked else published.message

    def _c_profile_status(
        self, m: ppbc.PPBCPowerProfileStatus, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        reported: dict[str, set[str]] = {}
        for index, status in enumerate(m.sequence_container_status):
            where = f"/sequence_container_status/{index}"
            profile = self._live_profile(status.power_profile_id)
            if profile is None:
                reason = f"{status.power_profile_id} is not a PowerProfileDefinition in force"
                out.append(finding("S2-PPBC-009", where + "/power_profile_id", reason))
                continue
            reported.setdefault(profile.id, set()).add(status.sequence_container_id)
            container = next(
                (c for c in profile.power_sequences_containers if c.id == status.sequence_container_id), None
            )
            if container is None:
                reason = f"{status.sequence_container_id} is not a container of {profile.id}"
                out.append(finding("S2-PPBC-009", where + "/sequence_container_id", reason))
            elif status.selected_sequence_id is not UNSET and all(
                s.id != status.selected_sequence_id for s in container.power_sequences
            ):
                reason = f"{status.selected_sequence_id} is not a sequence of container {container.id}"
                out.append(finding("S2-PPBC-009", where + "/selected_sequence_id", reason))
        for profile_id, containers in reported.items():
            profile = self._live_profile(profile_id)
            assert profile is not None
            missing = [c.id for c in profile.power_sequences_containers if c.id not in containers]
            if missing:
                reason = f"containers {', '.join(missing)} of {profile_id} are not reported"
                out.append(finding("S2-PPBC-010", "/sequence_container_status", reason))

    def _a_profile_status(
        self, m: ppbc.PPBCPowerProfileStatus, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        for status in m.sequence_container_status:
            selected = None if status.selected_sequence_id is UNSET else status.selected_sequence_id
            key = (status.power_profile_id, status.sequence_container_id)
            self._set(self._ct.sequences, key, (selected, status.status), undo)

    def _c_ppbc_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        self._check_instruction_id(m, out)
        profile = self._live_profile(m.power_profile_id)
        if profile is None:
            published = self._ct.profiles.get(m.power_profile_id)
            why = "was revoked" if published is not None else "was not received in this session"
            out.append(unknown_profile(m.power_profile_id, why))
            return
        found = find_sequence(profile, m.sequence_container_id, m.power_sequence_id)
        if isinstance(found, Finding):
            out.append(found)
            return
        index, sequence = found
        key = (profile.id, m.sequence_container_id)
        held, state = self._ct.sequences.get(key, (None, PPBCPowerSequenceStatus.NOT_SCHEDULED))
        if isinstance(m, ppbc.PPBCScheduleInstruction):
            self._check_schedule(m, profile, index, sequence, now, out)
            return
        kind: Kind = "interrupt" if isinstance(m, ppbc.PPBCStartInterruptionInstruction) else "resume"
        if kind == "interrupt" and (wrong := not_interruptible(sequence)) is not None:
            out.append(wrong)
            return
        if state is PPBCPowerSequenceStatus.NOT_SCHEDULED or held != sequence.id:
            out.append(not_selected(kind, sequence.id, m.sequence_container_id, held))
            return
        allowed = _RUNNING if kind == "interrupt" else _INTERRUPTED
        if state not in allowed:
            out.append(wrong_state(kind, sequence.id, state, max(m.execution_time, now)))

    def _check_schedule(
        self,
        m: ppbc.PPBCScheduleInstruction,
        profile: ppbc.PPBCPowerProfileDefinition,
        index: int,
        sequence: ppbc.PPBCPowerSequence,
        now: datetime,
        out: Out,
    ) -> None:
        start = max(m.execution_time, now)
        end = later(start, sequence_duration_ms(sequence))
        checks = [sequence_abnormal(sequence, m.abnormal_condition), outside_profile(profile, start, end)]
        current = self._ct.schedules.get((profile.id, m.sequence_container_id))
        if current is not None and current.live and current.message_id != m.message_id:
            status = PPBCPowerSequenceStatus.SCHEDULED.value
            checks.append(
                container_taken(m.sequence_container_id, status, current.message.power_sequence_id, current.message.id)
            )
        if index > 0:
            before = profile.power_sequences_containers[index - 1].id
            previous = self._ct.schedules.get((profile.id, before))
            prev_sequence = None if previous is None or not previous.live else _find_sequence(profile, previous.message)
            if previous is not None and prev_sequence is not None:
                prev_end = later(previous.effective, sequence_duration_ms(prev_sequence))
                checks.append(judge_after_previous(start, prev_end, before, sequence))
        out.extend(f for f in checks if f is not None)

    def _a_ppbc_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        entry = self._record_instruction(m, now, undo)
        key = (m.power_profile_id, m.sequence_container_id)
        if isinstance(m, ppbc.PPBCScheduleInstruction):
            self._set(self._ct.schedules, key, entry, undo)
            state = PPBCPowerSequenceStatus.SCHEDULED
        elif isinstance(m, ppbc.PPBCStartInterruptionInstruction):
            state = PPBCPowerSequenceStatus.INTERRUPTED
        else:
            state = PPBCPowerSequenceStatus.EXECUTING
        self._set(self._ct.sequences, key, (m.power_sequence_id, state), undo)

    # --- OMBC / FRBC / DDBC -------------------------------------------------------------------

    def _a_description(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        descriptions = self._ct.descriptions
        entry = _Description(m, m.message_id, m.valid_from, machines_of(m))
        descriptions.append(entry)
        if undo is not None:
            undo.append((_discard, descriptions, entry, None))
        if len(descriptions) > _MAX_DESCRIPTIONS:
            del descriptions[0]

    def _owner(self, area: str, actuator: str) -> str:
        return "the system description" if area == "OMBC" else actuator

    def _machine_for(self, area: str, rule: str, m: Any, now: datetime, out: Out) -> tuple[Machine, str] | None:
        """The machine a status or timer message talks about, or a finding why there is none."""
        description = self._current_description(now, area)
        if description is None:
            return None
        actuator = "" if area == "OMBC" else m.actuator_id
        machine = description.machines.get(actuator)
        if machine is None:
            reason = f"{actuator} is not an actuator of {area}.SystemDescription {description.message_id}"
            out.append(finding(rule, "/actuator_id", reason))
            return None
        return machine, actuator

    def _c_om_status(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        area = _OM_AREA[type(m)]
        ids = OM_RULE_IDS[area]
        found = self._machine_for(area, ids["status_refs"], m, now, out)
        if found is None:
            return
        machine, actuator = found
        owner = self._owner(area, actuator)
        for attr in ("active_operation_mode_id", "previous_operation_mode_id"):
            mode = getattr(m, attr)
            if mode is not UNSET and mode not in machine.modes:
                out.append(finding(ids["status_refs"], f"/{attr}", f"{mode} is not an operation mode of {owner}"))
        last = self._ct.statuses.get(actuator)
        if last is not None and last.mode != m.active_operation_mode_id and m.previous_operation_mode_id is UNSET:
            reason = (
                f"the mode changed from {last.mode} to {m.active_operation_mode_id} without naming the previous one"
            )
            out.append(finding(ids["status_change"], "/previous_operation_mode_id", reason))

    def _a_om_status(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        actuator = "" if isinstance(m, ombc.OMBCStatus) else m.actuator_id
        self._set(self._ct.statuses, actuator, _Status(m.active_operation_mode_id, now), undo)

    def _c_timer_status(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        area = _OM_AREA[type(m)]
        ids = OM_RULE_IDS[area]
        found = self._machine_for(area, ids["timer_refs"], m, now, out)
        if found is not None and m.timer_id not in found[0].timers:
            reason = f"{m.timer_id} is not a timer of {self._owner(area, found[1])}"
            out.append(finding(ids["timer_refs"], "/timer_id", reason))

    def _a_timer_status(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        actuator = "" if isinstance(m, ombc.OMBCTimerStatus) else m.actuator_id
        self._set(self._ct.timers, (actuator, m.timer_id), m.finished_at, undo)

    def _expected(
        self, m: Any, actuator: str, moment: datetime, machine: Machine
    ) -> tuple[str | None, dict[str, datetime]]:
        """The mode expected at ``moment`` and the timers' finish times then: the last status,
        followed by the earlier instructions still in play, in the order they take effect."""
        status = self._ct.statuses.get(actuator)
        mode = status.mode if status is not None else None
        timers = {name: at for (owner, name), at in self._ct.timers.items() if owner == actuator}
        earlier = sorted(
            (
                e
                for e in self._ct.pending.get(actuator, ())
                if e.live
                and e.message_id != m.message_id
                and e.effective <= moment
                and (status is None or e.effective >= status.at)
            ),
            key=lambda e: e.effective,
        )
        for entry in earlier:
            target = _target(entry.message)[1]
            if mode is not None and target != mode:
                transition = machine.transitions.get((mode, target))
                if transition is not None:
                    for name in transition.start_timers:
                        timer = machine.timers.get(name)
                        if timer is not None:
                            timers[name] = later(entry.effective, timer.duration)
            mode = target
        return mode, timers

    def _c_om_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        self._check_instruction_id(m, out)
        area = _OM_AREA[type(m)]
        actuator, mode_id, _ = _target(m)
        moment = max(m.execution_time, now)
        description = self._description_at(moment, area)
        if description is None:
            out.append(no_description(area, moment))
            return
        machine = description.machines.get(actuator)
        if machine is None:
            out.append(unknown_actuator(area, actuator, description.machines))
            return
        active, timers = self._expected(m, actuator, moment, machine)
        level = self._ct.fill_level if area == "FRBC" else None
        out.extend(judge_om_instruction(machine, mode_id, m.abnormal_condition, active, timers, moment, level))

    def _a_om_instruction(self, m: Any, sender: EnergyManagementRole, now: datetime, undo: Undo) -> None:
        entry = self._record_instruction(m, now, undo)
        queue = self._ct.pending.setdefault(_target(m)[0], [])
        queue.append(entry)
        if undo is not None:
            undo.append((_discard, queue, entry, None))
        if len(queue) > _MAX_PER_ACTUATOR:
            del queue[0]

    # --- FRBC and DDBC extras -----------------------------------------------------------------

    def _c_storage_status(
        self, m: frbc.FRBCStorageStatus, sender: EnergyManagementRole, now: datetime, out: Out
    ) -> None:
        description = self._current_description(now, "FRBC")
        if description is None:
            return
        storage = description.message.storage.fill_level_range
        if not storage.start_of_range <= m.present_fill_level <= storage.end_of_range:
            reason = (
                f"{fmt_num(m.present_fill_level)} is outside the storage range "
                f"[{fmt_num(storage.start_of_range)}, {fmt_num(storage.end_of_range)}]"
            )
            out.append(finding(OM_RULE_IDS["FRBC"]["storage_level"], "/present_fill_level", reason))

    def _a_storage_status(
        self, m: frbc.FRBCStorageStatus, sender: EnergyManagementRole, now: datetime, undo: Undo
    ) -> None:
        self._set_attr(self._ct, "fill_level", m.present_fill_level, undo)

    def _c_announced(self, m: Any, sender: EnergyManagementRole, now: datetime, out: Out) -> None:
        flag, rule, area = _ANNOUNCED[type(m)]
        description = self._current_description(now, area)
        if description is None:
            return
        holder = description.message if flag.startswith("provides_average") else description.message.storage
        if not getattr(holder, flag):
            out.append(finding(rule, "/elements", f"the system description announced {flag} false"))


def _find_sequence(profile: ppbc.PPBCPowerProfileDefinition, m: Any) -> ppbc.PPBCPowerSequence | None:
    for container in profile.power_sequences_containers:
        if container.id == m.sequence_container_id:
            return next((s for s in container.power_sequences if s.id == m.power_sequence_id), None)
    return None


_ANNOUNCED: Final[dict[type[Any], tuple[str, str, str]]] = {
    frbc.FRBCLeakageBehaviour: ("provides_leakage_behaviour", OM_RULE_IDS["FRBC"]["leakage_flag"], "FRBC"),
    frbc.FRBCUsageForecast: ("provides_usage_forecast", OM_RULE_IDS["FRBC"]["usage_flag"], "FRBC"),
    frbc.FRBCFillLevelTargetProfile: (
        "provides_fill_level_target_profile",
        OM_RULE_IDS["FRBC"]["target_flag"],
        "FRBC",
    ),
    ddbc.DDBCAverageDemandRateForecast: (
        "provides_average_demand_rate_forecast",
        OM_RULE_IDS["DDBC"]["demand_flag"],
        "DDBC",
    ),
}
