from __future__ import annotations

import socket

import anyio
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pywatt.core.errors import ServerError
from pywatt.server import (
    AsgiRunner,
    SocketLimits,
    bind_listener,
    listener_address,
)

pytestmark = pytest.mark.anyio


def test_port_zero_reports_the_real_port():
    sock = bind_listener("127.0.0.1", 0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1"
        assert port > 0
        assert listener_address(sock) == f"127.0.0.1:{port}"
        # Already listening: a client connects before anything serves it.
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()


def test_a_taken_port_is_a_server_error():
    first = bind_listener("127.0.0.1", 0)
    try:
        with pytest.raises(ServerError, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            bind_listener("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()


@pytest.mark.parametrize("port", [-1, 65536, True, "80"])
def test_invalid_ports_are_rejected(port):
    with pytest.raises(ServerError, match="invalid port"):
        bind_listener("127.0.0.1", port)


def test_a_stale_unix_socket_is_replaced(tmp_path):
    path = str(tmp_path / "mod.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays behind, nobody listens
    sock = bind_listener(path, None)
    try:
        assert listener_address(sock) == path
    finally:
        sock.close()


def test_a_live_unix_socket_or_a_plain_file_is_not_replaced(tmp_path):
    live_path = str(tmp_path / "live.sock")
    live = bind_listener(live_path, None)
    try:
        with pytest.raises(ServerError, match="another process is listening"):
            bind_listener(live_path, None)
    finally:
        live.close()
    plain = tmp_path / "notes.txt"
    plain.write_text("keep me")
    with pytest.raises(ServerError, match="not a socket"):
        bind_listener(str(plain), None)
    assert plain.read_text() == "keep me"


async def test_serving_on_a_unix_socket(tmp_path, runner, serve_app, client_for):
    path = str(tmp_path / "app.sock")
    await runner.startup()
    async with serve_app(runner, where=path, port=None) as (address, _stop):
        assert address == path
        async with client_for(address) as client:
            response = await client.get("/greet/unix")
    await runner.shutdown()
    assert response.status_code == 200
    assert response.content == b'{"greeting":"hello unix"}'


def _slow_app(state: dict[str, object], seconds: float) -> Starlette:
    async def slow(request):
        state["started"].set()  # type: ignore[attr-defined]
        await anyio.sleep(seconds)
        state["finished"] = True
        return PlainTextResponse("done")

    return Starlette(routes=[Route("/slow", slow)])


async def _exchange(stream, request: bytes) -> bytes:
    """Send one request on a raw connection and read its whole (content-length) response."""
    await stream.send(request)
    received = b""
    with anyio.fail_after(10):
        while b"\r\n\r\n" not in received:
            received += await stream.receive()
        head, _, body = received.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += await stream.receive()
    return head + b"\r\n\r\n" + body


async def test_the_header_timeout_spares_idle_keep_alive_and_slow_apps():
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/slow":
            await anyio.sleep(0.8)
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    runner = AsgiRunner(app)
    sock = bind_listener("127.0.0.1", 0)
    host, port = sock.getsockname()
    stop = anyio.Event()
    request = b"GET %s HTTP/1.1\r\nhost: module\r\n\r\n"
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: runner.serve(
                sock, stop=stop, limits=SocketLimits(header_timeout=0.3, keep_alive_timeout=5)
            )
        )
        async with await anyio.connect_tcp(host, port) as stream:
            # An app slower than the header timeout is not cut: the headers were complete.
            first = await _exchange(stream, request % b"/slow")
            # Idle between requests is the keep-alive timeout's business, not this one's.
            await anyio.sleep(0.8)
            second = await _exchange(stream, request % b"/fast")
        stop.set()
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert first.endswith(b"\r\n\r\nok")
    assert second.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"header_timeout": 0}, "header_timeout must be > 0 seconds or None"),
        ({"keep_alive_timeout": -1}, "keep_alive_timeout must be >= 0 seconds"),
        ({"limit_concurrency": 0}, "limit_concurrency must be >= 1"),
    ],
)
async def test_invalid_socket_limits_are_refused(limits, message):
    sock = bind_listener("127.0.0.1", 0)
    try:
        with pytest.raises(ServerError, match=message):
            await AsgiRunner(_slow_app({}, 0)).serve(
                sock, stop=anyio.Event(), limits=SocketLimits(**limits)
            )
    finally:
        sock.close()
