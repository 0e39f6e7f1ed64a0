from __future__ import annotations

import json
import uuid

import anyio
import pytest

from pywatt.comm import REPLY_ENDPOINT, TcpChannel, router
from pywatt.core.config import AppConfig
from pywatt.core.errors import (
    ChannelClosedError,
    ConfigError,
    MessageDecodeError,
    RouteTimeoutError,
)
from pywatt.core.state import AppState

pytestmark = pytest.mark.anyio


def tcp(address: str) -> TcpChannel:
    from pywatt.core.messages import TcpChannelConfig

    return TcpChannel(TcpChannelConfig(address=address, tls_enabled=False, required=False))


def encoded(value: object) -> dict:
    return {"data": list(json.dumps(value, separators=(",", ":")).encode()), "format": "Json"}


def decoded(payload: dict) -> object:
    assert payload["format"] == "Json"
    return json.loads(bytes(payload["data"]))


def routed_response(request_id: str, value: object, source: str = "mod-b") -> dict:
    return {"op": "routed_module_response", "source_module_id": source,
            "request_id": request_id, "payload": encoded(value)}  # fmt: skip


def routed_message(source: str, request_id: str, payload: object) -> dict:
    return {"op": "routed_module_message", "source_module_id": source,
            "original_request_id": request_id, "payload": encoded(payload)}  # fmt: skip


async def test_route_sends_message_envelope_and_returns_bare_response(
    tcp_orchestrator, serving, host
):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()
        result: list[object] = []

        async def call() -> None:
            result.append(await channel.route("billing", "invoice.create", {"action": "ping"}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            sent = await peer.expect("route_to_module")
            await peer.send(routed_response(sent["request_id"], {"pong": True}))
    assert list(sent) == ["op", "target_module_id", "target_endpoint", "request_id", "payload"]
    assert sent["target_module_id"] == "billing"
    assert sent["target_endpoint"] == "invoice.create"
    assert uuid.UUID(sent["request_id"]).version == 4
    inner = decoded(sent["payload"])
    assert list(inner) == ["id", "content", "metadata"]
    assert inner["content"] == {"action": "ping"}
    assert result == [{"pong": True}]
    assert channel.routing.pending == 0


async def test_route_round_trip_between_two_modules_with_reply_extension(
    tcp_orchestrator, serving, host
):
    """The test server relays like the dev orchestrator: route → routed message → reply."""
    seen: list[tuple[str, uuid.UUID, object]] = []

    async def handle(source: str, request_id: uuid.UUID, payload: object) -> object:
        seen.append((source, request_id, payload))
        return {"sum": payload["a"] + payload["b"]}

    async with tcp_orchestrator() as orch:
        a, b = tcp(orch.address), tcp(orch.address)
        async with serving(a, host), serving(b, host):
            b.on_routed("mod-a", handle)
            peer_a, peer_b = await orch.accept(), await orch.accept()
            answers: list[object] = []

            async def call() -> None:
                answers.append(await a.route("mod-b", "add", {"a": 2, "b": 3}))

            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                req = await peer_a.expect("route_to_module")
                await peer_b.send(
                    {
                        "op": "routed_module_message",
                        "source_module_id": "mod-a",
                        "original_request_id": req["request_id"],
                        "payload": req["payload"],
                    }
                )
                reply = await peer_b.expect("route_to_module")
                assert reply["target_module_id"] == "mod-a"
                assert reply["target_endpoint"] == REPLY_ENDPOINT == "__pywatt_reply__"
                assert reply["request_id"] == req["request_id"]
                assert decoded(reply["payload"]) == {"sum": 5}
                await peer_a.send(
                    {
                        "op": "routed_module_response",
                        "source_module_id": "mod-b",
                        "request_id": reply["request_id"],
                        "payload": reply["payload"],
                    }
                )
    assert answers == [{"sum": 5}]
    assert seen == [("mod-a", uuid.UUID(req["request_id"]), {"a": 2, "b": 3})]


async def test_handlers_are_keyed_by_source_with_a_default(tcp_orchestrator, serving, host):
    calls: list[tuple[str, object]] = []
    rid = str(uuid.uuid4())
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        channel.on_routed("mod-b", lambda src, _rid, p: calls.append(("b", p)))  # sync, None
        channel.on_routed(None, lambda src, _rid, p: {"default-for": src})
        peer = await orch.accept()
        envelope = {"id": str(uuid.uuid4()), "content": [1, 2], "metadata": {}}
        await peer.send(routed_message("mod-b", rid, envelope))
        await peer.send(routed_message("mod-c", rid, "bare text"))
        reply = await peer.expect("route_to_module")  # only mod-c's handler answers
        await peer.send({"op": "heartbeat"})
        await peer.expect("heartbeat_ack")
    assert calls == [("b", [1, 2])]
    assert reply["target_module_id"] == "mod-c"
    assert decoded(reply["payload"]) == {"default-for": "mod-c"}


async def test_unhandled_and_failing_routed_messages_are_dropped(
    tcp_orchestrator, serving, host, caplog
):
    def explode(src: str, rid: uuid.UUID, payload: object) -> object:
        raise ValueError("handler bug")

    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()
        await peer.send(routed_message("nobody-listens", str(uuid.uuid4()), 1))
        channel.on_routed("mod-x", explode)
        await peer.send(routed_message("mod-x", str(uuid.uuid4()), 1))
        await peer.send({"op": "heartbeat"})
        assert (await peer.receive())["content"] == {"op": "heartbeat_ack"}
    assert "no handler for routed message from 'nobody-listens'" in caplog.text
    assert "routed message handler for 'mod-x' failed" in caplog.text


async def test_route_timeout_and_late_response_is_dropped(tcp_orchestrator, serving, host, caplog):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()
        with pytest.raises(RouteTimeoutError, match="no response from 'mod-b'"):
            await channel.route("mod-b", "slow", {}, timeout=0.2)
        sent = await peer.expect("route_to_module")
        assert channel.routing.pending == 0
        await peer.send(routed_response(sent["request_id"], "too late"))
        await peer.send({"op": "heartbeat"})
        await peer.expect("heartbeat_ack")
    assert "unknown or expired request" in caplog.text
    assert isinstance(RouteTimeoutError("x"), TimeoutError)


async def test_concurrent_routes_each_get_their_own_response(tcp_orchestrator, serving, host):
    results: dict[int, object] = {}
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()

        async def call(n: int) -> None:
            results[n] = await channel.route("mod-b", "double", {"n": n})

        async with anyio.create_task_group() as tg:
            for n in range(8):
                tg.start_soon(call, n)
            sent = [await peer.expect("route_to_module") for _ in range(8)]
            for msg in reversed(sent):
                n = decoded(msg["payload"])["content"]["n"]
                await peer.send(routed_response(msg["request_id"], n * 2))
    assert results == {n: n * 2 for n in range(8)}
    assert len({msg["request_id"] for msg in sent}) == 8


async def test_non_json_response_is_a_decode_error(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()

        async def answer() -> None:
            msg = await peer.expect("route_to_module")
            payload = {"data": list(b"{nope"), "format": "Json"}
            await peer.send({**routed_response(msg["request_id"], 0), "payload": payload})

        async with anyio.create_task_group() as tg:
            tg.start_soon(answer)
            with pytest.raises(MessageDecodeError, match="not JSON"):
                await channel.route("mod-b", "x", {})


async def test_pending_route_fails_when_the_connection_breaks(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        first = await orch.accept()
        errors: list[BaseException] = []

        async def call() -> None:
            try:
                await channel.route("mod-b", "x", {})
            except ChannelClosedError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await first.expect("route_to_module")
            await first.aclose()
        second = await orch.accept()
        await second.send({"op": "heartbeat"})
        await second.expect("heartbeat_ack")
    assert len(errors) == 1
    assert "connection lost" in str(errors[0])


async def test_route_after_aclose_is_a_channel_closed_error(tcp_orchestrator, host):
    async with tcp_orchestrator() as orch:
        channel = tcp(orch.address)
        await channel.connect()
        await channel.aclose()
        with pytest.raises(ChannelClosedError):
            await channel.route("mod-b", "x", {})


def test_router_picks_tcp_then_unix_and_names_the_problem():
    state: AppState[None] = AppState(config=AppConfig(module_id="m"), user=None)
    with pytest.raises(ConfigError, match="needs a tcp or unix channel"):
        router(state)
    state.extensions["unix_channel"] = unix = object()
    assert router(state) is unix
    state.extensions["tcp_channel"] = tcp_channel = object()
    assert router(state) is tcp_channel
