"""A module's Prometheus metrics, in its own registry (``pywatt-server[metrics]``).

Imported only when a module serves ``/metrics``. Request metrics are observed as requests
pass (:mod:`pywatt.server.operations`); everything else is read at scrape time from the
counters the runtime keeps: control-channel lines, secret fetches and rotations, cache
hits and misses, channel frames, and the module's build.
"""

from __future__ import annotations

import bisect
import importlib.metadata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from pywatt.core.health import user_fields

if TYPE_CHECKING:
    from prometheus_client import Metric

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
        self.registry = CollectorRegistry(auto_describe=True)
        #: (route, method, status, transport) -> count
        self.requests: dict[tuple[str, str, int, str], int] = {}
        #: (route, method, transport) -> latency histogram
        self.latency: dict[tuple[str, str, str], _Histogram] = {}
        self.in_flight_by: dict[str, int] = {}
        #: (service_type, operation, outcome) -> latency histogram
        self.services: dict[tuple[str, str, str], _Histogram] = {}
        self._routes = _Bounded(LABEL_LIMIT)
        self._operations = _Bounded(LABEL_LIMIT)
        self._caches: dict[str, tuple[int, int]] = {}
        self.registry.register(_RequestCollector(self))
        self.registry.register(_RuntimeCollector(self))
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
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

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
                    self._caches[name] = (hits, misses)


def _channels(ctx: ModuleContext) -> Iterator[dict[str, Any]]:
    for key in ("tcp_channel", "unix_channel"):
        channel = ctx.state.extensions.get(key)
        snapshot = getattr(channel, "metrics", None)
        if snapshot is not None:
            yield snapshot()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class _RequestCollector(Collector):
    """HTTP requests and service operations, from :class:`ModuleMetrics`' plain counters."""

    def __init__(self, metrics: ModuleMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        requests = CounterMetricFamily(
            "pywatt_http_requests",
            "HTTP requests answered, by route template, method, status and transport.",
            labels=["route", "method", "status", "transport"],
        )
        for (route, method, status, transport), count in sorted(m.requests.items()):
            requests.add_metric([route, method, str(status), transport], count)
        yield requests
        yield _histograms(
            "pywatt_http_request_duration_seconds",
            "HTTP request latency, by route template, method and transport.",
            ["route", "method", "transport"],
            m.latency,
        )
        in_flight = GaugeMetricFamily(
            "pywatt_http_requests_in_flight",
            "HTTP requests being served, by transport.",
            labels=["transport"],
        )
        for transport, count in sorted(m.in_flight_by.items()):
            in_flight.add_metric([transport], count)
        yield in_flight
        yield _histograms(
            "pywatt_service_operation_duration_seconds",
            "Orchestrator service operations (database, cache, jwt), by type and operation.",
            ["service_type", "operation", "outcome"],
            m.services,
        )


def _histograms(
    name: str, documentation: str, labels: list[str], hists: dict[Any, _Histogram]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for key, hist in sorted(hists.items()):
        family.add_metric(list(key), hist.buckets(), sum_value=hist.total)
    return family


class _RuntimeCollector(Collector):
    """Reads the runtime's own counters at scrape time."""

    def __init__(self, metrics: ModuleMetrics) -> None:
        self.metrics = metrics
        self._info: dict[str, str] | None = None

    def describe(self) -> list[Metric]:
        return []  # unchecked: the families depend on what the module uses

    def collect(self) -> Iterator[Metric]:
        ctx = self.metrics.ctx
        if ctx is None:
            return
        yield InfoMetricFamily("pywatt_module", "The module and its build.", value=self._build())
        lines = CounterMetricFamily(
            "pywatt_control_lines", "Control-channel lines, by direction.", labels=["direction"]
        )
        lines.add_metric(["in"], ctx.channel.lines_in)
        lines.add_metric(["out"], ctx.channel.lines_out)
        yield lines
        yield CounterMetricFamily(
            "pywatt_control_lines_undecodable",
            "stdin lines dropped as oversized or not a valid message.",
            value=ctx.channel.errors,
        )
        secrets = ctx.state.extensions.get("secrets")
        if secrets is not None:
            yield CounterMetricFamily(
                "pywatt_secret_fetches", "get_secret requests sent.", value=secrets.fetches
            )
            yield CounterMetricFamily(
                "pywatt_secret_rotations", "rotated messages handled.", value=secrets.rotations
            )
        yield from self._cache_families()
        yield from self._channel_families(ctx)

    def _build(self) -> dict[str, str]:
        if self._info is None:
            from pywatt.core.buildinfo import build_info

            ctx = self.metrics.ctx
            assert ctx is not None
            build = build_info("pywatt-core", source_dir=".")
            self._info = {
                "module_id": ctx.config.module_id,
                "pywatt_version": build.version,
                "pywatt_server_version": _version("pywatt-server"),
                "python_version": build.python_version,
                "git_hash": build.git_hash,
                "build_time": build.build_time,
            }
        return self._info

    def _cache_families(self) -> Iterator[Metric]:
        caches = self.metrics._caches
        if not caches:
            return
        hits = CounterMetricFamily("pywatt_cache_hits", "Cache hits, by cache.", labels=["cache"])
        misses = CounterMetricFamily(
            "pywatt_cache_misses", "Cache misses, by cache.", labels=["cache"]
        )
        for name, (hit, miss) in sorted(caches.items()):
            hits.add_metric([name], hit)
            misses.add_metric([name], miss)
        yield hits
        yield misses

    def _channel_families(self, ctx: ModuleContext) -> Iterator[Metric]:
        snapshots = list(_channels(ctx))
        if not snapshots:
            return
        labels = ["channel", "direction"]
        frames = CounterMetricFamily("pywatt_channel_frames", "Channel frames.", labels=labels)
        data = CounterMetricFamily("pywatt_channel_bytes", "Channel bytes.", labels=labels)
        reconnects = CounterMetricFamily(
            "pywatt_channel_reconnects", "Channel reconnects.", labels=["channel"]
        )
        route_errors = CounterMetricFamily(
            "pywatt_channel_route_errors",
            "Routed requests that timed out or lost their connection.",
            labels=["channel"],
        )
        up = GaugeMetricFamily("pywatt_channel_connected", "1 if connected.", labels=["channel"])
        for snap in snapshots:
            name = str(snap["channel"])
            frames.add_metric([name, "in"], snap["frames_in"])
            frames.add_metric([name, "out"], snap["frames_out"])
            data.add_metric([name, "in"], snap["bytes_in"])
            data.add_metric([name, "out"], snap["bytes_out"])
            reconnects.add_metric([name], snap["reconnects"])
            route_errors.add_metric([name], snap["route_errors"])
            up.add_metric([name], 1.0 if snap["connected"] else 0.0)
        yield from (frames, data, reconnects, route_errors, up)
