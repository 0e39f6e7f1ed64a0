"""Import cost (issue 10, part 8): ``import pywatt.core`` against its own dependencies.

Each round is a fresh interpreter that times, with ``perf_counter``:

* the floor: ``import pydantic, pluggy, anyio``;
* then ``import pywatt.core`` (the budget is 30 ms on top of the floor);
* then ``from pywatt.core import pywatt_module``: the rest of what a module imports.

Timing inside the child leaves out interpreter start-up, the same for every case, and the
best round of each row counts (the least disturbed one on a shared machine). The ratio is
floor / (floor + added): 1.00 means free.

    python benchmarks/bench_import.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _results import record

CHILD = """
import json, time
t0 = time.perf_counter()
import pydantic, pluggy, anyio
t1 = time.perf_counter()
import pywatt.core
t2 = time.perf_counter()
from pywatt.core import pywatt_module
t3 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))
"""


def one_round() -> list[float]:
    out = subprocess.run([sys.executable, "-c", CHILD], check=True, capture_output=True)
    times: list[float] = json.loads(out.stdout)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    one_round()  # warm the OS and bytecode caches
    best = [float("inf")] * 3
    for _ in range(args.rounds):
        best = [min(b, t) for b, t in zip(best, one_round(), strict=True)]
    floor, core, api = best
    print(f"{'import cost (best of ' + str(args.rounds) + ')':<40} {'added':>9}")
    print(f"{'floor: import pydantic, pluggy, anyio':<40} {floor * 1000:>7.1f}ms")
    ratio = floor / (floor + core)
    print(f"{'+ import pywatt.core':<40} {core * 1000:>7.1f}ms   ratio {ratio:.2f}")
    record(
        "import cost",
        "import pywatt.core, with its dependencies",
        (floor + core) * 1000,
        floor * 1000,
        "ms",
        ratio,
        aim=round(floor / (floor + 0.030), 2),  # the budget: 30 ms on top of the floor
    )
    total = core + api
    print(
        f"{'+ from pywatt.core import pywatt_module':<40} {total * 1000:>7.1f}ms"
        f"   ratio {floor / (floor + total):.2f}"
    )


if __name__ == "__main__":
    main()
