"""Reading length-prefixed frames off a channel connection, for both orchestrator listeners."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import ByteReceiveStream

from pywatt.core.envelope import EncodingFormat, FrameDecoder

Frame = tuple[EncodingFormat, bytes]


@asynccontextmanager
async def incoming_frames(stream: ByteReceiveStream) -> AsyncIterator[AsyncIterator[Frame]]:
    """Frames until the peer goes away; a framing error raises ``ProtocolError`` from the loop.

    A context manager around the generator, so a cancelled reader closes it at once instead of
    leaving it to the garbage collector.
    """

    async def frames() -> AsyncGenerator[Frame, None]:
        decoder = FrameDecoder()
        while True:
            try:
                chunk = await stream.receive(65536)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            for frame in decoder.feed(chunk):
                yield frame

    gen = frames()
    try:
        yield gen
    finally:
        await gen.aclose()
