"""One request, the next frame as its reply: the connection §7.2 and §7.4 clients share.

Neither protocol carries a correlation id, so requests on a connection are serialized and a
request that times out closes the connection (a late reply would answer the next request);
the next request dials again.
"""

from __future__ import annotations

import collections
import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import SocketStream

from pywatt.comm.reconnect import Backoff
from pywatt.core.envelope import (
    EncodingFormat,
    FrameDecoder,
    MessageMetadata,
    encode_envelope,
    encode_frame,
    frame_payload_to_json,
)
from pywatt.core.errors import ChannelClosedError, ChannelError, ConfigError, FrameError
from pywatt.core.messages import parse_listen_address

__all__ = ["DISCOVERY_ADDRESS_ENV", "ConnectionConfig", "RequestConnection"]

logger = logging.getLogger("pywatt.comm.connection")

#: Where the pywatt dev orchestrator tells each module its discovery/registration address.
DISCOVERY_ADDRESS_ENV = (
    "PYWATT_DISCOVERY_ADDRESS"  # as in pywatt.cli.orchestrator._discovery_registry
)


@dataclass(frozen=True)
class ConnectionConfig:
    """The orchestrator's TCP address for registration and discovery.

    :param request_timeout: seconds to wait for each reply frame (30 s, as in Rust).
    :param dial: backoff for connecting; the default gives up after 30 s.
    """

    host: str
    port: int
    connect_timeout: float = 30.0
    request_timeout: float = 30.0
    dial: Backoff = field(default_factory=lambda: Backoff(budget=30.0))

    @classmethod
    def from_address(cls, address: str, **kwargs: Any) -> ConnectionConfig:
        """From ``ip:port``."""
        parsed = parse_listen_address(address)
        if not parsed.is_tcp or parsed.host is None or parsed.port is None:
            raise ConfigError(f"orchestrator address {address!r} is not ip:port")
        return cls(host=parsed.host, port=parsed.port, **kwargs)

    @classmethod
    def from_env(cls, **kwargs: Any) -> ConnectionConfig:
        """From ``PYWATT_DISCOVERY_ADDRESS``, which the pywatt dev orchestrator sets."""
        address = os.environ.get(DISCOVERY_ADDRESS_ENV)
        if not address:
            raise ConfigError(f"{DISCOVERY_ADDRESS_ENV} is not set; is the orchestrator pywatt's?")
        return cls.from_address(address, **kwargs)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class RequestConnection:
    """A lazily dialled TCP connection; :meth:`request` sends an envelope, returns one frame."""

    def __init__(self, config: ConnectionConfig, what: str, *, metadata_id: bool = True) -> None:
        self.config = config
        self.what = what
        #: §7.2/§7.4 put a fresh UUID in ``metadata.id``; §5.4 sends ``{}``.
        self.metadata_id = metadata_id
        self._stream: SocketStream | None = None
        self._decoder = FrameDecoder()
        self._frames: collections.deque[tuple[EncodingFormat, bytes]] = collections.deque()
        self._lock = anyio.Lock()
        #: Connections dialled so far (for tests and diagnostics).
        self.dials = 0

    def __str__(self) -> str:
        return self.config.address

    async def request(self, content: Any) -> bytes:
        """Send ``Message{content, metadata}``; the next frame's JSON bytes.

        :raises ChannelError: cannot connect, the connection broke, or no reply in time.
        """
        meta = MessageMetadata(id=str(uuid.uuid4())) if self.metadata_id else None
        data = encode_envelope(content, metadata=meta)
        async with self._lock:
            stream = self._stream or await self._dial()
            try:
                with anyio.fail_after(self.config.request_timeout):
                    await stream.send(encode_frame(data))
                    return await self._next_frame(stream)
            except TimeoutError:
                await self._drop()
                raise ChannelError(
                    f"{self.what}: no reply from {self.config.address} within "
                    f"{self.config.request_timeout} s"
                ) from None
            except FrameError as exc:
                await self._drop()
                raise ChannelError(f"{self.what}: bad reply frame: {exc}") from exc
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError) as exc:
                await self._drop()
                raise ChannelClosedError(
                    f"{self.what}: connection to {self.config.address} lost: "
                    f"{type(exc).__name__} {exc}".rstrip()
                ) from exc

    async def aclose(self) -> None:
        await self._drop()

    async def _next_frame(self, stream: SocketStream) -> bytes:
        while not self._frames:
            self._frames.extend(self._decoder.feed(await stream.receive()))
        fmt, data = self._frames.popleft()
        return frame_payload_to_json(fmt, data)

    async def _dial(self) -> SocketStream:
        policy = self.config.dial
        start = anyio.current_time()
        delays = policy.delays()
        while True:
            try:
                with anyio.fail_after(self.config.connect_timeout):
                    stream = await anyio.connect_tcp(self.config.host, self.config.port)
                break
            except (OSError, TimeoutError) as exc:
                delay = next(delays, None)
                spent = anyio.current_time() - start
                if delay is None or (policy.budget is not None and spent + delay > policy.budget):
                    raise ChannelError(
                        f"{self.what}: cannot connect to {self.config.address}: {exc}"
                    ) from exc
                await anyio.sleep(delay)
        self.dials += 1
        self._stream = stream
        self._decoder = FrameDecoder()
        self._frames.clear()
        return stream

    async def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
