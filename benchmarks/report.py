"""Print the combined benchmark table and file it in docs/benchmarks.md with date and machine.

Usage: ``python benchmarks/report.py RESULTS.jsonl [--write docs/benchmarks.md]``. The table
replaces the text between the ``bench:begin`` and ``bench:end`` markers; the rest of the page,
which explains each benchmark, is left as written.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"


def machine() -> str:
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = f"{os.getloadavg()[0]:.2f}"
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, 1-min load {load} at the end of the run"
    )


def fmt(value: float, unit: str) -> str:
    if value >= 1000:
        return f"{value:,.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def verdict(row: dict) -> str:
    aim = row.get("aim")
    if aim is None:
        return ""
    ok = row["ratio"] >= aim if row["better"] == "higher" else row["ratio"] <= aim
    sign = "≥" if row["better"] == "higher" else "≤"
    return f"{sign} {aim:g} {'✓' if ok else '✗'}"


def table(rows: list[dict]) -> str:
    lines = [
        "| benchmark | measurement | pywatt | floor | ratio | better | aim |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['bench']} | {row['measurement']} | {fmt(row['pywatt'], row['unit'])} "
            f"| {fmt(row['floor'], row['unit'])} | {row['ratio']:.2f} | {row['better']} "
            f"| {verdict(row)} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--write", type=Path, help="page whose marked section to replace")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    if not rows:
        print("no benchmark rows were recorded", file=sys.stderr)
        return 1
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = f"Run {stamp} on {machine()}.\n\n{table(rows)}"
    print(body)
    if args.write:
        page = args.write.read_text()
        if BEGIN not in page or END not in page:
            print(f"{args.write} has no {BEGIN} ... {END} section", file=sys.stderr)
            return 1
        head, rest = page.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        args.write.write_text(f"{head}{BEGIN}\n{body}\n{END}{tail}")
        print(f"wrote the table to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
