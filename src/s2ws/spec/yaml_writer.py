"""A small YAML writer for the spec files: mappings, sequences, strings, numbers, booleans, null.

The core package depends on msgspec and aiohttp only, and the spec files need a tiny subset
of YAML, so this writer replaces a YAML library. It favours output that every YAML 1.1 and 1.2
parser reads back identically: a string is written plain only when it cannot be mistaken for
anything else, as a literal block when it is multi-line text, and double-quoted otherwise.
Mapping keys keep insertion order; sequences under a key are not indented, as in the
upstream files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["dump_yaml"]

_PLAIN: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$/-]*")
# YAML 1.1 reads these as booleans or null; quoting them keeps them strings everywhere.
_RESERVED: Final = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _printable(ch: str) -> bool:
    """True for characters written unescaped: YAML's printable set minus BOM and line separators."""
    code = ord(ch)
    if code in (0x2028, 0x2029):  # YAML 1.1 parsers treat these as line breaks
        return False
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or 0x10000 <= code <= 0x10FFFF
    )


def _quoted(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02X}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(f"\\U{ord(ch):08X}")
    return '"' + "".join(out) + '"'


def _plain_ok(text: str) -> bool:
    return _PLAIN.fullmatch(text) is not None and text.lower() not in _RESERVED


def _literal_ok(text: str) -> bool:
    """Multi-line text that a ``|`` / ``|-`` block reproduces exactly."""
    if "\n" not in text or text.endswith("\n\n") or text.startswith((" ", "\n")):
        return False
    body = text[:-1] if text.endswith("\n") else text
    return all(
        line == line.rstrip() and all(_printable(ch) or ch == "\t" for ch in line) for line in body.split("\n")
    ) and not body.split("\n")[0].startswith("\t")


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        return value if _plain_ok(value) else _quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"mapping keys must be strings, not {type(key).__name__}")
    return key if _plain_ok(key) else _quoted(key)


def _is_block(value: object) -> bool:
    """True for values written on the lines below their key or dash."""
    if isinstance(value, Mapping | list | tuple):
        return len(value) > 0
    return isinstance(value, str) and _literal_ok(value)


def _inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _scalar(value)


def _literal(text: str, indent: int, out: list[str]) -> str:
    """Append the block lines of ``text``; return the header indicator."""
    body = text[:-1] if text.endswith("\n") else text
    pad = " " * indent
    out.extend(pad + line if line else "" for line in body.split("\n"))
    return "|" if text.endswith("\n") else "|-"


def _mapping(data: Mapping[Any, object], indent: int, out: list[str], first_prefix: str | None = None) -> None:
    pad = " " * indent
    for index, (key, value) in enumerate(data.items()):
        lead = first_prefix if first_prefix is not None and index == 0 else pad
        _entry(f"{lead}{_key(key)}:", value, out, child_indent=indent + 2, seq_indent=indent)


def _sequence(data: Sequence[object], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in data:
        if isinstance(item, Mapping) and item:
            _mapping(item, indent + 2, out, first_prefix=f"{pad}- ")
        else:
            _entry(f"{pad}-", item, out, child_indent=indent + 2, seq_indent=indent + 2)


def _entry(head: str, value: object, out: list[str], *, child_indent: int, seq_indent: int) -> None:
    """Write ``head`` followed by ``value``, inline or as a block below it."""
    if not _is_block(value):
        out.append(f"{head} {_inline(value)}")
    elif isinstance(value, str):
        lines: list[str] = []
        indicator = _literal(value, child_indent, lines)
        out.append(f"{head} {indicator}")
        out.extend(lines)
    elif isinstance(value, Mapping):
        out.append(head)
        _mapping(value, child_indent, out)
    else:
        assert isinstance(value, list | tuple)
        out.append(head)
        _sequence(value, seq_indent, out)


def dump_yaml(data: Mapping[str, object]) -> str:
    """The YAML text of ``data``, ending with a newline."""
    if not data:
        return "{}\n"
    out: list[str] = []
    _mapping(data, 0, out)
    return "\n".join(out) + "\n"
