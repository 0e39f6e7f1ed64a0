from __future__ import annotations

import anyio
import pytest

from pywatt.comm import Backoff, UnixChannel
from pywatt.core.errors import ChannelError, ConfigError
from pywatt.core.messages import IpcChannelConfig, TcpChannelConfig

pytestmark = pytest.mark.anyio


def unix(path: object, **kw) -> UnixChannel:
    return UnixChannel(IpcChannelConfig(socket_path=str(path), required=True), **kw)


async def test_heartbeat_and_http_over_a_unix_socket(unix_orchestrator, serving, host):
    async with unix_orchestrator() as orch, serving(unix(orch.address), host):
        peer = await orch.accept()
        await peer.send({"op": "heartbeat"})
        header, data = await peer.receive_frame()
        assert header == len(data).to_bytes(4, "big") + b"\x01"
        await peer.send(
            {
                "op": "http_request",
                "request_id": "u1",
                "method": "GET",
                "uri": "/x",
                "headers": {},
                "body": None,
            }
        )
        response = await peer.expect("http_response")
    assert b'"content":{"op":"heartbeat_ack"}' in data
    assert response["request_id"] == "u1"
    assert bytes(response["body"]) == b"GET /x "


async def test_unix_reconnects_after_a_bad_frame_and_a_dead_peer(unix_orchestrator, serving, host):
    async with unix_orchestrator() as orch, serving(unix(orch.address), host) as channel:
        first = await orch.accept()
        await first.send_frame(b"{}", fmt=0x7F)
        await first.expect_eof()
        second = await orch.accept()
        await second.aclose()
        third = await orch.accept()
        await third.send({"op": "heartbeat"})
        await third.expect("heartbeat_ack")
        assert channel.reconnects == 2
    assert host.stops == []


async def test_unix_connect_gives_up_within_its_budget(short_dir):
    channel = unix(short_dir / "missing.sock", connect_budget=0.5)
    with anyio.fail_after(10), pytest.raises(ChannelError, match=r"unix channel .* attempts\)"):
        await channel.connect()


async def test_unix_connect_retries_until_the_socket_appears(short_dir, as_orchestrator):
    path = short_dir / "late.sock"
    channel = unix(path, connect_budget=20.0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(channel.connect)
        await anyio.sleep(0.35)  # a few backoff rounds fail first
        orch = as_orchestrator(await anyio.create_unix_listener(path), str(path))
        try:
            await orch.accept()
        finally:
            await orch.aclose()
    assert channel.connected
    await channel.aclose()


async def test_default_budget_is_thirty_seconds(short_dir):
    channel = unix(short_dir / "x.sock")
    assert channel.initial == Backoff(budget=30.0)
    assert channel.max_frame_size == 128 * 1024 * 1024


def test_wrong_config_type_is_a_config_error():
    cfg = TcpChannelConfig(address="127.0.0.1:1", tls_enabled=False, required=True)
    with pytest.raises(ConfigError, match="IpcChannelConfig"):
        UnixChannel(cfg)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="empty"):
        UnixChannel(IpcChannelConfig(socket_path="", required=True))
