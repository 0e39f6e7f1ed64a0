"""OpenTelemetry traces for modules (``pywatt-server[otel]``): core's tracing seam, filled in.

Only the OpenTelemetry *API* is used. The application chooses the SDK, exporter and sampler
(``opentelemetry-sdk``, or ``opentelemetry-instrument``); with the API alone every span is a
no-op. Context travels as W3C ``traceparent``/``tracestate`` through the global propagator:
in HTTP headers, in broker message headers and in routed messages' metadata.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import propagate, trace

__all__ = ["OtelTracing"]

_KINDS = {
    "server": trace.SpanKind.SERVER,
    "client": trace.SpanKind.CLIENT,
    "producer": trace.SpanKind.PRODUCER,
    "consumer": trace.SpanKind.CONSUMER,
    "internal": trace.SpanKind.INTERNAL,
}


_NO_SDK = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_NO_SPAN = nullcontext(trace.INVALID_SPAN)


class OtelTracing:
    """:class:`pywatt.core.telemetry.Tracing` over the OpenTelemetry API."""

    def __init__(self, tracer_name: str = "pywatt") -> None:
        # A proxy tracer until the application sets its provider, which it then follows.
        self._tracer = trace.get_tracer(tracer_name)

    def span(
        self,
        name: str,
        *,
        kind: str = "internal",
        carrier: Mapping[str, str] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[trace.Span]:
        if (not carrier or "traceparent" not in carrier) and isinstance(
            trace.get_tracer_provider(), _NO_SDK
        ):
            # No SDK: the span would be a no-op and the context stays as it is, so skip the
            # context switch (the API alone must cost nothing measurable).
            return _NO_SPAN
        return self._span(name, kind, carrier, attributes)

    @contextmanager
    def _span(
        self,
        name: str,
        kind: str,
        carrier: Mapping[str, str] | None,
        attributes: Mapping[str, Any] | None,
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
