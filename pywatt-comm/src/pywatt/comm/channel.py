"""The framed-stream channel shared by TCP and Unix sockets (§4).

Module → orchestrator frames are ``Message<ModuleToOrchestrator>`` envelopes, orchestrator →
module frames are bare messages. Unlike the Rust SDK, nothing a peer sends can end the module:
an undecodable frame is skipped, and a broken stream (EOF, reset, bad format byte, oversized
frame) is closed and redialled with the reconnect policy (§9 item 14).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ByteStream, TaskGroup

from pywatt.comm._frames import decode_incoming, encode_outgoing
from pywatt.comm._http import exchange
from pywatt.comm._socket import RawSocketStream
from pywatt.comm._writer import FrameWriter
from pywatt.comm.metrics import ChannelMetrics, LatencyHistogram
from pywatt.comm.reconnect import FOREVER, Backoff
from pywatt.comm.routing import RoutedHandler, Router
from pywatt.core._bodies import error_body
from pywatt.core.envelope import FrameDecoder
from pywatt.core.errors import ChannelClosedError, ChannelError, FrameError, ProtocolError
from pywatt.core.messages import (
    Heartbeat,
    HeartbeatAck,
    HttpRequest,
    HttpResponse,
    Init,
    RoutedModuleMessage,
    RoutedModuleResponse,
    Shutdown,
)
from pywatt.core.serving import HttpExchangeResponse

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.comm.resilience import Policy
    from pywatt.core.contracts import ChannelHost
    from pywatt.core.envelope import EncodingFormat

__all__ = ["FramedChannel"]

logger = logging.getLogger("pywatt.comm.channel")

_STREAM_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
_INTERNAL_ERROR = HttpExchangeResponse(
    500, {"content-type": "application/json"}, error_body("internal error")
)


class FramedChannel:
    """One framed connection to the orchestrator; subclasses only know how to dial.

    :param opener: makes one connect attempt (the caller applies the timeout).
    :param address: the peer address, for messages.
    :param connect_timeout: seconds one connect attempt may take.
    :param max_frame_size: larger incoming frames break the connection (it is redialled).
    :param initial: policy of :meth:`connect` (the first dial).
    :param reconnect: policy for redialling a connection that broke (default: forever).
    """

    name = "framed"

    def __init__(
        self,
        *,
        opener: Callable[[], Awaitable[ByteStream]],
        address: str,
        connect_timeout: float,
        max_frame_size: int,
        initial: Backoff,
        reconnect: Backoff = FOREVER,
        read_size: int = 65536,
    ) -> None:
        if connect_timeout <= 0:
            raise ValueError("connect_timeout must be positive")
        if max_frame_size < 1:
            raise ValueError("max_frame_size must be at least 1")
        self.address = address
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self.initial = initial
        self.reconnect = reconnect
        self.read_size = read_size
        self.routing = Router(self.send)
        #: Times a broken connection was redialled successfully.
        self.reconnects = 0
        #: Frames skipped because they did not decode as an orchestrator message.
        self.skipped_frames = 0
        self.frames_in = self.frames_out = self.bytes_in = self.bytes_out = 0
        #: Seconds the host took to answer each HTTP request that came over the channel.
        self.http_latency = LatencyHistogram()
        self._open = opener
        self._stream: ByteStream | None = None
        self._writer: FrameWriter | None = None
        self._tg: TaskGroup | None = None
        self._up = anyio.Event()
        self._closed = False
        self._scope: anyio.CancelScope | None = None

    # -- ModuleChannel ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._stream is not None

    async def connect(self) -> None:
        """Dial with the ``initial`` policy; raise ``ChannelError`` when it gives up."""
        if self._closed:
            raise ChannelClosedError(f"{self.name} channel is closed")
        self._attach(await self._dial(self.initial))

    async def run(self, host: ChannelHost) -> None:
        """Serve frames until :meth:`aclose` or cancellation, redialling broken connections.

        The channel is closed when this returns, however it ends, so a runtime that simply
        cancels it leaks no socket.
        """
        try:
            if self._stream is None and not self._closed:
                await self.connect()
            with anyio.CancelScope() as scope:
                self._scope = scope
                if self._closed:
                    scope.cancel()
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    if self._writer is not None:
                        self._writer.task_group = tg
                    await self._serve_forever(host, tg)
                    tg.cancel_scope.cancel()
        except ChannelError as exc:
            logger.error("%s channel: not running: %s", self.name, exc)
        finally:
            self._scope = None
            self._tg = None
            with anyio.CancelScope(shield=True):
                await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        if self._scope is not None:
            self._scope.cancel()
        stream = self._stream
        if stream is not None:
            await self._detach(stream, f"{self.name} channel closed")
        self.routing.fail_all(f"{self.name} channel closed")
        self._up.set()  # wake senders waiting for a connection so they see the close

    def metrics(self) -> ChannelMetrics:
        """A snapshot of this channel's counters and latency histograms."""
        return {
            "channel": self.name,
            "address": self.address,
            "connected": self.connected,
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "reconnects": self.reconnects,
            "skipped_frames": self.skipped_frames,
            "route_errors": self.routing.errors,
            "route_latency": self.routing.latency.snapshot(),
            "http_latency": self.http_latency.snapshot(),
        }

    # -- sending ----------------------------------------------------------------------------

    async def send(self, msg: BaseModel) -> None:
        """Send one module→orchestrator message, waiting for a connection if redialling."""
        frame = encode_outgoing(msg)
        while True:
            if self._closed:
                raise ChannelClosedError(f"{self.name} channel is closed")
            writer = self._writer
            if writer is not None:
                break
            await self._up.wait()
        await writer.write(frame)
        self.frames_out += 1
        self.bytes_out += len(frame)

    async def route(
        self,
        target_module_id: str,
        target_endpoint: str,
        request: Any,
        *,
        timeout: float = 30.0,
        policy: Policy | None = None,
    ) -> Any:
        """Route ``request`` to another module and return its JSON response (§7.5)."""
        return await self.routing.route(
            target_module_id, target_endpoint, request, timeout=timeout, policy=policy
        )

    def on_routed(self, source_module_id: str | None, handler: RoutedHandler) -> None:
        """Handle messages routed from ``source_module_id`` (None: from any other module)."""
        self.routing.on_routed(source_module_id, handler)

    async def _reply(self, stream: ByteStream, msg: BaseModel) -> None:
        """Answer on the connection the request came in on; drop it if that one is gone."""
        writer = self._writer
        if writer is None or writer.stream is not stream:
            logger.info(
                "%s channel: dropping %s for a closed connection", self.name, type(msg).__name__
            )
            return
        try:
            frame = encode_outgoing(msg)
            await writer.write(frame)
            self.frames_out += 1
            self.bytes_out += len(frame)
        except ChannelError as exc:
            logger.warning("%s channel: reply not sent: %s", self.name, exc)

    # -- connection lifecycle ---------------------------------------------------------------

    async def _dial(self, policy: Backoff) -> ByteStream:
        start = anyio.current_time()
        delays = policy.delays()
        attempts = 0
        while True:
            limit = self.connect_timeout
            if policy.budget is not None:
                limit = min(limit, policy.budget - (anyio.current_time() - start))
            attempts += 1
            try:
                with anyio.fail_after(max(limit, 0.001)):
                    return await self._open()
            except (OSError, TimeoutError) as exc:
                error: BaseException = exc
            delay = next(delays, None)
            if policy.budget is not None and delay is not None:
                remaining = policy.budget - (anyio.current_time() - start)
                # the last wait is shortened so one more attempt lands inside the budget
                delay = None if remaining <= 0.001 else min(delay, remaining - 0.001)
            if delay is None:
                break
            logger.debug("%s channel: connect failed (%s); retry in %s s", self.name, error, delay)
            await anyio.sleep(delay)
        detail = str(error) or type(error).__name__
        raise ChannelError(
            f"cannot connect the {self.name} channel to {self.address} "
            f"({attempts} attempt{'s' if attempts > 1 else ''}): {detail}"
        ) from error

    def _attach(self, stream: ByteStream) -> None:
        self._stream = stream
        self._writer = FrameWriter(stream, self.name, self._tg)
        self._up.set()

    async def _detach(self, stream: ByteStream, reason: str) -> None:
        if self._stream is stream:
            self._stream = None
            if self._writer is not None:
                self._writer.close()
            self._writer = None
            self._up = anyio.Event()
        self.routing.fail_all(reason)
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(*_STREAM_ERRORS):
                await stream.aclose()

    async def _serve_forever(self, host: ChannelHost, tg: TaskGroup) -> None:
        while not self._closed:
            stream = self._stream
            if stream is None:
                return
            reason = await self._serve(stream, host, tg)
            await self._detach(stream, f"{self.name} connection lost: {reason}")
            if self._closed:
                return
            logger.warning("%s channel: connection lost (%s); reconnecting", self.name, reason)
            try:
                fresh = await self._dial(self.reconnect)
            except ChannelError as exc:
                logger.error("%s channel: giving up: %s", self.name, exc)
                self._closed = True
                return
            self.reconnects += 1
            self._attach(fresh)
            logger.info("%s channel: reconnected to %s", self.name, self.address)

    async def _serve(self, stream: ByteStream, host: ChannelHost, tg: TaskGroup) -> str:
        """Read frames until the stream breaks; return why it did."""
        decoder = FrameDecoder(self.max_frame_size)

        def on_chunk(chunk: bytes) -> str | None:
            try:
                for fmt, data in decoder.feed(chunk):
                    self.frames_in += 1
                    self.bytes_in += len(data) + 5  # the u32 length and the format byte
                    self._dispatch(stream, host, tg, fmt, data)
            except FrameError as exc:
                logger.error("%s channel: %s: %s", self.name, type(exc).__name__, exc)
                return f"{type(exc).__name__}: {exc}"
            return None

        try:
            if isinstance(stream, RawSocketStream) and stream.pumps:
                # frames are dispatched from the loop's readable callback: no task wakes per read
                return await stream.pump(on_chunk, self.read_size)
            while True:
                reason = on_chunk(await stream.receive(self.read_size))
                if reason is not None:
                    return reason
        except anyio.EndOfStream:
            return "closed by the orchestrator"
        except _STREAM_ERRORS as exc:
            return f"{type(exc).__name__}: {exc}"

    # -- incoming messages ------------------------------------------------------------------

    def _dispatch(
        self,
        stream: ByteStream,
        host: ChannelHost,
        tg: TaskGroup,
        fmt: EncodingFormat,
        data: bytes,
    ) -> None:
        try:
            msg = decode_incoming(fmt, data)
        except ProtocolError as exc:
            self.skipped_frames += 1
            logger.warning(
                "%s channel: skipped a frame that is not an orchestrator message: %s: %s",
                self.name,
                type(exc).__name__,
                exc,
            )
            return
        if isinstance(msg, Heartbeat):
            tg.start_soon(self._reply, stream, HeartbeatAck())
        elif isinstance(msg, HttpRequest):
            tg.start_soon(self._answer_http, stream, host, msg)
        elif isinstance(msg, RoutedModuleResponse):
            self.routing.resolve(msg)
        elif isinstance(msg, RoutedModuleMessage):
            tg.start_soon(self.routing.deliver, msg)
        elif isinstance(msg, Shutdown):
            logger.info("%s channel: shutdown requested by the orchestrator", self.name)
            host.request_stop("shutdown")
        elif isinstance(msg, Init):
            logger.warning("%s channel: ignoring an init message", self.name)
        else:
            logger.debug("%s channel: ignoring %s", self.name, msg.op)

    async def _answer_http(self, stream: ByteStream, host: ChannelHost, msg: HttpRequest) -> None:
        start = time.perf_counter()
        response = await exchange(
            host.handle_http, msg, error=_INTERNAL_ERROR, what=f"{self.name} channel"
        )
        reply = HttpResponse(
            request_id=msg.request_id,
            status_code=response.status,
            headers=dict(response.headers),
            body=response.body,
        )
        self.http_latency.observe(time.perf_counter() - start)
        await self._reply(stream, reply)
