"""Splitting a byte stream into newline-terminated lines, in linear time and bounded memory.

Each byte is searched once: a chunk is scanned from where the previous search stopped, never
from the start of a line being buffered, so a 128 MiB line in 64 KiB chunks costs one pass.
A complete line is handed over without a copy when it was buffered. A line longer than the
cap is discarded as it arrives; only a bounded head and tail of it are kept, so the reader can
still answer it (an ``http_request``'s ``request_id`` may sit at either end).
"""

from __future__ import annotations

from pywatt.core.errors import OversizedMessageError

__all__ = ["DEFAULT_MAX_LINE", "KEEP_BYTES", "Line", "LineSplitter", "OversizedLine"]

#: Runtime lines carry HTTP bodies as integer arrays (~3.6 bytes per body byte): allow 256 MiB,
#: about 70 MiB of body. Longer lines are discarded unbuffered (docs/protocol.md, "Limits").
DEFAULT_MAX_LINE = 256 * 1024 * 1024
#: How much of each end of an oversized line is kept for identifying it.
KEEP_BYTES = 4096


class OversizedLine(OversizedMessageError):
    """A line longer than the cap, discarded; ``head``/``tail`` are its first/last bytes."""

    def __init__(self, limit: int, size: int, head: bytes, tail: bytes) -> None:
        super().__init__(f"line of {size} bytes exceeds the {limit}-byte limit; discarded")
        self.limit = limit
        self.size = size
        self.head = head
        self.tail = tail


class _Discard:
    """The bounded remains of a line being discarded."""

    __slots__ = ("head", "size", "tail")

    def __init__(self, start: bytes | bytearray | memoryview) -> None:
        self.head = bytes(start[:KEEP_BYTES])
        self.tail = bytes(start[-KEEP_BYTES:])
        self.size = len(start)

    def add(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if len(self.head) < KEEP_BYTES:
            self.head += bytes(data[: KEEP_BYTES - len(self.head)])
        self.tail = (self.tail + bytes(data[-KEEP_BYTES:]))[-KEEP_BYTES:]

    def finish(self, limit: int) -> OversizedLine:
        return OversizedLine(limit, self.size, self.head, self.tail)


Line = bytes | bytearray


class LineSplitter:
    """Feed chunks, get complete lines (without their newline) or :class:`OversizedLine`."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._discard: _Discard | None = None

    def feed(self, chunk: bytes) -> list[Line | OversizedLine]:
        out: list[Line | OversizedLine] = []
        view = memoryview(chunk)
        start = 0
        while (nl := chunk.find(b"\n", start)) >= 0:
            out.append(self._complete(view[start:nl]))
            start = nl + 1
        if start < len(chunk):
            self._extend(view[start:])
        return out

    @property
    def discarding(self) -> bool:
        """Whether the unfinished line is already over the cap."""
        return self._discard is not None

    def take_rest(self) -> bytes:
        """What is buffered of an unfinished line (nothing if it is being discarded)."""
        rest = bytes(self._buf)
        self._buf = bytearray()
        return rest

    def _extend(self, data: memoryview) -> None:
        if self._discard is not None:
            self._discard.add(data)
            return
        self._buf += data
        if len(self._buf) > self.max_line:
            self._discard = _Discard(self._buf)
            self._buf = bytearray()

    def _complete(self, piece: memoryview) -> Line | OversizedLine:
        if self._discard is not None:
            self._discard.add(piece)
            discarded, self._discard = self._discard, None
            return discarded.finish(self.max_line)
        if not self._buf:
            if len(piece) > self.max_line:
                return _Discard(piece).finish(self.max_line)
            return piece.tobytes()
        self._buf += piece
        line, self._buf = self._buf, bytearray()
        if len(line) > self.max_line:
            return _Discard(line).finish(self.max_line)
        return line
