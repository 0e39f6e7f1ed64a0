"""Port negotiation over stdio (PROTOCOL.md §7.1), matched by request id."""

from __future__ import annotations

import logging
import random
import uuid
from typing import TYPE_CHECKING

import anyio

from pywatt.core.errors import PortNegotiationError

if TYPE_CHECKING:
    from pywatt.core.control import ControlChannel
    from pywatt.core.messages import PortResponse

__all__ = ["PortNegotiator"]

logger = logging.getLogger("pywatt.core.ports")

#: Per-attempt timeouts of the reference: 3 s, then 4 s, then 5 s (capped at 10 s).
ATTEMPT_TIMEOUTS = (3.0, 4.0, 5.0)


class PortNegotiator:
    """Asks the orchestrator for a port; one request in flight, the answer remembered."""

    def __init__(
        self, channel: ControlChannel, *, timeouts: tuple[float, ...] = ATTEMPT_TIMEOUTS
    ) -> None:
        self._channel = channel
        self._timeouts = timeouts
        self._lock = anyio.Lock()
        self.port: int | None = None
        channel.on("port_response", self._on_response)

    async def request_port(self, specific_port: int | None = None) -> int:
        """The allocated port; retries with a fresh request id after each timeout."""
        from pywatt.core.messages import PortRequest

        async with self._lock:
            if self.port is not None:
                return self.port
            wanted = specific_port
            for attempt, timeout in enumerate(self._timeouts):
                request_id = str(uuid.uuid4())
                request = PortRequest(request_id=request_id, specific_port=wanted)
                try:
                    reply: PortResponse = await self._channel.request(
                        "port", request_id, request, timeout
                    )
                except TimeoutError:
                    logger.warning(
                        "port_request %s timed out (attempt %d)", request_id, attempt + 1
                    )
                    if specific_port is None:
                        # Same retry semantics as the reference: ask for a random 8000-8999 port.
                        wanted = random.randint(8000, 8999)
                    continue
                if not reply.success:
                    raise PortNegotiationError(
                        f"orchestrator refused a port: {reply.error_message or 'Unknown error'}"
                    )
                if reply.port == 0:
                    raise PortNegotiationError("orchestrator answered success with port 0")
                self.port = reply.port
                return reply.port
            raise PortNegotiationError(f"no port_response after {len(self._timeouts)} attempts")

    def _on_response(self, msg: PortResponse) -> None:
        # Matched by id; like the reference, a mismatched id ("auto-assigned") is accepted
        # when exactly one request is pending.
        if not self._channel.resolve("port", msg.request_id, msg, fallback=True):
            logger.warning("port_response %s matches no pending request", msg.request_id)
