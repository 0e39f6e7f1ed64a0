from __future__ import annotations

import json
import shutil
import struct
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import ByteStream, SocketListener

from pywatt.core.serving import HttpExchangeRequest, HttpExchangeResponse

HEADER = struct.Struct(">IB")


class Peer:
    """The orchestrator's end of one accepted connection, speaking exact frames.

    Framing is done here with ``struct`` rather than pywatt's codec, so the tests check the
    module's bytes against an independent reading of §4.1.
    """

    def __init__(self, stream: ByteStream) -> None:
        self.stream = stream
        self.buf = bytearray()

    async def send_frame(self, data: bytes, fmt: int = 1) -> None:
        await self.stream.send(HEADER.pack(len(data), fmt) + data)

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_frame(json.dumps(message, separators=(",", ":")).encode())

    async def receive_frame(self, timeout: float = 5.0) -> tuple[bytes, bytes]:
        """``(5-byte header, data)`` of the next frame from the module."""
        with anyio.fail_after(timeout):
            while True:
                if len(self.buf) >= HEADER.size:
                    length, _ = HEADER.unpack_from(self.buf)
                    if len(self.buf) >= HEADER.size + length:
                        break
                self.buf += await self.stream.receive()
        header = bytes(self.buf[: HEADER.size])
        data = bytes(self.buf[HEADER.size : HEADER.size + length])
        del self.buf[: HEADER.size + length]
        return header, data

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next enveloped message; checks the envelope shape m→o frames must have."""
        header, data = await self.receive_frame(timeout)
        assert header[4] == 1, f"module sent format byte {header[4]}"
        envelope = json.loads(data)
        assert list(envelope) == ["id", "content", "metadata"], envelope
        assert uuid.UUID(envelope["id"]).version == 4
        assert envelope["metadata"] == {}
        return envelope

    async def expect_content(self, timeout: float = 5.0) -> dict[str, Any]:
        """The ``content`` of the next enveloped request (§7.2/§7.4: ``metadata.id`` set)."""
        _, data = await self.receive_frame(timeout)
        envelope = json.loads(data)
        assert list(envelope) == ["id", "content", "metadata"], envelope
        assert uuid.UUID(envelope["metadata"]["id"]).version == 4
        content: dict[str, Any] = envelope["content"]
        return content

    async def expect(self, op: str, timeout: float = 5.0) -> dict[str, Any]:
        content = (await self.receive(timeout))["content"]
        assert content["op"] == op, content
        return content

    async def expect_eof(self, timeout: float = 5.0) -> None:
        """The module closes this connection (any frames it still had are discarded)."""
        with anyio.fail_after(timeout):
            try:
                while True:
                    await self.stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
                return

    async def aclose(self) -> None:
        await self.stream.aclose()


class FakeOrchestrator:
    """A listening socket standing in for the orchestrator's side of the channel."""

    def __init__(self, listener: SocketListener, address: str) -> None:
        self.listener = listener
        self.address = address
        self.peers: list[Peer] = []

    async def accept(self, timeout: float = 5.0) -> Peer:
        with anyio.fail_after(timeout):
            peer = Peer(await self.listener.accept())
        self.peers.append(peer)
        return peer

    async def aclose(self) -> None:
        for peer in self.peers:
            await peer.aclose()
        await self.listener.aclose()


class RecordingHost:
    """A real ChannelHost: answers HTTP from a tiny route table and records stop requests."""

    def __init__(self, module_id: str = "mod-a") -> None:
        self._module_id = module_id
        self.requests: list[HttpExchangeRequest] = []
        self.stops: list[str] = []
        self.stopped = anyio.Event()
        self.gate = anyio.Event()

    @property
    def module_id(self) -> str:
        return self._module_id

    async def handle_http(self, request: HttpExchangeRequest) -> HttpExchangeResponse:
        self.requests.append(request)
        if request.uri == "/boom":
            raise RuntimeError("handler exploded")
        if request.uri == "/wait":
            await self.gate.wait()
        if request.uri == "/open":
            self.gate.set()
        body = f"{request.method} {request.uri} ".encode() + request.body
        return HttpExchangeResponse(200, {"content-type": "text/plain"}, body)

    def request_stop(self, reason: str) -> None:
        self.stops.append(reason)
        self.stopped.set()


@asynccontextmanager
async def _tcp_orchestrator() -> AsyncIterator[FakeOrchestrator]:
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    listener = multi.listeners[0]
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    orch = FakeOrchestrator(listener, f"127.0.0.1:{port}")
    try:
        yield orch
    finally:
        await orch.aclose()


@asynccontextmanager
async def _unix_orchestrator(path: Path) -> AsyncIterator[FakeOrchestrator]:
    listener = await anyio.create_unix_listener(path)
    orch = FakeOrchestrator(listener, str(path))
    try:
        yield orch
    finally:
        await orch.aclose()


@asynccontextmanager
async def _serving(channel: Any, host: Any) -> AsyncIterator[Any]:
    """Connect ``channel`` and run it against ``host`` until the block ends."""
    async with anyio.create_task_group() as tg:
        await channel.connect()
        tg.start_soon(channel.run, host)
        try:
            yield channel
        finally:
            await channel.aclose()


@pytest.fixture
def tcp_orchestrator():
    return _tcp_orchestrator


@pytest.fixture
def short_dir():
    """A short directory: a Unix socket path must fit in about 100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="pw-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def unix_orchestrator(short_dir):
    def make(name: str = "orch.sock"):
        return _unix_orchestrator(short_dir / name)

    return make


@pytest.fixture
def serving():
    return _serving


@pytest.fixture
def host() -> RecordingHost:
    return RecordingHost()


@pytest.fixture
def envelope_vectors() -> dict[str, dict[str, Any]]:
    path = Path(__file__).resolve().parents[2] / "protocol/vectors/envelope_vectors.json"
    return {v["name"]: v for v in json.loads(path.read_text(encoding="utf-8"))}


@pytest.fixture
def as_orchestrator():
    """Wrap a listener the test made itself: ``as_orchestrator(listener, address)``."""
    return FakeOrchestrator
