"""The module side of the bootstrap Unix-socket channel (``init.ipc_channel``, §4.3)."""

from __future__ import annotations

import logging

from anyio.abc import ByteStream

from pywatt.comm._socket import connect_unix
from pywatt.comm.channel import FramedChannel
from pywatt.comm.reconnect import FOREVER, Backoff
from pywatt.core.errors import ConfigError
from pywatt.core.messages import IpcChannelConfig

__all__ = ["DEFAULT_UNIX_MAX_FRAME", "UnixChannel"]

logger = logging.getLogger("pywatt.comm.unix")

#: The 128 MiB the Rust SDK advertises for IPC (it never enforces it).
DEFAULT_UNIX_MAX_FRAME = 128 * 1024 * 1024


class UnixChannel(FramedChannel):
    """A Unix socket at ``config.socket_path``.

    Rust retries the first connect forever and never consults ``required``; here the
    retries stop after ``connect_budget`` seconds so the runtime can honour it (§9 item 8).
    """

    name = "unix"

    def __init__(
        self,
        config: IpcChannelConfig,
        *,
        connect_timeout: float = 30.0,
        connect_budget: float = 30.0,
        max_frame_size: int = DEFAULT_UNIX_MAX_FRAME,
        reconnect: Backoff = FOREVER,
        security_level: str = "None",
    ) -> None:
        if not isinstance(config, IpcChannelConfig):
            raise ConfigError(f"the unix channel needs an IpcChannelConfig, not {type(config)}")
        if not config.socket_path:
            raise ConfigError("unix channel socket_path is empty")
        self.path = config.socket_path
        self.config = config
        super().__init__(
            opener=self._connect_once,
            address=config.socket_path,
            connect_timeout=connect_timeout,
            max_frame_size=max_frame_size,
            initial=Backoff(budget=connect_budget),
            reconnect=reconnect,
        )
        if security_level != "None":
            logger.warning(
                "unix channel: security level %s has no effect on the wire", security_level
            )

    async def _connect_once(self) -> ByteStream:
        return await connect_unix(self.path)
