"""The backoff policy channels use to dial and redial the orchestrator (§4.4).

The Rust SDK retries forever; the first Unix-socket connect is bounded by ``budget`` instead
(§9 item 8) so a missing socket fails the bootstrap rather than hanging it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``initial`` seconds, times ``factor`` per retry, up to ``max_delay``.

    :param attempts: total attempts (None = unlimited); 1 means a single try, no retry.
    :param budget: seconds all attempts and waits may take together (None = unbounded).
    """

    initial: float = 0.1
    factor: float = 2.0
    max_delay: float = 30.0
    attempts: int | None = None
    budget: float | None = None

    def __post_init__(self) -> None:
        if self.initial < 0 or self.max_delay < 0 or self.factor < 1:
            raise ValueError("backoff needs initial >= 0, max_delay >= 0 and factor >= 1")
        if self.attempts is not None and self.attempts < 1:
            raise ValueError("backoff attempts must be at least 1 (or None for unlimited)")
        if self.budget is not None and self.budget <= 0:
            raise ValueError("backoff budget must be positive (or None for unbounded)")

    def delays(self) -> Iterator[float]:
        """Waits before each retry: 0.1, 0.2, 0.4, ... capped, as whole milliseconds like Rust."""
        delay = self.initial
        retries = 0
        while self.attempts is None or retries < self.attempts - 1:
            yield min(int(delay * 1000), int(self.max_delay * 1000)) / 1000
            delay = min(delay * self.factor, self.max_delay)
            retries += 1


#: The Rust default for a channel that was connected once: redial forever.
FOREVER = Backoff()
#: The first TCP connect: one attempt (§4.3).
ONCE = Backoff(attempts=1)
