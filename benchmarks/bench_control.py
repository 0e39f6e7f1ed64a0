"""Control round trip (P3): a secret fetch with FORCE_REMOTE against a raw pipe ping-pong.

Two child processes, each timing its own round trips with ``perf_counter``:

* ``pywatt``: the module's control path (``ControlChannel`` on its real stdin/stdout, the
  ``SecretClient``, the reply matching) fetching one secret with ``CacheMode.FORCE_REMOTE``.
* ``raw`` (the floor): the same request line written with ``os.write`` and the reply read
  with ``os.read``, no event loop and no parsing.

The parent answers both the same way, with raw reads and writes. The ratio is pywatt's
latency over the floor's (lower is better; the aim is p50 <= 2x and p99 <= 3x).

    python benchmarks/bench_control.py [--count 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from _results import record

GET = b'{"op":"get_secret","name":"K"}\n'
REPLY = b'{"op":"secret","name":"K","value":"v","rotation_id":null}\n'
CPU: list[float] = []  # the child's CPU seconds for its loop, not its start-up


def raw_child(count: int) -> list[float]:
    import time

    times: list[float] = []
    cpu = time.process_time()
    for _ in range(count):
        start = time.perf_counter()
        os.write(1, GET)
        buf = b""
        while not buf.endswith(b"\n"):
            buf += os.read(0, 65536)
        times.append(time.perf_counter() - start)
    CPU.append(time.process_time() - cpu)
    return times


def pywatt_child(count: int) -> list[float]:
    import time

    import anyio

    from pywatt.core._stdio import FdSink, FdSource
    from pywatt.core.control import ControlChannel
    from pywatt.core.secrets import CacheMode, SecretClient

    async def main() -> list[float]:
        channel = ControlChannel(FdSource(0), FdSink(1))
        client = SecretClient(channel)
        times: list[float] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: channel.run(task_group=tg))
            cpu = time.process_time()
            for _ in range(count):
                start = time.perf_counter()
                await client.get("K", mode=CacheMode.FORCE_REMOTE)
                times.append(time.perf_counter() - start)
            CPU.append(time.process_time() - cpu)
            tg.cancel_scope.cancel()
        return times

    return anyio.run(main)


def drive(kind: str, count: int) -> tuple[list[float], float]:
    """Answer the child's requests with raw I/O; return its latencies and CPU time per trip."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    out, inp = proc.stdout.fileno(), proc.stdin.fileno()
    buf = b""
    answered = 0
    while answered < count:
        chunk = os.read(out, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            _, buf = buf.split(b"\n", 1)
            os.write(inp, REPLY)
            answered += 1
    proc.stdin.close()
    proc.stdin = None  # closed: communicate() must not flush it
    _, err = proc.communicate(timeout=60)
    result = json.loads(err.decode().strip().splitlines()[-1])
    return result["times"], result["cpu"] / count


def summary(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100)
    return cuts[49] * 1e6, cuts[98] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raw: list[float] = []
    ours: list[float] = []
    raw_cpu: list[float] = []
    our_cpu: list[float] = []
    for _ in range(args.rounds):  # interleaved, so load changes hit both alike
        times, cpu = drive("raw", args.count)
        raw += times[100:]
        raw_cpu.append(cpu)
        times, cpu = drive("pywatt", args.count)
        ours += times[100:]
        our_cpu.append(cpu)
    (raw50, raw99), (our50, our99) = summary(raw), summary(ours)
    rcpu, ocpu = statistics.median(raw_cpu) * 1e6, statistics.median(our_cpu) * 1e6
    print(f"{'control round trip':<24} {'p50':>9} {'p99':>9} {'child CPU/trip':>15}")
    print(f"{'raw pipe ping-pong':<24} {raw50:>7.1f}µs {raw99:>7.1f}µs {rcpu:>13.1f}µs")
    print(f"{'pywatt FORCE_REMOTE':<24} {our50:>7.1f}µs {our99:>7.1f}µs {ocpu:>13.1f}µs")
    print(
        f"{'ratio (pywatt / raw)':<24} {our50 / raw50:>8.2f}x {our99 / raw99:>8.2f}x "
        f"{ocpu / rcpu:>14.2f}x"
    )
    print("child CPU/trip: the child's own CPU time over its loop; steady under machine load")
    for label, ours, raw, aim in (("p50", our50, raw50, 2), ("p99", our99, raw99, 3)):
        record(
            "control (P3)",
            f"secret round trip {label}",
            ours,
            raw,
            "µs",
            ours / raw,
            better="lower",
            aim=aim,
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, count = sys.argv[2], int(sys.argv[3])
        times = raw_child(count) if kind == "raw" else pywatt_child(count)
        sys.stderr.write(json.dumps({"times": times, "cpu": CPU[0]}) + "\n")
    else:
        main()
