from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn

from pywatt.cli.gateway import HttpForwarder, IpcForwarder, ProxyApp
from pywatt.core.errors import ChannelClosedError

pytestmark = pytest.mark.anyio


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeHandle:
    """A module handle that answers http() itself and records what it was asked."""

    module_id: str
    exit_code: int | None = None
    fail: BaseException | None = None
    calls: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    http_address: tuple[str, int] | str | None = None

    @property
    def running(self) -> bool:
        return self.exit_code is None

    async def http(self, method, uri, headers=None, body=b"", timeout=30):
        if self.fail is not None:
            raise self.fail
        self.calls.append((method, uri, dict(headers or {}), body))
        payload = {"module": self.module_id, "uri": uri, "len": len(body)}
        return Reply(
            201,
            {
                "content-type": "application/json",
                "connection": "close, x-private",
                "x-private": "hop",
                "keep-alive": "timeout=5",
                "x-module": self.module_id,
                "content-length": "999",
            },
            json.dumps(payload).encode(),
        )


def _client(routes) -> httpx.AsyncClient:
    app = ProxyApp(routes, base_url="http://proxy.test")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy.test")


async def test_routes_prefix_and_keeps_query_method_and_body():
    echo = FakeHandle("echo")
    async with _client({"echo": IpcForwarder(echo)}) as client:
        resp = await client.post("/echo/a/b%20c?x=1&y=two", content=b"payload")
    assert resp.status_code == 201
    assert resp.json() == {"module": "echo", "uri": "/a/b%20c?x=1&y=two", "len": 7}
    method, uri, _headers, body = echo.calls[0]
    assert (method, uri, body) == ("POST", "/a/b%20c?x=1&y=two", b"payload")


async def test_bare_module_prefix_reaches_root():
    echo = FakeHandle("echo")
    async with _client({"echo": IpcForwarder(echo)}) as client:
        await client.get("/echo")
        await client.get("/echo/")
    assert [call[1] for call in echo.calls] == ["/", "/"]


async def test_hop_by_hop_headers_dropped_both_ways():
    echo = FakeHandle("echo")
    request_headers = {
        "connection": "keep-alive, x-secret-hop",
        "x-secret-hop": "1",
        "te": "trailers",
        "upgrade": "h2c",
        "authorization": "Bearer t",
        "x-custom": "kept",
    }
    async with _client({"echo": IpcForwarder(echo)}) as client:
        resp = await client.get("/echo/h", headers=request_headers)
    sent = echo.calls[0][2]
    for hop in ("connection", "x-secret-hop", "te", "upgrade", "host", "keep-alive"):
        assert hop not in sent
    assert sent["authorization"] == "Bearer t"
    assert sent["x-custom"] == "kept"
    assert sent["x-forwarded-prefix"] == "/echo"
    assert sent["x-forwarded-host"] == "proxy.test"
    assert "x-private" not in resp.headers
    assert "keep-alive" not in resp.headers
    assert resp.headers["x-module"] == "echo"
    assert resp.headers["content-length"] == str(len(resp.content))


async def test_unknown_module_is_404_listing_modules():
    routes = {"b": IpcForwarder(FakeHandle("b")), "a": IpcForwarder(FakeHandle("a"))}
    async with _client(routes) as client:
        resp = await client.get("/nope/x")
    assert resp.status_code == 404
    assert resp.json() == {"error": "no module 'nope'", "modules": ["a", "b"]}


async def test_dead_module_is_502_without_a_call():
    dead = FakeHandle("dead", exit_code=1)
    async with _client({"dead": IpcForwarder(dead)}) as client:
        resp = await client.get("/dead/x")
    assert resp.status_code == 502
    assert "not running" in resp.json()["error"]
    assert dead.calls == []


async def test_failing_exchange_is_502():
    broken = FakeHandle("broken", fail=ChannelClosedError("stdin closed"))
    async with _client({"broken": IpcForwarder(broken)}) as client:
        resp = await client.get("/broken/x")
    assert resp.status_code == 502
    assert "ChannelClosedError: stdin closed" in resp.json()["error"]


async def test_root_lists_modules_with_urls_and_state():
    routes = {
        "up": IpcForwarder(FakeHandle("up")),
        "down": IpcForwarder(FakeHandle("down", exit_code=3)),
    }
    async with _client(routes) as client:
        listing = (await client.get("/")).json()
    assert listing["modules"]["up"]["url"] == "http://proxy.test/up/"
    assert listing["modules"]["up"]["running"] is True
    assert listing["modules"]["up"]["via"] == "ipc"
    assert listing["modules"]["down"]["running"] is False


async def test_routes_are_live_for_reload():
    routes = {"m": IpcForwarder(FakeHandle("m", exit_code=0))}
    async with _client(routes) as client:
        assert (await client.get("/m/")).status_code == 502
        routes["m"] = IpcForwarder(FakeHandle("m"))
        assert (await client.get("/m/")).status_code == 201


# --- --via http: a real uvicorn server plays the module's socket ---------------------------


async def _echo_asgi(scope, receive, send):
    assert scope["type"] == "http"
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    payload = {
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "body": body.decode(),
        "custom": headers.get("x-custom"),
        "prefix": headers.get("x-forwarded-prefix"),
    }
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"x-from", b"socket")],
        }
    )
    await send({"type": "http.response.body", "body": data})


@pytest.fixture
def socket_module(request, tmp_path: Path):
    """Serve the echo app on TCP or a Unix socket in a thread; yield the announced address."""
    if request.param == "tcp":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        address: tuple[str, int] | str = sock.getsockname()
    else:
        sock = socket.socket(socket.AF_UNIX)
        address = str(tmp_path / "m.sock")
        sock.bind(address)
    server = uvicorn.Server(uvicorn.Config(_echo_asgi, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "echo server did not start"
        time.sleep(0.02)
    yield address
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.mark.parametrize("socket_module", ["tcp", "unix"], indirect=True)
async def test_http_forwarder_reaches_announced_socket(socket_module):
    handle = FakeHandle("m", http_address=socket_module)
    forwarder = HttpForwarder(handle)
    try:
        async with _client({"m": forwarder}) as client:
            resp = await client.put("/m/items/7?q=a%20b", content=b"hi", headers={"x-custom": "c"})
            listing = (await client.get("/")).json()
    finally:
        await forwarder.aclose()
    assert resp.status_code == 200
    assert resp.headers["x-from"] == "socket"
    assert resp.json() == {
        "path": "/items/7",
        "query": "q=a%20b",
        "body": "hi",
        "custom": "c",
        "prefix": "/m",
    }
    assert handle.calls == []  # nothing went over IPC
    assert listing["modules"]["m"]["via"] == "http"


async def test_http_forwarder_refused_connection_is_502():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    forwarder = HttpForwarder(FakeHandle("gone", http_address=("127.0.0.1", port)))
    try:
        async with _client({"gone": forwarder}) as client:
            resp = await client.get("/gone/x")
    finally:
        await forwarder.aclose()
    assert resp.status_code == 502
    assert "ConnectError" in resp.json()["error"]


def test_http_forwarder_needs_a_socket():
    from pywatt.cli.gateway import ForwardError

    with pytest.raises(ForwardError, match="serves no HTTP socket"):
        HttpForwarder(FakeHandle("ipc-only", http_address=None))
