"""Start-up (P4): spawn to ``announce`` for a FastAPI module, against a bare FastAPI process.

* ``pywatt``: a module process (a FastAPI app with one route, every plugin installed) from
  spawn until its ``announce`` line, the init line written at once.
* ``bare`` (the floor): a process that imports FastAPI and uvicorn, builds the same app and
  binds a socket, then prints one line.

Rounds alternate; the ratio is floor time / pywatt time (higher is better, aim >= 0.9).

    python benchmarks/bench_startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _results import record

APP = textwrap.dedent(
    """
    from fastapi import FastAPI

    def make_app(state=None):
        app = FastAPI(title="hello")

        @app.get("/hello")
        async def hello(name: str = "world") -> dict[str, str]:
            return {"message": f"Hello, {name}!"}

        return app
    """
)
MODULE = APP + "\nfrom pywatt.server import serve_module\nserve_module(make_app)\n"
BARE = APP + textwrap.dedent(
    """
    import socket, sys
    import uvicorn

    app = make_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=0)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sys.stdout.write("ready\\n")
    sys.stdout.flush()
    """
)
INIT = (
    b'{"op":"init","orchestrator_api":"http://127.0.0.1:9900","module_id":"hello",'
    b'"env":{},"listen":"127.0.0.1:0","security_level":"None"}\n'
)


def time_to_first_line(script: Path, stdin: bytes) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    env["PYWATT_MODULE_ID"] = "hello"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(stdin)
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    assert line, "the process wrote nothing"
    proc.stdin.close()
    proc.kill()
    proc.wait()
    proc.stdout.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        module, bare = Path(tmp, "module.py"), Path(tmp, "bare.py")
        module.write_text(MODULE)
        bare.write_text(BARE)
        time_to_first_line(module, INIT)  # warm the OS caches for both
        time_to_first_line(bare, b"")
        ours, floor = [], []
        for _ in range(args.rounds):
            ours.append(time_to_first_line(module, INIT))
            floor.append(time_to_first_line(bare, b""))
    o, f = statistics.median(ours), statistics.median(floor)
    print(f"{'start-up (median)':<32} {'time':>9}")
    print(f"{'bare FastAPI + uvicorn (floor)':<32} {f * 1000:>7.0f}ms")
    print(f"{'pywatt module to announce':<32} {o * 1000:>7.0f}ms   ratio {f / o:.2f}")
    record("start-up (P4)", "spawn to announce", o * 1000, f * 1000, "ms", f / o, aim=0.9)


if __name__ == "__main__":
    main()
