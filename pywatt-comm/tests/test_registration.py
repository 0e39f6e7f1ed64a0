"""§7.2 registration and §7.4 discovery against a scripted peer, byte for byte."""

from __future__ import annotations

import json
import logging
import uuid

import anyio
import pytest

from pywatt.comm import (
    Capabilities,
    ConnectionConfig,
    DiscoveryError,
    EndpointCapability,
    ModuleInfo,
    RegistrationError,
    ServiceDiscoveryClient,
    register_module,
)
from pywatt.core.errors import ChannelError

pytestmark = pytest.mark.anyio

MODULE_ID = "123e4567-e89b-12d3-a456-426614174000"
VECTOR_IDS = ("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "a1b2c3d4-e5f6-4711-8899-aabbccddeeff")


def config(orch, **kw) -> ConnectionConfig:
    return ConnectionConfig.from_address(orch.address, **kw)


def registered(**extra) -> dict:
    info = {"name": "my-module", "version": "1.0.0", "description": "demo"}
    module = {"info": info, "id": MODULE_ID, "token": "test-token",
              "orchestrator_host": "127.0.0.1", "orchestrator_port": 9900}  # fmt: skip
    return {"response_type": "register", "success": True, "module": module, **extra}


async def expect_vector(peer, vector: dict) -> dict:
    """The next frame equals the vector's, with this request's fresh ids in place of its own."""
    header, data = await peer.receive_frame()
    envelope = json.loads(data)
    assert uuid.UUID(envelope["metadata"]["id"]).version == 4
    expected = bytes.fromhex(vector["frame_hex"])
    for old, new in zip(VECTOR_IDS, (envelope["id"], envelope["metadata"]["id"]), strict=True):
        expected = expected.replace(old.encode(), new.encode())
    assert header + data == expected
    return envelope["content"]


async def test_register_heartbeat_capabilities_unregister_are_the_vector_bytes(
    tcp_orchestrator, envelope_vectors
):
    async with tcp_orchestrator() as orch:

        async def script() -> None:
            peer = await orch.accept()
            await expect_vector(peer, envelope_vectors["env.registration.register"])
            await peer.send(registered())
            await expect_vector(peer, envelope_vectors["env.registration.heartbeat"])
            await peer.send({"response_type": "heartbeat", "success": True, "status": "Healthy"})
            await expect_vector(peer, envelope_vectors["env.registration.capabilities"])
            await peer.send({"response_type": "capabilities", "success": True})
            await expect_vector(peer, envelope_vectors["env.registration.unregister"])
            await peer.send({"response_type": "unregister", "success": True})
            await peer.expect_eof()

        async with anyio.create_task_group() as tg:
            tg.start_soon(script)
            info = ModuleInfo(name="my-module", version="1.0.0", description="demo")
            reg = await register_module(config(orch), info)
            assert str(reg.module.id) == MODULE_ID
            assert reg.module.token == "test-token"
            assert await reg.heartbeat() == "Healthy"
            caps = Capabilities(endpoints=[EndpointCapability(path="/status", methods=["GET"])])
            await reg.advertise(caps)
            await reg.unregister()


async def test_registration_errors_carry_the_reference_messages(tcp_orchestrator):
    async with tcp_orchestrator() as orch:
        info = ModuleInfo(name="m", version="1", description="d")

        async def refuse(reply: dict) -> None:
            peer = await orch.accept()
            await peer.expect_content()
            await peer.send(reply)

        for reply, message in [
            ({"response_type": "register", "success": False, "error": "full"}, "full"),
            ({"response_type": "register", "success": False}, "Unknown error"),
            ({"response_type": "register", "success": True}, "No module information"),
            ({"response_type": "heartbeat", "success": True}, "Unexpected response type"),
        ]:
            async with anyio.create_task_group() as tg:
                tg.start_soon(refuse, reply)
                with pytest.raises(RegistrationError, match=message):
                    await register_module(config(orch), info)


async def test_heartbeat_loop_first_at_once_and_failures_are_not_fatal(tcp_orchestrator, caplog):
    caplog.set_level(logging.WARNING)
    async with tcp_orchestrator() as orch:
        seen: list[str] = []

        async def script() -> None:
            peer = await orch.accept()
            await peer.expect_content()
            await peer.send(registered())
            for answer in (True, False, True):
                seen.append((await peer.expect_content())["request_type"])
                error = None if answer else "who are you"
                reply = {"response_type": "heartbeat", "success": answer, "error": error}
                await peer.send({**reply, "status": "Healthy"})
            seen.append((await peer.expect_content())["request_type"])
            await peer.send({"response_type": "unregister", "success": True})

        async with anyio.create_task_group() as tg:
            tg.start_soon(script)
            info = ModuleInfo(name="m", version="1", description="d")
            reg = await register_module(config(orch), info)
            async with anyio.create_task_group() as inner:
                inner.start_soon(reg.serve, 0.2)
                with anyio.fail_after(10):
                    while reg.heartbeats + reg.heartbeat_failures < 3:
                        await anyio.sleep(0.01)
                inner.cancel_scope.cancel()  # the module stops: serve() unregisters
    assert seen == ["heartbeat", "heartbeat", "heartbeat", "unregister"]
    assert (reg.heartbeats, reg.heartbeat_failures) == (2, 1)
    assert "who are you" in caplog.text


async def test_a_request_without_a_reply_times_out_and_the_next_one_redials(tcp_orchestrator):
    async with tcp_orchestrator() as orch:
        client = ServiceDiscoveryClient(config(orch, request_timeout=0.2))

        async def script() -> None:
            silent = await orch.accept()
            await silent.expect_content()  # and never answers
            peer = await orch.accept()
            await peer.expect_content()
            await peer.send({"op": "register_service_provider_response", "success": True,
                             "provider_id": "p-9", "error": None})  # fmt: skip

        async with anyio.create_task_group() as tg:
            tg.start_soon(script)
            with pytest.raises(ChannelError, match="no reply"):
                await client.register_service_provider("Database", "db", "127.0.0.1:5432")
            assert await client.register_service_provider("Database", "db", "x") == "p-9"
        await client.aclose()


async def test_discovery_envelopes_and_replies(tcp_orchestrator):
    async with tcp_orchestrator() as orch:
        client = ServiceDiscoveryClient(config(orch))
        provider = {"provider_id": "prov-1", "module_id": "db-module",
                    "service_type": {"Custom": "search"}, "name": "es", "version": None,
                    "address": "127.0.0.1:9200", "metadata": {}, "is_healthy": True}  # fmt: skip
        frames: list[bytes] = []

        async def script() -> None:
            peer = await orch.accept()
            for reply in [
                {"op": "register_service_provider_response", "success": True,
                 "provider_id": "prov-1", "error": None},
                {"op": "register_service_provider_response", "success": True,
                 "provider_id": None, "error": None},
                {"op": "register_service_provider_response", "success": False,
                 "provider_id": None, "error": "duplicate"},
                {"op": "discover_service_providers_response", "success": True,
                 "providers": [provider], "error": None},
                {"op": "discover_service_providers_response", "success": True,
                 "providers": [], "error": None},
                {"op": "heartbeat"},
            ]:  # fmt: skip
                frames.append((await peer.receive_frame())[1])
                await peer.send(reply)

        async with anyio.create_task_group() as tg:
            tg.start_soon(script)
            search = {"Custom": "search"}
            got = await client.register_service_provider(
                search, "es", "http://127.0.0.1:9200", version="1.0.0",
                metadata={"driver": "elastic"},
            )  # fmt: skip
            assert got == "prov-1"
            with pytest.raises(DiscoveryError, match=r"^No provider ID returned$"):
                await client.register_service_provider("Database", "main-db", "127.0.0.1:5432")
            with pytest.raises(DiscoveryError, match=r"^duplicate$"):
                await client.register_service_provider("Database", "main-db", "127.0.0.1:5432")
            found = await client.discover_service_providers(search, all_providers=True)
            assert [p.provider_id for p in found] == ["prov-1"]
            assert await client.discover_service_provider("Database") is None
            with pytest.raises(DiscoveryError, match="Unexpected response type: heartbeat"):
                await client.discover_service_providers("Cache")
        await client.aclose()
    contents = [json.loads(f) for f in frames]
    for envelope in contents:
        assert list(envelope) == ["id", "content", "metadata"]
        assert list(envelope["metadata"]) == ["id"]
    # the §2.2.5 lines, exactly, inside the envelopes
    assert json.dumps(contents[0]["content"], separators=(",", ":")) == (
        '{"op":"register_service_provider","service_type":{"Custom":"search"},"name":"es",'
        '"version":"1.0.0","address":"http://127.0.0.1:9200","metadata":{"driver":"elastic"}}'
    )
    assert (
        frames[1]
        .split(b'"content":')[1]
        .startswith(
            b'{"op":"register_service_provider","service_type":"Database","name":"main-db",'
            b'"version":null,"address":"127.0.0.1:5432","metadata":null}'
        )
    )
    assert (
        frames[3]
        .split(b'"content":')[1]
        .startswith(
            b'{"op":"discover_service_providers","service_type":{"Custom":"search"},"all_providers":true}'
        )
    )
    assert (
        frames[4]
        .split(b'"content":')[1]
        .startswith(
            b'{"op":"discover_service_providers","service_type":"Database","all_providers":null}'
        )
    )
