"""The module side of the bootstrap TCP channel (``init.tcp_channel``, §4.3)."""

from __future__ import annotations

import logging

from anyio.abc import ByteStream

from pywatt.comm._socket import connect_tcp
from pywatt.comm.channel import FramedChannel
from pywatt.comm.reconnect import FOREVER, ONCE, Backoff
from pywatt.core.errors import ConfigError
from pywatt.core.messages import TcpChannelConfig, parse_listen_address

__all__ = ["DEFAULT_TCP_MAX_FRAME", "TcpChannel"]

logger = logging.getLogger("pywatt.comm.tcp")

#: The 64 MiB the Rust SDK advertises for TCP (it never enforces it).
DEFAULT_TCP_MAX_FRAME = 64 * 1024 * 1024


class TcpChannel(FramedChannel):
    """Plain TCP to ``config.address``; the first connect is a single attempt, as in Rust.

    TLS and security levels have no wire effect in the Rust SDK (§9 item 7): asking for them
    logs a warning and the channel stays plaintext so that it can talk to a Rust orchestrator.
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
        if config.tls_enabled:
            logger.warning("tcp channel: tls_enabled is set but TLS is not used (plaintext)")
        if security_level != "None":
            logger.warning(
                "tcp channel: security level %s has no effect on the wire", security_level
            )

    async def _connect_once(self) -> ByteStream:
        return await connect_tcp(self.host, self.port)  # TCP_NODELAY is set
