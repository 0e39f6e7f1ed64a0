"""Channel metrics: frames and bytes counted on the wire, latencies in the histograms."""

from __future__ import annotations

import json

import anyio
import pytest

from pywatt.comm import LatencyHistogram, TcpChannel
from pywatt.core.errors import RouteTimeoutError
from pywatt.core.messages import TcpChannelConfig

pytestmark = pytest.mark.anyio


def tcp(address: str) -> TcpChannel:
    return TcpChannel(TcpChannelConfig(address=address, tls_enabled=False, required=False))


def test_histogram_buckets_are_cumulative_with_an_inf_bucket():
    hist = LatencyHistogram((0.001, 0.01))
    for seconds in (0.0005, 0.001, 0.002, 5.0):
        hist.observe(seconds)
    snap = hist.snapshot()
    assert snap["buckets"] == [(0.001, 2), (0.01, 3), (float("inf"), 4)]
    assert snap["count"] == 4
    assert snap["sum"] == pytest.approx(5.0035)
    with pytest.raises(ValueError, match="ascending"):
        LatencyHistogram((0.1, 0.01))


async def test_metrics_count_frames_bytes_routes_and_http(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()
        # in: a heartbeat, an HTTP request, an undecodable frame; out: the ack and the reply
        await peer.send({"op": "heartbeat"})
        await peer.expect("heartbeat_ack")
        request = {"op": "http_request", "request_id": "r1", "method": "GET", "uri": "/x",
                   "headers": {}, "body": None}  # fmt: skip
        await peer.send(request)
        await peer.expect("http_response")
        await peer.send_frame(b"not json")
        with pytest.raises(RouteTimeoutError):
            await channel.route("mod-b", "slow", {}, timeout=0.05)
        sent = await peer.receive_frame()  # the route_to_module frame
        await peer.send({"op": "heartbeat"})
        await peer.expect("heartbeat_ack")
        snap = channel.metrics()
    heartbeat = len(json.dumps({"op": "heartbeat"}, separators=(",", ":"))) + 5
    http = len(json.dumps(request, separators=(",", ":"))) + 5
    assert snap["frames_in"] == 4
    assert snap["bytes_in"] == 2 * heartbeat + http + len(b"not json") + 5
    assert snap["frames_out"] == 4  # two acks, the HTTP response, the routed request
    assert snap["bytes_out"] >= len(sent[1]) + 5 + 3 * 60
    assert snap["skipped_frames"] == 1
    assert snap["route_errors"] == 1
    assert snap["route_latency"]["count"] == 1
    assert snap["route_latency"]["sum"] >= 0.05
    assert snap["http_latency"]["count"] == 1
    assert snap["http_latency"]["buckets"][-1] == (float("inf"), 1)
    assert (snap["channel"], snap["connected"], snap["reconnects"]) == ("tcp", True, 0)


async def test_bytes_out_matches_what_the_peer_read(tcp_orchestrator, serving, host):
    async with tcp_orchestrator() as orch, serving(tcp(orch.address), host) as channel:
        peer = await orch.accept()
        total = 0
        for _ in range(20):
            await peer.send({"op": "heartbeat"})
            header, data = await peer.receive_frame()
            total += len(header) + len(data)
        await anyio.sleep(0)
        assert channel.metrics()["bytes_out"] == total
        assert channel.metrics()["frames_out"] == 20
