"""The exported file set for one profile, as path -> text, without touching the disk.

Keeping the whole layout a pure function lets tests compare it in memory and lets other
tools (a web page, a package build) reuse it without the CLI.
"""

from __future__ import annotations

from ..messages.profiles import Profile
from .asyncapi import asyncapi_files
from .jsonschema import json_schema_files
from .model_walk import build_spec_model
from .openapi import openapi_file

__all__ = ["render_spec"]


def render_spec(profile: str | Profile | None = None) -> dict[str, str]:
    """All spec files of ``profile`` (default ``0.0.2-beta``), keyed by POSIX path relative to the export root."""
    model = build_spec_model(profile)
    return {**json_schema_files(model), **asyncapi_files(model), **openapi_file(model)}
