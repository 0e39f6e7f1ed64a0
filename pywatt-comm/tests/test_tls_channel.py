"""TLS on the TCP channel between pywatt peers: certificates made by trustme at test time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
import trustme
from anyio.streams.tls import TLSStream

from pywatt.comm import TcpChannel
from pywatt.core.errors import ChannelError, ConfigError
from pywatt.core.messages import TcpChannelConfig
from pywatt.core.tls import CHANNEL_TLS_ENV, client_context, server_context

from .conftest import Peer

pytestmark = pytest.mark.anyio


def pem(blob: trustme.Blob) -> str:
    return blob.bytes().decode()


def chain(cert: trustme.LeafCert) -> str:
    return "".join(pem(b) for b in cert.cert_chain_pems)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1")


def tcp(address: str, **kw) -> TcpChannel:
    cfg = TcpChannelConfig(address=address, tls_enabled=True, required=True)
    return TcpChannel(cfg, **kw)


@asynccontextmanager
async def tls_serving(orch, channel: TcpChannel, host, context) -> AsyncIterator[Peer]:
    """Run ``channel`` against ``host`` and yield the orchestrator's end of its TLS stream."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(channel.run, host)
        try:
            yield await accept_tls(orch, context)
        finally:
            await channel.aclose()


async def accept_tls(orch, context) -> Peer:
    """Accept one connection and complete the server's side of the handshake."""
    with anyio.fail_after(10):
        plain = await orch.listener.accept()
        stream = await TLSStream.wrap(
            plain, server_side=True, ssl_context=context, standard_compatible=False
        )
    peer = Peer(stream)
    orch.peers.append(peer)
    return peer


async def test_frames_flow_over_tls_both_ways(tcp_orchestrator, host, ca, server_cert):
    server = server_context(chain(server_cert), pem(server_cert.private_key_pem))
    async with tcp_orchestrator() as orch:
        channel = tcp(orch.address, ssl_context=client_context(pem(ca.cert_pem)))
        async with tls_serving(orch, channel, host, server) as peer:
            assert isinstance(peer.stream, TLSStream)
            await peer.send({"op": "heartbeat"})
            await peer.expect("heartbeat_ack")
            version = peer.stream.extra(anyio.streams.tls.TLSAttribute.tls_version)
            assert version in ("TLSv1.2", "TLSv1.3")
            assert channel.metrics()["frames_out"] == 1


async def test_a_server_the_ca_did_not_sign_is_refused(tcp_orchestrator, ca):
    stranger = trustme.CA().issue_cert("127.0.0.1")
    server = server_context(chain(stranger), pem(stranger.private_key_pem))
    async with tcp_orchestrator() as orch:
        channel = tcp(orch.address, ssl_context=client_context(pem(ca.cert_pem)))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_serve_handshake_once, orch, server)
            with pytest.raises(ChannelError, match="CERTIFICATE_VERIFY_FAILED"):
                await channel.connect()
        assert not channel.connected


async def test_a_certificate_for_another_host_is_refused(tcp_orchestrator, ca):
    other = ca.issue_cert("orchestrator.example")
    server = server_context(chain(other), pem(other.private_key_pem))
    async with tcp_orchestrator() as orch:
        channel = tcp(orch.address, ssl_context=client_context(pem(ca.cert_pem)))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_serve_handshake_once, orch, server)
            with pytest.raises(ChannelError, match=r"IP address mismatch|doesn't match"):
                await channel.connect()


async def test_server_hostname_names_the_certificate_to_expect(tcp_orchestrator, host, ca):
    other = ca.issue_cert("orchestrator.example")
    server = server_context(chain(other), pem(other.private_key_pem))
    async with tcp_orchestrator() as orch:
        channel = tcp(
            orch.address,
            ssl_context=client_context(pem(ca.cert_pem)),
            server_hostname="orchestrator.example",
        )
        async with tls_serving(orch, channel, host, server) as peer:
            await peer.send({"op": "heartbeat"})
            await peer.expect("heartbeat_ack")


async def test_mutual_tls_needs_a_client_certificate(tcp_orchestrator, host, ca, server_cert):
    server = server_context(chain(server_cert), pem(server_cert.private_key_pem), pem(ca.cert_pem))
    client = ca.issue_cert("module@pywatt.test")
    async with tcp_orchestrator() as orch:
        with_cert = client_context(pem(ca.cert_pem), chain(client), pem(client.private_key_pem))
        channel = tcp(orch.address, ssl_context=with_cert)
        async with tls_serving(orch, channel, host, server) as peer:
            await peer.send({"op": "heartbeat"})
            await peer.expect("heartbeat_ack")
            subject = peer.stream.extra(anyio.streams.tls.TLSAttribute.peer_certificate)
            assert subject is not None

        # Without a certificate the server's handshake fails. TLS 1.3 clients finish theirs
        # first and see the refusal on their first read.
        bare = tcp(orch.address, ssl_context=client_context(pem(ca.cert_pem)))
        outcome: list[BaseException] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(_serve_handshake_once, orch, server, outcome)
            try:
                await bare.connect()
            except ChannelError:
                pass
            else:
                with pytest.raises((OSError, anyio.BrokenResourceError, anyio.EndOfStream)):
                    await bare._stream.receive()  # type: ignore[union-attr]
                await bare.aclose()
        assert outcome, "the server accepted a client without a certificate"
        assert "CERTIFICATE" in repr(outcome[0]).upper()


async def _serve_handshake_once(orch, context, outcome: list[BaseException] | None = None) -> None:
    with anyio.fail_after(10):
        plain = await orch.listener.accept()
    try:
        with anyio.fail_after(10):
            stream = await TLSStream.wrap(
                plain, server_side=True, ssl_context=context, standard_compatible=False
            )
        await stream.aclose()
    except Exception as exc:
        if outcome is not None:
            outcome.append(exc)
        await plain.aclose()


async def test_tls_enabled_alone_stays_plaintext(monkeypatch, caplog):
    monkeypatch.delenv(CHANNEL_TLS_ENV, raising=False)
    caplog.set_level(logging.WARNING)
    channel = tcp("127.0.0.1:9")
    assert (channel.tls_mode, channel.ssl_context) == (None, None)
    assert "TLS is not used" in caplog.text


async def test_a_pywatt_orchestrator_turns_tls_enabled_on(monkeypatch):
    monkeypatch.setenv(CHANNEL_TLS_ENV, "mtls")
    assert tcp("127.0.0.1:9").tls_mode == "mtls"
    # only together with tls_enabled: a plaintext channel stays plaintext
    plain = TcpChannel(TcpChannelConfig(address="127.0.0.1:9", tls_enabled=False, required=True))
    assert plain.tls_mode is None
    monkeypatch.setenv(CHANNEL_TLS_ENV, "yes")
    with pytest.raises(ConfigError, match="'tls' or 'mtls'"):
        tcp("127.0.0.1:9")


async def test_tls_asked_for_outside_a_module_is_a_channel_error(monkeypatch):
    monkeypatch.setenv(CHANNEL_TLS_ENV, "tls")
    with pytest.raises(ChannelError, match="tls was asked for but not set up"):
        await tcp("127.0.0.1:9").connect()


def test_bad_pem_is_a_config_error():
    with pytest.raises(ConfigError, match="CA is not a PEM"):
        client_context("not a certificate")
    with pytest.raises(ConfigError, match="server certificate or key"):
        server_context("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None)
