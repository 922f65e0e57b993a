"""Transports for the sans-I/O session engine: aiohttp WebSocket server and client, ASGI app, memory pair.

This is the only layer that imports asyncio and aiohttp. Everything here drives any object shaped like
:class:`EngineLike`; :func:`drive` is the one loop, the rest are channels and ways to open them.
"""

from __future__ import annotations

from .asgi import AsgiApp, asgi_app
from .auth import TokenVerifier, bearer_token
from .backoff import S2_CONNECT_RECONNECT, Backoff, ReconnectPolicy
from .channel import Channel
from .connection import Connection, EngineLike, EventHandler, SessionFactory, ended_with_terminate
from .driver import Driver, drive, utc_now
from .memory import MemoryChannel, memory_pair
from .options import DEFAULT_HEARTBEAT, DEFAULT_MAX_FRAME_BYTES, MIN_HEARTBEAT, ClientOptions, ServerOptions
from .tls import certificate_fingerprint, client_ssl_context, parse_fingerprint, server_ssl_context
from .ws_client import Client, Endpoint, EndpointProvider, connect
from .ws_server import Server, create_app, http_settings, serve

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_MAX_FRAME_BYTES",
    "MIN_HEARTBEAT",
    "S2_CONNECT_RECONNECT",
    "AsgiApp",
    "Backoff",
    "Channel",
    "Client",
    "ClientOptions",
    "Connection",
    "Driver",
    "Endpoint",
    "EndpointProvider",
    "EngineLike",
    "EventHandler",
    "MemoryChannel",
    "ReconnectPolicy",
    "Server",
    "ServerOptions",
    "SessionFactory",
    "TokenVerifier",
    "asgi_app",
    "bearer_token",
    "certificate_fingerprint",
    "client_ssl_context",
    "connect",
    "create_app",
    "drive",
    "ended_with_terminate",
    "http_settings",
    "memory_pair",
    "parse_fingerprint",
    "serve",
    "server_ssl_context",
    "utc_now",
]
