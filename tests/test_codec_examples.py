"""The official walkthrough examples (EV, heat pump, PV) decode and re-encode to the same JSON.

Whole messages go through :func:`s2ws.decode`; fragments (``*-fragment-<Type>.json``) hold one
component object and go through :func:`s2ws.decode_as` with the class the file name gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import msgspec
import pytest

import s2ws
from s2ws.messages import PROFILES, S2Message, S2Object, message_type_of

EXAMPLES: Final = Path(__file__).resolve().parent.parent.parent / "shared" / "spec" / "examples"
FRAGMENT: Final = "-fragment-"


def _names(fragments: bool) -> list[str]:
    """File names found at collection time; one placeholder when the directory is absent, so the
    ``examples_dir`` fixture can skip with its reason instead of the test silently vanishing."""
    if not EXAMPLES.is_dir():
        return ["(examples absent)"]
    return sorted(p.name for p in EXAMPLES.glob("*.json") if (FRAGMENT in p.name) == fragments)


def _component_class(name: str) -> type[S2Object]:
    """``ev-06-fragment-FRBC.StorageDescription.json`` -> ``FRBCStorageDescription``."""
    wire = name.split(FRAGMENT, 1)[1].removesuffix(".json")
    cls = getattr(s2ws.messages, wire.replace(".", ""), None)
    assert isinstance(cls, type) and issubclass(cls, S2Object), f"no model class for {wire!r}"
    return cls


def _load(examples_dir: Path, name: str) -> tuple[bytes, Any]:
    data = (examples_dir / name).read_bytes()
    return data, json.loads(data)


@pytest.mark.parametrize("name", _names(fragments=False))
def test_example_message_round_trips(examples_dir: Path, name: str) -> None:
    data, original = _load(examples_dir, name)
    message = s2ws.decode(data)
    assert isinstance(message, S2Message)
    assert message_type_of(type(message)) == original["message_type"]
    assert json.loads(s2ws.encode(message)) == original
    assert s2ws.encode_checked(message) == s2ws.encode(message)


@pytest.mark.parametrize("name", _names(fragments=False))
def test_example_message_is_the_same_in_profile_1_0_0(examples_dir: Path, name: str) -> None:
    """None of the examples uses a shape that changed in 1.0.0 (DDBC), so both profiles agree."""
    data, _ = _load(examples_dir, name)
    assert s2ws.decode(data, "1.0.0") == s2ws.decode(data)


@pytest.mark.parametrize("name", _names(fragments=True))
def test_example_fragment_round_trips(examples_dir: Path, name: str) -> None:
    data, original = _load(examples_dir, name)
    cls = _component_class(name)
    value = s2ws.decode_as(data, cls)
    assert type(value) is cls
    assert json.loads(msgspec.json.encode(value)) == original


def test_examples_cover_what_the_walkthroughs_show(examples_dir: Path) -> None:
    """Guard against an empty or partial directory passing unnoticed."""
    messages = _names(fragments=False)
    fragments = _names(fragments=True)
    assert len(messages) >= 30 and len(fragments) >= 4
    types = {json.loads((examples_dir / n).read_bytes())["message_type"] for n in messages}
    known = set(PROFILES["0.0.2-beta"].by_type)
    assert types <= known
    assert {"Handshake", "FRBC.SystemDescription", "PEBC.PowerConstraints", "PowerForecast"} <= types
