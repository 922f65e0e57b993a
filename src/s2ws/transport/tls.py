"""TLS for S2 WebSockets: verified by default, a private CA for LAN devices, or a pinned leaf certificate.

S2 Connect validates LAN servers against a pinned root CA (``ca_file`` / ``ca_data``); a pinned leaf
fingerprint (SHA-256 of the DER certificate) is the fallback for devices without any CA.
"""

from __future__ import annotations

import hashlib
import os
import ssl

from ..errors import TransportConfigError

__all__ = [
    "certificate_fingerprint",
    "client_ssl_context",
    "parse_fingerprint",
    "server_ssl_context",
]

StrPath = str | os.PathLike[str]


def client_ssl_context(
    *,
    ca_file: StrPath | None = None,
    ca_data: str | bytes | None = None,
    minimum_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
) -> ssl.SSLContext:
    """A verifying client context (hostname and chain). With a CA given, only that CA is trusted."""
    try:
        if ca_file is None and ca_data is None:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        else:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file, cadata=ca_data)
    except (OSError, ssl.SSLError) as exc:
        raise TransportConfigError(f"cannot load CA certificates: {exc}") from exc
    ctx.minimum_version = minimum_version
    return ctx


def server_ssl_context(
    certfile: StrPath,
    keyfile: StrPath | None = None,
    *,
    password: str | None = None,
    minimum_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
) -> ssl.SSLContext:
    """A server context from a PEM chain (leaf first, then its CA, as S2 Connect asks) and key."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = minimum_version
    try:
        ctx.load_cert_chain(certfile, keyfile, password)
    except (OSError, ssl.SSLError) as exc:
        raise TransportConfigError(f"cannot load the server certificate: {exc}") from exc
    return ctx


def parse_fingerprint(value: str | bytes) -> bytes:
    """A SHA-256 fingerprint as 32 raw bytes, from raw bytes or hex (colons, spaces and case ignored)."""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        text = value.strip().lower().replace(":", "").replace(" ", "")
        text = text.removeprefix("sha256/").removeprefix("sha256=")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise TransportConfigError(f"not a hex SHA-256 fingerprint: {value!r}") from None
    if len(raw) != hashlib.sha256().digest_size:
        raise TransportConfigError(f"a SHA-256 fingerprint has 32 bytes, got {len(raw)}")
    return raw


def certificate_fingerprint(cert: str | bytes) -> str:
    """The lower-case hex SHA-256 of a certificate given as PEM text/bytes or DER bytes."""
    if isinstance(cert, str) or cert.lstrip().startswith(b"-----BEGIN"):
        pem = cert if isinstance(cert, str) else cert.decode("ascii")
        der = ssl.PEM_cert_to_DER_cert(pem.strip())
    else:
        der = cert
    return hashlib.sha256(der).hexdigest()
