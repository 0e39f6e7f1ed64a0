"""``/health``, ``/ready`` and ``/metrics`` beside the app, request metrics, and HTTP spans.

One ASGI middleware wraps every app the adapters serve, outside the error shield, so it sees
the same requests on stdio, on the socket and on the channels. It answers the operations
routes itself unless the app has routes of those paths, serves the app under the module's
route prefix (``version=``), and, when metrics or traces are on, observes each request.

Metric labels stay bounded: a request is labelled with its route *template* (Starlette's
matched route, or the announced template it matches), never its raw path; methods outside
the standard set become ``OTHER``; a path no route matches is ``<unmatched>``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pywatt.core.errors import ConfigError
from pywatt.core.serving import DiscoveredEndpoint
from pywatt.core.telemetry import get_tracing, transport as current_transport
from pywatt.server._shield import send_error

if TYPE_CHECKING:
    from pywatt.core.health import Operations
    from pywatt.server._types import ASGIApp, Message, Receive, Scope, Send
    from pywatt.server.metrics import ModuleMetrics

__all__ = ["OperationsMiddleware", "serve_operations"]

logger = logging.getLogger("pywatt.server")

UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PARAM = re.compile(r"\{[^}/]+\}")


class _Templates:
    """Matches a raw path to one of the app's announced route templates."""

    def __init__(self, endpoints: Callable[[], list[DiscoveredEndpoint]], prefix: str) -> None:
        self._endpoints = endpoints
        self._prefix = prefix
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None

    def match(self, path: str) -> str:
        if self._compiled is None:
            compiled = []
            for endpoint in self._endpoints():
                template = self._prefix + endpoint.path
                pieces = _PARAM.split(template)
                regex = "[^/]+".join(re.escape(piece) for piece in pieces)
                compiled.append((re.compile(regex), template))
            self._compiled = compiled
        for pattern, template in self._compiled:
            if pattern.fullmatch(path):
                return template
        return UNMATCHED


def _json(status: int, body: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    return status, headers, data


async def _reply(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await send_error(send, 404, "Not Found")


def _carrier(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in (b"traceparent", b"tracestate")
    }


class OperationsMiddleware:
    """See the module docstring; built by :func:`serve_operations`."""

    def __init__(
        self,
        app: ASGIApp,
        ops: Operations,
        own: dict[str, str],
        templates: _Templates,
        metrics: ModuleMetrics | None,
    ) -> None:
        self.app = app
        self.ops = ops
        self.own = own  # path -> "health" | "ready" | "metrics"
        self.prefix = ops.prefix
        self.templates = templates
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        kind = self.own.get(path)
        if kind is not None:
            await self._operation(kind, scope, send)
            return
        app = self.app
        if self.prefix:
            if path == self.prefix or path.startswith(self.prefix + "/"):
                scope["root_path"] = scope.get("root_path", "") + self.prefix
            else:
                app = _not_found
        tracing = get_tracing()
        if self.metrics is None and tracing is None:
            await app(scope, receive, send)
            return
        await self._observed(app, scope, receive, send, tracing)

    async def _observed(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, tracing: Any
    ) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        transport = current_transport.get()
        root = scope.get("root_path", "")
        status = 500
        route = ""

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.metrics
        if metrics is not None:
            metrics.in_flight(transport, 1)
        start = time.perf_counter()
        try:
            if tracing is None:
                await app(scope, receive, observe)
            else:
                with tracing.span(
                    method,
                    kind="server",
                    carrier=_carrier(scope),
                    attributes={"http.request.method": method, "pywatt.transport": transport},
                ) as span:
                    try:
                        await app(scope, receive, observe)
                    finally:
                        route = self._route(scope, root)
                        span.update_name(f"{method} {route}")
                        span.set_attribute("http.route", route)
                        span.set_attribute("http.response.status_code", status)
        finally:
            if metrics is not None:
                elapsed = time.perf_counter() - start
                metrics.in_flight(transport, -1)
                route = route or self._route(scope, root)
                metrics.request(route, method, status, transport, elapsed)

    def _route(self, scope: Scope, root: str) -> str:
        """The route template, for labels: never the raw path."""
        route = scope.get("route")
        template = getattr(route, "path", None)
        if isinstance(template, str):
            # A route inside a Mount is relative to it: the mount's part is in root_path.
            mounted: str = scope.get("root_path", "")[len(root) :]
            return root + mounted + template
        return self.templates.match(scope["path"])

    async def _operation(self, kind: str, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await send_error(send, 405, "Method Not Allowed")
            return
        if kind == "health":
            status, headers, body = _json(200, self.ops.liveness())
        elif kind == "ready":
            code, report = await self.ops.readiness()
            status, headers, body = _json(code, report)
        else:
            assert self.metrics is not None
            data, content_type = await self.metrics.render()
            status, body = 200, data
            headers = [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", b"%d" % len(data)),
            ]
        await _reply(send, status, headers, b"" if scope["method"] == "HEAD" else body)


def _load_metrics(ops: Operations) -> ModuleMetrics | None:
    if not ops.metrics:
        return None
    # Only looked for here: prometheus-client itself is imported at the first scrape.
    if importlib.util.find_spec("prometheus_client") is None:
        if ops.metrics_required:
            raise ConfigError(
                "metrics=True needs prometheus-client: pip install 'pywatt-server[metrics]'"
            )
        return None
    from pywatt.server.metrics import ModuleMetrics

    return ModuleMetrics(ops.context)


def serve_operations(
    app: ASGIApp, ops: Operations, endpoints: Callable[[], list[DiscoveredEndpoint]]
) -> tuple[OperationsMiddleware, list[DiscoveredEndpoint]]:
    """Wrap ``app``; returns the wrapper and the operations routes it serves (to announce)."""
    metrics = _load_metrics(ops)
    taken = {ops.prefix + e.path for e in endpoints()}
    own: dict[str, str] = {}
    for kind, path in (("health", ops.health), ("ready", ops.ready), ("metrics", ops.metrics)):
        if not path or (kind == "metrics" and metrics is None):
            continue
        if path in taken:
            logger.info("the app serves %s itself; pywatt's %s route is left out", path, kind)
            continue
        own[path] = kind
    served = [DiscoveredEndpoint(path=p, methods=("GET",)) for p in own]
    return OperationsMiddleware(app, ops, own, _Templates(endpoints, ops.prefix), metrics), served
