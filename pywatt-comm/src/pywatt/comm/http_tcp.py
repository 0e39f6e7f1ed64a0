"""HTTP over TCP, the registration-based mode (§5.4).

After registering (§7.2), a module dials ``orchestrator_host:orchestrator_port`` from its
``RegisteredModule`` and serves ``Message<HttpTcpRequest>`` frames with
``Message<HttpTcpResponse>`` frames (``metadata`` is ``{}``). Unlike the IPC shapes, ``body``
is omitted when None. :class:`HttpTcpClient` is the sending side: one request, the next frame
as its response, a warning (only) when the ``request_id`` differs.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import anyio
from pydantic import BaseModel, Field, ValidationError

from pywatt.comm._http import HttpHandler, exchange
from pywatt.comm._socket import connect_tcp
from pywatt.comm._writer import FrameWriter
from pywatt.comm.connection import ConnectionConfig, RequestConnection
from pywatt.core._wire import WireBytes
from pywatt.core.envelope import (
    FrameDecoder,
    decode_envelope,
    encode_envelope,
    encode_frame,
    frame_payload_to_json,
)
from pywatt.core.errors import ChannelError, ProtocolError, PyWattError
from pywatt.core.serving import HttpExchangeResponse

if TYPE_CHECKING:
    from pywatt.comm.registration import RegisteredModule

__all__ = ["HttpTcpClient", "HttpTcpRequest", "HttpTcpResponse", "serve_http_over_tcp"]

logger = logging.getLogger("pywatt.comm.http_tcp")

# Not the module's usual error body: §5.4's ApiResponse omits the null ``data`` field.
_INTERNAL_ERROR = HttpExchangeResponse(
    500, {"Content-Type": "application/json"}, b'{"status":"error","message":"internal error"}'
)


def _none(value: object) -> bool:
    return value is None


class HttpTcpRequest(BaseModel):
    request_id: str
    method: str
    uri: str
    headers: dict[str, str]
    body: WireBytes | None = Field(default=None, exclude_if=_none)


class HttpTcpResponse(BaseModel):
    request_id: str
    status_code: int = Field(ge=0, le=65535)
    headers: dict[str, str]
    body: WireBytes | None = Field(default=None, exclude_if=_none)


async def serve_http_over_tcp(module: RegisteredModule, handle: HttpHandler) -> None:
    """Dial the orchestrator from ``module`` and answer its requests until the stream ends.

    ``handle`` is the module's HTTP entry point (``ChannelHost.handle_http``, for instance);
    a handler that raises is answered with 500. Requests are served concurrently.
    """
    stream = await connect_tcp(module.orchestrator_host, module.orchestrator_port)
    async with stream, anyio.create_task_group() as tg:
        writer = FrameWriter(stream, "http-tcp", tg)
        decoder = FrameDecoder()
        while True:
            try:
                chunk = await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                break
            try:
                frames = list(decoder.feed(chunk))
            except ProtocolError as exc:
                logger.error("http-over-tcp: %s; closing", exc)
                break
            for fmt, data in frames:
                try:
                    content = decode_envelope(frame_payload_to_json(fmt, data)).content
                    request = HttpTcpRequest.model_validate(content)
                except (ProtocolError, ValidationError) as exc:
                    logger.warning("http-over-tcp: skipped a frame that is not a request: %s", exc)
                    continue
                tg.start_soon(_answer, writer, handle, request)
        tg.cancel_scope.cancel()


async def _answer(writer: FrameWriter, handle: HttpHandler, request: HttpTcpRequest) -> None:
    response = await exchange(handle, request, error=_INTERNAL_ERROR, what="http-over-tcp")
    reply = HttpTcpResponse(
        request_id=request.request_id,
        status_code=response.status,
        headers=dict(response.headers),
        body=response.body,
    )
    try:
        await writer.write(encode_frame(encode_envelope(reply)))
    except ChannelError as exc:
        logger.warning("http-over-tcp: response %s not sent: %s", request.request_id, exc)


class HttpTcpClient:
    """Sends HTTP requests as frames to a module serving §5.4, one at a time."""

    def __init__(self, config: ConnectionConfig) -> None:
        self._conn = RequestConnection(config, "http over tcp", metadata_id=False)

    async def request(
        self,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpTcpResponse:
        request_id = str(uuid.uuid4())
        msg = HttpTcpRequest(
            request_id=request_id, method=method, uri=uri, headers=headers or {}, body=body
        )
        data = await self._conn.request(msg)
        try:
            response = HttpTcpResponse.model_validate(decode_envelope(data).content)
        except (ProtocolError, ValidationError) as exc:
            raise PyWattError(f"invalid HTTP-over-TCP response: {exc}") from exc
        if response.request_id != request_id:
            logger.warning(
                "http-over-tcp: response for %s answers request %s",
                response.request_id,
                request_id,
            )
        return response

    async def aclose(self) -> None:
        await self._conn.aclose()
