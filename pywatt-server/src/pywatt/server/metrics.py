"""A module's Prometheus metrics, in its own registry (``pywatt-server[metrics]``).

Imported only when a module serves ``/metrics``. Request metrics are observed as requests
pass (:mod:`pywatt.server.operations`); everything else is read at scrape time from the
counters the runtime keeps: control-channel lines, secret fetches and rotations, cache
hits and misses, channel frames, and the module's build.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
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


class ModuleMetrics:
    """The registry behind one module's ``/metrics``."""

    def __init__(self, ctx: ModuleContext | None) -> None:
        self.ctx = ctx
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._requests = Counter(
            "pywatt_http_requests",
            "HTTP requests answered, by route template, method, status and transport.",
            ["route", "method", "status", "transport"],
            registry=reg,
        )
        self._latency = Histogram(
            "pywatt_http_request_duration_seconds",
            "HTTP request latency, by route template, method and transport.",
            ["route", "method", "transport"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._in_flight = Gauge(
            "pywatt_http_requests_in_flight",
            "HTTP requests being served, by transport.",
            ["transport"],
            registry=reg,
        )
        self._service = Histogram(
            "pywatt_service_operation_duration_seconds",
            "Orchestrator service operations (database, cache, jwt), by type and operation.",
            ["service_type", "operation", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        # Labelled children, looked up once per label set: labels() costs a lock and checks.
        self._request_children: dict[tuple[str, str, int, str], tuple[Any, Any]] = {}
        self._in_flight_children: dict[str, Any] = {}
        self._routes = _Bounded(LABEL_LIMIT)
        self._operations = _Bounded(LABEL_LIMIT)
        self._caches: dict[str, tuple[int, int]] = {}
        reg.register(_RuntimeCollector(self))
        if ctx is not None:
            services = ctx.state.extensions.get("services")
            if services is not None:
                services.observer = self.service

    def request(self, route: str, method: str, status: int, transport: str, seconds: float) -> None:
        key = (route, method, status, transport)
        children = self._request_children.get(key)
        if children is None:
            route = self._routes(route)
            children = (
                self._requests.labels(route, method, str(status), transport),
                self._latency.labels(route, method, transport),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def in_flight(self, transport: str, delta: int) -> None:
        child = self._in_flight_children.get(transport)
        if child is None:
            child = self._in_flight_children[transport] = self._in_flight.labels(transport)
        child.inc(delta)

    def service(self, service_type: str, operation: str, seconds: float, ok: bool) -> None:
        outcome = "ok" if ok else "error"
        self._service.labels(service_type, self._operations(operation), outcome).observe(seconds)

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
