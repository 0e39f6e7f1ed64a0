"""Channel metrics as plain data, for a module's ``/metrics`` endpoint to export as it likes.

No metrics library is imported: counters are ints on the channel, latencies go into a fixed
bucket histogram, and :meth:`FramedChannel.metrics` returns a snapshot as typed dicts.
"""

from __future__ import annotations

import bisect
from typing import TypedDict

__all__ = [
    "LATENCY_BUCKETS",
    "ChannelMetrics",
    "HistogramSnapshot",
    "LatencyHistogram",
]

#: Upper bounds in seconds, Prometheus' default buckets plus finer ones below 5 ms.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class HistogramSnapshot(TypedDict):
    """``buckets`` pairs each upper bound (seconds) with the count at or below it."""

    buckets: list[tuple[float, int]]
    count: int
    sum: float


class ChannelMetrics(TypedDict):
    """One channel's counters since it was created."""

    channel: str
    address: str
    connected: bool
    frames_in: int
    frames_out: int
    bytes_in: int
    bytes_out: int
    reconnects: int
    skipped_frames: int
    #: routed requests that ended in a timeout or a closed connection
    route_errors: int
    #: routed requests (``route``), request to response, answered or not
    route_latency: HistogramSnapshot
    #: HTTP requests served over the channel, request to response
    http_latency: HistogramSnapshot


class LatencyHistogram:
    """Counts per bucket; an observation costs one bisect."""

    __slots__ = ("_counts", "bounds", "count", "total")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError("histogram bounds must be distinct and ascending")
        self.bounds = bounds
        self._counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.count += 1
        self.total += seconds

    def snapshot(self) -> HistogramSnapshot:
        """Cumulative counts, ending with ``(inf, count)`` as Prometheus' ``+Inf`` bucket."""
        buckets: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*self.bounds, float("inf")), self._counts, strict=True):
            running += n
            buckets.append((bound, running))
        return {"buckets": buckets, "count": self.count, "sum": self.total}
