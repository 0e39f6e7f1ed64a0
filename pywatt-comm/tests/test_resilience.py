"""Resilience policies against real sockets, counting what reached each peer."""

from __future__ import annotations

import json
import logging

import anyio
import pytest

from pywatt.comm import (
    CircuitBreaker,
    CircuitOpenError,
    ConnectionConfig,
    Policy,
    Retry,
    RetryBudget,
    ServiceDiscoveryClient,
    TcpChannel,
    policies_from_config,
)
from pywatt.comm.reconnect import Backoff
from pywatt.core.errors import ConfigError, RouteTimeoutError
from pywatt.core.messages import TcpChannelConfig

pytestmark = pytest.mark.anyio


def tcp(address: str) -> TcpChannel:
    cfg = TcpChannelConfig(address=address, tls_enabled=False, required=False)
    return TcpChannel(cfg, reconnect=Backoff(initial=0.05))


def routed_response(request_id: str, value: object) -> dict:
    import json

    data = list(json.dumps(value).encode())
    return {"op": "routed_module_response", "source_module_id": "mod-b",
            "request_id": request_id, "payload": {"data": data, "format": "Json"}}  # fmt: skip


async def test_a_routed_request_survives_a_peer_restart_through_retry(
    tcp_orchestrator, serving, host, caplog
):
    """The first peer dies with the request in flight; the retry reaches the restarted one."""
    caplog.set_level(logging.WARNING)
    policy = Policy("to-b", timeout=5, retry=Retry(attempts=4, initial=0.05, jitter=0.5))
    reached = {"first": 0, "second": 0}
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        first = await orch.accept()
        result: list[object] = []

        async def call() -> None:
            result.append(await channel.route("mod-b", "get", {"n": 1}, policy=policy))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await first.expect("route_to_module")
            reached["first"] += 1
            await first.aclose()  # killed before answering
            second = await orch.accept()
            sent = await second.expect("route_to_module")
            reached["second"] += 1
            await second.send(routed_response(sent["request_id"], {"ok": 2}))
    assert result == [{"ok": 2}]
    assert reached == {"first": 1, "second": 1}
    assert caplog.text.count("policy 'to-b': attempt 1 failed") == 1


async def test_breaker_opens_stops_traffic_half_opens_and_closes(
    tcp_orchestrator, serving, host, caplog
):
    caplog.set_level(logging.INFO)
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=0.5)
    policy = Policy("to-c", timeout=0.1, breaker=breaker)
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        channel.routing.policies["mod-c"] = policy
        peer = await orch.accept()
        for _ in range(3):  # the peer never answers: three timeouts
            with pytest.raises(RouteTimeoutError):
                await channel.route("mod-c", "x", {})
        assert breaker.state == "open"
        for _ in range(5):  # open: nothing is sent
            with pytest.raises(CircuitOpenError):
                await channel.route("mod-c", "x", {})
        reached = [await peer.expect("route_to_module") for _ in range(3)]
        await peer.send({"op": "heartbeat"})  # nothing else was queued before this ack
        await peer.expect("heartbeat_ack")
        assert len(reached) == 3

        await anyio.sleep(0.6)  # half-open: one trial goes through, and succeeds

        async def answer() -> None:
            sent = await peer.expect("route_to_module")
            await peer.send(routed_response(sent["request_id"], "up"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(answer)
            assert await channel.route("mod-c", "x", {}) == "up"
        assert breaker.state == "closed"
    assert caplog.text.count("circuit 'to-c' opened after 3 failures") == 1
    assert caplog.text.count("circuit 'to-c' half-open") == 1
    assert caplog.text.count("circuit 'to-c' closed") == 1


class Down:
    """A call that always fails as a dead peer does, counting how often it was made."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        raise ConnectionResetError("peer gone")


async def test_a_failed_half_open_trial_opens_the_breaker_again():
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.05)
    policy = Policy("flaky", breaker=breaker)
    fail = Down()
    with pytest.raises(ConnectionResetError):
        await policy.run(fail)
    await anyio.sleep(0.06)
    with pytest.raises(ConnectionResetError):
        await policy.run(fail)  # the trial
    with pytest.raises(CircuitOpenError):
        await policy.run(fail)
    assert (fail.calls, breaker.state) == (2, "open")


async def test_retry_budget_caps_retries():
    policy = Policy("budgeted", retry=Retry(attempts=5, initial=0, budget=RetryBudget(0.0, 2)))
    fail = Down()
    with pytest.raises(ConnectionResetError):
        await policy.run(fail)
    assert fail.calls == 3  # one try plus the two retries the budget holds
    with pytest.raises(ConnectionResetError):
        await policy.run(fail)
    assert fail.calls == 4  # budget spent: no retry


async def test_discovery_fails_over_to_the_second_orchestrator_when_the_first_dies(
    tcp_orchestrator,
):
    reached = {"first": 0, "second": 0}
    answer = {"op": "discover_service_providers_response", "success": True,
              "providers": [], "error": None}  # fmt: skip
    async with tcp_orchestrator() as one, tcp_orchestrator() as two:
        configs = [
            ConnectionConfig.from_address(o.address, dial=Backoff(attempts=1), request_timeout=2)
            for o in (one, two)
        ]
        client = ServiceDiscoveryClient(configs)

        async def serve(orch, key: str, count: int) -> None:
            peer = await orch.accept()
            for _ in range(count):
                await peer.expect_content()
                reached[key] += 1
                await peer.send(answer)

        async with anyio.create_task_group() as tg:
            tg.start_soon(serve, one, "first", 1)
            assert await client.discover_service_providers("Cache") == []
        await one.aclose()  # the first orchestrator is killed
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve, two, "second", 2)
            assert await client.discover_service_providers("Cache") == []
            assert await client.discover_service_providers("Cache") == []
        await client.aclose()
    assert reached == {"first": 1, "second": 2}
    assert client.failover.current == 1  # it stays on the endpoint that works


def test_policies_from_module_config():
    policies = policies_from_config(
        {"billing": {"timeout": 2, "retry": {"attempts": 4, "budget": {"ratio": 0.1}},
                     "breaker": {"failure_threshold": 2, "reset_timeout": 10}}}
    )  # fmt: skip
    billing = policies["billing"]
    assert billing.timeout == 2
    assert billing.retry is not None
    assert billing.retry.attempts == 4
    assert billing.retry.budget is not None
    assert billing.retry.budget.ratio == 0.1
    assert billing.breaker is not None
    assert billing.breaker.name == "billing"
    with pytest.raises(ConfigError, match="unknown keys"):
        policies_from_config({"x": {"timeout": 1, "retires": {}}})
    with pytest.raises(ConfigError, match="policy 'y'"):
        policies_from_config({"y": {"retry": {"attempts": 0}}})


def test_route_policies_come_from_the_module_environment(monkeypatch):
    spec = {"billing": {"timeout": 3, "retry": {"attempts": 2}}, "*": {"timeout": 9}}
    monkeypatch.setenv("PYWATT_ROUTE_POLICIES", json.dumps(spec))
    channel = tcp("127.0.0.1:9")
    assert channel.routing.policies["billing"].timeout == 3
    assert channel.routing.policies[None].timeout == 9
    monkeypatch.setenv("PYWATT_ROUTE_POLICIES", "[1]")
    with pytest.raises(ConfigError, match="JSON object"):
        tcp("127.0.0.1:9")
