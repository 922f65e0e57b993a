"""The catalogue of conformance cases: fixed ids ``S2-TEST-NNN``, never renumbered.

A case is data (id, title, the role under test, the rules of ``docs/rules.md`` and the sections
of the standard it checks, profiles, tags) plus the script that drives one fresh session. Scripts
live in :mod:`.rm_cases` and :mod:`.rm_control_cases` (the tester plays the CEM) and
:mod:`.cem_cases` (the tester plays RMs); they register here with :func:`case`. Ids 001-099 test an RM, 101-199 a CEM.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .probe import Probe

__all__ = ["CATALOGUE", "ENDS_SESSION", "PROFILES", "Case", "CaseContext", "CaseSkipped", "case", "select_cases"]

PROFILES: Final = ("0.0.2-beta", "1.0.0")


class CaseSkipped(Exception):
    """The case does not apply to this peer (say, it offers no FRBC); the text says why."""


@dataclass(frozen=True, slots=True)
class CaseContext:
    """What a script may know besides its probe: the profile tested and the tolerance on timing."""

    profile: str
    allowance: float = 1.0
    """Seconds added to the peer's declared instruction_processing_delay (network and scheduling)."""


Script = Callable[["Probe", CaseContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str
    role: str
    """The role under test: ``rm`` or ``cem``."""
    rules: tuple[str, ...]
    sections: tuple[str, ...]
    tags: tuple[str, ...]
    profiles: tuple[str, ...]
    script: Script
    doc: str

    def applies(self, profile: str) -> bool:
        return profile in self.profiles


_CASES: dict[str, Case] = {}
CATALOGUE: Mapping[str, Case] = MappingProxyType(_CASES)
"""Every case by id, in id order once both script modules are imported (see ``__init__``)."""


def case(
    number: int,
    role: str,
    title: str,
    *,
    rules: Iterable[str] = (),
    sections: Iterable[str] = (),
    tags: Iterable[str] = (),
    profiles: Iterable[str] = PROFILES,
) -> Callable[[Script], Script]:
    """Register a script as case ``S2-TEST-<number>``; its docstring is the case's description."""

    def register(script: Script) -> Script:
        ident = f"S2-TEST-{number:03d}"
        if ident in _CASES:
            raise ValueError(f"{ident} registered twice")
        if role not in ("rm", "cem"):
            raise ValueError(f"{ident}: role must be rm or cem")
        doc = " ".join((script.__doc__ or "").split())
        _CASES[ident] = Case(
            ident, title, role, tuple(rules), tuple(sections), tuple(tags), tuple(profiles), script, doc
        )
        return script

    return register


ENDS_SESSION: Final = "ends-session"
"""Tag of cases after which a peer may rightly stop reconnecting (a TERMINATE): they run last."""


def _order(c: Case) -> tuple[bool, str]:
    return (ENDS_SESSION in c.tags, c.id)


def _full_id(name: str) -> str:
    """``7`` and ``007`` mean ``S2-TEST-007``; anything else is an id or a tag as written."""
    return f"S2-TEST-{int(name):03d}" if name.isdigit() else name


def select_cases(
    role: str, *, only: Iterable[str] = (), skip: Iterable[str] = (), profile: str | None = None
) -> list[Case]:
    """Cases for ``role``, filtered by id (or its number) or tag: ``only`` keeps matches (all when empty),
    ``skip`` drops.

    Raises ValueError naming any id or tag that matches no case of the catalogue."""
    only, skip = [_full_id(x) for x in only], [_full_id(x) for x in skip]
    known = {c.id for c in _CASES.values()} | {t for c in _CASES.values() for t in c.tags}
    unknown = [x for x in only + skip if x not in known]
    if unknown:
        raise ValueError(f"no case id or tag {', '.join(unknown)} in the catalogue")

    def matches(c: Case, names: list[str]) -> bool:
        return c.id in names or any(t in names for t in c.tags)

    out = [c for c in sorted(_CASES.values(), key=_order) if c.role == role]
    if only:
        out = [c for c in out if matches(c, only)]
    out = [c for c in out if not matches(c, skip)]
    if profile is not None:
        out = [c for c in out if c.applies(profile)]
    return out
