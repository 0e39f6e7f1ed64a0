"""The service-proxy client: ``service_request`` / ``service_operation`` (PROTOCOL.md §7.3).

A module uses it to reach a database, cache or JWT service that the orchestrator owns.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import anyio

from pywatt.core.errors import ServiceError, ServiceTimeoutError
from pywatt.core.telemetry import ServiceObserver, get_tracing

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.core.control import ControlChannel
    from pywatt.core.messages import ServiceOperationResult, ServiceResponse

__all__ = ["DEFAULT_SERVICE_TIMEOUT", "ServiceClient", "current_service_client"]

logger = logging.getLogger("pywatt.core.service_client")

#: The reference waits forever; a dead orchestrator must not hang a module (§9 item 4).
DEFAULT_SERVICE_TIMEOUT = 30.0
_PREFIXES = {"Database": "db_request_", "Cache": "cache_request_", "Jwt": "jwt_request_"}


def current_service_client() -> ServiceClient:
    """The running module's service client: ``current_module().state.services``."""
    from pywatt.core.module import current_module

    return current_module().state.services


class ServiceClient:
    """Connects to orchestrator-owned services and runs operations on them."""

    def __init__(
        self, channel: ControlChannel, *, timeout: float = DEFAULT_SERVICE_TIMEOUT
    ) -> None:
        self._channel = channel
        self._timeout = timeout
        self._locks: dict[str, anyio.Lock] = {}
        #: Called after each operation (a metrics plugin sets it); see ``telemetry``.
        self.observer: ServiceObserver | None = None
        channel.on("service_response", self._on_response)
        channel.on("service_operation_result", self._on_result)

    async def connect(self, service_type: Any, config: Any = None) -> str:
        """Ask for a connection; returns its ``connection_id``."""
        from pywatt.core.messages import ServiceRequest

        kind = service_type if isinstance(service_type, str) else "Custom"
        request_id = f"{_PREFIXES.get(kind, 'service_request_')}{uuid.uuid4()}"
        request = ServiceRequest(id=request_id, service_type=service_type, config=config)
        reply: ServiceResponse = await self._ask(
            "service", request_id, request, f"no service_response for {request_id}"
        )
        if not reply.success:
            raise ServiceError(reply.error or "Unknown connection error")
        if not reply.connection_id:
            raise ServiceError("No connection ID returned")
        return reply.connection_id

    async def operation(
        self, connection_id: str, service_type: Any, operation: str, params: Any
    ) -> Any:
        """Run one operation; at most one is in flight per connection (§9 item 11)."""
        tracing = get_tracing()
        if tracing is None and self.observer is None:
            return await self._operation(connection_id, service_type, operation, params)
        kind = service_type if isinstance(service_type, str) else "Custom"
        start, ok = time.perf_counter(), False
        try:
            if tracing is None:
                result = await self._operation(connection_id, service_type, operation, params)
            else:
                attributes = {"pywatt.service.type": kind, "pywatt.service.operation": operation}
                with tracing.span(f"{kind} {operation}", kind="client", attributes=attributes):
                    result = await self._operation(connection_id, service_type, operation, params)
            ok = True
            return result
        finally:
            if self.observer is not None:
                self.observer(kind, operation, time.perf_counter() - start, ok)

    async def _operation(
        self, connection_id: str, service_type: Any, operation: str, params: Any
    ) -> Any:
        from pywatt.core.messages import ServiceOperation

        lock = self._locks.setdefault(connection_id, anyio.Lock())
        async with lock:
            request = ServiceOperation(
                connection_id=connection_id,
                service_type=service_type,
                operation=operation,
                params=params,
            )
            reply: ServiceOperationResult = await self._ask(
                "operation", connection_id, request, f"no result for {operation} on {connection_id}"
            )
        if not reply.success:
            raise ServiceError(reply.error or "Unknown error")
        return reply.result

    async def _ask(self, kind: str, key: str, request: BaseModel, missing: str) -> Any:
        try:
            return await self._channel.request(kind, key, request, self._timeout)
        except TimeoutError:
            raise ServiceTimeoutError(f"{missing} within {self._timeout:g} s") from None

    def _on_response(self, msg: ServiceResponse) -> None:
        if not self._channel.resolve("service", msg.id, msg):
            logger.warning("service_response %s matches no pending request", msg.id)

    def _on_result(self, msg: ServiceOperationResult) -> None:
        echo = msg.params if isinstance(msg.params, dict) else None
        key = echo.get("connection_id") if echo else None
        if not self._channel.resolve("operation", key if isinstance(key, str) else None, msg):
            logger.warning("service_operation_result matches no pending operation")
