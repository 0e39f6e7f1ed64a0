"""OpenTelemetry traces for modules (``pywatt-server[otel]``): core's tracing seam, filled in.

Only the OpenTelemetry *API* is used. The application chooses the SDK, exporter and sampler
(``opentelemetry-sdk``, or ``opentelemetry-instrument``). pywatt traces once a tracer provider
is set; with the API alone it opens no span at all, so tracing costs nothing. Context travels
as W3C ``traceparent``/``tracestate`` through the global propagator: in HTTP headers, in
broker message headers and in routed messages' metadata.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace

__all__ = ["OtelTracing", "sdk_configured"]

_KINDS = {
    "server": trace.SpanKind.SERVER,
    "client": trace.SpanKind.CLIENT,
    "producer": trace.SpanKind.PRODUCER,
    "consumer": trace.SpanKind.CONSUMER,
    "internal": trace.SpanKind.INTERNAL,
}


def sdk_configured() -> bool:
    """Whether the application has set a tracer provider (an SDK), not the API's no-op one."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


class OtelTracing:
    """:class:`pywatt.core.telemetry.Tracing` over the OpenTelemetry API."""

    def __init__(self, tracer_name: str = "pywatt") -> None:
        # A proxy tracer until the application sets its provider, which it then follows.
        self._tracer = trace.get_tracer(tracer_name)

    @contextmanager
    def span(
        self,
        name: str,
        *,
        kind: str = "internal",
        carrier: Mapping[str, str] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[trace.Span]:
        context = propagate.extract(carrier) if carrier else None
        with self._tracer.start_as_current_span(
            name, context=context, kind=_KINDS.get(kind, trace.SpanKind.INTERNAL)
        ) as span:
            if attributes:
                span.set_attributes(dict(attributes))
            yield span

    def inject(self, carrier: MutableMapping[str, str]) -> None:
        propagate.inject(carrier)
