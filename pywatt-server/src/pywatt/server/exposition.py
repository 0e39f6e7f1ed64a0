"""``/metrics`` in the Prometheus text format, from :class:`~pywatt.server.metrics.ModuleMetrics`.

Imported at a module's first scrape: prometheus-client (``pywatt-server[metrics]``) is
loaded here and nowhere else. Each module has its own registry.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client import Metric

    from pywatt.core.module import ModuleContext
    from pywatt.server.metrics import ModuleMetrics, _Histogram

__all__ = ["Exposition"]


class Exposition:
    """One module's registry: its request collector and its runtime collector."""

    def __init__(self, metrics: ModuleMetrics) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_RequestCollector(metrics))
        self.registry.register(_RuntimeCollector(metrics))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


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
        caches = self.metrics.caches
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
