"""The stdin/stdout control channel: one reader that dispatches, one serialized writer.

The reference SDK runs three competing stdin readers; here a single reader owns stdin and
hands every incoming message either to the request waiting for it (matched by key) or to a
handler. Writes go through one task, so lines never interleave.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from pywatt.core._reply import Reply
from pywatt.core._stdio import ByteSink, ByteSource
from pywatt.core.errors import (
    ChannelClosedError,
    InitError,
    OversizedMessageError,
    ProtocolError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.core.messages import InitBlob, OrchestratorToModule

__all__ = ["INIT_MAX_BYTES", "ControlChannel", "Waiter"]

logger = logging.getLogger("pywatt.core.channel")

#: The init line may not exceed 1 MiB before its newline (reference: security/handshake.rs).
INIT_MAX_BYTES = 1024 * 1024
#: Runtime lines carry HTTP bodies as integer arrays (~4 bytes per body byte): allow 256 MiB.
DEFAULT_MAX_LINE = 256 * 1024 * 1024

T = TypeVar("T")
Handler = Callable[[Any], "Awaitable[None] | None"]


class Waiter(Reply[T]):
    """One pending request's reply slot, filed under the key its reply will carry."""

    __slots__ = ("key", "kind")

    def __init__(self, kind: str, key: str) -> None:
        super().__init__()
        self.kind = kind
        self.key = key


class _LineBuffer:
    """Splits a byte stream into lines, discarding (not buffering) oversized ones."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._skipping = False

    def feed(self, chunk: bytes) -> list[bytes | OversizedMessageError]:
        out: list[bytes | OversizedMessageError] = []
        self._buf += chunk
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > self.max_line and not self._skipping:
                    self._skipping = True
                    out.append(OversizedMessageError(f"line exceeds {self.max_line} bytes"))
                if self._skipping:
                    self._buf.clear()
                return out
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if self._skipping:
                self._skipping = False
                continue
            if len(line) > self.max_line:
                out.append(OversizedMessageError(f"line exceeds {self.max_line} bytes"))
                continue
            out.append(line)

    def take_rest(self) -> bytes:
        rest = bytes(self._buf)
        self._buf.clear()
        return rest


class ControlChannel:
    """The module's side of the stdio protocol."""

    def __init__(
        self, source: ByteSource, sink: ByteSink, *, max_line: int = DEFAULT_MAX_LINE
    ) -> None:
        self._source = source
        self._sink = sink
        self._lines = _LineBuffer(max_line)
        self._pending: dict[tuple[str, str], list[Waiter[Any]]] = {}
        self._handlers: dict[str, Handler] = {}
        self._send, self._outbox = anyio.create_memory_object_stream[bytes](4096)
        self._closed = False
        self._unwritten = 0
        self._writer_started = False
        self._tg: TaskGroup | None = None
        self.errors = 0  # bad lines seen; for diagnostics and tests

    # -- init -----------------------------------------------------------------------------

    async def read_init(self) -> InitBlob:
        """Read and parse the first line, under the 1 MiB cap, keeping later bytes buffered."""
        from pywatt.core.messages import decode_init

        head = _LineBuffer(INIT_MAX_BYTES)
        while True:
            chunk = await self._source.receive()
            if not chunk:
                raise InitError("stdin closed unexpectedly during handshake")
            for item in head.feed(chunk):
                if isinstance(item, OversizedMessageError):
                    raise InitError(f"init line exceeds {INIT_MAX_BYTES} bytes")
                rest = head.take_rest()
                # Later lines already read stay queued for the runtime loop.
                self._early = self._lines.feed(rest) if rest else []
                try:
                    return decode_init(item)
                except ProtocolError as exc:
                    raise InitError(f"invalid init line: {exc}") from exc

    # -- writing --------------------------------------------------------------------------

    async def send(self, message: BaseModel) -> None:
        """Queue one op-tagged message for stdout."""
        from pywatt.core.messages import encode

        await self.send_line(encode(message))

    async def send_line(self, line: bytes) -> None:
        if self._closed:
            raise ChannelClosedError("control channel is closed")
        self._unwritten += 1
        await self._send.send(line + b"\n")

    async def _writer(self) -> None:
        self._writer_started = True
        async with self._outbox:
            async for line in self._outbox:
                batch = [line]
                # Coalesce whatever is already queued into one write.
                while len(batch) < 256:
                    try:
                        batch.append(self._outbox.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                try:
                    await self._sink.write(b"".join(batch))
                except OSError as exc:
                    logger.error("stdout write failed, orchestrator gone? %s", exc)
                    self._closed = True
                    self._unwritten = 0
                    return
                self._unwritten -= len(batch)

    # -- correlation ----------------------------------------------------------------------

    def expect(self, kind: str, key: str) -> Waiter[Any]:
        """Register interest in a reply before sending the request that provokes it."""
        if self._closed:
            raise ChannelClosedError("control channel is closed")
        waiter: Waiter[Any] = Waiter(kind, key)
        self._pending.setdefault((kind, key), []).append(waiter)
        return waiter

    def forget(self, waiter: Waiter[Any]) -> None:
        waiters = self._pending.get((waiter.kind, waiter.key))
        if waiters and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._pending[(waiter.kind, waiter.key)]

    def resolve(self, kind: str, key: str | None, value: Any, *, fallback: bool = False) -> bool:
        """Hand ``value`` to the waiters for ``key``.

        With no key (or an unmatched key and ``fallback``), the only waiter of ``kind`` gets it.
        """
        if key is not None and (kind, key) in self._pending:
            waiters = self._pending.pop((kind, key))
        elif key is not None and not fallback:
            return False
        else:
            keys = [k for k in self._pending if k[0] == kind]
            if len(keys) != 1:
                return False
            waiters = self._pending.pop(keys[0])
        for waiter in waiters:
            waiter.resolve(value)
        return bool(waiters)

    def pending_count(self, kind: str) -> int:
        return sum(len(w) for k, w in self._pending.items() if k[0] == kind)

    def pending_count_for(self, kind: str, key: str) -> int:
        return len(self._pending.get((kind, key), ()))

    # -- dispatch -------------------------------------------------------------------------

    def on(self, op: str, handler: Handler) -> None:
        """Handle every incoming ``op`` that no waiter claims. Async handlers run as tasks."""
        self._handlers[op] = handler

    async def run(self, *, task_group: TaskGroup) -> str:
        """Read and dispatch until EOF or ``shutdown``; returns ``"eof"`` or ``"shutdown"``."""
        from pywatt.core.messages import decode_o2m

        self._tg = task_group
        task_group.start_soon(self._writer)
        for item in getattr(self, "_early", []):
            if await self._dispatch_item(item, decode_o2m):
                return "shutdown"
        while True:
            try:
                chunk = await self._source.receive()
            except OSError as exc:
                logger.error("stdin read failed: %s", exc)
                chunk = b""
            if not chunk:
                return "eof"
            for item in self._lines.feed(chunk):
                if await self._dispatch_item(item, decode_o2m):
                    return "shutdown"

    async def _dispatch_item(
        self,
        item: bytes | OversizedMessageError,
        decode: Callable[[bytes], OrchestratorToModule],
    ) -> bool:
        from pywatt.core.logs import describe_line

        if isinstance(item, OversizedMessageError):
            self.errors += 1
            logger.error("dropped stdin line: %s", item, extra={"error": type(item).__name__})
            return False
        line = item.rstrip()
        try:
            msg = decode(line)
        except ProtocolError as exc:
            self.errors += 1
            logger.warning(
                "ignored invalid stdin line: %s",
                exc,
                extra={"error": type(exc).__name__, "line": describe_line(_text(line))},
            )
            return False
        op: str = msg.op
        if op == "shutdown":
            return True
        handler = self._handlers.get(op)
        if handler is None:
            logger.debug("no handler for op %s", op)
            return False
        try:
            result = handler(msg)
            if inspect.isawaitable(result):
                assert self._tg is not None
                self._tg.start_soon(_await_logged, result, op)
        except Exception:
            logger.exception("handler for op %s failed", op)
        return False

    def close(self) -> None:
        """Fail every pending request and stop accepting sends."""
        self._closed = True
        for waiters in self._pending.values():
            for waiter in waiters:
                waiter.fail(ChannelClosedError("control channel closed before the reply came"))
        self._pending.clear()
        self._send.close()
        if not self._writer_started:
            self._outbox.close()

    async def flush(self, timeout: float = 1.0) -> None:
        """Wait until queued lines are written (bounded, for shutdown)."""
        with anyio.move_on_after(timeout):
            while self._unwritten > 0:
                await anyio.sleep(0.005)


async def _await_logged(awaitable: Awaitable[None], op: str) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("handler for op %s failed", op)


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace")
