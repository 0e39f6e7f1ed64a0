"""HTTP to a module's announced socket: httpx when installed, else a minimal HTTP/1.1 client."""

from __future__ import annotations

import anyio

from pywatt.core.errors import ModuleTimeoutError, ModuleUnavailable
from pywatt.core.orchestrator.handle import OrchestratorHttpResponse

__all__ = ["request"]


async def request(
    address: tuple[str, int] | str,
    method: str,
    uri: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
) -> OrchestratorHttpResponse:
    try:
        import httpx
    except ImportError:
        return await _plain(address, method, uri, headers, body, timeout)
    if isinstance(address, tuple):
        transport = httpx.AsyncHTTPTransport()
        base = f"http://{address[0]}:{address[1]}"
    else:
        transport = httpx.AsyncHTTPTransport(uds=address)
        base = "http://module"
    async with httpx.AsyncClient(transport=transport, base_url=base, timeout=timeout) as client:
        try:
            reply = await client.request(method, uri, headers=headers, content=body)
        except httpx.TimeoutException as exc:
            raise ModuleTimeoutError(f"{method} {uri} timed out after {timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise ModuleUnavailable(f"{method} {uri}: {exc}") from exc
    return OrchestratorHttpResponse(reply.status_code, dict(reply.headers), reply.content)


async def _plain(
    address: tuple[str, int] | str,
    method: str,
    uri: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
) -> OrchestratorHttpResponse:
    host = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else "module"
    lines = [
        f"{method} {uri} HTTP/1.1",
        f"host: {host}",
        "connection: close",
        f"content-length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "connection")]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    data = bytearray()
    try:
        with anyio.fail_after(timeout):
            if isinstance(address, tuple):
                stream = await anyio.connect_tcp(address[0], address[1])
            else:
                stream = await anyio.connect_unix(address)
            async with stream:
                await stream.send(raw)
                while True:
                    try:
                        data += await stream.receive()
                    except anyio.EndOfStream:
                        break
    except TimeoutError:
        raise ModuleTimeoutError(f"{method} {uri} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise ModuleUnavailable(f"{method} {uri}: {exc}") from exc
    return parse_response(bytes(data))


def parse_response(data: bytes) -> OrchestratorHttpResponse:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise ModuleUnavailable("the module closed the connection before a full HTTP response")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ModuleUnavailable(f"malformed HTTP status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        rest = _dechunk(rest)
    elif "content-length" in headers:
        rest = rest[: int(headers["content-length"])]
    return OrchestratorHttpResponse(int(parts[1]), headers, rest)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
