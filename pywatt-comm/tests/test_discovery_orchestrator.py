"""§7.4 end to end: two module processes find each other through the dev orchestrator."""

from __future__ import annotations

import textwrap

import pytest

from pywatt.cli.orchestrator import ModuleLog, ModuleSpec, Orchestrator

pytestmark = pytest.mark.anyio

PRELUDE = """\
import json, sys
import anyio
from pywatt.comm import ConnectionConfig, DiscoveryError, ServiceDiscoveryClient
def send(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\\n"); sys.stdout.flush()
def recv():
    line = sys.stdin.readline()
    return json.loads(line) if line else sys.exit(0)
def log(message, **fields):
    print(json.dumps({"timestamp": "2026-01-01T00:00:00.000000Z", "level": "INFO",
                      "fields": {"message": message, **fields}, "target": "raw"}),
          file=sys.stderr, flush=True)
init = recv()
"""

PROVIDER = """
async def main():
    client = ServiceDiscoveryClient(ConnectionConfig.from_env())
    pid = await client.register_service_provider(
        {"Custom": "search"}, "es", "127.0.0.1:9200", version="8.1", metadata={"k": "v"})
    log("registered", provider_id=pid)
    await client.aclose()
anyio.run(main)
send({"op": "announce", "listen": init["listen"], "endpoints": []})
recv()
"""

CONSUMER = """
async def main():
    client = ServiceDiscoveryClient(ConnectionConfig.from_env())
    first = await client.discover_service_provider({"Custom": "search"})
    none = await client.discover_service_provider("Cache")
    log("found", first=first.model_dump(mode="json"), none=none)
    await client.aclose()
anyio.run(main)
send({"op": "announce", "listen": init["listen"], "endpoints": []})
recv()
"""


def module(tmp_path, name: str, body: str) -> ModuleSpec:
    script = tmp_path / f"{name}.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    return ModuleSpec.for_script(script, announce_timeout=20)


async def test_a_consumer_discovers_the_provider_another_module_registered(tmp_path):
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        provider = await orch.start(module(tmp_path, "search-provider", PROVIDER))
        registered = await provider.wait_log("registered", timeout=20)
        consumer = await orch.start(module(tmp_path, "consumer", CONSUMER))
        found = await consumer.wait_log("found", timeout=20)
        assert found.fields["none"] is None
        assert found.fields["first"] == {
            "provider_id": registered.fields["provider_id"],
            "module_id": "search-provider",
            "service_type": {"Custom": "search"},
            "name": "es",
            "version": "8.1",
            "address": "127.0.0.1:9200",
            "metadata": {"k": "v"},
            "is_healthy": True,
        }
        assert [p.module_id for p in orch.discovery.providers] == ["search-provider"]


REGISTERING = """
from pywatt.comm import Capabilities, EndpointCapability, ModuleInfo, register_module
async def main():
    info = ModuleInfo(name="billing", version="2.0.0", description="bills")
    reg = await register_module(ConnectionConfig.from_env(), info)
    await reg.advertise(Capabilities(endpoints=[EndpointCapability(path="/b", methods=["GET"])]))
    log("registered", id=str(reg.module.id), port=reg.module.orchestrator_port)
    async with anyio.create_task_group() as tg:
        tg.start_soon(reg.serve, 0.1)
        await anyio.sleep(2.0)  # the test looks at the registry meanwhile
        tg.cancel_scope.cancel()  # shutting down: serve() unregisters
    log("unregistered")
send({"op": "announce", "listen": init["listen"], "endpoints": []})
anyio.run(main)
recv()
"""


async def test_registration_heartbeats_and_unregister_under_the_dev_orchestrator(tmp_path):
    async with Orchestrator() as orch:
        handle = await orch.start(module(tmp_path, "billing", REGISTERING))
        registered = await handle.wait_log("registered", timeout=20)
        module_id = registered.fields["id"]
        entry = orch.discovery.registered.get(module_id)
        assert entry is not None
        assert entry["capabilities"] == {"endpoints": [{"path": "/b", "methods": ["GET"]}]}
        assert entry["module"]["info"] == {
            "name": "billing", "version": "2.0.0", "description": "bills"
        }  # fmt: skip
        await handle.wait_log("unregistered", timeout=20)
        assert module_id not in orch.discovery.registered
        assert entry["heartbeats"] >= 2  # the first at once, then every 0.1 s
        assert entry["status"] == "Healthy"


async def test_an_offered_channel_is_optional_in_init(tmp_path):
    body = """
log("init", tcp=init.get("tcp_channel"))
send({"op": "announce", "listen": init["listen"], "endpoints": []})
recv()
"""
    spec = module(tmp_path, "offered", body)
    spec = ModuleSpec(**{**spec.__dict__, "tcp_channel": True, "tcp_channel_required": False})
    async with Orchestrator() as orch:
        handle = await orch.start(spec)
        tcp = (await handle.wait_log("init", timeout=20)).fields["tcp"]
    assert tcp["required"] is False
    assert tcp["tls_enabled"] is False
