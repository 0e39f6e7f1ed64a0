from __future__ import annotations

import base64
import json
import logging
import socket
import uuid

import anyio
import pytest

from pywatt.comm import Backoff, TcpChannel
from pywatt.core.errors import ChannelError, ConfigError
from pywatt.core.messages import IpcChannelConfig, TcpChannelConfig

pytestmark = pytest.mark.anyio


def tcp(address: str, **kw) -> TcpChannel:
    return TcpChannel(TcpChannelConfig(address=address, tls_enabled=False, required=True), **kw)


def http_request(request_id: str, uri: str) -> dict:
    return {"op": "http_request", "request_id": request_id, "method": "GET", "uri": uri,
            "headers": {}, "body": None}  # fmt: skip


def refused_address() -> str:
    """A loopback port nothing listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"127.0.0.1:{port}"


async def test_heartbeat_ack_frame_has_the_vector_form(
    tcp_orchestrator, serving, host, envelope_vectors
):
    vector = envelope_vectors["env.heartbeat_ack"]
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host):
        peer = await orch.accept()
        await peer.send_frame(b'{"op":"heartbeat"}')
        header, data = await peer.receive_frame()
        await peer.send_frame(b'{"op":"heartbeat"}')
        _, second = await peer.receive_frame()

    assert header == len(data).to_bytes(4, "big") + b"\x01"
    envelope = json.loads(data)
    assert uuid.UUID(envelope["id"]).version == 4
    vector_id = json.loads(vector["json"])["id"]
    same_id = data.replace(envelope["id"].encode(), vector_id.encode())
    assert same_id == vector["json"].encode()
    assert (header + same_id).hex() == vector["frame_hex"]
    assert json.loads(second)["id"] != envelope["id"]


async def test_http_request_is_answered_by_the_host_app(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host):
        peer = await orch.accept()
        await peer.send(
            {
                "op": "http_request",
                "request_id": "req-7",
                "method": "POST",
                "uri": "/items?x=1",
                "headers": {"content-type": "text/plain"},
                "body": list(b"hi"),
            }
        )
        response = await peer.expect("http_response")
    assert response == {
        "op": "http_response",
        "request_id": "req-7",
        "status_code": 200,
        "headers": {"content-type": "text/plain"},
        "body": list(b"POST /items?x=1 hi"),
    }
    [request] = host.requests
    assert request.headers == {"content-type": "text/plain"}
    assert request.body == b"hi"


async def test_http_request_with_null_body_and_failing_app(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host):
        peer = await orch.accept()
        await peer.send(http_request("r", "/boom"))
        response = await peer.expect("http_response")
    assert response["status_code"] == 500
    assert json.loads(bytes(response["body"]))["status"] == "error"
    assert host.requests[0].body == b""


async def test_http_requests_are_handled_concurrently(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host):
        peer = await orch.accept()
        await peer.send(http_request("waits", "/wait"))  # blocks until /open has been handled
        await peer.send(http_request("opens", "/open"))
        first = await peer.expect("http_response")
        second = await peer.expect("http_response")
    assert [first["request_id"], second["request_id"]] == ["opens", "waits"]


async def test_shutdown_frame_stops_the_module(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host):
        peer = await orch.accept()
        await peer.send({"op": "shutdown"})
        with anyio.fail_after(5):
            await host.stopped.wait()
    assert host.stops == ["shutdown"]


async def test_undecodable_frames_are_skipped(tcp_orchestrator, serving, host, caplog):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()
        await peer.send_frame(b'{"op":"heartbeat"')  # truncated JSON
        await peer.send_frame(b'{"op":"launch_rockets"}')
        await peer.send_frame(b'{"op":"secret","name":1}')
        await peer.send_frame(b"bm90IGJhc2U2NA", fmt=3)  # bad base64 padding
        await peer.send_frame(b'{"op":"heartbeat"}')
        await peer.expect("heartbeat_ack")
        assert channel.skipped_frames == 4
        assert channel.reconnects == 0
    messages = [r.getMessage() for r in caplog.records if r.name == "pywatt.comm.channel"]
    assert any("MessageDecodeError" in m for m in messages)
    assert any("UnknownOpError" in m for m in messages)
    assert any("MessageValidationError" in m for m in messages)


async def test_binary_base64_and_enveloped_frames_are_accepted(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()
        await peer.send_frame(b'{"op":"heartbeat"}', fmt=2)
        await peer.expect("heartbeat_ack")
        await peer.send_frame(base64.b64encode(b'{"op":"heartbeat"}'), fmt=3)
        await peer.expect("heartbeat_ack")
        wrapped = {"id": str(uuid.uuid4()), "content": {"op": "heartbeat"}, "metadata": {}}
        await peer.send(wrapped)
        await peer.expect("heartbeat_ack")
        assert channel.skipped_frames == 0


@pytest.mark.parametrize("fmt", [0, 9])
async def test_bad_format_byte_reconnects_and_keeps_serving(tcp_orchestrator, serving, host, fmt):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        first = await orch.accept()
        await first.send_frame(b'{"op":"heartbeat"}', fmt=fmt)
        await first.expect_eof()
        second = await orch.accept()
        await second.send({"op": "heartbeat"})
        # The first frame on the new connection is the ack: a reconnect sends nothing.
        await second.expect("heartbeat_ack")
        assert channel.reconnects == 1
    assert host.stops == []


async def test_oversized_frame_reconnects(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch:
        channel = tcp(orch.address, max_frame_size=64)
        async with serving(channel, host):
            first = await orch.accept()
            await first.send_frame(b'{"op":"heartbeat","pad":"' + b"x" * 100 + b'"}')
            await first.expect_eof()
            second = await orch.accept()
            await second.send({"op": "heartbeat"})
            await second.expect("heartbeat_ack")
            assert channel.reconnects == 1


async def test_peer_close_reconnects_with_backoff(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        first = await orch.accept()
        await first.aclose()
        second = await orch.accept()
        await second.send({"op": "heartbeat"})
        await second.expect("heartbeat_ack")
        await second.aclose()
        third = await orch.accept()
        await third.send({"op": "heartbeat"})
        await third.expect("heartbeat_ack")
        assert channel.reconnects == 2
        assert channel.connected


async def test_reconnect_waits_until_the_orchestrator_is_back(serving, host, as_orchestrator):
    listener = (await anyio.create_tcp_listener(local_host="127.0.0.1")).listeners[0]
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    channel = tcp(f"127.0.0.1:{port}", reconnect=Backoff(initial=0.05, max_delay=0.2))
    async with serving(channel, host):
        conn = await listener.accept()
        await listener.aclose()
        await conn.aclose()  # orchestrator gone: connects are refused for a while
        await anyio.sleep(0.3)
        assert not channel.connected
        again = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
        orch = as_orchestrator(again.listeners[0], f"127.0.0.1:{port}")
        try:
            peer = await orch.accept()
            await peer.send({"op": "heartbeat"})
            await peer.expect("heartbeat_ack")
            assert channel.reconnects == 1
        finally:
            await orch.aclose()


async def test_connect_refused_is_a_channel_error_after_one_attempt():
    channel = tcp(refused_address())
    with pytest.raises(ChannelError, match=r"tcp channel .* \(1 attempt\)"):
        await channel.connect()
    assert not channel.connected


async def test_connect_timeout_is_configurable():
    # 192.0.2.0/24 is TEST-NET-1: never routed, so the connect hangs until the timeout
    # (or fails at once on hosts with no route at all; both are connect failures).
    channel = tcp("192.0.2.1:9", connect_timeout=0.2)
    with anyio.fail_after(10), pytest.raises(ChannelError, match="1 attempt"):
        await channel.connect()


async def test_tcp_nodelay_is_set(tcp_orchestrator):
    async with tcp_orchestrator() as orch:
        channel = tcp(orch.address)
        await channel.connect()
        try:
            raw = channel._stream.extra(anyio.abc.SocketAttribute.raw_socket)
            assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            await channel.aclose()


async def test_tls_request_stays_plaintext_with_a_warning(tcp_orchestrator, serving, host, caplog):
    caplog.set_level(logging.WARNING)
    async with tcp_orchestrator() as orch:
        cfg = TcpChannelConfig(address=orch.address, tls_enabled=True, required=False)
        async with serving(TcpChannel(cfg, security_level="Mtls"), host):
            peer = await orch.accept()
            await peer.send({"op": "heartbeat"})
            await peer.expect("heartbeat_ack")
    assert "TLS is not used" in caplog.text
    assert "security level Mtls" in caplog.text


def test_wrong_config_type_is_a_config_error():
    with pytest.raises(ConfigError, match="TcpChannelConfig"):
        TcpChannel(IpcChannelConfig(socket_path="/tmp/x.sock", required=True))  # type: ignore[arg-type]


async def test_aclose_ends_run(tcp_orchestrator, host):
    async with tcp_orchestrator() as orch:
        channel = tcp(orch.address)
        await channel.connect()
        finished = anyio.Event()

        async def run() -> None:
            await channel.run(host)
            finished.set()

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await orch.accept()
                await channel.aclose()
                await finished.wait()  # run returned by itself, nothing cancelled it
        assert not channel.connected
        with pytest.raises(ChannelError, match="closed"):
            await channel.connect()
