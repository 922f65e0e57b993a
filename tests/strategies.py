"""Hypothesis strategies that build valid S2 messages from the models themselves.

Nothing here is written per message type: :func:`from_model` walks a class with
``msgspec.inspect`` and turns every constraint it finds (required or optional, array bounds,
enums, IDs, ``Duration >= 0``, timezone-aware timestamps) into a strategy. A new
field or message is therefore covered the moment it is added to the models.

Lists are kept short for speed: at most :data:`MAX_ITEMS` items unless the minimum is larger.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from types import MappingProxyType
from typing import Any, Final

import msgspec.inspect as mi
from hypothesis import strategies as st

from s2ws.ids import is_id_type
from s2ws.messages import UNSET, S2Message, S2Object
from s2ws.messages.profiles import PROFILES, Profile, get_profile

__all__ = [
    "ID_ALPHABET",
    "MAX_ITEMS",
    "MODEL_STRATEGIES",
    "aware_datetimes",
    "component_classes",
    "from_model",
    "ids",
    "message_classes",
    "messages",
    "profile_of",
    "strategy_for_type",
]

MAX_ITEMS: Final = 3
"""Longest list generated, unless the model demands more."""

ID_ALPHABET: Final = string.ascii_letters + string.digits + "-_:"

_MAX_INT: Final = 2**63 - 1
_MINUTES_PER_DAY: Final = 24 * 60


def ids() -> st.SearchStrategy[str]:
    """Identifiers: 2 to 64 characters of letters, digits, '-', '_' and ':'."""
    return st.text(ID_ALPHABET, min_size=2, max_size=64)


def _offsets() -> st.SearchStrategy[tzinfo]:
    """UTC (written 'Z') or any whole-minute offset strictly inside a day, e.g. '+05:45', '-11:00'."""
    minutes = st.integers(-(_MINUTES_PER_DAY - 1), _MINUTES_PER_DAY - 1)
    return st.one_of(st.just(UTC), minutes.map(lambda m: timezone(timedelta(minutes=m))))


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware instants, half with whole seconds, half with microseconds."""
    # One day of margin at both ends, so no offset can push the instant out of datetime's range.
    moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets())
    return st.one_of(moments.map(lambda d: d.replace(microsecond=0)), moments)


def _naive_datetimes() -> st.SearchStrategy[datetime]:
    return st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


def _list_bounds(t: mi.ListType) -> tuple[int, int]:
    low = t.min_length or 0
    high = max(low, MAX_ITEMS)
    if t.max_length is not None:
        high = min(high, t.max_length)
    return low, high


def _int_bounds(t: mi.IntType) -> tuple[int, int]:
    low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else -_MAX_INT)
    high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else _MAX_INT)
    return low, high


def _struct(t: mi.StructType) -> st.SearchStrategy[Any]:
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for f in t.fields:
        value = strategy_for_type(f.type)
        kwargs[f.name] = value if f.required else st.one_of(st.just(UNSET), value)
    return st.builds(t.cls, **kwargs)


def strategy_for_type(t: mi.Type) -> st.SearchStrategy[Any]:
    """Valid values of one ``msgspec.inspect`` type (the building block of :func:`from_model`)."""
    if isinstance(t, mi.StructType):
        cls = t.cls
        return st.deferred(lambda: from_model(cls))  # shared per class; safe for recursive models
    if isinstance(t, mi.ListType):
        low, high = _list_bounds(t)
        return st.lists(strategy_for_type(t.item_type), min_size=low, max_size=high)
    if isinstance(t, mi.EnumType):
        return st.sampled_from(list(t.cls))
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(list(t.values))
    if isinstance(t, mi.StrType):
        if is_id_type(t):
            return ids()
        if t.pattern is not None:
            return st.from_regex(t.pattern, fullmatch=True)
        low = t.min_length or 0
        return st.text(min_size=low, max_size=t.max_length if t.max_length is not None else max(low, 20))
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.IntType):
        low, high = _int_bounds(t)
        return st.integers(low, high)
    if isinstance(t, mi.FloatType):
        # JSON cannot carry NaN or infinities; bounds, if any, are honoured.
        return st.floats(
            min_value=t.ge if t.ge is not None else t.gt,
            max_value=t.le if t.le is not None else t.lt,
            exclude_min=t.gt is not None,
            exclude_max=t.lt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    if isinstance(t, mi.DateTimeType):
        if t.tz is True:
            return aware_datetimes()
        if t.tz is False:
            return _naive_datetimes()
        return st.one_of(aware_datetimes(), _naive_datetimes())
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.UnionType):
        # UNSET is not a value of the union: absence is decided by the enclosing struct.
        return st.one_of(*(strategy_for_type(member) for member in t.types if not _is_unset(member)))
    raise TypeError(f"no strategy for {t!r}; teach tests/strategies.py about it")


def _is_unset(t: mi.Type) -> bool:
    return isinstance(t, mi.CustomType) and t.cls is type(UNSET)


@cache
def from_model(cls: type[S2Object]) -> st.SearchStrategy[Any]:
    """Valid instances of one model class (a message or a component type)."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType), cls
    return _struct(info)


def message_classes(profile: str | Profile | None = None) -> tuple[type[S2Message], ...]:
    """Every message class of a profile (default: 0.0.2-beta)."""
    return get_profile(profile).messages


def _nested_classes(t: mi.Type) -> Iterator[type[S2Object]]:
    if isinstance(t, mi.StructType):
        if issubclass(t.cls, S2Object):
            yield t.cls
        for f in t.fields:
            yield from _nested_classes(f.type)
    elif isinstance(t, mi.ListType):
        yield from _nested_classes(t.item_type)
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            yield from _nested_classes(member)


@cache
def component_classes() -> tuple[type[S2Object], ...]:
    """Every non-message object type reachable from a message of any profile, in a stable order."""
    found: dict[type[S2Object], None] = {}
    for profile in PROFILES.values():
        for cls in profile.messages:
            for nested in _nested_classes(mi.type_info(cls)):
                if not issubclass(nested, S2Message):
                    found[nested] = None
    return tuple(found)


def profile_of(cls: type[S2Object]) -> Profile:
    """A profile that has this message class (the default one when both have it)."""
    default = get_profile(None)
    if cls in default.messages or not issubclass(cls, S2Message):
        return default
    for profile in PROFILES.values():
        if cls in profile.messages:
            return profile
    raise LookupError(f"{cls.__name__} belongs to no profile")


def messages(profile: str | Profile | None = None) -> st.SearchStrategy[S2Message]:
    """Any message of one profile."""
    return st.one_of(*(from_model(cls) for cls in message_classes(profile)))


def _all_strategies() -> Mapping[type[S2Object], st.SearchStrategy[Any]]:
    classes: dict[type[S2Object], None] = {}
    for profile in PROFILES.values():
        classes.update(dict.fromkeys(profile.messages))
    classes.update(dict.fromkeys(component_classes()))
    return MappingProxyType({cls: from_model(cls) for cls in classes})


MODEL_STRATEGIES: Final = _all_strategies()
"""One strategy per model class (messages of every profile and their component types)."""
