"""One HTTP exchange for the channel (§5.2) and HTTP-over-TCP (§5.4) servers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from pywatt.core.serving import HttpExchangeRequest, HttpExchangeResponse

__all__ = ["HttpHandler", "exchange"]

logger = logging.getLogger("pywatt.comm")

HttpHandler = Callable[[HttpExchangeRequest], Awaitable[HttpExchangeResponse]]


class _Request(Protocol):
    request_id: str
    method: str
    uri: str
    headers: dict[str, str]
    body: bytes | None


async def exchange(
    handle: HttpHandler, msg: _Request, *, error: HttpExchangeResponse, what: str
) -> HttpExchangeResponse:
    """The handler's response to ``msg``, or ``error`` (logged) when the handler raises."""
    request = HttpExchangeRequest(
        method=msg.method, uri=msg.uri, headers=msg.headers, body=msg.body or b""
    )
    try:
        return await handle(request)
    except Exception:
        logger.exception("%s: HTTP request %s failed", what, msg.request_id)
        return error
