"""The machine-readable specification (JSON Schema, AsyncAPI, OpenAPI) generated from the models.

Everything here is pure except :func:`export_spec`, which writes :func:`render_spec`'s output.
"""

from __future__ import annotations

from .export import export_spec
from .layout import render_spec
from .model_walk import SpecModel, build_spec_model

__all__ = ["SpecModel", "build_spec_model", "export_spec", "render_spec"]
