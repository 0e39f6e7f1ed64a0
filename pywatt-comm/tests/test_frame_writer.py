"""The frame writer under pressure: direct writes, a queue when the socket is full, no mix-ups."""

from __future__ import annotations

import json

import anyio
import pytest

from pywatt.comm import TcpChannel, UnixChannel
from pywatt.core.envelope import EncodedMessage, EncodingFormat
from pywatt.core.errors import ChannelClosedError
from pywatt.core.messages import IpcChannelConfig, RouteToModule, TcpChannelConfig

pytestmark = pytest.mark.anyio


def big(index: int, size: int) -> RouteToModule:
    """A routed message whose payload carries its index and ``size`` bytes of filler."""
    data = json.dumps({"i": index, "fill": "x" * size}).encode()
    return RouteToModule(
        target_module_id="peer",
        target_endpoint=f"/n/{index}",
        request_id=f"00000000-0000-4000-8000-{index:012d}",
        payload=EncodedMessage(data=data, format=EncodingFormat.JSON),
    )


def channels(orch, kind):
    if kind == "tcp":
        return TcpChannel(TcpChannelConfig(address=orch.address, tls_enabled=False, required=True))
    return UnixChannel(IpcChannelConfig(socket_path=orch.address, required=True))


@pytest.mark.parametrize("kind", ["tcp", "unix"])
async def test_frames_from_many_senders_arrive_whole_and_in_each_senders_order(
    kind, tcp_orchestrator, unix_orchestrator, serving, host
):
    """Six senders push 4 MiB each at a peer that reads late: the socket fills, frames queue."""
    make = tcp_orchestrator if kind == "tcp" else unix_orchestrator
    async with make() as orch, serving(channels(orch, kind), host) as channel:
        peer = await orch.accept()

        async def sender(first: int) -> None:
            for index in range(first, first + 40):
                await channel.send(big(index, 100_000))

        async with anyio.create_task_group() as tg:
            for n in range(6):
                tg.start_soon(sender, n * 1000)
            await anyio.sleep(0.3)  # nobody reads yet: the kernel buffers fill up
            seen: dict[int, list[int]] = {}
            for _ in range(240):
                content = (await peer.receive(timeout=20))["content"]
                index = int(content["target_endpoint"].rsplit("/", 1)[1])
                assert json.loads(bytes(content["payload"]["data"]))["i"] == index
                seen.setdefault(index // 1000, []).append(index)
        assert {k: v == sorted(v) and len(v) == 40 for k, v in seen.items()} == dict.fromkeys(
            range(6), True
        )
        assert channel.metrics()["frames_out"] == 240


async def keep_sending(channel: TcpChannel) -> None:
    while True:  # the first writes may still land in the kernel buffer
        await channel.send(big(1, 100_000))
        await anyio.sleep(0.01)


async def test_a_send_on_a_reset_connection_is_a_channel_closed_error(tcp_orchestrator):
    async with tcp_orchestrator() as orch:
        channel = channels(orch, "tcp")
        await channel.connect()
        peer = await orch.accept()
        await peer.aclose()
        with anyio.fail_after(10), pytest.raises(ChannelClosedError, match="write failed"):
            await keep_sending(channel)
        await channel.aclose()
