"""The exception tree drawn in the docstring of s2ws.errors is the real class hierarchy."""

from __future__ import annotations

import inspect
import re

import pytest

import s2ws.errors as errors
from s2ws.errors import S2Error, StatusError

_LINE = re.compile(
    r"^(?P<indent>[|+\- ]*)(?P<name>[A-Za-z]\w*)(?: \(also (?P<also>[\w, ]+)\))?\s+(?P<status>[A-Z_]+|-)$"
)


def _drawing() -> list[str]:
    doc = errors.__doc__ or ""
    match = re.search(r"```text\n(.*?)```", doc, re.S)
    assert match is not None, "the module docstring holds no ```text block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def _parse(lines: list[str] | None = None) -> dict[str, tuple[str | None, str, tuple[str, ...]]]:
    """class name -> (parent name, status column, extra non-s2ws bases)."""
    tree: dict[str, tuple[str | None, str, tuple[str, ...]]] = {}
    stack: list[str] = []
    for line in _drawing() if lines is None else lines:
        found = _LINE.match(line)
        assert found is not None, f"cannot read the tree line {line!r}"
        depth = len(found.group("indent")) // 4
        assert depth <= len(stack), f"{line!r} is indented deeper than its parent"
        del stack[depth:]
        name = found.group("name")
        also = tuple(part.strip() for part in (found.group("also") or "").split(",") if part.strip())
        tree[name] = (stack[-1] if stack else None, found.group("status"), also)
        stack.append(name)
    return tree


def _classes() -> dict[str, type[BaseException]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, S2Error) and cls.__module__ == errors.__name__
    }


def test_every_exception_class_is_drawn_once_and_nothing_else() -> None:
    drawn = [(_LINE.match(line) or pytest.fail(line)).group("name") for line in _drawing()]
    assert len(drawn) == len(set(drawn)), "a class is drawn twice"
    assert set(drawn) == set(_classes())
    assert set(drawn) == {name for name in errors.__all__ if name in _classes()}


def test_the_drawn_parents_are_the_real_bases() -> None:
    classes = _classes()
    for name, (parent, _, also) in _parse().items():
        cls = classes[name]
        own = [base.__name__ for base in cls.__bases__ if issubclass(base, S2Error)]
        other = tuple(base.__name__ for base in cls.__bases__ if not issubclass(base, S2Error))
        assert own == ([parent] if parent else []), f"{name}: drawn under {parent}, derives from {own}"
        if name == "S2Error":
            other = tuple(base for base in other if base != "Exception")
        assert other == also, f"{name}: drawn with also {also}, has {other}"


def test_the_drawn_status_is_the_reception_status_raised_with() -> None:
    classes = _classes()
    for name, (_, status, _) in _parse().items():
        cls = classes[name]
        if issubclass(cls, StatusError):
            assert status == cls.status.value, f"{name}: drawn {status}, maps to {cls.status.value}"
        else:
            assert status == "-", f"{name} has no ReceptionStatus but is drawn with {status}"


def test_a_wrong_drawing_is_noticed() -> None:
    """The parser reads parents from indentation: a class drawn one level up gets another parent."""
    lines = [line.replace("|   |   +-- InvalidData", "|   +-- InvalidData") for line in _drawing()]
    assert lines != _drawing()
    assert _parse(lines)["InvalidData"][0] == "StatusError"
    assert errors.InvalidData.__bases__ == (errors.DecodeError,)
