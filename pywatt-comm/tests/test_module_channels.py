from __future__ import annotations

import socket

import pytest

import pywatt.comm.plugin
from pywatt.comm import TcpChannel, UnixChannel, router
from pywatt.core.messages import IpcChannelConfig, TcpChannelConfig
from pywatt.core.module import PyWattModule
from pywatt.core.plugins import build_plugins
from pywatt.core.testing import DEFAULT_INIT, ScriptedOrchestrator

pytestmark = pytest.mark.anyio


@pytest.fixture
def plugins():
    return build_plugins(entry_points=[], extra=[("comm", pywatt.comm.plugin)], env={})


def with_tcp(address: str, required: bool = True) -> dict:
    cfg = {"address": address, "tls_enabled": False, "required": required}
    return dict(DEFAULT_INIT, tcp_channel=cfg)


def test_plugin_registers_tcp_and_unix_factories(plugins):
    assert plugins.channels.get("tcp") is TcpChannel
    assert plugins.channels.get("unix") is UnixChannel
    tcp = plugins.channels.get("tcp")(
        TcpChannelConfig(address="127.0.0.1:9", tls_enabled=False, required=False)
    )
    unix = plugins.channels.get("unix")(IpcChannelConfig(socket_path="/tmp/s", required=False))
    assert (tcp.name, tcp.port, unix.name, unix.path) == ("tcp", 9, "unix", "/tmp/s")


async def test_module_connects_answers_heartbeat_http_and_stops_on_shutdown(
    plugins, tcp_orchestrator
):
    async with tcp_orchestrator() as fake:
        module = PyWattModule(None)
        init = with_tcp(fake.address)
        async with ScriptedOrchestrator(module, init=init, plugins=plugins) as orch:
            peer = await fake.accept()
            await orch.expect("announce")
            ctx = await orch.context()
            channel = ctx.state.extensions["tcp_channel"]
            assert isinstance(channel, TcpChannel)
            assert router(ctx.state) is channel

            await peer.send({"op": "heartbeat"})
            await peer.expect("heartbeat_ack")
            await peer.send(
                {
                    "op": "http_request",
                    "request_id": "h1",
                    "method": "GET",
                    "uri": "/",
                    "headers": {},
                    "body": None,
                }
            )
            response = await peer.expect("http_response")
            assert response["status_code"] == 404  # the module has no app: the runtime says so
            assert b"serves no HTTP app" in bytes(response["body"])

            await peer.send({"op": "shutdown"})
            assert await orch.wait_exit() == 0
        await peer.expect_eof()  # the channel was closed on the way out


async def test_module_over_a_unix_channel(plugins, unix_orchestrator):
    async with unix_orchestrator() as fake:
        init = dict(DEFAULT_INIT, ipc_channel={"socket_path": fake.address, "required": True})
        async with ScriptedOrchestrator(PyWattModule(None), init=init, plugins=plugins) as orch:
            peer = await fake.accept()
            await orch.expect("announce")
            await peer.send({"op": "heartbeat"})
            await peer.expect("heartbeat_ack")
            await peer.send({"op": "shutdown"})
            assert await orch.wait_exit() == 0


def refused() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"127.0.0.1:{port}"


async def test_required_tcp_channel_that_cannot_connect_fails_bootstrap(plugins, caplog):
    init = with_tcp(refused(), required=True)
    async with ScriptedOrchestrator(PyWattModule(None), init=init, plugins=plugins) as orch:
        assert await orch.wait_exit() == 1
    assert orch.lines == []  # nothing announced
    assert "cannot connect the tcp channel" in caplog.text


async def test_optional_tcp_channel_that_cannot_connect_is_skipped(plugins, caplog):
    init = with_tcp(refused(), required=False)
    async with ScriptedOrchestrator(PyWattModule(None), init=init, plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        assert "tcp_channel" not in ctx.state.extensions
    assert "optional tcp channel unavailable" in caplog.text
