"""TLS agreed between the dev orchestrator and real pywatt modules: the runtime asks for the
certificates as secrets, the channel verifies the orchestrator, and routed requests flow
between two modules over mutual TLS while a plaintext client is refused."""

from __future__ import annotations

import json
import struct
import textwrap
import uuid

import anyio
import pytest
import trustme

from pywatt.cli.orchestrator import ModuleLog, ModuleSpec, Orchestrator, SecretSource
from pywatt.cli.orchestrator.errors import ModuleStartError
from pywatt.core.tls import (
    TLS_CA_SECRET,
    TLS_CLIENT_CERT_SECRET,
    TLS_CLIENT_KEY_SECRET,
    TLS_SERVER_CERT_SECRET,
    TLS_SERVER_KEY_SECRET,
)

pytestmark = pytest.mark.anyio

MODULE = """\
import json, os, sys
import anyio
from anyio.streams.tls import TLSStream
from pywatt.comm import router
from pywatt.core.module import PyWattModule

def log(message, **fields):
    print(json.dumps({"timestamp": "2026-01-01T00:00:00.000000Z", "level": "INFO",
                      "fields": {"message": message, **fields}, "target": "raw"}),
          file=sys.stderr, flush=True)

module = PyWattModule(None)

def handler(source, request_id, payload):
    log("got", n=payload["n"], source=source)
    return {"n": payload["n"], "by": os.environ["PYWATT_MODULE_ID"]}

async def work():
    ctx = await module.wait_ready()
    channel = router(ctx.state)
    channel.on_routed(None, handler)
    log("ready", tls=isinstance(channel._stream, TLSStream), mode=channel.tls_mode)
    if os.environ["PYWATT_MODULE_ID"] == "sender":
        for n in range(3):
            reply = await channel.route("target", "/echo", {"n": n}, timeout=20)
            log("reply", **reply)

async def main():
    async with anyio.create_task_group() as tg:
        tg.start_soon(work)
        await module.serve_async()
        tg.cancel_scope.cancel()

anyio.run(main)
"""


def pem(blob: trustme.Blob) -> str:
    return blob.bytes().decode()


def chain(cert: trustme.LeafCert) -> str:
    return "".join(pem(b) for b in cert.cert_chain_pems)


@pytest.fixture(scope="module")
def secrets() -> SecretSource:
    ca = trustme.CA()
    server, client = ca.issue_cert("127.0.0.1"), ca.issue_cert("module@pywatt.test")
    return SecretSource.from_dict(
        {
            TLS_CA_SECRET: pem(ca.cert_pem),
            TLS_SERVER_CERT_SECRET: chain(server),
            TLS_SERVER_KEY_SECRET: pem(server.private_key_pem),
            TLS_CLIENT_CERT_SECRET: chain(client),
            TLS_CLIENT_KEY_SECRET: pem(client.private_key_pem),
        }
    )


def spec(tmp_path, name: str, mode: str = "mtls") -> ModuleSpec:
    script = tmp_path / "tlsmodule.py"
    script.write_text(textwrap.dedent(MODULE))
    return ModuleSpec.for_script(
        script, module_id=name, announce_timeout=30, tcp_channel=True, tcp_channel_tls=mode
    )


async def test_two_modules_route_over_mutual_tls_and_plaintext_is_refused(tmp_path, secrets):
    logs: list[ModuleLog] = []
    async with Orchestrator(secrets, log_sink=logs.append) as orch:
        target = await orch.start(spec(tmp_path, "target"))
        ready = await target.wait_log("ready", timeout=30)
        assert ready.fields == {"tls": True, "mode": "mtls"}

        # A plaintext client on the target's channel port is refused; nothing reaches it.
        address = orch._router._listeners["target"][1]
        host, port = address.rsplit(":", 1)
        content = {"op": "route_to_module", "target_module_id": "target",
                   "target_endpoint": "/echo", "request_id": str(uuid.uuid4()),
                   "payload": {"data": list(b'{"n":99}'), "format": "Json"}}  # fmt: skip
        data = json.dumps({"id": str(uuid.uuid4()), "content": content, "metadata": {}}).encode()
        async with await anyio.connect_tcp(host, int(port)) as plain:
            await plain.send(struct.pack(">IB", len(data), 1) + data)
            with anyio.fail_after(20), pytest.raises((anyio.EndOfStream, OSError)):
                await plain.receive()

        sender = await orch.start(spec(tmp_path, "sender"))
        with anyio.fail_after(60):
            while sum(e.message == "reply" for e in logs) < 3:
                await anyio.sleep(0.05)
        replies = [e.fields for e in logs if e.message == "reply"]
        assert replies == [{"n": n, "by": "target"} for n in range(3)]
        got = [e.fields["n"] for e in logs if e.message == "got"]
        assert got == [0, 1, 2], "the plaintext request must not have reached the target"
        assert [f.op for f in sender.channel_frames] == ["route_to_module"] * 3
        assert any("TLS handshake failed" in e.message for e in logs)


async def test_a_module_refuses_an_orchestrator_its_ca_did_not_sign(tmp_path, secrets):
    stranger = trustme.CA()
    values = {
        name: secrets.get(name) or "" for name in (TLS_SERVER_CERT_SECRET, TLS_SERVER_KEY_SECRET)
    }
    values[TLS_CA_SECRET] = pem(stranger.cert_pem)  # what the module is told to trust
    async with Orchestrator(SecretSource.from_dict(values), log_sink=lambda _: None) as orch:
        with pytest.raises(ModuleStartError, match="CERTIFICATE_VERIFY_FAILED"):
            await orch.start(spec(tmp_path, "wary", "tls"))
