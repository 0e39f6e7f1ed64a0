"""Collects every benchmark's rows so ``nox -s bench`` can print and file one combined table.

Each script still prints its own detail. When ``PYWATT_BENCH_RESULTS`` names a file, ``record``
also appends one JSON line per measurement to it; ``report.py`` reads them back.
"""

from __future__ import annotations

import json
import os
from typing import Literal

Better = Literal["higher", "lower"]


def record(
    bench: str,
    measurement: str,
    pywatt: float,
    floor: float,
    unit: str,
    ratio: float,
    *,
    better: Better = "higher",
    aim: float | None = None,
) -> None:
    """Append one row; ``ratio`` is as the script defines it, ``better`` says which way wins."""
    path = os.environ.get("PYWATT_BENCH_RESULTS")
    if not path:
        return
    row = {
        "bench": bench,
        "measurement": measurement,
        "pywatt": pywatt,
        "floor": floor,
        "unit": unit,
        "ratio": ratio,
        "better": better,
        "aim": aim,
    }
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
