"""Framed-channel throughput (P6): pywatt's TCP/Unix channel against raw asyncio streams.

Each measurement is a child process that connects to a peer in this (parent) process and
either sends N frames (``send``) or does N request/response round trips (``echo``):

* ``pywatt``: a ``TcpChannel``/``UnixChannel`` running as a module runs it. ``send`` sends
  the ``route_to_module`` message :meth:`Router.route` builds, without waiting for a reply;
  ``echo`` calls ``channel.route`` and gets the peer's ``routed_module_response``.
* ``raw`` (the floor): ``asyncio.open_connection``/``open_unix_connection`` writing the very
  same frames, built per message with ``json.dumps`` and ``struct``, and decoding replies
  with ``json.loads``.

The payload is a 1 KiB JSON object with hex ids, IP addresses and version strings and no
float. The peer treats both children alike (header parsing, and ``json`` for echo replies).
Rounds interleave the two children. Ratios: throughput pywatt/raw and CPU raw/pywatt
(child CPU seconds per message), so >= 1 means pywatt is as cheap as the floor.

    python benchmarks/bench_channel.py [--count 10000] [--echo-count 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

from _results import record

HEADER = struct.Struct(">IB")
TARGET, ENDPOINT = "bench-target", "/echo"
#: Untimed messages first, in both children: first-use costs (lazy imports, pydantic schema
#: builds, the loop's first wake-ups) are not what P6 measures.
WARMUP = 200


def payload() -> dict[str, Any]:
    """About 1 KiB of JSON as modules route it: ids, addresses, versions, no float."""
    items = [
        {
            "id": f"{i:04x}e3a9b1c7d5f{i:02d}e8",
            "addr": f"10.{i}.0.{200 + i}",
            "version": f"1.{i}.3",
            "ok": i % 2 == 0,
            "count": 1000 + i,
        }
        for i in range(8)
    ]
    return {"kind": "inventory", "trace": "5e1f9c2d3b4a", "items": items}


def raw_frame(value: Any, request_id: uuid.UUID, ids: tuple[str, str] | None = None) -> bytes:
    """The frame ``Router.route`` sends, built with the standard library only."""
    inner_id, outer_id = ids or (str(uuid.uuid4()), str(uuid.uuid4()))
    inner = json.dumps(
        {"id": inner_id, "content": value, "metadata": {}},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    content = {
        "op": "route_to_module",
        "target_module_id": TARGET,
        "target_endpoint": ENDPOINT,
        "request_id": str(request_id),
        "payload": {"data": list(inner), "format": "Json"},
    }
    body = json.dumps(
        {"id": outer_id, "content": content, "metadata": {}}, separators=(",", ":")
    ).encode()
    return HEADER.pack(len(body), 1) + body


# -- children -----------------------------------------------------------------------------


async def raw_child(transport: str, address: str, mode: str, count: int) -> None:
    if transport == "unix":
        reader, writer = await asyncio.open_unix_connection(address)
    else:
        host, port = address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
    value = payload()
    for i in range(WARMUP + count):
        if i == WARMUP:
            start, cpu = time.perf_counter(), time.process_time()
        request_id = uuid.uuid4()
        writer.write(raw_frame(value, request_id))
        await writer.drain()
        if mode == "echo":
            length, _ = HEADER.unpack(await reader.readexactly(HEADER.size))
            reply = json.loads(await reader.readexactly(length))
            assert reply["request_id"] == str(request_id)
            json.loads(bytes(reply["payload"]["data"]))
    if mode == "send":
        await reader.readexactly(1)
    report(start, cpu, count)
    writer.close()


async def pywatt_child(transport: str, address: str, mode: str, count: int) -> None:
    import anyio

    from pywatt.comm import TcpChannel, UnixChannel
    from pywatt.core.envelope import EncodedMessage, EncodingFormat, encode_envelope
    from pywatt.core.messages import IpcChannelConfig, RouteToModule, TcpChannelConfig

    channel: Any
    if transport == "unix":
        channel = UnixChannel(IpcChannelConfig(socket_path=address, required=True))
    else:
        channel = TcpChannel(TcpChannelConfig(address=address, tls_enabled=False, required=True))
    await channel.connect()
    value = payload()
    ack = asyncio.get_running_loop().create_future()
    async with anyio.create_task_group() as tg:
        tg.start_soon(channel.run, _Host(ack))
        for i in range(WARMUP + count):
            if i == WARMUP:
                start, cpu = time.perf_counter(), time.process_time()
            if mode == "echo":
                await channel.route(TARGET, ENDPOINT, value)
            else:
                data = encode_envelope(value)
                await channel.send(
                    RouteToModule(
                        target_module_id=TARGET,
                        target_endpoint=ENDPOINT,
                        request_id=uuid.uuid4(),
                        payload=EncodedMessage(data=data, format=EncodingFormat.JSON),
                    )
                )
        if mode == "send":
            await ack  # the peer sends a shutdown once it has every frame
        report(start, cpu, count)
        await channel.aclose()


class _Host:
    """Enough of a ``ChannelHost`` for the benchmark: a shutdown marks the end."""

    def __init__(self, ack: asyncio.Future[None]) -> None:
        self.ack = ack

    def request_stop(self, reason: str) -> None:
        if not self.ack.done():
            self.ack.set_result(None)

    async def handle_http(self, request: Any) -> Any:
        # The benchmark's peer sends routed messages only; an HTTP request means a broken run.
        raise RuntimeError(f"the channel benchmark sends no HTTP, got {request!r}")


def report(start: float, cpu: float, count: int) -> None:
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"rate": count / wall, "cpu_us": used / count * 1e6}), flush=True)


# -- the peer (this process) --------------------------------------------------------------

SHUTDOWN = b'{"op":"shutdown"}'


async def serve_peer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: str, count: int, raw: bool
) -> None:
    seen = 0
    while seen < count + WARMUP:
        length, _ = HEADER.unpack(await reader.readexactly(HEADER.size))
        data = await reader.readexactly(length)
        seen += 1
        if mode == "echo":
            request = json.loads(data)["content"]
            reply = json.dumps(
                {
                    "op": "routed_module_response",
                    "source_module_id": TARGET,
                    "request_id": request["request_id"],
                    "payload": request["payload"],
                },
                separators=(",", ":"),
            ).encode()
            writer.write(HEADER.pack(len(reply), 1) + reply)
    if mode == "send":
        writer.write(b"!" if raw else HEADER.pack(len(SHUTDOWN), 1) + SHUTDOWN)
    await writer.drain()
    try:
        await reader.read()  # until the child closes
    finally:
        writer.close()


async def measure(
    kind: str, transport: str, mode: str, count: int, workdir: str
) -> dict[str, float]:
    done = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await serve_peer(reader, writer, mode, count, kind == "raw")
        except Exception as exc:  # the child vanished: the parent reports it
            if not done.done():
                done.set_exception(exc)

    server: asyncio.AbstractServer
    if transport == "unix":
        address = os.path.join(workdir, f"{kind}-{mode}.sock")
        server = await asyncio.start_unix_server(handle, address)
    else:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child", kind, transport, address, mode, str(count),
        stdout=subprocess.PIPE,
    )  # fmt: skip
    out, _ = await child.communicate()
    server.close()
    if child.returncode != 0:
        raise SystemExit(f"{kind} child failed with {child.returncode}")
    if transport == "unix":
        os.unlink(address)
    result: dict[str, float] = json.loads(out)
    return result


async def run(args: argparse.Namespace) -> None:
    check_same_frames()
    rows: dict[tuple[str, str], dict[str, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.rounds):
            for transport in ("unix", "tcp"):
                for mode in ("send", "echo"):
                    count = args.count if mode == "send" else args.echo_count
                    row = rows.setdefault((transport, mode), {"raw": [], "pywatt": []})
                    for kind in ("raw", "pywatt"):
                        row[kind].append(await measure(kind, transport, mode, count, workdir))
    print(
        "| channel | pywatt msg/s | raw msg/s | ratio "
        "| pywatt CPU µs/msg | raw CPU µs/msg | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for (transport, mode), row in rows.items():
        pw_rate = statistics.median(r["rate"] for r in row["pywatt"])
        raw_rate = statistics.median(r["rate"] for r in row["raw"])
        pw_cpu = statistics.median(r["cpu_us"] for r in row["pywatt"])
        raw_cpu = statistics.median(r["cpu_us"] for r in row["raw"])
        print(
            f"| {transport} {mode} | {pw_rate:,.0f} | {raw_rate:,.0f} | {pw_rate / raw_rate:.2f} "
            f"| {pw_cpu:.1f} | {raw_cpu:.1f} | {raw_cpu / pw_cpu:.2f} |"
        )
        record(
            "channel (P6)",
            f"{transport} {mode}, 1 KiB frames",
            pw_rate,
            raw_rate,
            "msg/s",
            pw_rate / raw_rate,
            aim=0.8,
        )


def check_same_frames() -> None:
    """The floor must send the bytes pywatt sends, or the ratio compares different work."""
    from pywatt.comm._frames import encode_outgoing
    from pywatt.core.envelope import EncodedMessage, EncodingFormat, encode_envelope
    from pywatt.core.messages import RouteToModule

    request_id, inner_id, outer_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    data = encode_envelope(payload(), id=inner_id)
    ours = encode_outgoing(
        RouteToModule(
            target_module_id=TARGET,
            target_endpoint=ENDPOINT,
            request_id=request_id,
            payload=EncodedMessage(data=data, format=EncodingFormat.JSON),
        ),
        id=outer_id,
    )
    theirs = raw_frame(payload(), request_id, (str(inner_id), str(outer_id)))
    assert ours == theirs, "the floor sends other bytes than pywatt"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, transport, address, mode, count = sys.argv[2:7]
        child = raw_child if kind == "raw" else pywatt_child
        asyncio.run(child(transport, address, mode, int(count)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--echo-count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
