"""Import cost (issue 10, part 8): ``import pywatt.core`` against its own dependencies.

* the floor: a fresh interpreter that runs ``import pydantic, pluggy, anyio``;
* ``pywatt.core``: the same, then ``import pywatt.core`` (the budget is 30 ms on top);
* module API: the same, then ``from pywatt.core import pywatt_module``, what a module imports.

Each case is a fresh child process, rounds alternate, and the best (least disturbed) round of
each counts. The ratio is floor time / case time (1.00 means free).

    python benchmarks/bench_import.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

FLOOR = "import pydantic, pluggy, anyio"
CASES = {
    "floor: pydantic, pluggy, anyio": FLOOR,
    "+ import pywatt.core": FLOOR + "; import pywatt.core",
    "+ the module API": FLOOR + "; from pywatt.core import pywatt_module",
}


def run_once(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    for code in CASES.values():
        run_once(code)  # warm the OS caches and the bytecode caches
    best = {name: float("inf") for name in CASES}
    for _ in range(args.rounds):
        for name, code in CASES.items():
            best[name] = min(best[name], run_once(code))
    floor = best["floor: pydantic, pluggy, anyio"]
    print(f"{'import cost (best of ' + str(args.rounds) + ')':<34} {'time':>8} {'added':>8}")
    for name, seconds in best.items():
        added = (seconds - floor) * 1000
        print(f"{name:<34} {seconds * 1000:>6.0f}ms {added:>6.0f}ms   ratio {floor / seconds:.2f}")


if __name__ == "__main__":
    main()
