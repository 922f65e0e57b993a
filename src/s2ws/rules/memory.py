"""What the rule context keeps of a session, and how it keeps it bounded and undoable.

The records (instructions, descriptions, published objects, the state of the active control
type), the bounded tables and undo steps, and :class:`ContextMemory`: the part of
:class:`~s2ws.rules.context.SessionContext` that stores and looks up, which the control-type
rules (``rules.context_ct``) and the session rules (``rules.context``) build on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, Final

import msgspec

from ..findings import Finding
from ..messages import common, ddbc, frbc, ombc
from ..messages.base import ID_MATCH_PATTERN, UNSET, S2Message, message_type_of
from ..messages.enums import (
    InstructionStatus,
    PPBCPowerSequenceStatus,
    ReceptionStatusValues,
)
from ..messages.states import INSTRUCTION_TERMINAL
from .catalogue import finding
from .om_machine import Area, Machine
from .session_rules import (
    judge_instruction_id,
)
from .validity import in_force

if TYPE_CHECKING:
    import msgspec.inspect

__all__ = ["ContextMemory"]

_OK = ReceptionStatusValues.OK
_PERMANENT_ERROR = ReceptionStatusValues.PERMANENT_ERROR

Out = list[Finding]
_Step = tuple[Callable[[Any, Any, Any], None], Any, Any, Any]
Undo = list[_Step] | None
"""How to take back what ``apply`` changed: steps ``(function, a, b, c)`` run last first as
``function(a, b, c)``; None when the message was answered before it was applied (nothing to take
back). Tuples rather than closures: cheap to build for every message, and never a cell."""
_MISSING: Final[Any] = object()

_TERMINAL: Final = INSTRUCTION_TERMINAL
_FAILED: Final = INSTRUCTION_TERMINAL - {InstructionStatus.SUCCEEDED}

_INSTRUCTIONS: Final = frozenset(
    {
        "PEBC.Instruction",
        "PPBC.ScheduleInstruction",
        "PPBC.StartInterruptionInstruction",
        "PPBC.EndInterruptionInstruction",
        "OMBC.Instruction",
        "FRBC.Instruction",
        "DDBC.Instruction",
    }
)
_DESCRIPTIONS: Final = frozenset({"OMBC.SystemDescription", "FRBC.SystemDescription", "DDBC.SystemDescription"})
_MAX_IDS = 256
_MAX_PENDING = 4096
_MAX_ANSWERED = 4096
_MAX_INSTRUCTIONS = 4096
_MAX_DESCRIPTIONS = 8
_MAX_EARLY = 64
_MAX_PER_ACTUATOR = 64
_TYPE_NAMES: dict[type[S2Message], str] = {}
_LAZY_TABLES: Final = frozenset({"_instructions", "_object_ids", "_envelope_ids"})


def _type_name(message: S2Message) -> str:
    cls = type(message)
    name = _TYPE_NAMES.get(cls)
    if name is None:
        name = _TYPE_NAMES[cls] = message_type_of(cls)
    return name


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _bounded_put(table: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """Remember ``key`` (at the end unless it is there already); keep at least the last ``limit``."""
    table[key] = value
    if len(table) > limit + (limit >> 3):
        _forget_oldest(table, limit)


def _forget_oldest(table: dict[Any, Any], limit: int) -> None:
    """Drop the oldest entries down to ``limit``, an eighth of the table at a time.

    Dropping one entry per insertion looks cheaper but is not: a dict's oldest live entry sits
    behind every deleted slot at the front, and ``next(iter(table))`` walks them all each time
    (about 1 µs per insertion at 4096 entries). Batches keep it to one walk per ``limit / 8``
    insertions; the price is up to an eighth more entries than ``limit``.
    """
    for key in list(islice(table, len(table) - limit)):
        del table[key]


def _restore_item(table: dict[Any, Any], key: Any, old: Any) -> None:
    if old is _MISSING:
        table.pop(key, None)
    else:
        table[key] = old


def _restore_attr(target: Any, name: str, old: Any) -> None:
    setattr(target, name, old)


def _discard(items: list[Any], item: Any, _: Any) -> None:
    if item in items:
        items.remove(item)


# --- what the context keeps ------------------------------------------------------------------


@dataclass(eq=False)
class _Instruction:
    """One instruction the CEM sent, and what became of it."""

    message: Any
    message_id: str
    type: str
    effective: datetime
    """When it takes effect: its execution_time, or when it was sent if that is later."""
    status: InstructionStatus | None = None
    status_time: datetime | None = None
    revoked: bool = False

    @property
    def live(self) -> bool:
        return not self.revoked and self.status not in _FAILED


@dataclass(eq=False)
class _Description:
    message: Any
    message_id: str
    valid_from: datetime
    machines: dict[str, Machine]
    revoked: bool = False


@dataclass(eq=False)
class _Published:
    """An object with an id the RM published (constraints, profile definitions)."""

    message: Any
    message_id: str
    revoked: bool = False


@dataclass(eq=False)
class _Status:
    mode: str
    at: datetime


class _ControlState:
    """Everything that belongs to the active control type; replaced when it changes.

    One per session, and most of its tables stay empty in an idle session: each table is made on
    its first access (``__getattr__`` runs only while the slot is unset, so a made table is then
    read at slot speed)."""

    __slots__ = (
        "constraints",
        "descriptions",
        "energy",
        "fill_level",
        "pending",
        "profiles",
        "schedules",
        "sequences",
        "statuses",
        "timers",
    )

    descriptions: list[_Description]
    statuses: dict[str, _Status]
    timers: dict[tuple[str, str], datetime]
    fill_level: float | None
    constraints: dict[str, _Published]
    energy: dict[str, _Published]
    profiles: dict[str, _Published]
    pending: dict[str, list[_Instruction]]
    """actuator ("" for OMBC) -> its most recent instructions, oldest first (at most 64)."""
    sequences: dict[tuple[str, str], tuple[str | None, PPBCPowerSequenceStatus]]
    """(profile, container) -> (sequence, state) as the latest status or instruction left it."""
    schedules: dict[tuple[str, str], _Instruction]

    def __init__(self) -> None:
        self.fill_level = None

    if not TYPE_CHECKING:  # hidden from the type checker, which then still flags unknown names

        def __getattr__(self, name: str) -> Any:
            if name == "descriptions":
                made: Any = []
            elif name in _ControlState.__slots__ and name != "fill_level":
                made = {}
            else:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            object.__setattr__(self, name, made)
            return made


def _cost_pointer(message: Any) -> str | None:
    """Where a description first publishes cost information, if it does."""
    if isinstance(message, ombc.OMBCSystemDescription):
        for i, om in enumerate(message.operation_modes):
            if om.running_costs is not UNSET:
                return f"/operation_modes/{i}/running_costs"
        for i, transition in enumerate(message.transitions):
            if transition.transition_costs is not UNSET:
                return f"/transitions/{i}/transition_costs"
        return None
    for a, actuator in enumerate(message.actuators):
        for j, om in enumerate(actuator.operation_modes):
            if isinstance(om, frbc.FRBCOperationMode):
                for k, element in enumerate(om.elements):
                    if element.running_costs is not UNSET:
                        return f"/actuators/{a}/operation_modes/{j}/elements/{k}/running_costs"
            elif om.running_costs is not UNSET:
                return f"/actuators/{a}/operation_modes/{j}/running_costs"
        for i, transition in enumerate(actuator.transitions):
            if transition.transition_costs is not UNSET:
                return f"/actuators/{a}/transitions/{i}/transition_costs"
    return None


_OM_AREA: Final[dict[type[Any], Area]] = {
    ombc.OMBCInstruction: "OMBC",
    frbc.FRBCInstruction: "FRBC",
    ddbc.DDBCInstruction: "DDBC",
    ombc.OMBCStatus: "OMBC",
    frbc.FRBCActuatorStatus: "FRBC",
    ddbc.DDBCActuatorStatus: "DDBC",
    ombc.OMBCTimerStatus: "OMBC",
    frbc.FRBCTimerStatus: "FRBC",
    ddbc.DDBCTimerStatus: "DDBC",
}


def _target(message: Any) -> tuple[str, str, str]:
    """(actuator, operation mode, pointer to the mode field) of an OMBC/FRBC/DDBC instruction."""
    if isinstance(message, frbc.FRBCInstruction):
        return message.actuator_id, message.operation_mode, "/operation_mode"
    actuator = "" if isinstance(message, ombc.OMBCInstruction) else message.actuator_id
    return actuator, message.operation_mode_id, "/operation_mode_id"


_DESCRIPTION_TYPES: Final[dict[str | None, frozenset[type[Any]]]] = {
    "OMBC": frozenset({ombc.OMBCSystemDescription}),
    "FRBC": frozenset({frbc.FRBCSystemDescription}),
    "DDBC": frozenset({ddbc.DDBCSystemDescription, ddbc.DDBCSystemDescriptionV1}),
}
"""The description classes of each area (``_description_at``)."""


def _valid_from(entry: _Description) -> datetime:
    return entry.valid_from


class ContextMemory:
    """The records of one session that the context rules read: the RM's details, the state of the
    active control type, the instructions and ids seen. Changes go through :meth:`_set` and
    :meth:`_set_attr`, which record how to undo them."""

    # made on first access, like _ControlState's tables: an idle session may never need them
    _instructions: dict[str, _Instruction]
    _object_ids: dict[str, str]
    _envelope_ids: dict[str, str]

    def __init__(self) -> None:
        self.details: common.ResourceManagerDetails | None = None
        self._ct = _ControlState()

    if not TYPE_CHECKING:  # hidden from the type checker, which then still flags unknown names

        def __getattr__(self, name: str) -> Any:
            if name not in _LAZY_TABLES:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            made: dict[Any, Any] = {}
            object.__setattr__(self, name, made)
            return made

    # --- small helpers ------------------------------------------------------------------------

    def _set(self, table: dict[Any, Any], key: Any, value: Any, undo: Undo) -> None:
        if undo is not None:
            undo.append((_restore_item, table, key, table.get(key, _MISSING)))
        table[key] = value

    def _set_attr(self, target: Any, name: str, value: Any, undo: Undo) -> None:
        if undo is not None:
            undo.append((_restore_attr, target, name, getattr(target, name)))
        setattr(target, name, value)

    def _description_at(self, moment: datetime, area: str | None = None) -> _Description | None:
        """The system description (of ``area``, when given) in force at ``moment`` (None when
        none is, or it was revoked).

        Only a misplaced message (one the phase table refuses, which a replay still applies until
        its answer takes it back) puts another area's description beside the active one's; the
        rules of an area never read it.
        """
        kinds = _DESCRIPTION_TYPES.get(area)
        entries = (
            self._ct.descriptions if kinds is None else [e for e in self._ct.descriptions if type(e.message) in kinds]
        )
        best = in_force(entries, moment, _valid_from)
        return None if best is None or best.revoked else best

    def _current_description(self, now: datetime, area: str | None = None) -> _Description | None:
        """The description valid now; before the first one starts, the latest one received."""
        found = self._description_at(now, area)
        if found is None and self._ct.descriptions:
            kinds = _DESCRIPTION_TYPES.get(area)
            latest = next(
                (e for e in reversed(self._ct.descriptions) if kinds is None or type(e.message) in kinds), None
            )
            if latest is not None and not latest.revoked and latest.valid_from > now:
                return latest
        return found

    def _cost_publisher(self, now: datetime) -> tuple[str, str] | None:
        entry = self._current_description(now)
        if entry is None:
            return None
        pointer = _cost_pointer(entry.message)
        return (entry.message_id, pointer) if pointer is not None else None

    # --- instructions in general --------------------------------------------------------------

    def _check_instruction_id(self, m: Any, out: Out) -> None:
        entry = self._instructions.get(m.id)
        if (
            reused := judge_instruction_id(m.id, m.message_id, None if entry is None else entry.message_id)
        ) is not None:
            out.append(reused)

    def _record_instruction(self, m: Any, now: datetime, undo: Undo) -> _Instruction:
        entry = _Instruction(m, m.message_id, _type_name(m), max(m.execution_time, now))
        self._set(self._instructions, m.id, entry, undo)
        if len(self._instructions) > _MAX_INSTRUCTIONS + (_MAX_INSTRUCTIONS >> 3):
            _forget_oldest(self._instructions, _MAX_INSTRUCTIONS)
        return entry

    def _check_object_id(self, m: Any, out: Out) -> None:
        earlier = self._object_ids.get(m.id)
        if earlier is not None and earlier != m.message_id:
            out.append(finding("S2-ID-002", "/id", f"id {m.id} was already used by message {earlier}"))

    def _record_object(self, table: dict[str, _Published], m: Any, undo: Undo) -> None:
        self._set(table, m.id, _Published(m, m.message_id), undo)
        self._set(self._object_ids, m.id, m.message_id, undo)


_KEEP_LIMIT = 64
"""Messages whose schema bounds them to this many values at most are remembered as they are."""


def _bound(info: msgspec.inspect.Type) -> float:
    """The most values a decoded instance of ``info`` can hold (inf: no bound in the schema).

    A string counts as one value only when its length is bounded (an id, a ``max_length``), so
    a peer cannot make the context keep long free text: such messages are fingerprinted.
    """
    import msgspec.inspect as mi  # once per message class; kept off the import of s2ws

    if isinstance(info, mi.StructType):
        return 1 + sum(_bound(f.type) for f in info.fields)
    if isinstance(info, mi.UnionType):
        return max(_bound(t) for t in info.types)
    if isinstance(info, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return math.inf if info.max_length is None else info.max_length * _bound(info.item_type)
    if isinstance(info, mi.TupleType):
        return sum(_bound(t) for t in info.item_types)
    if isinstance(info, mi.StrType):
        return 1 if info.max_length is not None or info.pattern == ID_MATCH_PATTERN else math.inf
    if isinstance(info, mi.BytesType | mi.ByteArrayType | mi.DictType | mi.AnyType | mi.CustomType):
        return math.inf
    return 1


def _small(cls: type[S2Message]) -> bool:
    """Whether to remember a message of ``cls`` as it is rather than by fingerprint.

    Statuses, instructions and measurements (at most 33 values, about 1 KiB) then cost nothing on
    the way in, where encoding one to hash it cost more than all their rules; a reused id encodes
    both messages to compare them. Descriptions, forecasts and anything with free text are
    fingerprinted: keeping 256 of those could take megabytes.
    """
    import msgspec.inspect as mi

    return _bound(mi.type_info(cls)) <= _KEEP_LIMIT


def _fingerprint(message: S2Message) -> int:
    return hash(_ENCODE(message))


def _same(earlier: S2Message | int, message: S2Message) -> bool:
    """Whether ``message`` repeats the one remembered as ``earlier`` (the message itself or its
    fingerprint), byte for byte as s2ws encodes them: an identical resend."""
    if isinstance(earlier, int):
        return earlier == _fingerprint(message)
    return earlier is message or _ENCODE(earlier) == _ENCODE(message)


_ENCODE: Final = msgspec.json.Encoder().encode
