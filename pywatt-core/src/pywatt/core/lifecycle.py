"""Stopping a module: the reasons, the parent watchdog, and the hard-exit deadline."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading

import anyio

__all__ = ["StopController", "arm_exit_deadline", "set_parent_death_signal", "watch_parent"]

logger = logging.getLogger("pywatt.core.lifecycle")

_PR_SET_PDEATHSIG = 1


class StopController:
    """Remembers the first reason to stop and wakes everyone waiting for it."""

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            logger.info("module stopping", extra={"reason": reason})
        self.event.set()

    @property
    def stopping(self) -> bool:
        return self.event.is_set()

    async def wait(self) -> str:
        await self.event.wait()
        assert self.reason is not None
        return self.reason


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to signal us when the parent dies; returns False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


async def watch_parent(stop: StopController, *, interval: float = 0.5) -> None:
    """Stop when re-parented: the orchestrator died without closing our stdin."""
    parent = os.getppid()
    while not stop.stopping:
        await anyio.sleep(interval)
        if os.getppid() != parent:
            stop.request("parent-died")
            return


async def watch_signals(stop: StopController) -> None:
    with (
        contextlib.suppress(NotImplementedError, ValueError),
        anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals,
    ):
        async for signum in signals:
            logger.info("received signal %s", signal.Signals(signum).name)
            stop.request("signal")
            return


def arm_exit_deadline(seconds: float, code: int = 0) -> threading.Timer:
    """Exit the process after ``seconds`` even if the application hangs in its shutdown."""

    def _expire() -> None:
        logger.error("graceful stop exceeded %.1f s; exiting now", seconds)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        os._exit(code)

    timer = threading.Timer(seconds, _expire)
    timer.daemon = True
    timer.start()
    return timer
