"""Large bodies over stdio: decode and encode time and peak memory, and line splitting.

Each case runs in a fresh child process so its peak RSS is its own. Floors, measured in the
same child on the same line: a bare ``json.loads`` of the line (decode and encode: the issue's
yardstick), and a bare ``bytearray += chunk`` loop (splitting).

    python benchmarks/bench_bodies.py [--mib 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from _results import record

CHILD = "--child"


def _line(body: bytes) -> bytearray:
    from pywatt.core._bodies import render_octets

    out = bytearray(b'{"op":"http_request","request_id":"r-1","method":"POST","uri":"/up",')
    out += b'"headers":{"content-type":"application/octet-stream"},"body":'
    render_octets(body, out)
    out += b"}"
    return out


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(case: str, mib: int) -> dict[str, float]:
    from pywatt.core import messages as m
    from pywatt.core._lines import LineSplitter

    body = os.urandom(mib << 20)
    if case == "split":
        chunk = b"7," * (1 << 15)
        start = time.perf_counter()
        floor = bytearray()
        for _ in range((mib << 20) // len(chunk)):
            floor += chunk
        floor_s = time.perf_counter() - start
        del floor
        splitter = LineSplitter(1 << 30)
        start = time.perf_counter()
        for _ in range((mib << 20) // len(chunk)):
            splitter.feed(chunk)
        (line,) = splitter.feed(b"\n")
        ours_s = time.perf_counter() - start
        return {"ours": ours_s, "floor": floor_s, "line_mib": len(line) / (1 << 20)}
    # pywatt first, so the peak RSS it leaves is its own, not the floor's int list.
    if case == "decode":
        line = _line(body)  # a bytearray, as the line splitter hands it over
        before = _rss_mib()
        start = time.perf_counter()
        msg = m.decode_o2m(line)
        ours_s = time.perf_counter() - start
        assert msg.body == body  # type: ignore[union-attr]
        del msg
    else:
        before = _rss_mib()
        start = time.perf_counter()
        line = m.stdio_http_response("r-1", 200, {}, body, source="bench")
        ours_s = time.perf_counter() - start
    peak = _rss_mib()
    start = time.perf_counter()
    json.loads(line)
    floor_s = time.perf_counter() - start
    return {
        "ours": ours_s,
        "floor": floor_s,
        "line_mib": len(line) / (1 << 20),
        "rss_mib": peak,
        "rss_before_mib": before,
    }


def run_child(case: str, mib: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, CHILD, case, str(mib)],
        capture_output=True,
        check=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'case':<28} {'pywatt':>9} {'floor':>9} {'ratio':>7} {'peak RSS':>17}")
    for case, label in (
        ("decode", f"decode {args.mib} MiB request"),
        ("encode", f"encode {args.mib} MiB response"),
    ):
        runs = [run_child(case, args.mib) for _ in range(args.rounds)]
        ours = statistics.median(r["ours"] for r in runs)
        floor = statistics.median(r["floor"] for r in runs)
        rss = max(r["rss_mib"] for r in runs)
        line = runs[0]["line_mib"]
        print(
            f"{label:<28} {ours:>8.2f}s {floor:>8.2f}s {ours / floor:>6.2f}x "
            f"{rss:>6.0f} MiB ({rss / line:.1f}x line of {line:.0f} MiB)"
        )
        record("bodies", label, ours, floor, "s", ours / floor, better="lower", aim=2)
    for mib in (32, 64, 128):
        runs = [run_child("split", mib) for _ in range(args.rounds)]
        ours = statistics.median(r["ours"] for r in runs)
        floor = statistics.median(r["floor"] for r in runs)
        label = f"split {mib} MiB line, 64 KiB chunks"
        print(f"{label:<28} {ours:>8.2f}s {floor:>8.2f}s {ours / floor:>6.2f}x")
        record("bodies", label, ours, floor, "s", ours / floor, better="lower", aim=2)
    print("ratio = pywatt time / floor time (lower is better; the aim for bodies is < 2x)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
