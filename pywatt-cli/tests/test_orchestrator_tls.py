"""The dev orchestrator's TLS channel listener: plaintext and unknown clients are refused.

The module is a raw script; the test itself dials the module's channel listener, so what
reaches the orchestrator is counted in ``handle.channel_frames``.
"""

from __future__ import annotations

import json
import struct
import textwrap
import uuid

import anyio
import pytest
import trustme
from anyio.streams.tls import TLSStream

from pywatt.cli.orchestrator import ModuleLog, ModuleSpec, Orchestrator, SecretSource
from pywatt.core.errors import ConfigError
from pywatt.core.tls import (
    CHANNEL_TLS_ENV,
    TLS_CA_SECRET,
    TLS_SERVER_CERT_SECRET,
    TLS_SERVER_KEY_SECRET,
    client_context,
)

pytestmark = pytest.mark.anyio

SCRIPT = """\
import json, os, sys
init = json.loads(sys.stdin.readline())
print(json.dumps({"timestamp": "2026-01-01T00:00:00.000000Z", "level": "INFO",
                  "fields": {"message": "init", "tcp": init["tcp_channel"],
                             "mode": os.environ.get("PYWATT_CHANNEL_TLS")}, "target": "raw"}),
      file=sys.stderr, flush=True)
sys.stdout.write(json.dumps({"op": "announce", "listen": init["listen"], "endpoints": []}) + "\\n")
sys.stdout.flush()
sys.stdin.readline()
"""
assert CHANNEL_TLS_ENV in SCRIPT


def pem(blob: trustme.Blob) -> str:
    return blob.bytes().decode()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def secrets(ca: trustme.CA) -> SecretSource:
    server = ca.issue_cert("127.0.0.1")
    return SecretSource.from_dict(
        {
            TLS_CA_SECRET: pem(ca.cert_pem),
            TLS_SERVER_CERT_SECRET: "".join(pem(b) for b in server.cert_chain_pems),
            TLS_SERVER_KEY_SECRET: pem(server.private_key_pem),
        }
    )


def spec(tmp_path, mode: str) -> ModuleSpec:
    script = tmp_path / "tlsmod.py"
    script.write_text(textwrap.dedent(SCRIPT))
    return ModuleSpec.for_script(
        script, announce_timeout=20, tcp_channel=True, tcp_channel_tls=mode
    )


def route_frame() -> bytes:
    content = {"op": "route_to_module", "target_module_id": "nobody", "target_endpoint": "/x",
               "request_id": str(uuid.uuid4()),
               "payload": {"data": [123, 125], "format": "Json"}}  # fmt: skip
    data = json.dumps({"id": str(uuid.uuid4()), "content": content, "metadata": {}}).encode()
    return struct.pack(">IB", len(data), 1) + data


async def dial_tls(host: str, port: str, context) -> TLSStream:
    plain = await anyio.connect_tcp(host, int(port))
    try:
        return await TLSStream.wrap(
            plain, hostname=host, ssl_context=context, standard_compatible=False
        )
    except BaseException:
        await plain.aclose()
        raise


async def refused(stream: anyio.abc.ByteStream) -> bool:
    """True when the orchestrator closes the connection without answering."""
    with anyio.fail_after(20):
        try:
            await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            return True
    return False


async def test_tls_listener_refuses_plaintext_and_accepts_a_verified_client(tmp_path, ca, secrets):
    logs: list[ModuleLog] = []
    async with Orchestrator(secrets, log_sink=logs.append) as orch:
        handle = await orch.start(spec(tmp_path, "tls"))
        init = (await handle.wait_log("init", timeout=20)).fields
        assert init["tcp"]["tls_enabled"] is True
        assert init["mode"] == "tls"
        host, port = init["tcp"]["address"].rsplit(":", 1)

        plain = await anyio.connect_tcp(host, int(port))
        async with plain:
            await plain.send(route_frame())
            assert await refused(plain)
        assert handle.channel_frames == []
        assert any("TLS handshake failed" in e.message for e in logs if e.level == "WARN")

        secure = await dial_tls(host, port, client_context(pem(ca.cert_pem)))
        async with secure:
            await orch.wait_channel("tlsmod", timeout=20)
            await secure.send(route_frame())
            with anyio.fail_after(20):
                while not handle.channel_frames:
                    await anyio.sleep(0.01)
        assert [f.op for f in handle.channel_frames] == ["route_to_module"]


async def test_mtls_listener_refuses_a_client_without_a_certificate(tmp_path, ca, secrets):
    async with Orchestrator(secrets, log_sink=lambda _: None) as orch:
        handle = await orch.start(spec(tmp_path, "mtls"))
        init = (await handle.wait_log("init", timeout=20)).fields
        assert init["mode"] == "mtls"
        host, port = init["tcp"]["address"].rsplit(":", 1)
        context = client_context(pem(ca.cert_pem))
        try:
            bare = await dial_tls(host, port, context)
        except (OSError, anyio.BrokenResourceError):
            pass  # TLS 1.2 fails the handshake itself
        else:
            async with bare:
                await bare.send(route_frame())
                assert await refused(bare)
        assert handle.channel_frames == []

        client = ca.issue_cert("module@pywatt.test")
        chain = "".join(pem(b) for b in client.cert_chain_pems)
        context = client_context(pem(ca.cert_pem), chain, pem(client.private_key_pem))
        secure = await dial_tls(host, port, context)
        async with secure:
            await secure.send(route_frame())
            with anyio.fail_after(20):
                while not handle.channel_frames:
                    await anyio.sleep(0.01)


async def test_a_tls_channel_without_certificates_fails_the_launch(tmp_path):
    async with Orchestrator(SecretSource(), log_sink=lambda _: None) as orch:
        with pytest.raises(ConfigError, match=TLS_SERVER_CERT_SECRET):
            await orch.start(spec(tmp_path, "tls"))


def test_an_unknown_tls_mode_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="'tls' or 'mtls'"):
        spec(tmp_path, "ssl")
