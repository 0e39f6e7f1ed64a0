"""The seams where metrics and traces plugins observe a running module.

Core imports no metrics or tracing library. It keeps plain counters on the objects that do the
work (the control channel, the secret client) and offers two process-wide slots that a plugin
fills once, at composition time:

- :func:`set_tracing` installs a :class:`Tracing` (pywatt-server's OpenTelemetry one). The
  runtime then opens a span around each service operation and broker publish/consume, and
  carries W3C ``traceparent`` in broker headers. With the slot empty each of those points
  costs one attribute read.
- :data:`transport` names the transport of the HTTP request being served (``"stdio"``,
  ``"channel"``; a socket server leaves the default, ``"socket"``), for request metrics.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, MutableMapping
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

__all__ = ["ServiceObserver", "Tracing", "get_tracing", "set_tracing", "transport"]

#: The transport an HTTP request arrived on, set by the runtime around each IPC exchange.
transport: contextvars.ContextVar[str] = contextvars.ContextVar(
    "pywatt_transport", default="socket"
)

#: ``observer(service_type, operation, seconds, ok)``: called after each service operation.
ServiceObserver = Callable[[str, str, float, bool], None]


@runtime_checkable
class Tracing(Protocol):
    """A tracer as the runtime uses it; pywatt-server implements it with OpenTelemetry."""

    def span(
        self,
        name: str,
        *,
        kind: str = "internal",
        carrier: Mapping[str, str] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[Any]:
        """Open a span, the child of the context in ``carrier`` (W3C headers) when given.

        :param kind: ``"server"``, ``"client"``, ``"producer"``, ``"consumer"`` or
            ``"internal"``.
        """
        ...

    def inject(self, carrier: MutableMapping[str, str]) -> None:
        """Write the current span's context (``traceparent``) into ``carrier``."""
        ...


_tracing: Tracing | None = None


def set_tracing(tracing: Tracing | None) -> None:
    """Install (or, with ``None``, remove) the process's tracer."""
    global _tracing
    _tracing = tracing


def get_tracing() -> Tracing | None:
    """The installed tracer, or ``None``."""
    return _tracing
