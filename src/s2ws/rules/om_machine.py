"""One operation-mode state machine, read by the rule context and by the control views and
devices alike: an FRBC/DDBC actuator's, or the OMBC system's, built from its description."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..findings import Finding
from ..messages import (
    DDBCOperationMode,
    DDBCSystemDescription,
    DDBCSystemDescriptionV1,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCSystemDescription,
    OMBCInstruction,
    OMBCOperationMode,
    OMBCSystemDescription,
    Timer,
    Transition,
)
from .catalogue_om import OM_RULE_IDS

__all__ = [
    "Area",
    "Machine",
    "OMDescription",
    "OperationMode",
    "machines_of",
    "missing_rule",
    "mode_id_of",
    "unknown_mode",
]

Area = Literal["OMBC", "FRBC", "DDBC"]
OperationMode = OMBCOperationMode | FRBCOperationMode | DDBCOperationMode
OMDescription = OMBCSystemDescription | FRBCSystemDescription | DDBCSystemDescription | DDBCSystemDescriptionV1


def mode_id_of(mode: OperationMode) -> str:
    """The id of an operation mode (DDBC spells the field ``Id``)."""
    return mode.Id if isinstance(mode, DDBCOperationMode) else mode.id


def _named(ident: str, label: Any) -> str:
    return f"{ident} ({label})" if isinstance(label, str) and label else ident


def _area_of(message: Any) -> Area:
    if isinstance(message, OMBCSystemDescription | OMBCInstruction):
        return "OMBC"
    if isinstance(message, FRBCSystemDescription | FRBCInstruction):
        return "FRBC"
    return "DDBC"


@dataclass(frozen=True, slots=True)
class Machine:
    """One operation-mode state machine: an FRBC/DDBC actuator, or the OMBC system."""

    area: Area
    actuator_id: str
    modes: Mapping[str, OperationMode]
    transitions: Mapping[tuple[str, str], Transition]
    timers: Mapping[str, Timer]
    label: str = ""

    @property
    def owner(self) -> str:
        """How refusals name the machine."""
        if self.area == "OMBC":
            return "the system description"
        return "actuator " + _named(self.actuator_id, self.label)

    def rule(self, key: str) -> str:
        return OM_RULE_IDS[self.area][key]

    def name(self, mode_id: str) -> str:
        """``om1 (Off)``: the id, with the diagnostic label when there is one."""
        mode = self.modes.get(mode_id)
        return _named(mode_id, mode.diagnostic_label if mode is not None else None)

    def mode(self, mode_id: str) -> OperationMode:
        """The mode, or a refusal (instr_om) listing the modes there are."""
        mode = self.modes.get(mode_id)
        if mode is None:
            raise unknown_mode(self, mode_id).refusal()
        return mode

    def transition(self, source: str, target: str) -> Transition | None:
        return self.transitions.get((source, target))

    def arrow(self, transition: Transition) -> str:
        """``transition trans1 om1 (Off)→om0 (running)``."""
        return f"transition {transition.id} {self.name(transition.from_)}→{self.name(transition.to)}"


def _mode_pointer(area: Area) -> str:
    return "/operation_mode" if area == "FRBC" else "/operation_mode_id"


def _machine(
    area: Area,
    actuator_id: str,
    modes: Sequence[OperationMode],
    transitions: Sequence[Transition],
    timers: Sequence[Timer],
    label: Any = None,
) -> Machine:
    table: dict[tuple[str, str], Transition] = {}
    for transition in transitions:
        table.setdefault((transition.from_, transition.to), transition)
    return Machine(
        area,
        actuator_id,
        {mode_id_of(m): m for m in modes},
        table,
        {t.id: t for t in timers},
        label if isinstance(label, str) else "",
    )


def machines_of(description: OMDescription) -> dict[str, Machine]:
    """actuator id -> its machine (OMBC: the one machine under "")."""
    if isinstance(description, OMBCSystemDescription):
        ops: Sequence[OperationMode] = description.operation_modes
        return {"": _machine("OMBC", "", ops, description.transitions, description.timers)}
    area = _area_of(description)
    return {
        a.id: _machine(area, a.id, a.operation_modes, a.transitions, a.timers, a.diagnostic_label)
        for a in description.actuators
    }


def unknown_mode(machine: Machine, mode_id: str) -> Finding:
    """instr_om: an instruction names a mode the machine lacks."""
    known = ", ".join(machine.modes)
    reason = f"{mode_id} is not an operation mode of {machine.owner} (it has {known})"
    return Finding(machine.rule("instr_om"), _mode_pointer(machine.area), reason)


def missing_rule(area: Area) -> str:
    """The rule an instruction breaks when its machine is missing: instr_om for OMBC (its one
    machine is the description's), instr_actuator for FRBC and DDBC."""
    return OM_RULE_IDS[area]["instr_om" if area == "OMBC" else "instr_actuator"]
