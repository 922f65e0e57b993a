"""Write the rendered spec files below a directory; the only module of this package that does I/O."""

from __future__ import annotations

from pathlib import Path

from ..messages.profiles import Profile
from .layout import render_spec

__all__ = ["export_spec"]


def export_spec(out_dir: str | Path, profile: str | Profile | None = None) -> list[Path]:
    """Write every file of ``profile`` below ``out_dir`` (created as needed) and return the paths written.

    Existing files with the same names are replaced; other files are left alone, so exporting a
    different profile into the same directory can leave files the new profile does not have.
    """
    root = Path(out_dir)
    written: list[Path] = []
    for relative, text in render_spec(profile).items():
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written
