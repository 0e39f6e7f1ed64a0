"""TLS on the TCP channel between pywatt peers: the agreement, secret names and ``ssl`` contexts.

A Rust orchestrator sets ``tcp_channel.tls_enabled`` but speaks plaintext (PROTOCOL.md §9
item 7), so that flag alone never turns TLS on. A pywatt orchestrator that really listens
with TLS also puts ``PYWATT_CHANNEL_TLS`` (``tls`` or ``mtls``) in the module's environment.
Certificates are PEM text kept as secrets: the orchestrator reads its own from its secret
store, and the module asks the orchestrator for the CA (and, for ``mtls``, its client
certificate and key) over the ordinary secret protocol. Hostnames are checked: the server
certificate must name the channel's address (an IP SAN for ``127.0.0.1``).
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Mapping
from typing import Literal

from pywatt.core.errors import ConfigError

__all__ = [
    "CHANNEL_TLS_ENV",
    "TLS_CA_SECRET",
    "TLS_CLIENT_CERT_SECRET",
    "TLS_CLIENT_KEY_SECRET",
    "TLS_SERVER_CERT_SECRET",
    "TLS_SERVER_KEY_SECRET",
    "TlsMode",
    "channel_tls_mode",
    "client_context",
    "server_context",
]

#: ``tls`` or ``mtls`` in a module's environment: the orchestrator's channel really is TLS.
CHANNEL_TLS_ENV = "PYWATT_CHANNEL_TLS"
#: PEM of the CA that signed the orchestrator's certificate (and the modules' client ones).
TLS_CA_SECRET = "PYWATT_TLS_CA"
#: PEM certificate chain and key the orchestrator's channel listener presents.
TLS_SERVER_CERT_SECRET = "PYWATT_TLS_SERVER_CERT"
TLS_SERVER_KEY_SECRET = "PYWATT_TLS_SERVER_KEY"
#: PEM certificate chain and key a module presents under ``mtls``.
TLS_CLIENT_CERT_SECRET = "PYWATT_TLS_CLIENT_CERT"
TLS_CLIENT_KEY_SECRET = "PYWATT_TLS_CLIENT_KEY"

TlsMode = Literal["tls", "mtls"]


def channel_tls_mode(environ: Mapping[str, str]) -> TlsMode | None:
    """The TLS mode a pywatt orchestrator asked for, or None (plaintext)."""
    value = environ.get(CHANNEL_TLS_ENV, "").strip().lower()
    if not value:
        return None
    if value not in ("tls", "mtls"):
        raise ConfigError(f"{CHANNEL_TLS_ENV} must be 'tls' or 'mtls', not {value!r}")
    return value  # type: ignore[return-value]


def client_context(ca: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """Verify the server against ``ca`` with hostname checks; present ``cert`` if given."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"the channel CA is not a PEM certificate: {exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        _load_chain(context, cert, key, "client")
    return context


def server_context(cert: str, key: str | None, client_ca: str | None = None) -> ssl.SSLContext:
    """Present ``cert``; with ``client_ca``, require a client certificate it signed (mTLS)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(context, cert, key, "server")
    if client_ca is not None:
        try:
            context.load_verify_locations(cadata=client_ca)
        except (ssl.SSLError, ValueError) as exc:
            raise ConfigError(f"the channel CA is not a PEM certificate: {exc}") from exc
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _load_chain(context: ssl.SSLContext, cert: str, key: str | None, side: str) -> None:
    # ssl loads certificate chains from files only; they live a moment in a private directory.
    with tempfile.TemporaryDirectory(prefix="pywatt-tls-") as folder:
        cert_file = os.path.join(folder, "cert.pem")
        key_file = os.path.join(folder, "key.pem") if key is not None else None
        for path, text in ((cert_file, cert), (key_file, key)):
            if path is not None and text is not None:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as file:
                    file.write(text)
        try:
            context.load_cert_chain(cert_file, key_file)
        except (ssl.SSLError, ValueError) as exc:
            raise ConfigError(
                f"the channel {side} certificate or key is not usable: {exc}"
            ) from exc
