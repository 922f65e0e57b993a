"""The web UI: a read-only view of sessions, messages with their rule findings, devices and energy.

:class:`Monitor` turns raw frames into what the views show; :func:`serve_ui` serves it over HTTP.
"""

from __future__ import annotations

from .monitor import Monitor
from .server import UI, build_app, plotly_path, serve_ui

__all__ = ["UI", "Monitor", "build_app", "plotly_path", "serve_ui"]
