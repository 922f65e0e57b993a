"""Turn the msgspec models of one profile into a neutral catalogue the emitters share.

The three emitters (JSON Schema, AsyncAPI, OpenAPI) differ only in syntax, so they read the
models through this one walk: every named type, every field with its wire name, requiredness
and bounds, and every message with its senders and control type. A model change therefore
shows up in all spec files at once, and a type the emitters cannot express fails loudly here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import msgspec.inspect as mi

from ..messages.base import ID, ID_PATTERN, Duration, S2Message, message_type_of
from ..messages.catalogue import CONTROL_TYPE_PREFIXES, MESSAGE_INFO
from ..messages.enums import ControlType, EnergyManagementRole
from ..messages.profiles import Profile, get_profile

__all__ = [
    "ArrayOf",
    "EnumSchema",
    "Field",
    "FieldType",
    "MessageSchema",
    "NamedPrimitive",
    "ObjectSchema",
    "Ref",
    "Scalar",
    "Schema",
    "SpecModel",
    "build_spec_model",
    "schema_name",
]


@dataclass(frozen=True)
class Ref:
    """A use of a named schema (enum, object or named primitive)."""

    name: str


@dataclass(frozen=True)
class Scalar:
    """An anonymous JSON scalar: ``string``, ``number``, ``integer`` or ``boolean``."""

    json_type: str
    format: str | None = None


@dataclass(frozen=True)
class ArrayOf:
    """A JSON array; ``min_items`` is always stated (0 when the model sets no lower bound)."""

    items: FieldType
    min_items: int
    max_items: int | None


FieldType = Ref | Scalar | ArrayOf


@dataclass(frozen=True)
class Field:
    """One property as it appears on the wire."""

    name: str
    type: FieldType
    required: bool


@dataclass(frozen=True)
class NamedPrimitive:
    """A named scalar with a constraint (ID, Duration)."""

    name: str
    json_type: str
    pattern: str | None = None
    minimum: int | None = None


@dataclass(frozen=True)
class EnumSchema:
    """A string enumeration; values keep the model's order."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ObjectSchema:
    """An object type that is not a message (it has no ``message_type``)."""

    name: str
    fields: tuple[Field, ...]
    closed: bool
    """True when unknown properties are refused (``additionalProperties: false``)."""


@dataclass(frozen=True)
class MessageSchema:
    """A message: an object with a constant ``message_type`` and known senders."""

    name: str
    fields: tuple[Field, ...]
    closed: bool
    senders: frozenset[EnergyManagementRole]
    control_type: ControlType | None


Schema = NamedPrimitive | EnumSchema | ObjectSchema


@dataclass(frozen=True)
class SpecModel:
    """Everything one profile's spec files are generated from."""

    version: str
    messages: tuple[MessageSchema, ...]
    """In profile order."""
    schemas: Mapping[str, Schema]
    """Every named non-message schema the messages reach, in a stable logical order."""

    def sent_by(self, role: EnergyManagementRole, control_type: ControlType | None = None) -> tuple[MessageSchema, ...]:
        """Messages ``role`` sends; with ``control_type``, only the common ones and that type's."""
        return tuple(
            m
            for m in self.messages
            if role in m.senders and (control_type is None or m.control_type in (None, control_type))
        )

    def reachable(self, messages: Iterable[MessageSchema]) -> tuple[str, ...]:
        """Names of the schemas the given messages need, transitively, in ``schemas`` order."""
        seen: set[str] = set()
        stack = [f.type for m in messages for f in m.fields]
        while stack:
            ftype = stack.pop()
            if isinstance(ftype, ArrayOf):
                stack.append(ftype.items)
            elif isinstance(ftype, Ref) and ftype.name not in seen:
                seen.add(ftype.name)
                target = self.schemas[ftype.name]
                if isinstance(target, ObjectSchema):
                    stack.extend(f.type for f in target.fields)
        return tuple(name for name in self.schemas if name in seen)


# The named primitives are recognised by their full msgspec type (pattern or bound included),
# so an ID whose pattern drifted from base.ID would surface as an anonymous string and fail
# the structural comparison with upstream instead of silently keeping the old name.
_NAMED_PRIMITIVES: Final = (("ID", mi.type_info(ID)), ("Duration", mi.type_info(Duration)))

_PREFIXES: Final = tuple(CONTROL_TYPE_PREFIXES)


def schema_name(cls: type) -> str:
    """The spec name of a model class: its wire tag, or the class name with the control-type dot restored."""
    if isinstance(cls, type) and issubclass(cls, S2Message):
        return message_type_of(cls)
    name = cls.__name__
    for prefix in _PREFIXES:
        if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1].isupper():
            return f"{prefix}.{name[len(prefix) :]}"
    return name


def _named_primitive(name: str, info: mi.Type) -> NamedPrimitive:
    if isinstance(info, mi.StrType):
        # the model bounds an ID's length and the codec checks its characters (s2ws.ids): the spec
        # states both as the portable ECMA pattern, as upstream does
        pattern = ID_PATTERN if name == "ID" else info.pattern
        return NamedPrimitive(name, "string", pattern=pattern)
    if isinstance(info, mi.IntType):
        return NamedPrimitive(name, "integer", minimum=info.ge)
    raise TypeError(f"named primitive {name} has an unsupported type {info!r}")


class _Walker:
    """Depth-first walk that records each named type once."""

    def __init__(self) -> None:
        self.objects: dict[str, ObjectSchema] = {}
        self.enums: dict[str, EnumSchema] = {}
        self.primitives: dict[str, NamedPrimitive] = {}
        self._classes: dict[str, type] = {}

    def _claim(self, name: str, cls: type) -> bool:
        """True the first time ``name`` is seen; two classes under one name is a model error."""
        known = self._classes.get(name)
        if known is None:
            self._classes[name] = cls
            return True
        if known is not cls:
            raise TypeError(f"{known.__qualname__} and {cls.__qualname__} both map to spec name {name}")
        return False

    def field_type(self, info: mi.Type, where: str) -> FieldType:
        for name, primitive in _NAMED_PRIMITIVES:
            if info == primitive:
                self.primitives.setdefault(name, _named_primitive(name, info))
                return Ref(name)
        if isinstance(info, mi.StrType):
            if info.pattern is not None or info.min_length is not None or info.max_length is not None:
                raise TypeError(f"{where}: constrained string without a named schema")
            return Scalar("string")
        if isinstance(info, mi.FloatType):
            if any(v is not None for v in (info.gt, info.ge, info.lt, info.le, info.multiple_of)):
                raise TypeError(f"{where}: bounded number without a named schema")
            return Scalar("number")
        if isinstance(info, mi.BoolType):
            return Scalar("boolean")
        if isinstance(info, mi.DateTimeType):
            if not info.tz:
                raise TypeError(f"{where}: timestamps must require an offset")
            return Scalar("string", "date-time")
        if isinstance(info, mi.EnumType):
            return Ref(self.enum(info.cls))
        if isinstance(info, mi.StructType):
            return Ref(self.object(info))
        if isinstance(info, mi.ListType):
            items = self.field_type(info.item_type, f"{where}[]")
            return ArrayOf(items, info.min_length or 0, info.max_length)
        raise TypeError(f"{where}: type {info!r} has no spec mapping")

    def enum(self, cls: type[enum.Enum]) -> str:
        name = schema_name(cls)
        if self._claim(name, cls):
            self.enums[name] = EnumSchema(name, tuple(str(member.value) for member in cls))
        return name

    def fields(self, info: mi.StructType, owner: str) -> tuple[Field, ...]:
        return tuple(
            Field(f.encode_name, self.field_type(f.type, f"{owner}.{f.encode_name}"), f.required) for f in info.fields
        )

    def object(self, info: mi.StructType) -> str:
        cls = info.cls
        if issubclass(cls, S2Message):
            raise TypeError(f"message {cls.__qualname__} is used as a field type")
        name = schema_name(cls)
        if self._claim(name, cls):
            # Insert a placeholder before descending so objects keep first-reached order
            # (a parent before the types it contains).
            self.objects[name] = ObjectSchema(name, (), info.forbid_unknown_fields)
            self.objects[name] = ObjectSchema(name, self.fields(info, name), info.forbid_unknown_fields)
        return name

    def message(self, cls: type[S2Message]) -> MessageSchema:
        info = mi.type_info(cls)
        assert isinstance(info, mi.StructType)
        name = schema_name(cls)
        meta = MESSAGE_INFO[name]
        return MessageSchema(name, self.fields(info, name), info.forbid_unknown_fields, meta.senders, meta.control_type)


def _group(name: str) -> int:
    """Control-type group of a schema name: common first, then PEBC, PPBC, OMBC, FRBC, DDBC."""
    prefix = name.split(".", 1)[0] if "." in name else ""
    return _PREFIXES.index(prefix) + 1 if prefix in _PREFIXES else 0


def build_spec_model(profile: str | Profile | None = None) -> SpecModel:
    """Walk every message of ``profile`` (default ``0.0.2-beta``) and collect what it reaches."""
    prof = get_profile(profile)
    walker = _Walker()
    messages = tuple(walker.message(cls) for cls in prof.messages)
    # Stable order: named primitives, enums, then objects, each grouped by control type and
    # otherwise in first-reached order, so a diff between two exports stays readable.
    ordered: list[Schema] = [walker.primitives[n] for n, _ in _NAMED_PRIMITIVES if n in walker.primitives]
    ordered += sorted(walker.enums.values(), key=lambda s: _group(s.name))
    ordered += sorted(walker.objects.values(), key=lambda s: _group(s.name))
    return SpecModel(prof.version, messages, MappingProxyType({s.name: s for s in ordered}))
