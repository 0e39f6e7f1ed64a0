"""The module API over the memory broker: @module.subscribe, state.broker, drain on stop."""

from __future__ import annotations

import logging
import uuid

import anyio
import pytest

from pywatt.comm import plugin as comm_plugin
from pywatt.comm.brokers import MemoryBroker
from pywatt.core import plugin as core_plugin
from pywatt.core.errors import ConfigError
from pywatt.core.messaging import Event
from pywatt.core.module import PyWattModule, ServeOptions
from pywatt.core.plugins import build_plugins
from pywatt.core.testing import DEFAULT_INIT, ScriptedOrchestrator

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def plugins():
    return build_plugins(
        entry_points=[], extra=[("comm", comm_plugin), ("core", core_plugin)], env={}
    )


@pytest.fixture
def url():
    return f"memory://mod-{uuid.uuid4().hex[:8]}"


def init_for(url: str) -> dict:
    return {**DEFAULT_INIT, "env": {"PYWATT_BROKER_URL": url}}


async def test_subscribe_handles_what_state_broker_publishes(plugins, url):
    module = PyWattModule(None)
    got: list[tuple[object, str, int]] = []

    @module.subscribe("orders.created", group="billing")
    async def on_order(event: Event) -> None:
        got.append((event.data, event.headers["content-type"], event.attempt))

    async with ScriptedOrchestrator(module, init=init_for(url), plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        ack = await ctx.state.broker.publish("orders.created", {"id": 1, "total": "9.50"})
        assert ack.sequence == "1"
        await ctx.state.broker.publish("orders.created", {"id": 2}, encoding="msgpack")
        with anyio.fail_after(5):
            while len(got) < 2:
                await anyio.sleep(0.01)
        await orch.send({"op": "shutdown"})
        assert await orch.wait_exit() == 0
    assert got == [
        ({"id": 1, "total": "9.50"}, "application/json", 1),
        ({"id": 2}, "application/msgpack", 1),
    ]


async def test_handler_exception_nacks_and_logs_once_per_attempt(plugins, url, caplog):
    module = PyWattModule(None)
    attempts: list[int] = []

    @module.subscribe("jobs", group="w", max_deliver=2)
    async def flaky(event: Event) -> None:
        attempts.append(event.attempt)
        raise RuntimeError("boom")

    caplog.set_level(logging.WARNING, logger="pywatt.comm.brokers")
    async with ScriptedOrchestrator(module, init=init_for(url), plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        await ctx.state.broker.publish("jobs", "x")
        with anyio.fail_after(5):
            while "jobs.dead" not in MemoryBroker._spaces[url.removeprefix("memory://")].streams:
                await anyio.sleep(0.01)
        await orch.send({"op": "shutdown"})
        await orch.wait_exit()
    assert attempts == [1, 2]
    failures = [r for r in caplog.records if "handler for jobs failed" in r.getMessage()]
    assert [r.attempt for r in failures] == [1, 2]  # type: ignore[attr-defined]
    assert all(r.subject == "jobs" for r in failures)  # type: ignore[attr-defined]


async def test_graceful_stop_finishes_and_acks_in_flight_handlers(plugins, url):
    module = PyWattModule(None)
    started, finished = anyio.Event(), []

    @module.subscribe("slow", group="g")
    async def slow(event: Event) -> None:
        started.set()
        await anyio.sleep(0.3)
        finished.append(event.data)

    async with ScriptedOrchestrator(module, init=init_for(url), plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        await ctx.state.broker.publish("slow", 1)
        await ctx.state.broker.publish("slow", 2)
        with anyio.fail_after(5):
            await started.wait()
        await orch.send({"op": "shutdown"})
        assert await orch.wait_exit() == 0
    assert finished == [1]  # the one in flight finished; the second was never pulled
    group = MemoryBroker._spaces[url.removeprefix("memory://")].streams["slow"].groups["g"]
    assert group.pending == {}
    assert group.next_index == 1


async def test_reply_answers_requests(plugins, url):
    module = PyWattModule(None)

    @module.reply("quote", group="pricing")
    async def quote(payload: dict, state) -> dict:
        return {"sku": payload["sku"], "price": 3, "by": state.module_id}

    async with ScriptedOrchestrator(module, init=init_for(url), plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        answer = await ctx.state.broker.request("quote", {"sku": "A"}, encoding="msgpack")
        assert answer == {"sku": "A", "price": 3, "by": "test-module"}


async def test_subscriptions_without_a_broker_url_fail_bootstrap(plugins, monkeypatch):
    monkeypatch.delenv("PYWATT_BROKER_URL", raising=False)
    module = PyWattModule(None, options=ServeOptions(secret_timeout=0.3))

    @module.subscribe("orders.created")
    async def on_order(event: Event) -> None: ...

    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        assert (await orch.expect("get_secret"))["name"] == "PYWATT_BROKER_URL"
        assert await orch.wait_exit() == 1


async def test_state_broker_without_a_broker_is_a_clear_error(plugins, monkeypatch):
    monkeypatch.delenv("PYWATT_BROKER_URL", raising=False)
    async with ScriptedOrchestrator(PyWattModule(None), plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        with pytest.raises(ConfigError, match="broker"):
            ctx.state.broker  # noqa: B018
