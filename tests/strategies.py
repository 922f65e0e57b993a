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

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

from s2ws.ids import is_id_type
from s2ws.messages import UNSET, S2Message, S2Object
from s2ws.messages.profiles import PROFILES, Profile, get_profile

__all__ = [
    "EDGE_DURATIONS",
    "ID_ALPHABET",
    "MAX_ITEMS",
    "MODEL_STRATEGIES",
    "at_the_edges",
    "aware_datetimes",
    "component_classes",
    "edge_datetimes",
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


# --- the edges of what a peer may send ----------------------------------------------------------

EDGE_DURATIONS: Final = (0, 1, 2**31 - 1, 2**53 + 1, 2**62, _MAX_INT)
"""Durations a peer may send, milliseconds: 0 and the largest a signed 64-bit peer can hold."""

_EDGE_OFFSETS: Final = (UTC, timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=-5)))
_EDGE_OFFSETS_FAR: Final = (timezone(timedelta(minutes=_MINUTES_PER_DAY - 1)), timezone(-timedelta(minutes=1439)))


def edge_datetimes() -> st.SearchStrategy[datetime]:
    """The first and last instants a timestamp can write (0001-01-01T00:00:00, 9999-12-31T23:59:59.999999),
    in UTC and with offsets either way: some of them lie outside what datetime can hold in UTC."""
    instants = (datetime(1, 1, 1), datetime(1, 1, 1, 0, 0, 1), datetime(9999, 12, 31, 23, 59, 59, 999999))
    return st.builds(
        lambda moment, tz: moment.replace(tzinfo=tz),
        st.sampled_from(instants),
        st.sampled_from(_EDGE_OFFSETS + _EDGE_OFFSETS_FAR),
    )


def _takes_durations(t: mi.Type) -> bool:
    if isinstance(t, mi.UnionType):
        return any(_takes_durations(member) for member in t.types)
    return isinstance(t, mi.IntType) and t.ge == 0 and t.le == _MAX_INT


def _takes_datetimes(t: mi.Type) -> bool:
    if isinstance(t, mi.UnionType):
        return any(_takes_datetimes(member) for member in t.types)
    return isinstance(t, mi.DateTimeType)


@st.composite
def at_the_edges(draw: st.DrawFn, obj: Any) -> Any:
    """``obj`` (a message or an object in one) with each duration and timestamp either kept or
    replaced by an edge value (:data:`EDGE_DURATIONS`, :func:`edge_datetimes`): still
    schema-valid, but as far out as a peer may go. Lists and nested objects are walked."""
    if isinstance(obj, list):
        return [draw(at_the_edges(item)) for item in obj]
    if not isinstance(obj, S2Object):
        return obj
    info = mi.type_info(type(obj))
    assert isinstance(info, mi.StructType)
    changes: dict[str, Any] = {}
    for f in info.fields:
        value = getattr(obj, f.name)
        if isinstance(value, int) and not isinstance(value, bool) and _takes_durations(f.type):
            changes[f.name] = draw(st.one_of(st.just(value), st.sampled_from(EDGE_DURATIONS)))
        elif isinstance(value, datetime) and _takes_datetimes(f.type):
            changes[f.name] = draw(st.one_of(st.just(value), edge_datetimes()))
        elif isinstance(value, S2Object | list):
            changes[f.name] = draw(at_the_edges(value))
    return msgspec.structs.replace(obj, **changes) if changes else obj


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware instants, some with whole seconds, some with microseconds, some at the very
    edges of what a timestamp can write (:func:`edge_datetimes`)."""
    # One day of margin at both ends here, so no offset can push the instant out of datetime's
    # range; the edges themselves come from edge_datetimes, which builds them without conversion.
    moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets())
    return st.one_of(moments.map(lambda d: d.replace(microsecond=0)), moments, edge_datetimes())


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
