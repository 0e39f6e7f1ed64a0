"""A module's metrics: plain counters per request, Prometheus text at scrape time.

Request and service-operation metrics are observed as they happen
(:mod:`pywatt.server.operations`, the service client's observer) into dicts and ints; the
rest is read at scrape time from the counters the runtime keeps. prometheus-client
(``pywatt-server[metrics]``) is imported at the first scrape, by :mod:`pywatt.server.exposition`,
so it costs a module's startup nothing.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

import anyio

from pywatt.core.health import user_fields

if TYPE_CHECKING:
    from pywatt.core.module import ModuleContext

__all__ = ["LATENCY_BUCKETS", "ModuleMetrics"]

#: Seconds; Prometheus' defaults with finer buckets below 5 ms, where IPC requests land.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
#: At most this many distinct values per free-form label (service operations); then "other".
LABEL_LIMIT = 100


class _Bounded:
    """Passes the first ``limit`` distinct values, then maps every new one to ``"other"``."""

    def __init__(self, limit: int = LABEL_LIMIT) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(value)
        return value


#: The ``le`` label of each bucket, as Prometheus spells bounds.
_LE = (*(repr(float(bound)) for bound in LATENCY_BUCKETS), "+Inf")


class _Histogram:
    """Counts per bucket and a sum; cumulated only at scrape time."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        running = 0
        out: list[tuple[str, float]] = []
        for bound, count in zip(_LE, self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out


class ModuleMetrics:
    """The registry behind one module's ``/metrics``.

    Observations land in plain dicts and ints, with no lock and no ``labels()`` call per
    request (everything runs on the module's event loop); a collector turns them into metric
    families when ``/metrics`` is scraped.
    """

    def __init__(self, ctx: ModuleContext | None) -> None:
        self.ctx = ctx
        self._exposition: Any = None
        #: (route, method, status, transport) -> count
        self.requests: dict[tuple[str, str, int, str], int] = {}
        #: (route, method, transport) -> latency histogram
        self.latency: dict[tuple[str, str, str], _Histogram] = {}
        self.in_flight_by: dict[str, int] = {}
        #: (service_type, operation, outcome) -> latency histogram
        self.services: dict[tuple[str, str, str], _Histogram] = {}
        self._routes = _Bounded(LABEL_LIMIT)
        self._operations = _Bounded(LABEL_LIMIT)
        #: cache field name -> (hits, misses), as last read
        self.caches: dict[str, tuple[int, int]] = {}
        if ctx is not None:
            services = ctx.state.extensions.get("services")
            if services is not None:
                services.observer = self.service

    def request(self, route: str, method: str, status: int, transport: str, seconds: float) -> None:
        route = self._routes(route)
        key = (route, method, status, transport)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist_key = (route, method, transport)
        hist = self.latency.get(hist_key)
        if hist is None:
            hist = self.latency[hist_key] = _Histogram()
        hist.observe(seconds)

    def in_flight(self, transport: str, delta: int) -> None:
        self.in_flight_by[transport] = self.in_flight_by.get(transport, 0) + delta

    def service(self, service_type: str, operation: str, seconds: float, ok: bool) -> None:
        key = (service_type, self._operations(operation), "ok" if ok else "error")
        hist = self.services.get(key)
        if hist is None:
            hist = self.services[key] = _Histogram()
        hist.observe(seconds)

    async def render(self) -> tuple[bytes, str]:
        """The exposition text, after reading the caches' stats (which may be remote)."""
        await self._read_caches()
        if self._exposition is None:
            from pywatt.server.exposition import Exposition

            self._exposition = Exposition(self)
        return self._exposition.render()  # type: ignore[no-any-return]

    async def _read_caches(self) -> None:
        if self.ctx is None:
            return
        for name, value in user_fields(self.ctx.state.user):
            stats = getattr(value, "stats", None)
            if name.startswith("_") or not hasattr(value, "ping") or stats is None:
                continue
            with anyio.move_on_after(1.0):
                try:
                    result = await stats()
                except Exception:
                    continue  # an unreachable cache keeps its last figures
                hits, misses = getattr(result, "hits", None), getattr(result, "misses", None)
                if isinstance(hits, int) and isinstance(misses, int):
                    self.caches[name] = (hits, misses)
