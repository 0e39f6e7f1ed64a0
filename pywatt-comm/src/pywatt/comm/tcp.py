"""The module side of the bootstrap TCP channel (``init.tcp_channel``, §4.3)."""

from __future__ import annotations

import logging
import os
import ssl

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from pywatt.comm._socket import connect_tcp
from pywatt.comm.channel import FramedChannel
from pywatt.comm.reconnect import FOREVER, ONCE, Backoff
from pywatt.core.errors import ChannelError, ConfigError, PyWattError
from pywatt.core.messages import TcpChannelConfig, parse_listen_address
from pywatt.core.tls import (
    TLS_CA_SECRET,
    TLS_CLIENT_CERT_SECRET,
    TLS_CLIENT_KEY_SECRET,
    TlsMode,
    channel_tls_mode,
    client_context,
)

__all__ = ["DEFAULT_TCP_MAX_FRAME", "TcpChannel"]

logger = logging.getLogger("pywatt.comm.tcp")

#: The 64 MiB the Rust SDK advertises for TCP (it never enforces it).
DEFAULT_TCP_MAX_FRAME = 64 * 1024 * 1024


class TcpChannel(FramedChannel):
    """TCP to ``config.address``; the first connect is a single attempt, as in Rust.

    TLS and security levels have no wire effect in the Rust SDK (§9 item 7): ``tls_enabled``
    alone logs a warning and the channel stays plaintext, so that it can talk to a Rust
    orchestrator. TLS is used when a pywatt orchestrator also sets ``PYWATT_CHANNEL_TLS``
    (the CA, and the client certificate for ``mtls``, are then asked for as secrets before
    the first connect; see :mod:`pywatt.core.tls`), or when code passes ``ssl_context``.
    The server certificate must name ``server_hostname`` (default: the address's IP).
    """

    name = "tcp"

    def __init__(
        self,
        config: TcpChannelConfig,
        *,
        connect_timeout: float = 30.0,
        max_frame_size: int = DEFAULT_TCP_MAX_FRAME,
        reconnect: Backoff = FOREVER,
        security_level: str = "None",
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> None:
        if not isinstance(config, TcpChannelConfig):
            raise ConfigError(f"the tcp channel needs a TcpChannelConfig, not {type(config)}")
        addr = parse_listen_address(config.address)
        if not addr.is_tcp or addr.host is None or addr.port is None:
            raise ConfigError(f"tcp channel address {config.address!r} is not ip:port")
        self.host, self.port = addr.host, addr.port
        self.config = config
        super().__init__(
            opener=self._connect_once,
            address=config.address,
            connect_timeout=connect_timeout,
            max_frame_size=max_frame_size,
            initial=ONCE,
            reconnect=reconnect,
        )
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or self.host
        #: What the orchestrator asked for; its certificates are fetched on the first connect.
        self.tls_mode: TlsMode | None = "tls" if ssl_context is not None else None
        if ssl_context is None and config.tls_enabled:
            self.tls_mode = channel_tls_mode(os.environ)
            if self.tls_mode is None:
                logger.warning("tcp channel: tls_enabled is set but TLS is not used (plaintext)")
        if security_level != "None":
            logger.warning(
                "tcp channel: security level %s has no effect on the wire", security_level
            )

    async def connect(self) -> None:
        if self.tls_mode is not None and self.ssl_context is None:
            self.ssl_context = await _context_from_secrets(self.tls_mode)
        await super().connect()

    async def _connect_once(self) -> ByteStream:
        stream = await connect_tcp(self.host, self.port)  # TCP_NODELAY is set
        if self.ssl_context is None:
            return stream
        try:
            return await TLSStream.wrap(
                stream,
                hostname=self.server_hostname,
                ssl_context=self.ssl_context,
                standard_compatible=False,
            )
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            if isinstance(exc, (anyio.BrokenResourceError, anyio.EndOfStream)):
                # the server hung up during the handshake: a failed connect, like a refusal
                raise ConnectionError(f"TLS handshake failed: {exc!r}") from exc
            raise


async def _context_from_secrets(mode: TlsMode) -> ssl.SSLContext:
    """The client context from the CA (and, for mtls, the client certificate) as secrets."""
    from pywatt.core.module import current_module

    try:
        secrets = current_module().state.extensions["secrets"]
        ca = (await secrets.get(TLS_CA_SECRET)).expose()
        if mode == "tls":
            return client_context(ca)
        cert = (await secrets.get(TLS_CLIENT_CERT_SECRET)).expose()
        key = (await secrets.get(TLS_CLIENT_KEY_SECRET)).expose()
        return client_context(ca, cert, key)
    except (PyWattError, KeyError) as exc:
        raise ChannelError(f"tcp channel: {mode} was asked for but not set up: {exc}") from exc
