"""Chaos: the peer of a TCP channel is killed 20 times while 1,000 routed requests are in flight.

Requests retry through a policy, so they stay in flight across kills; each must still end in
a success or a typed error within its deadline, and the channel must outlive the chaos.
"""

from __future__ import annotations

import random
import time

import anyio
import pytest

from pywatt.comm import Policy, Retry, TcpChannel
from pywatt.comm.reconnect import Backoff
from pywatt.core.errors import ChannelClosedError, RouteTimeoutError
from pywatt.core.messages import TcpChannelConfig

pytestmark = pytest.mark.anyio

KILLS = 20
REQUESTS = 1000
TIMEOUT = 5.0


async def test_every_request_ends_typed_within_its_timeout_and_the_channel_survives(
    tcp_orchestrator, serving, host
):
    rng = random.Random(15)
    outcomes: dict[str, int] = {"ok": 0, "closed": 0, "timeout": 0}
    late: list[float] = []
    answered = 0
    kills_done = anyio.Event()
    in_flight_at_kill: list[int] = []
    send_lock = anyio.Lock()
    async with tcp_orchestrator() as orch:
        cfg = TcpChannelConfig(address=orch.address, tls_enabled=False, required=True)
        channel = TcpChannel(cfg, reconnect=Backoff(initial=0.01, max_delay=0.05))
        async with serving(channel, host):

            async def peer_life(kills_left: int) -> None:
                nonlocal answered
                while True:
                    peer = await orch.accept(timeout=10)
                    life = rng.uniform(0.05, 0.2) if kills_left else 60.0
                    async with anyio.create_task_group() as replies:
                        with anyio.move_on_after(life):
                            while True:
                                content = (await peer.receive(timeout=60))["content"]
                                replies.start_soon(answer, peer, content)
                        replies.cancel_scope.cancel()
                    if not kills_left:
                        return
                    in_flight_at_kill.append(channel.routing.pending)
                    await peer.aclose()  # killed, with requests in flight
                    kills_left -= 1
                    if not kills_left:
                        kills_done.set()

            async def answer(peer, content) -> None:
                nonlocal answered
                await anyio.sleep(rng.uniform(0, 0.3))  # a slow target: requests pile up
                reply = {"op": "routed_module_response", "source_module_id": "b",
                         "request_id": content["request_id"],
                         "payload": content["payload"]}  # fmt: skip
                async with send_lock:
                    await peer.send(reply)
                answered += 1

            async def call(n: int) -> None:
                start = time.monotonic()
                try:
                    with anyio.fail_after(TIMEOUT):
                        value = await channel.route("b", "echo", {"n": n}, policy=policy)
                    inner = value["content"] if isinstance(value, dict) else value
                    assert inner == {"n": n}
                    outcomes["ok"] += 1
                except ChannelClosedError:
                    outcomes["closed"] += 1
                except (RouteTimeoutError, TimeoutError):
                    outcomes["timeout"] += 1
                elapsed = time.monotonic() - start
                if elapsed > TIMEOUT + 1:
                    late.append(elapsed)

            policy = Policy("chaos", timeout=1.0, retry=Retry(attempts=100, initial=0.01,
                                                               max_delay=0.05))  # fmt: skip
            async with anyio.create_task_group() as tg:
                tg.start_soon(peer_life, KILLS)
                async with anyio.create_task_group() as calls:
                    for n in range(REQUESTS):  # started over the chaos, dozens in flight
                        calls.start_soon(call, n)
                        await anyio.sleep(0.002)
                with anyio.fail_after(30):
                    await kills_done.wait()
                # the module is still up: one more request goes through the last connection
                assert await channel.route("b", "echo", "alive", timeout=TIMEOUT) is not None
                tg.cancel_scope.cancel()
            assert channel.connected
            assert channel.reconnects == KILLS
    assert sum(outcomes.values()) == REQUESTS
    assert late == []
    assert outcomes["ok"] > 0
    assert answered >= outcomes["ok"]
    assert len(in_flight_at_kill) == KILLS
    # every kill but perhaps the first hit requests in flight, dozens of them at the peak
    assert sum(1 for n in in_flight_at_kill if n > 0) >= KILLS - 1
    assert max(in_flight_at_kill) >= 30
