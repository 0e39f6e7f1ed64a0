"""Stdout belongs to the protocol: claim it so nothing else can write a line into it.

After :func:`claim_stdout`, the protocol owns a private duplicate of the original stdout, while
fd 1 and ``sys.stdout`` point at stderr. A stray ``print``, a C library writing to fd 1 or a child
process inheriting fd 1 then lands on stderr instead of corrupting the orchestrator's channel.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from pywatt.core.errors import ChannelError

__all__ = ["claim_stdout", "is_stdout_claimed", "release_stdout"]


class _ProtocolWriter(io.BufferedWriter):
    """Flushes after every write, so a protocol line never waits in a buffer."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int:  # type: ignore[override]
        written = super().write(data)
        self.flush()
        return written


@dataclass
class _Claim:
    writer: _ProtocolWriter
    saved_fd: int
    saved_stdout: TextIO | None
    stray: TextIO


_lock = threading.Lock()
_claim: _Claim | None = None


def _point_fd1_at_stderr() -> None:
    try:
        os.dup2(2, 1)
    except OSError:
        # No stderr either: stray output is dropped rather than sent to the protocol.
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
        finally:
            os.close(devnull)


def claim_stdout() -> BinaryIO:
    """Take fd 1 for the protocol and return a flushing binary writer for protocol lines.

    Calling it again returns the same writer until :func:`release_stdout`.
    """
    global _claim
    with _lock:
        if _claim is not None:
            return _claim.writer
        if sys.stdout is not None:
            # Text already printed belongs to the old stdout; send it before we take fd 1.
            with contextlib.suppress(Exception):
                sys.stdout.flush()
        try:
            protocol_fd = os.dup(1)
        except OSError as exc:
            raise ChannelError("stdout (fd 1) is not open; the protocol channel needs it") from exc
        saved_fd = os.dup(protocol_fd)
        _point_fd1_at_stderr()
        encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
        stray = io.TextIOWrapper(
            io.FileIO(1, "wb", closefd=False),
            encoding=encoding,
            errors="backslashreplace",
            line_buffering=True,
            write_through=True,
        )
        writer = _ProtocolWriter(io.FileIO(protocol_fd, "wb", closefd=True))
        _claim = _Claim(writer, saved_fd, sys.stdout, stray)
        sys.stdout = stray
        return writer


def release_stdout() -> None:
    """Give fd 1 and ``sys.stdout`` back and close the protocol writer; no-op if not claimed."""
    global _claim
    with _lock:
        claim = _claim
        if claim is None:
            return
        with contextlib.suppress(Exception):
            claim.stray.flush()
        if not claim.writer.closed:
            with contextlib.suppress(OSError, ValueError):
                claim.writer.flush()
        os.dup2(claim.saved_fd, 1)
        os.close(claim.saved_fd)
        if sys.stdout is claim.stray:
            sys.stdout = claim.saved_stdout
        with contextlib.suppress(OSError, ValueError):
            claim.writer.close()
        _claim = None


def is_stdout_claimed() -> bool:
    """Whether :func:`claim_stdout` is in effect."""
    return _claim is not None
