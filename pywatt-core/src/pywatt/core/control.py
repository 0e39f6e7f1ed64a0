"""The stdin/stdout control channel: one reader that dispatches, one serialized writer.

The reference SDK runs three competing stdin readers; here a single reader owns stdin and
hands every incoming message either to the request waiting for it (matched by key) or to a
handler. Writes go through one LineWriter, so lines never interleave.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from pywatt.core._lines import DEFAULT_MAX_LINE, Line, LineSplitter, OversizedLine
from pywatt.core._reply import PendingReplies, _asyncio_loop
from pywatt.core._stdio import ByteSink, ByteSource, LineWriter
from pywatt.core.errors import (
    ChannelClosedError,
    InitError,
    ProtocolError,
)
from pywatt.core.logs import describe_line
from pywatt.core.messages import decode_init, decode_o2m, encode

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.core.messages import InitBlob

__all__ = ["INIT_MAX_BYTES", "ControlChannel"]

logger = logging.getLogger("pywatt.core.control")

#: The init line may not exceed 1 MiB before its newline (reference: security/handshake.rs).
INIT_MAX_BYTES = 1024 * 1024

Handler = Callable[[Any], "Awaitable[None] | None"]
OversizedHandler = Callable[[OversizedLine], "Awaitable[None] | None"]
InvalidHandler = Callable[[Line, ProtocolError], "Awaitable[None] | None"]


class ControlChannel:
    """The module's side of the stdio protocol."""

    def __init__(
        self, source: ByteSource, sink: ByteSink, *, max_line: int = DEFAULT_MAX_LINE
    ) -> None:
        self._source = source
        self._sink = sink
        self._lines = LineSplitter(max_line)
        self._early: list[Line | OversizedLine] = []
        #: Called with each discarded oversized line, after it is logged (the module answers
        #: an oversized ``http_request`` with 413 from here).
        self.on_oversized: OversizedHandler | None = None
        #: Called with each line that failed to decode, after it is logged (the module answers
        #: an ``http_request`` it can still identify with 400 from here).
        self.on_invalid: InvalidHandler | None = None
        self._replies: PendingReplies[tuple[str, str]] = PendingReplies()
        self._handlers: dict[str, Handler] = {}
        self._out = LineWriter(sink, self._write_failed)
        self._eof = False  # stdin closed: no reply can arrive any more
        self._tg: TaskGroup | None = None
        self._tasks: _HandlerTasks | None = None
        self.errors = 0  # bad lines seen; for diagnostics, tests and metrics
        self.lines_in = 0  # lines read after init, good or bad (metrics)
        self.lines_out = 0  # lines queued for stdout (metrics)

    # -- init -----------------------------------------------------------------------------

    async def read_init(self) -> InitBlob:
        """Read and parse the first line, under the 1 MiB cap, keeping later bytes buffered."""
        head = LineSplitter(INIT_MAX_BYTES)
        while True:
            chunk = await self._source.receive()
            if not chunk:
                raise InitError("stdin closed unexpectedly during handshake")
            nl = chunk.find(b"\n")
            items = head.feed(chunk if nl < 0 else chunk[: nl + 1])
            if not items and not head.discarding:
                continue
            if not items or isinstance(items[0], OversizedLine):
                raise InitError(f"init line exceeds {INIT_MAX_BYTES} bytes")
            # Later lines already read stay queued for the runtime loop.
            self._early = self._lines.feed(chunk[nl + 1 :])
            try:
                return decode_init(items[0])
            except ProtocolError as exc:
                raise InitError(f"invalid init line: {exc}") from exc

    # -- writing --------------------------------------------------------------------------

    async def send(self, message: BaseModel) -> None:
        """Queue one op-tagged message for stdout."""
        await self.send_line(encode(message))

    async def send_line(self, line: bytes | bytearray) -> None:
        """Write one line (without its newline) to stdout, in order with every other line.

        With nothing queued, a short line is written at once, with no task switch; what the
        pipe cannot take now is queued for the writer task, as are long lines.
        """
        if self._out.closed:
            raise ChannelClosedError("control channel is closed")
        self.lines_out += 1
        await self._out.send_line(line)

    @staticmethod
    def _write_failed(exc: OSError) -> None:
        logger.error("stdout write failed, orchestrator gone? %s", exc)

    # -- correlation ----------------------------------------------------------------------

    async def request(
        self, kind: str, key: str, message: BaseModel | None, timeout: float | None
    ) -> Any:
        """Send ``message`` and wait for the reply that :meth:`resolve` files under ``key``.

        With ``message`` None, wait for a reply another request already asked for.

        :raises TimeoutError: no reply within ``timeout`` seconds.
        :raises ChannelClosedError: the channel closed before the reply came.
        """
        if self._out.closed:
            raise ChannelClosedError("control channel is closed")
        if self._eof:
            raise ChannelClosedError("stdin is closed: no reply can arrive")
        send = None if message is None else (lambda: self.send(message))
        return await self._replies.request((kind, key), send, timeout)

    def waiting(self, kind: str, key: str) -> bool:
        """Whether a request of ``kind`` already waits for the reply ``key``."""
        return self._replies.waiting((kind, key))

    def resolve(self, kind: str, key: str | None, value: Any, *, fallback: bool = False) -> bool:
        """Hand ``value`` to the requests waiting for ``key``.

        With no key (or an unmatched key and ``fallback``), the only request of ``kind`` gets it.
        """
        if key is not None and self._replies.resolve((kind, key), value):
            return True
        if key is not None and not fallback:
            return False
        keys = [k for k in self._replies.waiting_keys() if k[0] == kind]
        return len(keys) == 1 and self._replies.resolve(keys[0], value)

    # -- dispatch -------------------------------------------------------------------------

    def on(self, op: str, handler: Handler) -> None:
        """Handle every incoming ``op`` that no waiter claims. Async handlers run as tasks."""
        self._handlers[op] = handler

    async def run(self, *, task_group: TaskGroup) -> str:
        """Read and dispatch until EOF or ``shutdown``; returns ``"eof"`` or ``"shutdown"``."""
        self._tg = task_group
        task_group.start_soon(self._out.run)
        loop = _asyncio_loop()
        if loop is not None:
            self._tasks = _HandlerTasks(loop)
            task_group.start_soon(self._tasks.own)
        early, self._early = self._early, []
        for item in early:
            if self._dispatch_item(item):
                return "shutdown"
        attach = getattr(self._source, "attach", None)
        if attach is not None:
            finished = anyio.Event()
            outcome: list[str] = []

            def consume(chunk: bytes) -> None:
                if outcome:
                    return
                reason = self._consume(chunk)
                if reason is not None:
                    outcome.append(reason)
                    finished.set()

            if attach(consume):
                await finished.wait()
                return outcome[0]
        while True:
            try:
                chunk = await self._source.receive()
            except OSError as exc:
                logger.error("stdin read failed: %s", exc)
                chunk = b""
            reason = self._consume(chunk)
            if reason is not None:
                return reason

    def _consume(self, chunk: bytes) -> str | None:
        """Dispatch the lines ``chunk`` completes; the reason to stop, if it is one."""
        if not chunk:
            self._end_of_input()
            return "eof"
        for item in self._lines.feed(chunk):
            if self._dispatch_item(item):
                return "shutdown"
        return None

    def _end_of_input(self) -> None:
        # No reply can come after EOF: a request waiting for one (a secret fetch during
        # bootstrap, say) fails now instead of holding the exit until its own timeout.
        self._eof = True
        self._replies.fail_all(ChannelClosedError("stdin closed before the reply came"))

    def _dispatch_item(self, item: Line | OversizedLine) -> bool:
        """Handle one line at once (no await: it runs inside the reader callback)."""
        self.lines_in += 1
        if isinstance(item, OversizedLine):
            self.errors += 1
            logger.error("dropped stdin line: %s", item, extra={"error": type(item).__name__})
            if self.on_oversized is not None:
                self._run_handler(self.on_oversized, item, "oversized line")
            return False
        try:
            msg = decode_o2m(item)
        except ProtocolError as exc:
            self.errors += 1
            logger.warning(
                "ignored invalid stdin line: %s",
                exc,
                extra={"error": type(exc).__name__, "line": describe_line(item)},
            )
            if self.on_invalid is not None:
                self._run_handler(functools.partial(self.on_invalid, item), exc, "invalid line")
            return False
        op: str = msg.op
        if op == "shutdown":
            return True
        handler = self._handlers.get(op)
        if handler is None:
            logger.debug("no handler for op %s", op)
            return False
        self._run_handler(handler, msg, op)
        return False

    def _run_handler(self, handler: Callable[[Any], Any], arg: Any, what: str) -> None:
        try:
            result = handler(arg)
            if inspect.isawaitable(result):
                if self._tasks is not None and self._tasks.open:
                    self._tasks.spawn(result, what)
                else:
                    assert self._tg is not None
                    self._tg.start_soon(_await_logged, result, what)
        except Exception:
            logger.exception("handler for %s failed", what)

    def close(self) -> None:
        """Fail every pending request and stop accepting sends."""
        self._out.close()  # the writer finishes what is queued, then returns
        if self._tasks is not None:
            self._tasks.close()
        self._replies.fail_all(ChannelClosedError("control channel closed before the reply came"))

    async def flush(self, timeout: float = 1.0) -> None:
        """Wait until queued lines are written (bounded, for shutdown)."""
        await self._out.flush(timeout)


async def _await_logged(awaitable: Awaitable[None], what: str) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("handler for %s failed", what)


class _HandlerTasks:
    """Async handlers as plain asyncio tasks that still end with the channel's task group.

    An anyio task costs several times a plain one to start (a handle, a cancel scope and an
    event each), and every ``http_request`` starts one. :meth:`own` runs in the group: when the
    group is cancelled it cancels these tasks and waits for them, as the group would; once the
    channel is closed it waits for them and returns; a handler's BaseException (an Exception
    is logged where it ran) is raised there.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._tasks: set[asyncio.Task[None]] = set()
        self._failed: asyncio.Future[None] = loop.create_future()

    def spawn(self, awaitable: Awaitable[None], what: str) -> None:
        self._tasks.add(self._loop.create_task(self._run(awaitable, what)))

    async def _run(self, awaitable: Awaitable[None], what: str) -> None:
        # The task takes itself off the set as it ends: a done callback would cost the loop
        # one more iteration per request.
        try:
            await awaitable
        except Exception:
            logger.exception("handler for %s failed", what)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not self._failed.done():
                self._failed.set_exception(exc)
        finally:
            self._tasks.discard(asyncio.current_task())

    @property
    def open(self) -> bool:
        """Whether :meth:`own` still waits for new tasks (else the group takes them)."""
        return not self._failed.done()

    def close(self) -> None:
        """Let :meth:`own` return once the handlers still running finish."""
        if not self._failed.done():
            self._failed.set_result(None)

    async def own(self) -> None:
        try:
            await self._failed
            while self._tasks:  # closed: wait for them, as the group's exit would
                await asyncio.wait(set(self._tasks))
        finally:
            pending = set(self._tasks)
            with anyio.CancelScope(shield=True):
                while pending:
                    # Again until they end, as anyio cancels at every checkpoint.
                    for task in pending:
                        task.cancel()
                    _, pending = await asyncio.wait(pending, timeout=0.1)
